//! An employee's inbox: their messages only, live, with the unread count; opening one marks it
//! read (the page's script posts the read, from this origin).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fxmsg_api::native::InboxItem;

use super::view::{time, View};
use super::{html, image, notice, urlencode, Employee, Notice};
use crate::error::NativeError;
use crate::extract::Path;
use crate::state::AppState;

/// Messages the inbox page shows, newest first.
const PAGE: u32 = 100;

struct Item {
    message_id: String,
    summary: String,
    msg_type: String,
    sent: String,
    state: String,
}

#[derive(Template)]
#[template(path = "inbox_items.html")]
struct Items {
    unread: u64,
    items: Vec<Item>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    name: String,
    items: Items,
}

async fn items(state: &AppState, me: &crate::access::EmployeeCaller) -> Result<Items, NativeError> {
    let (list, _) = state
        .store
        .inbox(&me.corp_id, &me.open_user_id, None, PAGE)
        .await?;
    let unread = state
        .store
        .unread_count(&me.corp_id, &me.open_user_id)
        .await?;
    Ok(Items {
        unread,
        items: list
            .into_iter()
            .map(|i| Item {
                summary: View::of(&i.message, |_| String::new()).summary(),
                message_id: i.message.message_id,
                msg_type: i.message.msg_type,
                sent: time(i.message.created_at),
                state: i.state,
            })
            .collect(),
    })
}

/// `GET /inbox`
pub async fn inbox(Employee(me): Employee, State(state): State<AppState>) -> Response {
    match items(&state, &me).await {
        Ok(items) => html(
            StatusCode::OK,
            &InboxPage {
                name: me.name.clone(),
                items,
            },
        ),
        Err(e) => e.into_response(),
    }
}

/// `GET /inbox/fragment`: the list alone, for the live page.
pub async fn inbox_fragment(Employee(me): Employee, State(state): State<AppState>) -> Response {
    match items(&state, &me).await {
        Ok(items) => html(StatusCode::OK, &items),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "inbox_content.html")]
struct Content {
    sent: String,
    read: Option<String>,
    revoked: Option<String>,
    view: View,
}

#[derive(Template)]
#[template(path = "inbox_message.html")]
struct MessagePage {
    name: String,
    message_id: String,
    fragment: String,
    content: Content,
}

/// The employee's own message; another's, another corp's and a missing one are the same 404.
async fn content(
    state: &AppState,
    me: &crate::access::EmployeeCaller,
    message_id: &str,
) -> Result<Content, Response> {
    let item: Option<InboxItem> = state
        .store
        .inbox_item(&me.corp_id, &me.open_user_id, message_id)
        .await
        .map_err(|e| NativeError::from(e).into_response())?;
    let Some(item) = item else {
        return Err(notice(
            StatusCode::NOT_FOUND,
            Notice {
                title: "No such message",
                text: format!("There is no message {message_id} in your inbox."),
                home: "/inbox",
                action: Some(("/inbox", "Back to the inbox")),
            },
        ));
    };
    let m = &item.message;
    Ok(Content {
        sent: time(m.created_at),
        read: item.read_at.map(time),
        revoked: m.revoked_at.map(time),
        view: View::of(m, |media| format!("/inbox/media/{}", urlencode(media))),
    })
}

/// `GET /inbox/messages/{messageId}`
pub async fn message(
    Employee(me): Employee,
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Response {
    match content(&state, &me, &message_id).await {
        Ok(content) => html(
            StatusCode::OK,
            &MessagePage {
                name: me.name.clone(),
                fragment: format!("/inbox/messages/{}/fragment", urlencode(&message_id)),
                message_id,
                content,
            },
        ),
        Err(response) => response,
    }
}

/// `GET /inbox/messages/{messageId}/fragment`
pub async fn message_fragment(
    Employee(me): Employee,
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Response {
    match content(&state, &me, &message_id).await {
        Ok(content) => html(StatusCode::OK, &content),
        Err(response) => response,
    }
}

/// `GET /inbox/media/{mediaId}`: a cover image of the employee's corp.
pub async fn media(
    Employee(me): Employee,
    State(state): State<AppState>,
    Path(media_id): Path<String>,
) -> Response {
    image(&state, &me.corp_id, &media_id).await
}
