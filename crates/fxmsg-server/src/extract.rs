//! Extractors for compat routes whose rejections use the Fxiaoke envelope, not axum's plain text.

use std::time::Duration;

use axum::body::{to_bytes, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use fxmsg_api::ErrorCode;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{CompatError, NativeError};
use crate::state::AppState;

/// How request bodies are read: JSON bodies up to `json_limit` bytes each, within
/// `read_timeout` once reading starts; uploads with no more than `read_timeout` between their
/// chunks; and no more than the budget's bytes buffered across all requests at once.
///
/// A JSON body takes its room in the budget (its declared length, else the limit) before a byte
/// is read, so clients that open many requests and stall — before any credential is checked,
/// since the body may carry them — wait for room instead of growing the process. An upload takes
/// the room its streaming buffers need.
pub struct Bodies {
    json_limit: usize,
    read_timeout: Duration,
    budget: Semaphore,
    /// The budget's size, the most any one request can take.
    total: u32,
}

impl Bodies {
    /// Bodies within these bounds; the budget holds at least one JSON body at its limit.
    pub fn new(json_limit: usize, read_timeout: Duration, budget: usize) -> Self {
        let total = u32::try_from(budget.max(json_limit).max(1)).unwrap_or(u32::MAX);
        Bodies {
            json_limit,
            read_timeout,
            budget: Semaphore::new(total as usize),
            total,
        }
    }

    /// The longest a body may take to arrive (JSON), or to send its next chunk (uploads).
    pub fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// Room for `bytes` of buffers in the budget (all of it, if `bytes` is more), waited for.
    pub async fn reserve(&self, bytes: usize) -> SemaphorePermit<'_> {
        let room = u32::try_from(bytes)
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        self.budget
            .acquire_many(room)
            .await
            .expect("the body budget is never closed")
    }

    /// Reads a JSON request's body within the bounds.
    async fn read_json(&self, request: Request) -> Result<Bytes, CompatError> {
        let limit = self.json_limit;
        let too_large = || {
            CompatError::invalid(
                "body",
                format!("the request body is larger than {limit} bytes or was cut off"),
            )
        };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let _room = self.reserve(declared.unwrap_or(limit)).await;
        tokio::time::timeout(self.read_timeout, to_bytes(request.into_body(), limit))
            .await
            .map_err(|_| {
                CompatError::invalid(
                    "body",
                    format!(
                        "the request body did not arrive within {} s",
                        self.read_timeout.as_secs()
                    ),
                )
            })?
            .map_err(|_| too_large())
    }
}

/// Path parameters, like axum's `Path`, but a segment that does not parse (invalid UTF-8, not
/// the type the route takes) is a 400 with `{code, message}` naming it, not plain text.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = NativeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, NativeError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) if e.status().is_server_error() => {
                tracing::error!(error = %e.body_text(), "path parameters of a route");
                Err(NativeError::internal())
            }
            Err(e) => Err(NativeError::bad_request(
                e.body_text().trim_start_matches("Invalid URL: ").to_owned(),
            )),
        }
    }
}

/// A JSON object body, read within [`Bodies`]' bounds.
#[derive(Debug)]
pub struct CompatJson(pub Value);

impl FromRequest<AppState> for CompatJson {
    type Rejection = CompatError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = state.bodies.read_json(request).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(CompatError::new(
                ErrorCode::EmptyBody,
                "body: the POST body is empty; send a JSON object",
            ));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| CompatError::invalid("body", format!("not valid JSON ({e})")))?;
        if !value.is_object() {
            return Err(CompatError::invalid("body", "must be a JSON object"));
        }
        Ok(CompatJson(value))
    }
}

impl CompatJson {
    /// A top-level string field; `Err` if present with another type.
    pub fn str_field(&self, name: &str) -> Result<Option<&str>, CompatError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(CompatError::invalid(name, "must be a string")),
        }
    }

    /// A required top-level string field, reported with `missing` when absent.
    pub fn required(&self, name: &str, missing: ErrorCode) -> Result<&str, CompatError> {
        self.str_field(name)?
            .ok_or_else(|| CompatError::new(missing, format!("{name}: is required")))
    }
}

/// Query parameters compat routes understand; unknown ones are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompatQuery {
    /// Idempotency key of a send.
    pub third_trace_id: Option<String>,
    /// Legacy auth for multipart uploads.
    pub corp_access_token: Option<String>,
    /// Legacy auth for multipart uploads.
    pub corp_id: Option<String>,
    /// `image` or `document` on `/media/upload`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for CompatQuery {
    type Rejection = CompatError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<CompatQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .map_err(|e| CompatError::invalid("query", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use futures_util::stream::{self, StreamExt};
    use tokio::time::Instant;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A request that sends `first` and then nothing more, declaring `length` bytes.
    fn stalled(first: &'static [u8], length: usize) -> Request {
        let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from_static(first)) })
            .chain(stream::pending());
        Request::builder()
            .header(CONTENT_LENGTH, length)
            .body(Body::from_stream(body))
            .unwrap()
    }

    fn complete(body: impl Into<Bytes>) -> Request {
        let body = body.into();
        Request::builder()
            .header(CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap()
    }

    fn message(e: CompatError) -> String {
        format!("{e:?}")
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_cut_off_at_the_read_timeout() {
        let bodies = Bodies::new(100, TIMEOUT, 1000);
        let started = Instant::now();
        let e = bodies.read_json(stalled(b"{\"a\"", 50)).await.unwrap_err();
        assert!(message(e).contains("did not arrive within 5 s"));
        assert_eq!(started.elapsed(), TIMEOUT);
        // All of the budget is back.
        assert_eq!(bodies.budget.available_permits(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_length_past_the_limit_is_refused_before_reading() {
        let bodies = Bodies::new(100, TIMEOUT, 1000);
        let started = Instant::now();
        let e = bodies.read_json(stalled(b"{", 101)).await.unwrap_err();
        assert!(message(e).contains("larger than 100 bytes"));
        assert_eq!(started.elapsed(), Duration::ZERO);
        // At the limit it is read.
        let at_limit = complete(vec![b' '; 100]);
        assert_eq!(bodies.read_json(at_limit).await.unwrap().len(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_waits_while_stalled_ones_hold_the_budget() {
        // Room for two bodies at the limit.
        let bodies = Arc::new(Bodies::new(100, TIMEOUT, 200));
        let started = Instant::now();
        let hold = |bodies: Arc<Bodies>| {
            tokio::spawn(async move { bodies.read_json(stalled(b"{", 100)).await })
        };
        let (a, b) = (hold(bodies.clone()), hold(bodies.clone()));
        while bodies.budget.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // A third, complete body gets its room only when the stalled ones time out.
        let body = bodies.read_json(complete(&b"{}"[..])).await.unwrap();
        assert_eq!(&body[..], b"{}");
        assert_eq!(started.elapsed(), TIMEOUT);
        assert!(a.await.unwrap().is_err() && b.await.unwrap().is_err());
        // A body without a declared length takes the limit; an upload at most the budget.
        let all = bodies.reserve(usize::MAX).await;
        assert_eq!(all.num_permits(), 200);
    }
}
