//! Extractors for compat routes whose rejections use the Fxiaoke envelope, not axum's plain text.

use std::time::Duration;

use axum::body::{to_bytes, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use fxmsg_api::ErrorCode;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::CompatError;
use crate::state::AppState;

/// How JSON bodies are read: up to `limit` bytes each, within `read_timeout` once reading
/// starts, and no more than the budget's bytes held across all requests at once. The budget is
/// taken before a byte is read (a body's declared length, else the limit), so clients that open
/// many requests and stall — before any credential is checked, since the body may carry them —
/// wait for room instead of growing the process.
pub struct JsonBodies {
    limit: usize,
    read_timeout: Duration,
    budget: Semaphore,
}

impl JsonBodies {
    /// Bodies up to `limit` bytes, `budget` bytes at once (at least one body at the limit).
    pub fn new(limit: usize, read_timeout: Duration, budget: usize) -> Self {
        let budget = budget.max(limit).min(u32::MAX as usize);
        JsonBodies {
            limit,
            read_timeout,
            budget: Semaphore::new(budget),
        }
    }

    /// Reads `request`'s body within the bounds.
    async fn read(&self, request: Request) -> Result<Bytes, CompatError> {
        let limit = self.limit;
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
        let room = u32::try_from(declared.unwrap_or(limit).clamp(1, limit.max(1)))
            .expect("the budget fits in u32, and a body in the budget");
        let _room = self
            .budget
            .acquire_many(room)
            .await
            .expect("the body budget is never closed");
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

/// A JSON object body, read within [`JsonBodies`]' bounds.
#[derive(Debug)]
pub struct CompatJson(pub Value);

impl FromRequest<AppState> for CompatJson {
    type Rejection = CompatError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = state.json_bodies.read(request).await?;
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
