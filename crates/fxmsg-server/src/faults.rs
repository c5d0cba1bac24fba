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
    /// Plans a fault after checking it.
    pub fn add(&self, new: NewFault) -> Result<Fault, NativeError> {
        if !new.path.starts_with('/') {
            return Err(NativeError::bad_request(
                "path: must start with /, e.g. /cgi/message/send",
            ));
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
        faults.add(new("/a", Some(-1), false, 2)).unwrap();
        faults.add(new("/a", None, true, 1)).unwrap();
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
        assert!(faults.add(new("/a", Some(-1), true, 1)).is_err());
        assert!(faults.add(new("/a", None, false, 1)).is_err());
        assert!(faults.add(new("/a", Some(0), false, 1)).is_err());
        assert!(faults.add(new("a", Some(-1), false, 1)).is_err());
        assert!(faults.add(new("/a", Some(-1), false, 0)).is_err());
        assert!(faults.add(new("/a", Some(-1), false, 1001)).is_err());
        assert!(faults.add(new("/a", Some(-1), false, 1000)).is_ok());
    }
}
