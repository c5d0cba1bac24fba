//! Employee credentials, issued by the admin, and the login link's exchange for a session.

use axum::extract::{Path, State};
use axum::http::header::{HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use fxmsg_api::native::{Credential, CredentialKind, IssuedToken, LoginLink};

use crate::access::{self, SESSION_COOKIE, SESSION_MS};
use crate::error::NativeError;
use crate::routes::admin::existing_employee;
use crate::secrets::sha256_hex;
use crate::state::AppState;

/// `POST /api/v1/corps/{corpId}/employees/{employee}/tokens`: an API token, shown only here.
pub async fn issue_token(
    State(state): State<AppState>,
    Path((corp_id, employee)): Path<(String, String)>,
) -> Result<(StatusCode, Json<IssuedToken>), NativeError> {
    let employee = existing_employee(&state, &corp_id, &employee).await?;
    let (credential, token) = access::issue(
        &state,
        CredentialKind::Token,
        &corp_id,
        &employee.open_user_id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { credential, token })))
}

/// `GET /api/v1/corps/{corpId}/employees/{employee}/tokens`: tokens, login links and sessions,
/// newest first, without their secrets.
pub async fn list_credentials(
    State(state): State<AppState>,
    Path((corp_id, employee)): Path<(String, String)>,
) -> Result<Json<Vec<Credential>>, NativeError> {
    let employee = existing_employee(&state, &corp_id, &employee).await?;
    let credentials = state
        .store
        .list_credentials(&corp_id, &employee.open_user_id)
        .await?;
    Ok(Json(credentials))
}

/// `DELETE /api/v1/corps/{corpId}/employees/{employee}/tokens/{credentialId}`: revokes a token,
/// link or session at once.
pub async fn revoke_credential(
    State(state): State<AppState>,
    Path((corp_id, employee, credential_id)): Path<(String, String, String)>,
) -> Result<StatusCode, NativeError> {
    let employee = existing_employee(&state, &corp_id, &employee).await?;
    let revoked = state
        .store
        .revoke_credential(
            &corp_id,
            &employee.open_user_id,
            &credential_id,
            state.now(),
        )
        .await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(NativeError::not_found(format!(
            "no live credential {credential_id} of employee {}",
            employee.open_user_id
        )))
    }
}

/// `POST /api/v1/corps/{corpId}/employees/{employee}/login-links`: a one-time link, valid for
/// 15 minutes, that signs the employee in to the web inbox.
pub async fn issue_login_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((corp_id, employee)): Path<(String, String)>,
) -> Result<(StatusCode, Json<LoginLink>), NativeError> {
    let employee = existing_employee(&state, &corp_id, &employee).await?;
    let (credential, code) = access::issue(
        &state,
        CredentialKind::Login,
        &corp_id,
        &employee.open_user_id,
    )
    .await?;
    let path = format!("/login/{code}");
    let url = format!("{}{path}", origin(&headers));
    Ok((
        StatusCode::CREATED,
        Json(LoginLink {
            credential,
            url,
            path,
        }),
    ))
}

/// This server as the client reached it: `X-Forwarded-Proto` and `Host`.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("{}://{host}", scheme(headers))
}

fn scheme(headers: &HeaderMap) -> &'static str {
    match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    }
}

/// `GET /login/{code}`: a page whose button signs in. Following the link changes nothing, so a
/// link preview (a chat app fetching it to show a card) cannot use it up.
pub async fn login_page(Path(code): Path<String>) -> Html<String> {
    let code = escape(&code);
    Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sign in to fxmsg</title>\
         <main><h1>Sign in to your fxmsg inbox</h1>\
         <form method=\"post\" action=\"/login/{code}\"><button type=\"submit\">Sign in</button></form>\
         </main></html>"
    ))
}

/// `POST /login/{code}`: uses the link up and answers with the session cookie and a redirect to
/// the inbox. A used, expired or unknown link is refused, and says so.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, NativeError> {
    // A form on another site must not sign a visitor in with a link of its choosing (login
    // CSRF): browsers say where a POST comes from, and it must be this server.
    if let Some(from) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
        if from != origin(&headers) {
            return Err(NativeError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message: format!("sign-in from {from} refused: use the link on this server"),
            });
        }
    }
    let now = state.now();
    let link = state
        .store
        .take_login(&sha256_hex(&code), now)
        .await?
        .ok_or_else(|| {
            NativeError::unauthorized(
                "this login link was used already, has expired (links last 15 minutes), or was \
                 never issued; ask for a new one",
            )
        })?;
    let (_, session) = access::issue(
        &state,
        CredentialKind::Session,
        &link.corp_id,
        &link.open_user_id,
    )
    .await?;
    let secure = if scheme(&headers) == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_MS / 1000
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/api/v1/inbox"));
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| NativeError::internal())?,
    );
    Ok(response)
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
