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
    // As strings, not `%` values: the text format writes a string without `fmt`.
    tracing::info!(
        trace_id = trace_id.as_str(),
        method = method.as_str(),
        path = uri.path(),
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "handled"
    );
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-fxmsg-trace-id", value);
    }
    response
}
