//! Native `/api/v1` views of what was sent: message listing, one message, an employee's inbox.

use axum::extract::{Query, State};
use axum::Json;
use fxmsg_api::native::{InboxPage, Message, MessageDetail, Page};
use fxmsg_store::{Cursor, MessageFilter};
use serde::Deserialize;

use crate::error::NativeError;
use crate::extract::Path;
use crate::state::AppState;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
const MAX_LIMIT: u32 = 500;

/// Query of `GET /api/v1/messages` and `GET /api/v1/messages/wait`: the same filters; a listing
/// pages with `cursor`, a wait starts `after` a position and gives up after `timeout` seconds.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageQuery {
    corp_id: Option<String>,
    app_id: Option<String>,
    service_id: Option<String>,
    recipient: Option<String>,
    msg_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    revoked: Option<bool>,
    text: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
    after: Option<i64>,
    timeout: Option<u64>,
}

/// Query of paged routes without filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

fn paging(cursor: Option<&str>, limit: Option<u32>) -> Result<(Option<Cursor>, u32), NativeError> {
    let cursor = cursor
        .map(|c| {
            c.parse::<i64>()
                .map(Cursor)
                .map_err(|_| NativeError::bad_request("cursor: not a cursor from this API"))
        })
        .transpose()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(NativeError::bad_request(format!(
            "limit: must be 1..{MAX_LIMIT}"
        )));
    }
    Ok((cursor, limit))
}

fn page<T>(items: Vec<T>, next: Option<Cursor>) -> Json<Page<T>> {
    Json(Page {
        items,
        next_cursor: next.map(|c| c.0.to_string()),
    })
}

fn query_error(e: axum::extract::rejection::QueryRejection) -> NativeError {
    NativeError::bad_request(e.body_text())
}

/// Most seconds a wait may last.
pub const MAX_WAIT_SECS: u64 = 300;
/// A wait's timeout when none is given.
const DEFAULT_WAIT_SECS: u64 = 30;

/// `GET /api/v1/messages`: filter by corp, app, recipient, msgType, time range, revoked state and
/// text; newest first.
#[utoipa::path(get, path = "/messages", tag = "messages", params(MessageQuery),
    responses((status = 200, body = fxmsg_api::native::Page<fxmsg_api::native::Message>), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn list_messages(
    State(state): State<AppState>,
    query: Result<Query<MessageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Message>>, NativeError> {
    let Query(mut q) = query.map_err(query_error)?;
    if q.after.is_some() || q.timeout.is_some() {
        return Err(NativeError::bad_request(
            "after and timeout: only for GET /api/v1/messages/wait; a listing pages with cursor",
        ));
    }
    let (cursor, limit) = paging(q.cursor.take().as_deref(), q.limit)?;
    let filter = message_filter(&state, q).await?;
    let (items, next) = state.store.list_messages(&filter, cursor, limit).await?;
    Ok(page(items, next))
}

/// `GET /api/v1/messages/wait`: the listing's filters; answers with the matching messages after
/// `after` (oldest first) as soon as there are any, or with none after `timeout` seconds
/// (default 30, at most 300). `nextCursor` is the `after` for the next wait.
#[utoipa::path(get, path = "/messages/wait", tag = "messages", params(MessageQuery),
    responses((status = 200, description = "Matching messages once one commits (oldest first), or none at the timeout", body = fxmsg_api::native::Page<fxmsg_api::native::Message>), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn wait_messages(
    State(state): State<AppState>,
    query: Result<Query<MessageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Message>>, NativeError> {
    let Query(mut q) = query.map_err(query_error)?;
    if q.cursor.is_some() {
        return Err(NativeError::bad_request(
            "cursor: a wait starts after a position; pass after (a wait's nextCursor)",
        ));
    }
    let after = q.after.take().unwrap_or(0);
    if after < 0 {
        return Err(NativeError::bad_request("after: must be 0 or more"));
    }
    let timeout = q.timeout.take().unwrap_or(DEFAULT_WAIT_SECS);
    if timeout > MAX_WAIT_SECS {
        return Err(NativeError::bad_request(format!(
            "timeout: at most {MAX_WAIT_SECS} seconds"
        )));
    }
    let (_, limit) = paging(None, q.limit)?;
    let filter = message_filter(&state, q).await?;
    let (items, last) = crate::events::wait_for_messages(
        state.store.as_ref(),
        &filter,
        after,
        limit,
        std::time::Duration::from_secs(timeout),
        &state.shutdown,
    )
    .await?;
    Ok(Json(Page {
        items,
        next_cursor: Some(last.to_string()),
    }))
}

/// The store's filter for a query's filter fields; an employee number becomes the employee's
/// `FSUID_…` within the corp.
pub(crate) async fn message_filter(
    state: &AppState,
    q: MessageQuery,
) -> Result<MessageFilter, NativeError> {
    if let Some(t) = &q.msg_type {
        if !["text", "composite", "articles"].contains(&t.as_str()) {
            return Err(NativeError::bad_request(
                "msgType: must be text, composite or articles",
            ));
        }
    }
    let recipient = match (&q.corp_id, q.recipient) {
        (_, None) => None,
        // Employee numbers repeat across corps; an FSUID_ names one employee anywhere.
        (None, Some(r)) if !r.starts_with("FSUID_") => {
            return Err(NativeError::bad_request(format!(
                "recipient: {r:?} is an employee number, which needs corpId (numbers repeat \
                 across corps); pass corpId too, or the employee's FSUID_…"
            )))
        }
        (None, Some(r)) => Some(r),
        (Some(corp), Some(r)) => Some(
            state
                .store
                .employee(corp, &r)
                .await?
                .map_or(r, |e| e.open_user_id),
        ),
    };
    Ok(MessageFilter {
        corp_id: q.corp_id,
        app_id: q.app_id,
        service_id: q.service_id,
        recipient,
        msg_type: q.msg_type,
        since: q
            .since
            .as_deref()
            .map(|t| time_ms("since", t))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|t| time_ms("until", t))
            .transpose()?,
        revoked: q.revoked,
        text: q.text,
    })
}

/// A point in time given as epoch milliseconds, an RFC 3339 time, or a date (its UTC midnight):
/// epoch milliseconds.
pub fn time_ms(field: &str, text: &str) -> Result<i64, NativeError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    Err(NativeError::bad_request(format!(
        "{field}: {text:?} is not a time; use epoch milliseconds (1764547200000), a date \
         (2026-12-01, midnight UTC) or RFC 3339 (2026-12-01T08:00:00+08:00)"
    )))
}

/// `GET /api/v1/messages/{messageId}`: raw request, normalized content, per-recipient state.
#[utoipa::path(get, path = "/messages/{message_id}", tag = "messages", params(("message_id" = String, Path)),
    responses((status = 200, body = fxmsg_api::native::MessageDetail), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn get_message(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Result<Json<MessageDetail>, NativeError> {
    let detail = state.store.message(None, &message_id).await?;
    detail
        .map(Json)
        .ok_or_else(|| NativeError::not_found(format!("no message {message_id}")))
}

/// `GET /api/v1/corps/{corpId}/employees/{employee}/inbox`: newest first, with the unread count;
/// `employee` is an `FSUID_…` or an employee number.
#[utoipa::path(get, path = "/corps/{corp_id}/employees/{employee}/inbox", tag = "messages", params(("corp_id" = String, Path, description = "FSCID_…"), ("employee" = String, Path, description = "FSUID_… or an employee number"), PageQuery),
    responses((status = 200, body = fxmsg_api::native::InboxPage), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn get_inbox(
    State(state): State<AppState>,
    Path((corp_id, employee)): Path<(String, String)>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<InboxPage>, NativeError> {
    let Query(q) = query.map_err(query_error)?;
    let employee = crate::routes::admin::existing_employee(&state, &corp_id, &employee).await?;
    inbox_page(&state, &corp_id, &employee.open_user_id, q).await
}

/// One page of an employee's inbox and their unread count, for the admin's view and their own.
pub async fn inbox_page(
    state: &AppState,
    corp_id: &str,
    open_user_id: &str,
    q: PageQuery,
) -> Result<Json<InboxPage>, NativeError> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (items, next) = state
        .store
        .inbox(corp_id, open_user_id, cursor, limit)
        .await?;
    let unread = state.store.unread_count(corp_id, open_user_id).await?;
    Ok(Json(InboxPage {
        items,
        next_cursor: next.map(|c| c.0.to_string()),
        unread,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_epoch_milliseconds_dates_or_rfc3339() {
        assert_eq!(time_ms("since", "1764547200000"), Ok(1_764_547_200_000));
        assert_eq!(time_ms("since", "2025-12-01"), Ok(1_764_547_200_000));
        assert_eq!(
            time_ms("since", "2025-12-01T08:00:00+08:00"),
            Ok(1_764_547_200_000)
        );
        assert_eq!(
            time_ms("since", "2025-12-01T00:00:00.5Z"),
            Ok(1_764_547_200_500)
        );
        for bad in ["2025-13-01", "yesterday", "2025-12-01 00:00", ""] {
            let e = time_ms("until", bad).unwrap_err();
            assert!(
                e.message.starts_with("until: ") && e.message.contains("RFC 3339"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
