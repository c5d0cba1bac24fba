//! `/livez` and `/readyz`.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// `GET /livez`: the process is serving HTTP.
pub async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: the store answers.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
