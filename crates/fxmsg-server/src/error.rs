//! The server's two error types and their single mapping points.
//!
//! Compat routes answer every error as the Fxiaoke envelope with HTTP 200 and a non-zero
//! `errorCode`. Native `/api/v1` routes answer with an HTTP status and `{code, message}`.
//! `From<StoreError>` and `From<object_store::Error>` are where backend failures become responses;
//! their details go to the log, never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use fxmsg_api::native::ApiError;
use fxmsg_api::{Envelope, ErrorCode, FieldError};
use fxmsg_store::StoreError;

use crate::trace::current_trace_id;

/// An error on a Fxiaoke-compatible route.
#[derive(Debug, Clone, PartialEq)]
pub struct CompatError {
    /// The Fxiaoke code.
    pub code: ErrorCode,
    /// Names the field and the rule, or says what to change.
    pub description: String,
}

impl CompatError {
    /// An error with `code` and a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        CompatError {
            code,
            description: description.into(),
        }
    }

    /// `15002` about `field`.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidParameter, format!("{field}: {reason}"))
    }

    /// `-2`: an internal failure, already logged.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::SystemError,
            "internal error; see the server log for this traceId",
        )
    }
}

impl From<FieldError> for CompatError {
    fn from(e: FieldError) -> Self {
        CompatError::new(e.code, e.to_string())
    }
}

impl CompatError {
    /// `50009`, retryable: the disk is full, nothing was stored.
    fn disk_full() -> Self {
        CompatError::new(
            ErrorCode::ServiceException,
            "the server's disk is full: nothing was stored; retry later",
        )
    }
}

impl From<StoreError> for CompatError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Full(detail) = &e {
            tracing::error!(error = %detail, "the database's disk is full");
            return CompatError::disk_full();
        }
        tracing::error!(error = %e, "store failure");
        CompatError::internal()
    }
}

/// Whether an error was caused, somewhere down its chain, by a full disk (ENOSPC, EDQUOT).
pub fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        }) {
            return true;
        }
        cause = e.source();
    }
    false
}

impl From<object_store::Error> for CompatError {
    fn from(e: object_store::Error) -> Self {
        if is_disk_full(&e) {
            tracing::error!(error = %e, "the media disk is full");
            return CompatError::disk_full();
        }
        tracing::error!(error = %e, "media store failure");
        CompatError::internal()
    }
}

impl CompatError {
    /// The envelope answer with `extra` fields beside the envelope's (the OAuth route's `error`
    /// and `error_description`). Every compat error answer is made here.
    pub fn into_response_with(self, extra: serde_json::Map<String, serde_json::Value>) -> Response {
        let mut env = Envelope::ok(current_trace_id(), serde_json::Value::Object(extra));
        env.error_code = self.code;
        env.error_message = self.code.message().into();
        env.error_description = self.description;
        // For `/metrics`, which counts error answers by code.
        (StatusCode::OK, Extension(self.code), Json(env)).into_response()
    }
}

impl IntoResponse for CompatError {
    fn into_response(self) -> Response {
        self.into_response_with(serde_json::Map::new())
    }
}

/// An error on a native `/api/v1` route.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code: `bad_request`, `unauthorized`, `not_found`, `conflict`, `internal`.
    pub code: &'static str,
    /// Explanation.
    pub message: String,
}

impl NativeError {
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        NativeError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    /// 401, saying what was wrong with what was presented.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        NativeError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// 409, saying which existing record is in the way.
    pub fn conflict(message: impl Into<String>) -> Self {
        NativeError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        NativeError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: what.into(),
        }
    }

    /// 500: an internal failure, already logged.
    pub fn internal() -> Self {
        NativeError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: format!(
                "internal error; see the server log for trace {}",
                current_trace_id()
            ),
        }
    }
}

impl From<StoreError> for NativeError {
    fn from(e: StoreError) -> Self {
        match e {
            // Each create says in its own words which of its fields collided (see
            // `directory`); this is the fallback, naming the field the store reports.
            StoreError::Conflict(field) => {
                NativeError::conflict(format!("{field}: a record with this value already exists"))
            }
            StoreError::NotFound(what) => NativeError::not_found(format!("{what} does not exist")),
            StoreError::Full(detail) => {
                tracing::error!(error = %detail, "the database's disk is full");
                NativeError {
                    status: StatusCode::INSUFFICIENT_STORAGE,
                    code: "storage_full",
                    message: "the server's disk is full: nothing was stored; retry later".into(),
                }
            }
            StoreError::QuotaExceeded { used } => NativeError {
                status: StatusCode::INSUFFICIENT_STORAGE,
                code: "quota_exceeded",
                message: format!("the corp's quota is used up ({used} bytes in use)"),
            },
            StoreError::Backend(detail) => {
                tracing::error!(error = %detail, "store failure");
                NativeError::internal()
            }
        }
    }
}

impl IntoResponse for NativeError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ApiError {
                code: self.code.into(),
                message: self.message,
            }),
        )
            .into_response()
    }
}
