//! `/cgi/message/send`, `/cgi/app/message/send` and `/cgi/app/message/revoke`.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fxmsg_api::envelope::{Empty, SendResult};
use fxmsg_api::message::Content;
use fxmsg_api::native::Message;
use fxmsg_api::{Envelope, ErrorCode, SendMessage};
use fxmsg_store::{IdempotencyKey, InsertOutcome, MediaKind, NewMessage, RevokeOutcome};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{require_service_account, Call, Caller};
use crate::error::CompatError;
use crate::extract::CompatJson;
use crate::state::AppState;
use crate::trace::current_trace_id;

/// How long a `thirdTraceId` deduplicates retries.
pub(crate) const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Longest accepted `thirdTraceId`.
const MAX_TRACE_ID_LEN: usize = 128;
/// Body fields that carry credentials: never stored, never part of the idempotency hash.
const CREDENTIAL_FIELDS: [&str; 2] = ["corpAccessToken", "corpId"];

/// `POST /cgi/message/send`: text, composite or articles to 1..500 employees.
#[utoipa::path(post, path = "/cgi/message/send", tag = "fxiaoke", request_body = crate::routes::schema::SendRequest, params(crate::routes::schema::SendQuery),
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::SendResult>)))]
pub async fn send_message(
    State(state): State<AppState>,
    call: Call,
) -> Result<Response, CompatError> {
    send(&state, call, false).await
}

/// `POST /cgi/app/message/send`: the same, as a service account named by `serviceId`.
#[utoipa::path(post, path = "/cgi/app/message/send", tag = "fxiaoke", request_body = crate::routes::schema::SendRequest, params(crate::routes::schema::SendQuery),
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::SendResult>)))]
pub async fn send_app_message(
    State(state): State<AppState>,
    call: Call,
) -> Result<Response, CompatError> {
    send(&state, call, true).await
}

async fn send(state: &AppState, call: Call, as_service: bool) -> Result<Response, CompatError> {
    let Call {
        caller,
        query,
        body: CompatJson(mut body),
    } = call;
    let caller = &caller;
    if let Value::Object(obj) = &mut body {
        CREDENTIAL_FIELDS.iter().for_each(|f| drop(obj.remove(*f)));
    }
    let message = SendMessage::parse(&body)?;
    // Serialised once: stored as the raw request and hashed for the idempotency key.
    // `to_string` writes straight into a buffer; `Display` goes through `fmt` for every token.
    let raw_request = serde_json::to_string(&body).map_err(|_| CompatError::internal())?;
    let service_id = if as_service {
        let id = message
            .service_id
            .as_deref()
            .ok_or_else(|| CompatError::invalid("serviceId", "is required"))?;
        require_service_account(state, caller, id).await?;
        Some(id.to_owned())
    } else {
        None
    };
    check_cover_images(state, caller, &message.content).await?;

    let resolved = state
        .store
        .resolve_recipients(&caller.corp_id, &message.to_user)
        .await?;
    // An employee named twice (by number and by FSUID_) gets one inbox row.
    let mut seen = HashSet::with_capacity(resolved.len());
    let mut recipients = Vec::with_capacity(resolved.len());
    let mut invalid_users = Vec::new();
    for (requested, found) in message.to_user.iter().zip(resolved) {
        match found {
            Some(id) if seen.insert(id.clone()) => recipients.push(id),
            Some(_) => {}
            None => invalid_users.push(requested.clone()),
        }
    }
    if recipients.is_empty() {
        return Err(CompatError::new(
            ErrorCode::InvalidToUser,
            format!(
                "toUser: none of the {} recipients is an active employee of this corp",
                message.to_user.len()
            ),
        ));
    }

    let trace_id = current_trace_id();
    // Time-ordered (UUIDv7): the unique index on message ids then grows at its right edge instead of
    // dirtying a random page per message.
    let message_id = uuid::Uuid::now_v7().to_string();
    let third_trace_id = query.third_trace_id.filter(|t| !t.is_empty());
    let key = match &third_trace_id {
        Some(t) if t.len() > MAX_TRACE_ID_LEN => {
            return Err(CompatError::invalid(
                "thirdTraceId",
                format!("at most {MAX_TRACE_ID_LEN} characters"),
            ))
        }
        Some(t) => Some(IdempotencyKey {
            key: t.clone(),
            body_hash: request_hash(as_service, &raw_request),
            not_before: state.now() - IDEMPOTENCY_WINDOW_MS,
        }),
        None => None,
    };
    let new = NewMessage {
        message: Message {
            message_id,
            corp_id: caller.corp_id.clone(),
            app_id: caller.app_id.clone(),
            service_id,
            msg_type: message.content.msg_type().into(),
            content: message.content.to_json(),
            recipients,
            invalid_users,
            third_trace_id,
            trace_id,
            created_at: state.now(),
            revoked_at: None,
        },
        media_ids: message
            .content
            .media_ids()
            .into_iter()
            .map(String::from)
            .collect(),
        raw_request,
    };
    let our_hash = key.as_ref().map(|k| k.body_hash);
    let inserted = SendResult {
        message_id: new.message.message_id.clone(),
        invalid_users: new.message.invalid_users.clone(),
    };
    let trace_id = new.message.trace_id.clone();
    let recipients = new.message.recipients.len();
    // The response names the message as inserted or, for a retry, as the first call inserted it,
    // under the trace id it was sent with.
    let (trace_id, result) = match state.store.insert_message(new, key).await? {
        InsertOutcome::Inserted => {
            state.metrics.message_sent(recipients);
            (trace_id, inserted)
        }
        InsertOutcome::Replayed { body_hash, message } if our_hash == Some(body_hash) => (
            message.trace_id,
            SendResult {
                message_id: message.message_id,
                invalid_users: message.invalid_users,
            },
        ),
        InsertOutcome::Replayed { .. } => return Err(CompatError::invalid(
            "thirdTraceId",
            "already used within 24 h for a different request; use a fresh id for a new message",
        )),
        InsertOutcome::MissingMedia(id) => return Err(missing_cover(&message.content, &id)),
    };
    Ok(Json(Envelope::ok(trace_id, result)).into_response())
}

/// What tells a retry from a different request under the same key: the body without credentials,
/// and which of the two send endpoints it came to.
fn request_hash(as_service: bool, raw_request: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(if as_service { "true:" } else { "false:" })
        .chain_update(raw_request)
        .finalize()
        .into()
}

/// Every `coverImage` must be a live image of the caller's corp.
async fn check_cover_images(
    state: &AppState,
    caller: &Caller,
    content: &Content,
) -> Result<(), CompatError> {
    for id in content.media_ids() {
        match state.store.media(&caller.corp_id, id).await? {
            Some(m) if m.kind == MediaKind::Image => {}
            Some(_) => {
                let field = cover_field(content, id);
                return Err(CompatError::invalid(
                    &field,
                    format!("media {id:?} is a document, not an image"),
                ));
            }
            None => return Err(missing_cover(content, id)),
        }
    }
    Ok(())
}

fn missing_cover(content: &Content, id: &str) -> CompatError {
    CompatError::invalid(
        &cover_field(content, id),
        format!("no media {id:?} in this corp; upload the image first"),
    )
}

fn cover_field(content: &Content, id: &str) -> String {
    let index = content
        .media_ids()
        .iter()
        .position(|m| *m == id)
        .unwrap_or(0);
    format!("articles[{index}].coverImage")
}

/// `POST /cgi/app/message/revoke`: marks a message revoked for every recipient; repeating is harmless.
#[utoipa::path(post, path = "/cgi/app/message/revoke", tag = "fxiaoke", request_body = crate::routes::schema::RevokeRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::Empty>)))]
pub async fn revoke_message(
    State(state): State<AppState>,
    Call { caller, body, .. }: Call,
) -> Result<Json<Envelope<Empty>>, CompatError> {
    let service_id = body.required("serviceId", ErrorCode::InvalidParameter)?;
    let message_id = body.required("messageId", ErrorCode::InvalidParameter)?;
    require_service_account(&state, &caller, service_id).await?;
    match state
        .store
        .revoke_message(&caller.corp_id, service_id, message_id, state.now())
        .await?
    {
        RevokeOutcome::Revoked | RevokeOutcome::AlreadyRevoked => {
            Ok(Json(Envelope::ok(current_trace_id(), Empty {})))
        }
        RevokeOutcome::NotFound => Err(CompatError::invalid(
            "messageId",
            format!("no message {message_id:?} in this corp"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{hex, sha256_hex};

    /// Keys stored before migration 4 hold `sha256_hex("{as_service}:{body}")`, which the
    /// migration turns into bytes; a retry of such a send must hash to the same bytes.
    #[test]
    fn the_request_hash_is_the_one_stored_keys_were_made_with() {
        let body = r#"{"toUser":["1000"],"msgType":"text","text":{"content":"hi"}}"#;
        for as_service in [false, true] {
            assert_eq!(
                hex(&request_hash(as_service, body)),
                sha256_hex(&format!("{as_service}:{body}"))
            );
        }
        assert_ne!(request_hash(false, body), request_hash(true, body));
    }
}
