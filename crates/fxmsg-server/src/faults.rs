//! Planned faults on compat paths (`/api/v1/faults`), so integrators can test their retry and
//! token handling against fxmsg, as they would with WireMock. Held in memory; a restart clears them.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fxmsg_api::native::{Fault, NewFault};
use fxmsg_api::ErrorCode;

use crate::error::{CompatError, NativeError};
use crate::state::AppState;

/// The planned faults, in the order they were added.
#[derive(Debug, Default, Clone)]
pub struct Faults(Arc<Mutex<FaultList>>);

#[derive(Debug, Default)]
struct FaultList {
    next_id: u64,
    faults: Vec<Fault>,
}

/// What the middleware does to one call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Answer(ErrorCode),
    DropResponse,
}

impl Faults {
    /// Plans a fault after checking it; `paths` are the paths a fault can apply to.
    pub fn add(&self, new: NewFault, paths: &[&str]) -> Result<Fault, NativeError> {
        if !paths.contains(&new.path.as_str()) {
            let known = paths.join(", ");
            return Err(NativeError::bad_request(format!(
                "path: {:?} is not a Fxiaoke path of this server, so the fault would never fire; \
                 use one of {known}",
                new.path
            )));
        }
        if !(1..=1000).contains(&new.times) {
            return Err(NativeError::bad_request("times: must be 1..1000"));
        }
        match (new.error_code, new.drop_response) {
            (Some(0), _) => {
                return Err(NativeError::bad_request(
                    "errorCode: 0 is success, not a fault",
                ))
            }
            (Some(_), true) | (None, false) => {
                return Err(NativeError::bad_request(
                    "set exactly one of errorCode and dropResponse",
                ))
            }
            _ => {}
        }
        let mut list = self.0.lock().expect("fault list lock");
        list.next_id += 1;
        let fault = Fault {
            id: list.next_id,
            path: new.path,
            error_code: new.error_code,
            drop_response: new.drop_response,
            remaining: new.times,
        };
        list.faults.push(fault.clone());
        Ok(fault)
    }

    /// The planned faults.
    pub fn list(&self) -> Vec<Fault> {
        self.0.lock().expect("fault list lock").faults.clone()
    }

    /// Removes one planned fault; false if there is none with `id` (it may have been used up).
    pub fn remove(&self, id: u64) -> bool {
        let mut list = self.0.lock().expect("fault list lock");
        let before = list.faults.len();
        list.faults.retain(|f| f.id != id);
        list.faults.len() < before
    }

    /// Removes every planned fault.
    pub fn clear(&self) {
        self.0.lock().expect("fault list lock").faults.clear();
    }

    /// Consumes one use of the first fault planned for `path`.
    fn take(&self, path: &str) -> Option<Action> {
        let mut list = self.0.lock().expect("fault list lock");
        let index = list.faults.iter().position(|f| f.path == path)?;
        let fault = &mut list.faults[index];
        fault.remaining -= 1;
        let action = match fault.error_code {
            Some(code) => Action::Answer(code.into()),
            None => Action::DropResponse,
        };
        if fault.remaining == 0 {
            list.faults.remove(index);
        }
        Some(action)
    }
}

/// Middleware on compat routes: applies the first planned fault for the request's path.
pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.faults.take(request.uri().path()) {
        None => next.run(request).await,
        Some(Action::Answer(code)) => {
            CompatError::new(code, "injected fault (see /api/v1/faults)").into_response()
        }
        Some(Action::DropResponse) => {
            let (mut parts, _) = next.run(request).await.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other(
                    "injected fault: response dropped",
                ))
            });
            Response::from_parts(parts, Body::from_stream(broken))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: [&str; 2] = ["/a", "/b"];

    fn new(path: &str, error_code: Option<i64>, drop_response: bool, times: u32) -> NewFault {
        NewFault {
            path: path.into(),
            error_code,
            drop_response,
            times,
        }
    }

    #[test]
    fn a_fault_applies_as_many_times_as_planned() {
        let faults = Faults::default();
        faults.add(new("/a", Some(-1), false, 2), &PATHS).unwrap();
        faults.add(new("/a", None, true, 1), &PATHS).unwrap();
        assert_eq!(faults.take("/b"), None);
        assert_eq!(
            faults.take("/a"),
            Some(Action::Answer(ErrorCode::SystemBusy))
        );
        assert_eq!(
            faults.take("/a"),
            Some(Action::Answer(ErrorCode::SystemBusy))
        );
        assert_eq!(faults.take("/a"), Some(Action::DropResponse));
        assert_eq!(faults.take("/a"), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn contradictory_or_empty_faults_are_refused() {
        let faults = Faults::default();
        let add = |f| faults.add(f, &PATHS);
        assert!(add(new("/a", Some(-1), true, 1)).is_err());
        assert!(add(new("/a", None, false, 1)).is_err());
        assert!(add(new("/a", Some(0), false, 1)).is_err());
        assert!(add(new("a", Some(-1), false, 1)).is_err());
        assert!(add(new("/a", Some(-1), false, 0)).is_err());
        assert!(add(new("/a", Some(-1), false, 1001)).is_err());
        assert!(add(new("/a", Some(-1), false, 1000)).is_ok());
        let unknown = add(new("/c", Some(-1), false, 1)).unwrap_err();
        assert!(
            unknown.message.contains("\"/c\" is not") && unknown.message.contains("/a, /b"),
            "{}",
            unknown.message
        );
    }

    #[test]
    fn one_fault_can_be_removed_by_id() {
        let faults = Faults::default();
        let first = faults.add(new("/a", Some(-1), false, 1), &PATHS).unwrap();
        let second = faults.add(new("/b", Some(-1), false, 1), &PATHS).unwrap();
        assert!(faults.remove(first.id));
        assert!(!faults.remove(first.id));
        assert_eq!(faults.list(), vec![second]);
    }
}
