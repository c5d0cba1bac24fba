//! The SDK's one error type.

use fxmsg_api::{ErrorCode, FieldError};

/// Everything a call can fail with. Branch on [`Error::code`], never on messages:
///
/// ```no_run
/// # async fn run(client: fxmsg_client::Client) {
/// use fxmsg_client::{Error, ErrorCode, SendMessage};
/// match client.send(&SendMessage::text(["1000"], "hi")).await {
///     Ok(sent) => println!("sent {}", sent.message_id),
///     Err(e) if e.code() == Some(ErrorCode::InvalidToUser) => eprintln!("nobody to deliver to: {e}"),
///     Err(Error::Invalid(field)) => eprintln!("fix {} before sending", field.field),
///     Err(e) => eprintln!("failed (retryable: {}): {e}", e.is_retryable()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-zero `errorCode`.
    #[error("Fxiaoke error {}: {description} (traceId {trace_id})", code.as_i64())]
    Api {
        /// The code; branch on this, never on the message.
        code: ErrorCode,
        /// `errorMessage`.
        message: String,
        /// `errorDescription`: names the field and rule.
        description: String,
        /// `traceId` of the failing request.
        trace_id: String,
    },
    /// The request was refused before it was sent (same rules as the server).
    #[error("invalid request, not sent: {0}")]
    Invalid(#[from] FieldError),
    /// fxmsg's native API answered with an HTTP error.
    #[error("HTTP {status} {code}: {message}")]
    Native {
        /// HTTP status.
        status: u16,
        /// Stable code such as `not_found`.
        code: String,
        /// Explanation.
        message: String,
    },
    /// The connection failed or timed out.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The response could not be understood.
    #[error("could not decode the response: {0}")]
    Decode(String),
    /// A local file could not be read or written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Whether the same request may succeed later: busy, rate-limited or service errors, and
    /// connection failures, including a response lost after the server received the request (sends
    /// are retried with the same `thirdTraceId`, so the server does not deliver them twice).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { code, .. } => code.is_retryable(),
            Error::Transport(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
            }
            _ => false,
        }
    }

    /// The Fxiaoke code, for API errors and client-side validation errors.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            Error::Invalid(e) => Some(e.code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_api_errors_are_retryable() {
        let api = |n: i64| Error::Api {
            code: n.into(),
            message: String::new(),
            description: String::new(),
            trace_id: String::new(),
        };
        assert!(api(-1).is_retryable());
        assert!(api(30004).is_retryable());
        assert!(!api(30002).is_retryable());
        assert!(!api(20021).is_retryable());
        assert!(!Error::Decode("x".into()).is_retryable());
    }
}
