//! Per-request trace ids: generated at the edge, carried in a task-local for error envelopes and
//! in the tracing span for logs, and echoed in the `x-fxmsg-trace-id` header.
//!
//! Only the method and path are logged: query strings can carry `corpAccessToken`.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static TRACE_ID: String;
}

/// The trace id of the request being handled, or a fresh one outside a request.
pub fn current_trace_id() -> String {
    TRACE_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| new_trace_id())
}

fn new_trace_id() -> String {
    format!("E-O.{}", uuid::Uuid::new_v4().simple())
}

/// Middleware: assigns the trace id and logs the request's outcome under it, one line per request.
///
/// The line carries the trace id itself rather than through a span: a span enabled at `info`
/// costs a registry entry and an enter and exit on every poll, about 5% of a send's CPU. The
/// request span is `debug`, for when its context is wanted on every line inside the request.
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let span = tracing::debug_span!("request", trace_id = %trace_id);
    let started = Instant::now();
    let mut response = TRACE_ID
        .scope(trace_id.clone(), next.run(request))
        .instrument(span)
        .await;
    tracing::info!(
        trace_id = %trace_id,
        method = %method,
        path = %uri.path(),
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "handled"
    );
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-fxmsg-trace-id", value);
    }
    response
}

/// Log output: human-readable lines, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sends logs to stderr, filtered by `RUST_LOG` (default `info,sqlx=warn`). `fxmsg serve` and the
/// benchmark's server both log through this, so the benchmark pays what a deployment pays.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}
