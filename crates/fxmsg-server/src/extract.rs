//! Extractors for compat routes whose rejections use the Fxiaoke envelope, not axum's plain text.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use fxmsg_api::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

use crate::error::CompatError;
use crate::state::AppState;

/// A JSON object body, read up to the configured limit.
#[derive(Debug)]
pub struct CompatJson(pub Value);

impl FromRequest<AppState> for CompatJson {
    type Rejection = CompatError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.json_body_limit;
        let bytes = to_bytes(request.into_body(), limit).await.map_err(|_| {
            CompatError::invalid(
                "body",
                format!("the request body is larger than {limit} bytes or was cut off"),
            )
        })?;
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
