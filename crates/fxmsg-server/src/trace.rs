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

/// Middleware: assigns the trace id, logs the request's outcome under it.
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    let span = tracing::info_span!(
        "request",
        trace_id = %trace_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = TRACE_ID
        .scope(trace_id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "handled"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-fxmsg-trace-id", value);
    }
    response
}
