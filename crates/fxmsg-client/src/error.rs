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
///
/// `Debug` shows the same text as `Display`, so `main() -> Result<(), Error>` prints a sentence
/// that says what to change rather than the HTTP stack's internals.
#[derive(thiserror::Error)]
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
    /// The connection failed or timed out. Shown with its causes, down to the operating system's
    /// ("connection refused").
    #[error("{}", transport_text(.0))]
    Transport(#[from] reqwest::Error),
    /// The response could not be understood: names the URL, the HTTP status and what came back.
    #[error("could not decode the response: {0}")]
    Decode(String),
    /// The client was set up wrongly (a base URL that is not one, missing credentials).
    #[error("{0}")]
    Config(String),
    /// A local file could not be read or written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What failed, where, and every cause below it that adds something: `could not connect to
/// http://127.0.0.1:1/oauth2.0/token: tcp connect error: Connection refused (os error 111)`.
fn transport_text(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "could not connect to"
    } else if e.is_timeout() {
        "timed out waiting for"
    } else if e.is_builder() {
        "could not build the request for"
    } else if e.is_body() || e.is_decode() {
        "the response broke off from"
    } else {
        "the request failed:"
    };
    let mut text = match e.url() {
        Some(url) => format!("{what} {url}"),
        None => what.trim_end_matches([':', ' ']).to_owned(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let shown = cause.to_string();
        // hyper and reqwest repeat their own wording one level down; keep what is new.
        if !shown.is_empty() && !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

/// Checks a base URL (`http://127.0.0.1:8080`, `https://open.fxiaoke.com`) and returns it without
/// a trailing slash.
pub(crate) fn base_url(text: &str) -> Result<String, Error> {
    let wrong = |why: String| {
        Error::Config(format!(
            "base URL {text:?} {why}; write it like http://127.0.0.1:8080 or https://open.fxiaoke.com"
        ))
    };
    let url = reqwest::Url::parse(text).map_err(|e| wrong(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(wrong(format!(
            "has scheme {:?}, not http or https",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(wrong("has a query or fragment".into()));
    }
    Ok(text.trim_end_matches('/').to_owned())
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

    #[test]
    fn base_urls_must_be_http_urls_and_the_error_says_how_to_write_one() {
        assert_eq!(
            base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("https://open.fxiaoke.com").unwrap(),
            "https://open.fxiaoke.com"
        );
        for (bad, why) in [
            ("127.0.0.1:8080", "is not a URL"),
            ("localhost", "is not a URL"),
            ("ftp://host", "scheme \"ftp\""),
            ("http://host/?a=1", "query"),
        ] {
            let e = base_url(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("http://127.0.0.1:8080"),
                "{bad}: {e}"
            );
        }
    }

    /// A refused connection says so, with the URL, in Display and in Debug alike.
    #[tokio::test]
    async fn a_refused_connection_names_the_url_and_the_cause() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let e = Error::from(reqwest::get(&url).await.unwrap_err());
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                shown.starts_with(&format!("could not connect to {url}")),
                "{shown}"
            );
            assert!(
                shown.to_lowercase().contains("connection refused"),
                "{shown}"
            );
            assert!(
                !shown.contains("inner") && !shown.contains("kind:"),
                "{shown}"
            );
        }
    }
}
