//! The admin's console: sign in once with the admin token, then every message live with the
//! listing's filters, a message's page (request, response, rendering, recipients) and the
//! directory.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use fxmsg_api::envelope::SendResult;
use fxmsg_api::native::{App, Corp, Employee, Message, MessageDetail, ServiceAccount};
use fxmsg_api::Envelope;
use serde::Deserialize;

use super::view::{time, View};
use super::{html, image, notice, redirect_with_cookie, urlencode, Admin, Notice};
use crate::access::{self, CONSOLE_COOKIE, CONSOLE_SESSION_MS};
use crate::error::NativeError;
use crate::extract::Path;
use crate::routes::admin::is_admin_token;
use crate::routes::inspect::{message_filter, MessageQuery};
use crate::state::AppState;

/// Messages a console page shows, newest first.
const PAGE: u32 = 100;

#[derive(Template)]
#[template(path = "console_login.html")]
struct LoginPage {
    error: Option<String>,
}

/// `GET /console/login`
pub async fn login_page() -> Response {
    html(StatusCode::OK, &LoginPage { error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /console/login`: the admin token, exchanged for a signed session cookie.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(e) = access::check_origin(&Method::POST, &headers) {
        return e.into_response();
    }
    if !is_admin_token(&state, form.token.trim()) {
        let error = "That is not the admin token. Use the one printed at the data directory's \
                     first start, or the last one set with FXMSG_ADMIN_TOKEN.";
        return html(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                error: Some(error.into()),
            },
        );
    }
    let session = access::console_session(&state, state.now() + CONSOLE_SESSION_MS);
    let cookie = access::session_cookie(
        &headers,
        CONSOLE_COOKIE,
        &session,
        CONSOLE_SESSION_MS / 1000,
    );
    redirect_with_cookie("/console", &cookie)
}

/// `POST /console/logout`
pub async fn logout(headers: HeaderMap) -> Response {
    if let Err(e) = access::check_origin(&Method::POST, &headers) {
        return e.into_response();
    }
    redirect_with_cookie(
        "/console/login",
        &access::session_cookie(&headers, CONSOLE_COOKIE, "", 0),
    )
}

/// The filter form as typed, to show it again.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FilterForm {
    corp_id: String,
    app_id: String,
    service_id: String,
    recipient: String,
    msg_type: String,
    revoked: String,
    text: String,
}

/// One row of the listing.
struct Row {
    message_id: String,
    sent: String,
    msg_type: String,
    summary: String,
    corp: String,
    recipients: usize,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console_messages.html")]
struct MessagesPage {
    corps: Vec<Corp>,
    filter: FilterForm,
    error: Option<String>,
    events: String,
    fragment: String,
    rows: Rows,
}

#[derive(Template)]
#[template(path = "console_rows.html")]
struct Rows {
    rows: Vec<Row>,
}

/// The query without its empty fields (an empty box filters nothing), as the listing API
/// would take it.
fn non_empty(query: Option<&str>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .filter(|(_, v)| !v.trim().is_empty()),
        )
        .finish()
}

/// The rows a query selects, or why it cannot select any.
async fn rows(state: &AppState, query: &str, corps: &[Corp]) -> Result<Vec<Row>, NativeError> {
    let q: MessageQuery = parse_query(query)?;
    let filter = message_filter(state, q).await?;
    let (messages, _) = state.store.list_messages(&filter, None, PAGE).await?;
    let names: HashMap<&str, &str> = corps
        .iter()
        .map(|c| (c.corp_id.as_str(), c.name.as_str()))
        .collect();
    Ok(messages.iter().map(|m| row(m, &names)).collect())
}

/// A query string as `T`, with the listing API's error for one that does not parse.
fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, NativeError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| NativeError::bad_request("the filter is not a valid query"))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| NativeError::bad_request(e.body_text()))
}

fn row(m: &Message, corps: &HashMap<&str, &str>) -> Row {
    Row {
        message_id: m.message_id.clone(),
        sent: time(m.created_at),
        msg_type: m.msg_type.clone(),
        summary: View::of(m, |_| String::new()).summary(),
        corp: corps
            .get(m.corp_id.as_str())
            .map_or_else(|| m.corp_id.clone(), |name| (*name).to_owned()),
        recipients: m.recipients.len(),
        revoked: m.revoked_at.is_some(),
    }
}

/// `GET /console?corpId&appId&serviceId&recipient&msgType&revoked&text`: the newest messages,
/// live.
pub async fn messages(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = non_empty(query.as_deref());
    let form: FilterForm = parse_query(&query).unwrap_or_default();
    let corps = match state.store.list_corps().await {
        Ok(corps) => corps,
        Err(e) => return NativeError::from(e).into_response(),
    };
    let (rows, error, status) = match rows(&state, &query, &corps).await {
        Ok(rows) => (rows, None, StatusCode::OK),
        Err(e) if e.status.is_client_error() => (Vec::new(), Some(e.message), e.status),
        Err(e) => return e.into_response(),
    };
    let events = match form.corp_id.as_str() {
        "" => "/api/v1/events".to_owned(),
        corp => format!("/api/v1/events?corpId={}", urlencode(corp)),
    };
    html(
        status,
        &MessagesPage {
            corps,
            filter: form,
            error,
            events,
            fragment: format!("/console/fragment?{query}"),
            rows: Rows { rows },
        },
    )
}

/// `GET /console/fragment?…`: the listing's rows alone, for the live page.
pub async fn messages_fragment(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let rows = match state.store.list_corps().await {
        Ok(corps) => rows(&state, &non_empty(query.as_deref()), &corps).await,
        Err(e) => Err(e.into()),
    };
    match rows {
        Ok(rows) => html(StatusCode::OK, &Rows { rows }),
        Err(e) => e.into_response(),
    }
}

/// One recipient's line.
struct Recipient {
    open_user_id: String,
    name: String,
    delivered: String,
    read: Option<String>,
    state: String,
}

#[derive(Template)]
#[template(path = "console_detail.html")]
struct Detail {
    sent: String,
    corp: String,
    app_id: String,
    service_id: Option<String>,
    msg_type: String,
    revoked: Option<String>,
    invalid_users: String,
    view: View,
    recipients: Vec<Recipient>,
}

#[derive(Template)]
#[template(path = "console_message.html")]
struct MessagePage {
    message_id: String,
    events: String,
    fragment: String,
    raw_request: String,
    response: String,
    detail: Detail,
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

async fn detail(state: &AppState, message_id: &str) -> Result<(MessageDetail, Detail), Response> {
    let missing = || {
        notice(
            StatusCode::NOT_FOUND,
            Notice {
                title: "No such message",
                text: format!("There is no message {message_id}."),
                home: "/console",
                action: Some(("/console", "All messages")),
            },
        )
    };
    let found = state
        .store
        .message(None, message_id)
        .await
        .map_err(|e| NativeError::from(e).into_response())?;
    let Some(found) = found else {
        return Err(missing());
    };
    let m = &found.message;
    let employees: HashMap<String, String> = state
        .store
        .list_employees(&m.corp_id)
        .await
        .map_err(|e| NativeError::from(e).into_response())?
        .into_iter()
        .map(|e: Employee| (e.open_user_id, e.name))
        .collect();
    let corp = state
        .store
        .corp(&m.corp_id)
        .await
        .map_err(|e| NativeError::from(e).into_response())?;
    let corp_id = m.corp_id.clone();
    let detail = Detail {
        sent: time(m.created_at),
        corp: corp.map_or_else(|| m.corp_id.clone(), |c| c.name.clone()),
        app_id: m.app_id.clone(),
        service_id: m.service_id.clone(),
        msg_type: m.msg_type.clone(),
        revoked: m.revoked_at.map(time),
        invalid_users: m.invalid_users.join(", "),
        view: View::of(m, |media| {
            format!("/console/media/{corp_id}/{}", urlencode(media))
        }),
        recipients: found
            .deliveries
            .iter()
            .map(|d| Recipient {
                name: employees.get(&d.open_user_id).cloned().unwrap_or_default(),
                open_user_id: d.open_user_id.clone(),
                delivered: time(d.delivered_at),
                read: d.read_at.map(time),
                state: d.state.clone(),
            })
            .collect(),
    };
    Ok((found, detail))
}

/// `GET /console/messages/{messageId}`
pub async fn message(
    _: Admin,
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Response {
    let (found, d) = match detail(&state, &message_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let m = &found.message;
    let response = Envelope::ok(
        m.trace_id.clone(),
        SendResult {
            message_id: m.message_id.clone(),
            invalid_users: m.invalid_users.clone(),
        },
    );
    html(
        StatusCode::OK,
        &MessagePage {
            events: format!("/api/v1/events?corpId={}", urlencode(&m.corp_id)),
            fragment: format!("/console/messages/{}/fragment", urlencode(&message_id)),
            message_id,
            raw_request: pretty(&found.raw_request),
            response: pretty(&response),
            detail: d,
        },
    )
}

/// `GET /console/messages/{messageId}/fragment`: the live part of the message page.
pub async fn message_fragment(
    _: Admin,
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Response {
    match detail(&state, &message_id).await {
        Ok((_, d)) => html(StatusCode::OK, &d),
        Err(response) => response,
    }
}

struct CorpDirectory {
    corp: Corp,
    apps: Vec<App>,
    service_accounts: Vec<ServiceAccount>,
    /// `0`, the corp itself, first.
    departments: Vec<fxmsg_api::native::Department>,
    /// Each employee with their departments' names, the main one first.
    employees: Vec<(Employee, String)>,
}

#[derive(Template)]
#[template(path = "directory.html")]
struct Directory {
    corps: Vec<CorpDirectory>,
}

/// `GET /console/directory`: every corp with its apps, service accounts, departments and
/// employees.
pub async fn directory(_: Admin, State(state): State<AppState>) -> Response {
    async fn load(state: &AppState) -> Result<Vec<CorpDirectory>, NativeError> {
        let mut corps = Vec::new();
        for corp in state.store.list_corps().await? {
            let departments = crate::directory::with_root(
                &corp,
                state.store.list_departments(&corp.corp_id).await?,
            );
            let named = |id: &i64| {
                departments
                    .iter()
                    .find(|d| d.id == *id)
                    .map_or_else(|| id.to_string(), |d| d.name.clone())
            };
            let employees = state
                .store
                .list_employees(&corp.corp_id)
                .await?
                .into_iter()
                .map(|e| {
                    let names = e.department_ids.iter().map(named).collect::<Vec<_>>();
                    (e, names.join(", "))
                })
                .collect();
            corps.push(CorpDirectory {
                apps: state.store.list_apps(&corp.corp_id).await?,
                service_accounts: state.store.list_service_accounts(&corp.corp_id).await?,
                departments,
                employees,
                corp,
            });
        }
        Ok(corps)
    }
    match load(&state).await {
        Ok(corps) => html(StatusCode::OK, &Directory { corps }),
        Err(e) => e.into_response(),
    }
}

/// `GET /console/media/{corpId}/{mediaId}`: a cover image for the console's rendering.
pub async fn media(
    _: Admin,
    State(state): State<AppState>,
    Path((corp_id, media_id)): Path<(String, String)>,
) -> Response {
    image(&state, &corp_id, &media_id).await
}
