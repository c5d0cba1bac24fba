//! `GET /metrics`: the server's and its store's counters in the OpenMetrics text format that
//! Prometheus scrapes. Behind the admin token like `/api/v1`; no label names a corp, app or
//! employee, so one tenant's traffic is not itemised to whoever reads them.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fxmsg_api::ErrorCode;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::error::NativeError;
use crate::state::AppState;

/// The media type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request, by route pattern (never the raw path: ids would make a series per id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// A Fxiaoke error answer (HTTP 200 with a non-zero `errorCode`), by route and code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    route: String,
    code: i64,
}

fn request_histogram() -> Histogram {
    // 0.25 ms to 1 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 13))
}

/// Every metric the server exports, registered once at start.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    api_errors: Family<ErrorLabels, Counter>,
    messages: Counter,
    deliveries: Counter,
    /// What event streams count.
    pub streams: StreamMetrics,
}

/// Event streams: how many are open, and how often one fell behind the live buffer and read the
/// log to catch up. Clones count into the same values.
#[derive(Debug, Clone, Default)]
pub struct StreamMetrics {
    /// Streams open now.
    pub open: Gauge,
    /// Times a stream fell behind the in-memory buffer and caught up from the log.
    pub catch_ups: Counter,
}

impl Metrics {
    /// The server's metrics, with the store's registered by `store` under `fxmsg_store_`.
    pub fn new(store: &dyn fxmsg_store::Store) -> Metrics {
        let requests: Family<_, _, fn() -> Histogram> =
            Family::new_with_constructor(request_histogram);
        let (api_errors, messages, deliveries) = Default::default();
        let mut registry = Registry::with_prefix("fxmsg");
        registry.register_with_unit(
            "http_request_duration",
            "HTTP requests by method, route pattern and status, and how long they took",
            Unit::Seconds,
            requests.clone(),
        );
        registry.register(
            "api_errors",
            "Fxiaoke-compatible answers with a non-zero errorCode, by route and code",
            Family::clone(&api_errors),
        );
        registry.register(
            "messages_sent",
            "Messages stored by the send endpoints (idempotent replays not counted)",
            Counter::clone(&messages),
        );
        registry.register(
            "deliveries",
            "Inbox rows created: one per recipient of each stored message",
            Counter::clone(&deliveries),
        );
        let streams = StreamMetrics::default();
        registry.register(
            "event_streams",
            "Event streams (SSE) open now",
            streams.open.clone(),
        );
        registry.register(
            "event_stream_catch_ups",
            "Times an event stream fell behind the in-memory buffer and caught up from the log",
            streams.catch_ups.clone(),
        );
        store.register_metrics(registry.sub_registry_with_prefix("store"));
        Metrics {
            registry,
            requests,
            api_errors,
            messages,
            deliveries,
            streams,
        }
    }

    /// Counts a stored message with `recipients` inbox rows.
    pub fn message_sent(&self, recipients: usize) {
        self.messages.inc();
        self.deliveries.inc_by(recipients as u64);
    }

    /// The exposition, as `/metrics` answers it.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// `GET /metrics`
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn get_metrics(State(state): State<AppState>) -> Result<Response, NativeError> {
    let text = state.metrics.encode().map_err(|e| {
        tracing::error!(error = %e, "encoding metrics failed");
        NativeError::internal()
    })?;
    Ok(([(CONTENT_TYPE, OPENMETRICS)], text).into_response())
}

/// Middleware on the routed requests: their count and duration, and Fxiaoke error codes, which
/// [`crate::error::CompatError`] leaves in the response's extensions.
pub async fn record_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        let labels = ErrorLabels {
            route: route.clone(),
            code: code.as_i64(),
        };
        state.metrics.api_errors.get_or_create(&labels).inc();
    }
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state
        .metrics
        .requests
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
