//! Planned faults on compat paths (`/api/v1/faults`), so integrators can test their retry,
//! timeout and token handling against fxmsg as a real gateway fails.
//!
//! Faults are kept in the store, so every node behind a load balancer fires the same ones and a
//! restart keeps them. Each node holds a copy that it reads again whenever the store rings
//! [`Store::fault_changes`]: a call with no fault planned costs one atomic load, and a call
//! that matches a fault changes the stored fault by compare-and-set on its version, so a fault
//! planned for one call fires once however many nodes race for it.
//!
//! A fault fires at one of two points of a call. One matched by its path alone fires in
//! [`inject`], before anything else runs, as a proxy in front of the gateway would. One with a
//! filter (corp, app, recipient, msgType) fires at [`checkpoint`], which the compat extractors and
//! the token endpoints call once the caller is known and before the call has any effect. Both
//! points answer through [`inject`], which alone shapes the response: the envelope with the
//! fault's code, a proxy's status page, or a cut connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fxmsg_api::native::{Cut, Delay, Fault, NewFault};
use fxmsg_api::ErrorCode;
use fxmsg_store::{FaultState, Store, StoreError, StoredFault};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::{CompatError, NativeError};
use crate::state::AppState;

/// The compat paths that send messages: the only ones a recipient or msgType filter fits.
const SEND_PATHS: [&str; 2] = ["/cgi/message/send", "/cgi/app/message/send"];
/// Longest delay a fault may add: the default request timeout.
const MAX_DELAY_MS: u64 = 60_000;
/// Most calls a counted fault may affect.
const MAX_TIMES: u32 = 1000;
/// Times a call tries again after another call (or node) changed the fault it matched first.
const ATTEMPTS: usize = 32;

/// The planned faults, in the order they were added: this node's copy of the stored ones.
#[derive(Clone)]
pub struct Faults(Arc<Shared>);

struct Shared {
    store: Arc<dyn Store>,
    /// Faults that can still fire; read without the lock on every call.
    live: AtomicUsize,
    list: Mutex<Vec<Planned>>,
    /// One reading of the store at a time, so an older reading never lands after a newer one.
    reading: tokio::sync::Mutex<()>,
    /// Rung by the store when any node changed the faults; taken by [`Faults::follow`].
    changes: Mutex<Option<watch::Receiver<u64>>>,
}

#[derive(Debug, Clone)]
struct Planned {
    id: u64,
    plan: NewFault,
    /// Fires only once the caller is known.
    targeted: bool,
    state: FaultState,
}

/// One call as a fault sees it.
#[derive(Debug, Default)]
pub struct Point<'a> {
    /// The compat path.
    pub path: &'a str,
    /// The authenticated corp and app; `None` before authentication.
    pub caller: Option<(&'a str, &'a str)>,
    /// The JSON body of a send (its `toUser` and `msgType`).
    pub body: Option<&'a Value>,
}

/// What a fault does to the call it fired on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fired {
    /// Waited first.
    pub delay: Duration,
    /// Then this.
    pub action: Action,
}

/// A fault's effect after its delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The call goes on (a delay-only fault).
    Proceed,
    /// The envelope with this code.
    Answer(ErrorCode),
    /// A proxy's answer with this status.
    Status(StatusCode),
    /// The connection is cut before anything is done.
    CutBefore,
    /// The call is committed, then the connection is cut.
    CutAfter,
}

impl Faults {
    /// The faults stored in `store`, listening for changes from before the first reading, so
    /// none is missed between it and [`Faults::follow`].
    pub async fn load(store: Arc<dyn Store>) -> Result<Faults, StoreError> {
        let changes = store.fault_changes();
        let faults = Faults(Arc::new(Shared {
            store,
            live: AtomicUsize::new(0),
            list: Mutex::new(Vec::new()),
            reading: tokio::sync::Mutex::new(()),
            changes: Mutex::new(Some(changes)),
        }));
        faults.reload().await?;
        Ok(faults)
    }

    /// Reads the faults again whenever the store rings, until the store is dropped. A reading
    /// that fails is retried at the next ring or after a second.
    pub async fn follow(self) {
        let Some(mut changes) = self.0.changes.lock().expect("fault changes lock").take() else {
            return;
        };
        let mut stale = false;
        loop {
            let rang = tokio::time::timeout(Duration::from_secs(1), changes.changed()).await;
            match rang {
                Ok(Err(_)) => return,
                Err(_) if !stale => continue,
                _ => {}
            }
            stale = match self.reload().await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the planned faults");
                    true
                }
            };
        }
    }

    /// Replaces this node's copy with the stored faults. A fault this node changed after the
    /// reading began keeps its newer state.
    async fn reload(&self) -> Result<(), StoreError> {
        let _one = self.0.reading.lock().await;
        let stored = self.0.store.faults().await?;
        let mut list = self.0.list.lock().expect("fault list lock");
        let newer: Vec<Planned> = stored
            .into_iter()
            .map(|StoredFault { id, plan, state }| {
                match list
                    .iter()
                    .find(|p| p.id == id && p.state.version > state.version)
                {
                    Some(kept) => kept.clone(),
                    None => Planned::new(id, plan, state),
                }
            })
            .collect();
        *list = newer;
        self.count_live(&list);
        Ok(())
    }

    fn count_live(&self, list: &[Planned]) {
        let live = list.iter().filter(|p| p.state.remaining != Some(0)).count();
        self.0.live.store(live, Ordering::SeqCst);
    }

    /// Plans a fault after checking it; `paths` are the paths a fault can apply to.
    pub async fn add(&self, new: NewFault, paths: &[&str]) -> Result<Fault, NativeError> {
        let plan = checked(new, paths)?;
        let rng = plan.seed.unwrap_or_else(|| {
            u64::from_str_radix(&crate::secrets::random_hex(8), 16).unwrap_or_default()
        });
        let state = FaultState {
            fired: 0,
            remaining: if plan.until_deleted { None } else { plan.times },
            rng,
            version: 0,
        };
        let id = self.0.store.add_fault(&plan, state).await?;
        self.reload().await?;
        Ok(Planned::new(id, plan, state).shown())
    }

    /// The planned faults, used-up ones included.
    pub fn list(&self) -> Vec<Fault> {
        let list = self.0.list.lock().expect("fault list lock");
        list.iter().map(Planned::shown).collect()
    }

    /// Removes one planned fault; false if there is none with `id`.
    pub async fn remove(&self, id: u64) -> Result<bool, NativeError> {
        let removed = self.0.store.remove_faults(Some(id)).await?;
        self.reload().await?;
        Ok(removed == 1)
    }

    /// Removes every planned fault.
    pub async fn clear(&self) -> Result<(), NativeError> {
        self.0.store.remove_faults(None).await?;
        self.reload().await?;
        Ok(())
    }

    /// Whether any fault can still fire: false makes a call's check one atomic load.
    fn any(&self) -> bool {
        self.0.live.load(Ordering::Relaxed) > 0
    }

    /// Fires the first fault that matches `point` and whose draw says so, and uses up one of its
    /// calls. Faults without a filter match only before authentication (`caller` is `None`),
    /// faults with one only after it. The store decides races between calls and nodes; a store
    /// that fails is logged and fires nothing.
    pub async fn take(&self, point: &Point<'_>) -> Option<Fired> {
        'attempt: for _ in 0..ATTEMPTS {
            // Faults before this id matched and drew no fire on this call.
            let mut after = 0;
            loop {
                let (id, seen, next, fired) = {
                    let list = self.0.list.lock().expect("fault list lock");
                    let fault = list.iter().find(|f| f.id > after && f.can_fire(point))?;
                    let mut next = fault.state;
                    let fired = fault.draw_fire(&mut next);
                    (fault.id, fault.state.version, next, fired)
                };
                match self.0.store.update_fault(id, seen, next).await {
                    Ok(true) => {
                        let mut list = self.0.list.lock().expect("fault list lock");
                        if let Some(fault) = list
                            .iter_mut()
                            .find(|f| f.id == id && f.state.version == seen)
                        {
                            fault.state = FaultState {
                                version: seen + 1,
                                ..next
                            };
                        }
                        self.count_live(&list);
                        drop(list);
                        match fired {
                            Some(fired) => return Some(fired),
                            None => after = id,
                        }
                    }
                    // Another call or node changed it first: read them all again.
                    Ok(false) => {
                        if let Err(e) = self.reload().await {
                            tracing::warn!(error = %e, "reading the planned faults");
                            return None;
                        }
                        continue 'attempt;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "firing a planned fault");
                        return None;
                    }
                }
            }
        }
        tracing::warn!(
            path = point.path,
            "a planned fault stayed contended; not fired"
        );
        None
    }
}

impl Planned {
    fn new(id: u64, plan: NewFault, state: FaultState) -> Planned {
        let targeted = plan.corp_id.is_some()
            || plan.app_id.is_some()
            || plan.recipient.is_some()
            || plan.msg_type.is_some();
        Planned {
            id,
            plan,
            targeted,
            state,
        }
    }

    fn shown(&self) -> Fault {
        Fault {
            id: self.id,
            plan: self.plan.clone(),
            fired: self.state.fired,
            remaining: self.state.remaining,
        }
    }

    fn can_fire(&self, point: &Point<'_>) -> bool {
        self.state.remaining != Some(0)
            && self.plan.path == point.path
            && self.targeted == point.caller.is_some()
            && self.matches(point)
    }

    /// Draws whether the fault fires on this call and, if it does, uses up one of its calls and
    /// draws its delay; the draws advance `next.rng` either way.
    fn draw_fire(&self, next: &mut FaultState) -> Option<Fired> {
        let plan = &self.plan;
        if let Some(p) = plan.probability.filter(|p| *p < 1.0) {
            if draw_unit(&mut next.rng) >= p {
                return None;
            }
        }
        next.fired += 1;
        if let Some(left) = &mut next.remaining {
            *left -= 1;
        }
        let delay = match plan.delay_ms {
            None => 0,
            Some(Delay::Fixed(ms)) => ms,
            Some(Delay::Range([low, high])) => low + draw(&mut next.rng) % (high - low + 1),
        };
        let action = match (plan.error_code, plan.http_status, plan.cut) {
            (Some(code), _, _) => Action::Answer(code.into()),
            (_, Some(status), _) => {
                Action::Status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
            }
            (_, _, Some(Cut::BeforeHandler)) => Action::CutBefore,
            (_, _, Some(Cut::AfterCommit)) => Action::CutAfter,
            _ => Action::Proceed,
        };
        Some(Fired {
            delay: Duration::from_millis(delay),
            action,
        })
    }

    fn matches(&self, point: &Point<'_>) -> bool {
        let plan = &self.plan;
        let (corp, app) = point.caller.unwrap_or_default();
        let field = |name: &str| point.body.and_then(|b| b.get(name));
        plan.corp_id.as_ref().is_none_or(|c| c == corp)
            && plan.app_id.as_ref().is_none_or(|a| a == app)
            && plan
                .msg_type
                .as_ref()
                .is_none_or(|t| field("msgType").and_then(Value::as_str) == Some(t))
            && plan.recipient.as_ref().is_none_or(|r| {
                field("toUser")
                    .and_then(Value::as_array)
                    .is_some_and(|users| users.iter().any(|u| u.as_str() == Some(r)))
            })
    }
}

/// The next number of a SplitMix64 sequence whose state is `rng`.
fn draw(rng: &mut u64) -> u64 {
    *rng = rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *rng;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A draw in [0, 1).
fn draw_unit(rng: &mut u64) -> f64 {
    (draw(rng) >> 11) as f64 / (1u64 << 53) as f64
}

/// Checks a fault and writes it as it will be shown: `dropResponse` as `cut`, `times` given.
fn checked(mut new: NewFault, paths: &[&str]) -> Result<NewFault, NativeError> {
    let bad = |message: String| Err(NativeError::bad_request(message));
    if !paths.contains(&new.path.as_str()) {
        let known = paths.join(", ");
        return bad(format!(
            "path: {:?} is not a Fxiaoke path of this server, so the fault would never fire; \
             use one of {known}",
            new.path
        ));
    }
    if new.drop_response {
        if new.cut.is_some() {
            return bad("give cut or dropResponse, not both".into());
        }
        new.cut = Some(Cut::AfterCommit);
        new.drop_response = false;
    }
    let answers = [
        new.error_code.is_some(),
        new.http_status.is_some(),
        new.cut.is_some(),
    ];
    match answers.iter().filter(|given| **given).count() {
        0 if new.delay_ms.is_none() => {
            return bad(
                "give one of errorCode, httpStatus and cut (or dropResponse), or a delayMs alone"
                    .into(),
            )
        }
        0 | 1 => {}
        _ => return bad("give only one of errorCode, httpStatus and cut (or dropResponse)".into()),
    }
    if new.error_code == Some(0) {
        return bad("errorCode: 0 is success, not a fault".into());
    }
    if let Some(status) = new.http_status {
        if status != 429 && !(500..=599).contains(&status) {
            return bad(format!(
                "httpStatus: {status} is not an answer a gateway's proxy gives; use 429 or \
                 500..599 (502, 503, 504)"
            ));
        }
    }
    match new.delay_ms {
        Some(Delay::Fixed(ms)) if ms > MAX_DELAY_MS => {
            return bad(format!("delayMs: at most {MAX_DELAY_MS}"))
        }
        Some(Delay::Range([low, high])) if low > high || high > MAX_DELAY_MS => {
            return bad(format!(
                "delayMs: a range is [min, max] with min <= max <= {MAX_DELAY_MS}"
            ))
        }
        _ => {}
    }
    if let Some(p) = new.probability {
        if !(p > 0.0 && p <= 1.0) {
            return bad("probability: must be above 0 and at most 1".into());
        }
    }
    match (new.until_deleted, new.times) {
        (true, Some(_)) => return bad("give times or untilDeleted, not both".into()),
        (true, None) => {}
        (false, None) => new.times = Some(1),
        (false, Some(times)) if (1..=MAX_TIMES).contains(&times) => {}
        (false, Some(_)) => return bad(format!("times: must be 1..{MAX_TIMES}")),
    }
    let sends_only = new.recipient.is_some() || new.msg_type.is_some();
    if sends_only && !SEND_PATHS.contains(&new.path.as_str()) {
        return bad(format!(
            "recipient and msgType match sends only: use {}",
            SEND_PATHS.join(" or ")
        ));
    }
    Ok(new)
}

tokio::task_local! {
    /// Where a fault that fires at the checkpoint leaves itself for [`inject`] to act on.
    static FIRED: Arc<Mutex<Option<Fired>>>;
}

/// The point of a call where the caller is known and nothing has happened yet: fires a fault
/// with a filter that matches. An `Err` stops the call; [`inject`] shapes what the client gets.
pub async fn checkpoint(state: &AppState, point: Point<'_>) -> Result<(), CompatError> {
    if !state.faults.any() {
        return Ok(());
    }
    let Some(fired) = state.faults.take(&point).await else {
        return Ok(());
    };
    tokio::time::sleep(fired.delay).await;
    // Outside `inject` (no slot), only the envelope can be answered.
    let _ = FIRED.try_with(|slot| *slot.lock().expect("fault slot lock") = Some(fired));
    match fired.action {
        Action::Proceed | Action::CutAfter => Ok(()),
        Action::Answer(code) => Err(injected(code)),
        Action::Status(_) | Action::CutBefore => Err(injected(ErrorCode::SystemBusy)),
    }
}

fn injected(code: ErrorCode) -> CompatError {
    CompatError::new(code, "injected fault (see /api/v1/faults)")
}

/// Middleware on compat routes: fires a fault planned for the path alone, and carries out one
/// that fired at the [`checkpoint`].
pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.faults.any() {
        return next.run(request).await;
    }
    let path = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None => request.uri().path().to_owned(),
    };
    let front = state
        .faults
        .take(&Point {
            path: &path,
            ..Point::default()
        })
        .await;
    let fired = match front {
        Some(fired) => {
            tokio::time::sleep(fired.delay).await;
            Some(fired)
        }
        None => None,
    };
    match fired.map(|f| f.action) {
        Some(Action::Answer(code)) => return injected(code).into_response(),
        Some(Action::Status(status)) => return proxy_answer(status),
        Some(Action::CutBefore) => return cut(Response::new(Body::empty())),
        _ => {}
    }
    let slot = Arc::new(Mutex::new(fired));
    let response = FIRED.scope(slot.clone(), next.run(request)).await;
    let fired = *slot.lock().expect("fault slot lock");
    match fired.map(|f| f.action) {
        Some(Action::Status(status)) => proxy_answer(status),
        Some(Action::CutBefore | Action::CutAfter) => cut(response),
        _ => response,
    }
}

/// What an nginx in front of the gateway answers: its HTML page, not the envelope.
fn proxy_answer(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} \
         {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut response = (status, page).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// `response` with a body that fails at once: the connection is closed before the client has
/// an answer.
fn cut(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let broken = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("injected fault: connection cut"))
    });
    Response::from_parts(parts, Body::from_stream(broken))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: [&str; 3] = ["/a", "/b", "/cgi/message/send"];

    fn code(path: &str, error_code: i64, times: u32) -> NewFault {
        NewFault {
            path: path.into(),
            error_code: Some(error_code),
            times: Some(times),
            ..NewFault::default()
        }
    }

    fn at(path: &str) -> Point<'_> {
        Point {
            path,
            ..Point::default()
        }
    }

    fn action(fired: Option<Fired>) -> Option<Action> {
        fired.map(|f| f.action)
    }

    /// Faults on a store of their own, in a directory that lives as long as they are used.
    async fn faults() -> (tempfile::TempDir, Faults) {
        let dir = tempfile::tempdir().unwrap();
        let store = fxmsg_store_sqlite::open(&dir.path().join("fxmsg.db"), 16)
            .await
            .unwrap();
        (dir, Faults::load(store).await.unwrap())
    }

    #[tokio::test]
    async fn a_fault_applies_as_many_times_as_planned_and_stays_listed_used_up() {
        let (_dir, faults) = faults().await;
        faults.add(code("/a", -1, 2), &PATHS).await.unwrap();
        let drop = NewFault {
            path: "/a".into(),
            drop_response: true,
            ..NewFault::default()
        };
        faults.add(drop, &PATHS).await.unwrap();
        assert_eq!(faults.take(&at("/b")).await, None);
        let busy = Some(Action::Answer(ErrorCode::SystemBusy));
        assert_eq!(action(faults.take(&at("/a")).await), busy);
        assert_eq!(action(faults.take(&at("/a")).await), busy);
        assert_eq!(action(faults.take(&at("/a")).await), Some(Action::CutAfter));
        assert_eq!(faults.take(&at("/a")).await, None);
        assert!(!faults.any());
        let listed = faults.list();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].fired, listed[0].remaining), (2, Some(0)));
        assert_eq!(listed[1].plan.cut, Some(Cut::AfterCommit));
        assert!(!listed[1].plan.drop_response);
    }

    #[tokio::test]
    async fn contradictory_or_empty_faults_are_refused() {
        let (_dir, faults) = faults().await;
        let add = |f: NewFault| faults.add(f, &PATHS);
        // The planned ones stay, for the listing below.
        let mut planned = 0;
        let base = || NewFault {
            path: "/a".into(),
            ..NewFault::default()
        };
        let refused = [
            NewFault {
                drop_response: true,
                ..code("/a", -1, 1)
            },
            base(),
            code("/a", 0, 1),
            code("a", -1, 1),
            code("/a", -1, 0),
            code("/a", -1, 1001),
            NewFault {
                http_status: Some(404),
                ..base()
            },
            NewFault {
                http_status: Some(502),
                cut: Some(Cut::BeforeHandler),
                ..base()
            },
            NewFault {
                delay_ms: Some(Delay::Fixed(60_001)),
                ..base()
            },
            NewFault {
                delay_ms: Some(Delay::Range([20, 10])),
                ..base()
            },
            NewFault {
                probability: Some(0.0),
                ..code("/a", -1, 1)
            },
            NewFault {
                probability: Some(1.5),
                ..code("/a", -1, 1)
            },
            NewFault {
                until_deleted: true,
                ..code("/a", -1, 1)
            },
            NewFault {
                msg_type: Some("text".into()),
                ..code("/a", -1, 1)
            },
        ];
        for fault in refused {
            assert!(add(fault.clone()).await.is_err(), "{fault:?}");
        }
        for fault in [
            code("/a", -1, 1000),
            NewFault {
                delay_ms: Some(Delay::Fixed(60_000)),
                ..base()
            },
            NewFault {
                http_status: Some(504),
                probability: Some(1.0),
                ..base()
            },
            NewFault {
                cut: Some(Cut::BeforeHandler),
                until_deleted: true,
                msg_type: Some("text".into()),
                path: "/cgi/message/send".into(),
                ..base()
            },
        ] {
            assert!(add(fault.clone()).await.is_ok(), "{fault:?}");
            planned += 1;
        }
        assert_eq!(
            faults.list().len(),
            planned,
            "a refused fault is not stored"
        );
        let unknown = add(code("/c", -1, 1)).await.unwrap_err();
        assert!(
            unknown.message.contains("\"/c\" is not") && unknown.message.contains("/a, /b"),
            "{}",
            unknown.message
        );
    }

    #[tokio::test]
    async fn one_fault_can_be_removed_by_id() {
        let (_dir, faults) = faults().await;
        let first = faults.add(code("/a", -1, 1), &PATHS).await.unwrap();
        let second = faults.add(code("/b", -1, 1), &PATHS).await.unwrap();
        assert!(faults.remove(first.id).await.unwrap());
        assert!(!faults.remove(first.id).await.unwrap());
        assert_eq!(faults.list(), vec![second.clone()]);
        assert!(faults.remove(second.id).await.unwrap());
        assert!(!faults.any());
    }

    #[tokio::test]
    async fn a_seeded_probability_fires_the_same_calls_on_every_run() {
        let run = |seed| async move {
            let (_dir, faults) = faults().await;
            let fault = NewFault {
                probability: Some(0.3),
                seed: Some(seed),
                until_deleted: true,
                times: None,
                ..code("/a", -1, 1)
            };
            faults.add(fault, &PATHS).await.unwrap();
            let mut fired = Vec::new();
            for _ in 0..200 {
                fired.push(faults.take(&at("/a")).await.is_some());
            }
            fired
        };
        let first = run(7).await;
        assert_eq!(first, run(7).await);
        assert_ne!(first, run(8).await);
        let fired = first.iter().filter(|f| **f).count();
        assert!((35..=85).contains(&fired), "{fired} of 200 at p = 0.3");
    }

    #[tokio::test]
    async fn filters_wait_for_the_caller_and_match_corp_app_recipient_and_type() {
        let (_dir, faults) = faults().await;
        let fault = NewFault {
            corp_id: Some("C".into()),
            recipient: Some("1000".into()),
            msg_type: Some("text".into()),
            until_deleted: true,
            times: None,
            ..code("/cgi/message/send", 50009, 1)
        };
        faults.add(fault, &PATHS).await.unwrap();
        let body =
            |users: &[&str], kind: &str| serde_json::json!({"toUser": users, "msgType": kind});
        let call = |corp, body: Value| {
            let faults = faults.clone();
            async move {
                faults
                    .take(&Point {
                        path: "/cgi/message/send",
                        caller: Some((corp, "A")),
                        body: Some(&body),
                    })
                    .await
                    .is_some()
            }
        };
        assert!(
            faults.take(&at("/cgi/message/send")).await.is_none(),
            "not before auth"
        );
        assert!(call("C", body(&["1001", "1000"], "text")).await);
        assert!(!call("D", body(&["1000"], "text")).await);
        assert!(!call("C", body(&["1001"], "text")).await);
        assert!(!call("C", body(&["1000"], "composite")).await);
    }

    #[tokio::test]
    async fn a_delay_range_is_drawn_within_its_bounds() {
        let (_dir, faults) = faults().await;
        let fault = NewFault {
            delay_ms: Some(Delay::Range([10, 20])),
            seed: Some(1),
            times: Some(100),
            ..NewFault {
                path: "/a".into(),
                ..NewFault::default()
            }
        };
        faults.add(fault, &PATHS).await.unwrap();
        let mut delays = Vec::new();
        for _ in 0..100 {
            let fired = faults.take(&at("/a")).await.unwrap();
            assert_eq!(fired.action, Action::Proceed);
            delays.push(fired.delay.as_millis());
        }
        assert!(delays.iter().all(|d| (10..=20).contains(d)));
        assert!(delays.iter().any(|d| *d != delays[0]));
    }

    #[tokio::test]
    async fn nodes_on_one_store_fire_a_counted_fault_as_often_as_planned_between_them() {
        let (dir, here) = faults().await;
        let there = Faults::load(here.0.store.clone()).await.unwrap();
        tokio::spawn(there.clone().follow());
        here.add(code("/a", -1, 5), &PATHS).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while there.list().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the other copy never heard"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let calls = (0..40).map(|i| {
            let node = if i % 2 == 0 {
                here.clone()
            } else {
                there.clone()
            };
            tokio::spawn(async move { node.take(&at("/a")).await.is_some() })
        });
        let mut fired = 0;
        for call in calls.collect::<Vec<_>>() {
            fired += usize::from(call.await.unwrap());
        }
        assert_eq!(fired, 5);
        let stored = here.0.store.faults().await.unwrap();
        assert_eq!(
            (stored[0].state.fired, stored[0].state.remaining),
            (5, Some(0))
        );
        drop(dir);
    }
}
