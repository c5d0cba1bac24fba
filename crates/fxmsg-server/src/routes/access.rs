//! Employee credentials, issued by the admin, and the login link's exchange for a session.

use axum::extract::State;
use axum::http::header::{LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fxmsg_api::native::{Credential, CredentialKind, IssuedToken, LoginLink};

use crate::access::{self, SESSION_COOKIE, SESSION_MS};
use crate::error::NativeError;
use crate::extract::Path;
use crate::routes::admin::existing_employee;
use crate::secrets::sha256_hex;
use crate::state::AppState;

/// `POST /api/v1/corps/{corpId}/employees/{employee}/tokens`: an API token, shown only here.
#[utoipa::path(post, path = "/corps/{corp_id}/employees/{employee}/tokens", tag = "employees", params(("corp_id" = String, Path, description = "FSCID_…"), ("employee" = String, Path, description = "FSUID_… or an employee number")),
    responses((status = 201, description = "The token, shown once", body = fxmsg_api::native::IssuedToken), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
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
#[utoipa::path(get, path = "/corps/{corp_id}/employees/{employee}/tokens", tag = "employees", params(("corp_id" = String, Path, description = "FSCID_…"), ("employee" = String, Path, description = "FSUID_… or an employee number")),
    responses((status = 200, body = Vec<fxmsg_api::native::Credential>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
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
#[utoipa::path(delete, path = "/corps/{corp_id}/employees/{employee}/tokens/{credential_id}", tag = "employees", params(("corp_id" = String, Path), ("employee" = String, Path), ("credential_id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
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
#[utoipa::path(post, path = "/corps/{corp_id}/employees/{employee}/login-links", tag = "employees", params(("corp_id" = String, Path, description = "FSCID_…"), ("employee" = String, Path, description = "FSUID_… or an employee number")),
    responses((status = 201, body = fxmsg_api::native::LoginLink), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
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
    let url = format!("{}{path}", access::origin(&headers));
    Ok((
        StatusCode::CREATED,
        Json(LoginLink {
            credential,
            url,
            path,
        }),
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
    if headers.contains_key(ORIGIN) {
        access::check_origin(&Method::POST, &headers)?;
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
    let cookie = access::session_cookie(&headers, SESSION_COOKIE, &session, SESSION_MS / 1000);
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/inbox"));
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| NativeError::internal())?,
    );
    Ok(response)
}
