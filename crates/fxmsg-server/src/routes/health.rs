//! `/livez` and `/readyz`.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// `GET /livez`: the process is serving HTTP.
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "Serving", content_type = "text/plain", body = String)))]
pub async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready", content_type = "text/plain", body = String), (status = 503, description = "The store does not answer", content_type = "text/plain", body = String)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
