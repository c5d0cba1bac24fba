//! `GET /api/v1/events`: every committed event, live, behind the admin token.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use fxmsg_store::EventScope;
use serde::Deserialize;

use crate::error::NativeError;
use crate::events;
use crate::state::AppState;

/// Query of the event streams.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsQuery {
    /// Only this corp's events, numbered by its own sequence.
    corp_id: Option<String>,
    /// Resume after this position (as `Last-Event-ID` does).
    since: Option<i64>,
}

/// `GET /api/v1/events?corpId&since`: SSE. With `corpId`, ids are the corp's sequence; without,
/// the sequence across corps.
#[utoipa::path(get, path = "/events", tag = "messages", params(EventsQuery),
    responses((status = 200, description = "Server-Sent Events: `message`, `revoke`, `read`, `reset`", content_type = "text/event-stream", body = String), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn stream_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, NativeError> {
    let Query(q) = query.map_err(|e| NativeError::bad_request(e.body_text()))?;
    let from = events::resume_from(&headers, q.since)?;
    let scope = match q.corp_id {
        Some(corp) => {
            if state.store.corp(&corp).await?.is_none() {
                return Err(NativeError::not_found(format!("no corp {corp}")));
            }
            EventScope::Corp(corp)
        }
        None => EventScope::All,
    };
    events::respond(&state, scope, from).await
}
