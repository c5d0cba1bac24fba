//! `/api/v1/inbox…`: an employee's own inbox, read receipts and event stream, with employee
//! credentials. Another employee's message (or another corp's) is exactly as missing as one that
//! does not exist.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use fxmsg_api::native::{InboxItem, InboxPage, ReadReceipt};
use fxmsg_store::{EventScope, ReadOutcome};
use serde::Deserialize;

use crate::access::EmployeeCaller;
use crate::error::NativeError;
use crate::events;
use crate::extract::Path;
use crate::routes::inspect::{inbox_page, PageQuery};
use crate::state::AppState;

/// `GET /api/v1/inbox?cursor&limit`: newest first, with the unread count.
#[utoipa::path(get, path = "/inbox", tag = "inbox", operation_id = "get_own_inbox", params(PageQuery),
    responses((status = 200, body = fxmsg_api::native::InboxPage), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn get_inbox(
    State(state): State<AppState>,
    Extension(me): Extension<EmployeeCaller>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<InboxPage>, NativeError> {
    let Query(q) = query.map_err(|e| NativeError::bad_request(e.body_text()))?;
    inbox_page(&state, &me.corp_id, &me.open_user_id, q).await
}

fn missing(message_id: &str) -> NativeError {
    NativeError::not_found(format!("no message {message_id} in your inbox"))
}

/// `GET /api/v1/inbox/messages/{messageId}`
#[utoipa::path(get, path = "/inbox/messages/{message_id}", tag = "inbox", operation_id = "get_own_message", params(("message_id" = String, Path)),
    responses((status = 200, body = fxmsg_api::native::InboxItem), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn get_message(
    State(state): State<AppState>,
    Extension(me): Extension<EmployeeCaller>,
    Path(message_id): Path<String>,
) -> Result<Json<InboxItem>, NativeError> {
    let item = state
        .store
        .inbox_item(&me.corp_id, &me.open_user_id, &message_id)
        .await?;
    item.map(Json).ok_or_else(|| missing(&message_id))
}

/// `POST /api/v1/inbox/messages/{messageId}/read`: marks it read; repeating it is harmless and
/// answers the first read's time.
#[utoipa::path(post, path = "/inbox/messages/{message_id}/read", tag = "inbox", params(("message_id" = String, Path)),
    responses((status = 200, body = fxmsg_api::native::ReadReceipt), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn mark_read(
    State(state): State<AppState>,
    Extension(me): Extension<EmployeeCaller>,
    Path(message_id): Path<String>,
) -> Result<Json<ReadReceipt>, NativeError> {
    let outcome = state
        .store
        .mark_read(&me.corp_id, &me.open_user_id, &message_id, state.now())
        .await?;
    match outcome {
        ReadOutcome::Read(read_at) | ReadOutcome::AlreadyRead(read_at) => Ok(Json(ReadReceipt {
            message_id,
            read_at,
        })),
        ReadOutcome::NotFound => Err(missing(&message_id)),
    }
}

/// Query of the employee's stream.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    since: Option<i64>,
}

/// `GET /api/v1/inbox/events`: SSE of the employee's messages, their revokes and the employee's
/// own reads, numbered by the corp's sequence.
#[utoipa::path(get, path = "/inbox/events", tag = "inbox", operation_id = "stream_own_events", params(StreamQuery),
    responses((status = 200, description = "Server-Sent Events of the employee's messages, their revokes and the employee's reads", content_type = "text/event-stream", body = String), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn stream_events(
    State(state): State<AppState>,
    Extension(me): Extension<EmployeeCaller>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, NativeError> {
    let Query(q) = query.map_err(|e| NativeError::bad_request(e.body_text()))?;
    let from = events::resume_from(&headers, q.since)?;
    let scope = EventScope::Employee {
        corp_id: me.corp_id,
        open_user_id: me.open_user_id,
    };
    events::respond(&state, scope, from).await
}
