//! Native `/api/v1` directory administration, behind the admin token.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use fxmsg_api::native::{
    App, AppCredentials, AppPatch, Corp, Employee, NewApp, NewCorp, NewServiceAccount,
    ServiceAccount,
};
use serde::de::DeserializeOwned;

use crate::directory;
use crate::error::NativeError;
use crate::extract::Path;
use crate::secrets::{constant_time_eq, sha256_hex};
use crate::state::AppState;

/// A JSON body whose rejection is a [`NativeError`].
pub struct NativeJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for NativeJson<T> {
    type Rejection = NativeError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(v)| NativeJson(v))
            .map_err(|e| NativeError::bad_request(e.body_text()))
    }
}

/// Middleware: every `/api/v1` route needs `authorization: Bearer <admin token>`.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, NativeError> {
    // The web console signs in once and then sends its cookie; its writes must come from its
    // own pages.
    if request.headers().get("authorization").is_none()
        && crate::access::has_console_session(&state, request.headers())
    {
        crate::access::check_origin(request.method(), request.headers())?;
        return Ok(next.run(request).await);
    }
    let header = request.headers().get("authorization");
    let Some(header) = header else {
        return Err(NativeError::unauthorized(
            "no admin token: send `authorization: Bearer <admin token>` (printed at the data \
             directory's first start, or set with FXMSG_ADMIN_TOKEN)",
        ));
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            NativeError::unauthorized("authorization: expected `Bearer <admin token>`")
        })?;
    if is_admin_token(&state, token) {
        return Ok(next.run(request).await);
    }
    Err(NativeError::unauthorized(
        "wrong admin token: use the one printed at the data directory's first start, or the \
         last one set with FXMSG_ADMIN_TOKEN",
    ))
}

/// Whether `token` is the admin token.
pub(crate) fn is_admin_token(state: &AppState, token: &str) -> bool {
    constant_time_eq(&sha256_hex(token), &state.admin_token_hash)
}

/// The employee (`FSUID_…` or employee number) of the corp, or the 404 every route gives.
pub(crate) async fn existing_employee(
    state: &AppState,
    corp_id: &str,
    employee: &str,
) -> Result<Employee, NativeError> {
    state
        .store
        .employee(corp_id, employee)
        .await?
        .ok_or_else(|| missing_employee(corp_id, employee))
}

pub(crate) fn missing_employee(corp_id: &str, employee: &str) -> NativeError {
    NativeError::not_found(format!("no employee {employee} in corp {corp_id}"))
}

async fn existing_corp(state: &AppState, corp_id: &str) -> Result<Arc<Corp>, NativeError> {
    state
        .store
        .corp(corp_id)
        .await?
        .ok_or_else(|| NativeError::not_found(format!("no corp {corp_id}")))
}

/// `POST /api/v1/corps`
#[utoipa::path(post, path = "/corps", tag = "admin", request_body = fxmsg_api::native::NewCorp,
    responses((status = 201, body = fxmsg_api::native::Corp), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 409, description = "Taken", body = fxmsg_api::native::ApiError)))]
pub async fn create_corp(
    State(state): State<AppState>,
    NativeJson(new): NativeJson<NewCorp>,
) -> Result<(StatusCode, Json<Corp>), NativeError> {
    let corp =
        directory::create_corp(state.store.as_ref(), &new.name, &new.ea, state.now()).await?;
    Ok((StatusCode::CREATED, Json(corp)))
}

/// `GET /api/v1/corps`
#[utoipa::path(get, path = "/corps", tag = "admin",
    responses((status = 200, body = Vec<fxmsg_api::native::Corp>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn list_corps(State(state): State<AppState>) -> Result<Json<Vec<Corp>>, NativeError> {
    Ok(Json(state.store.list_corps().await?))
}

/// `GET /api/v1/corps/{corpId}`
#[utoipa::path(get, path = "/corps/{corp_id}", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 200, body = fxmsg_api::native::Corp), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn get_corp(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<Json<Corp>, NativeError> {
    Ok(Json(Corp::clone(&*existing_corp(&state, &corp_id).await?)))
}

/// `POST /api/v1/corps/{corpId}/apps`: the response is the only time the secrets are shown.
#[utoipa::path(post, path = "/corps/{corp_id}/apps", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")), request_body = fxmsg_api::native::NewApp,
    responses((status = 201, description = "The app with its secrets, shown once", body = fxmsg_api::native::AppCredentials), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn create_app(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    NativeJson(new): NativeJson<NewApp>,
) -> Result<(StatusCode, Json<AppCredentials>), NativeError> {
    existing_corp(&state, &corp_id).await?;
    let app = directory::create_app(state.store.as_ref(), &corp_id, &new.name, state.now()).await?;
    Ok((StatusCode::CREATED, Json(app)))
}

/// `GET /api/v1/corps/{corpId}/apps`
#[utoipa::path(get, path = "/corps/{corp_id}/apps", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 200, body = Vec<fxmsg_api::native::App>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn list_apps(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<Json<Vec<App>>, NativeError> {
    existing_corp(&state, &corp_id).await?;
    Ok(Json(state.store.list_apps(&corp_id).await?))
}

/// `PATCH /api/v1/corps/{corpId}/apps/{appId}`: enable or disable.
#[utoipa::path(patch, path = "/corps/{corp_id}/apps/{app_id}", tag = "admin", params(("corp_id" = String, Path), ("app_id" = String, Path)), request_body = fxmsg_api::native::AppPatch,
    responses((status = 200, body = fxmsg_api::native::App), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn update_app(
    State(state): State<AppState>,
    Path((corp_id, app_id)): Path<(String, String)>,
    NativeJson(patch): NativeJson<AppPatch>,
) -> Result<Json<App>, NativeError> {
    let app = state
        .store
        .set_app_enabled(&corp_id, &app_id, patch.enabled)
        .await?;
    app.map(Json)
        .ok_or_else(|| NativeError::not_found(format!("no app {app_id} in corp {corp_id}")))
}

/// `GET /api/v1/corps/{corpId}/employees`
#[utoipa::path(get, path = "/corps/{corp_id}/employees", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 200, body = Vec<fxmsg_api::native::Employee>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn list_employees(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<Json<Vec<Employee>>, NativeError> {
    existing_corp(&state, &corp_id).await?;
    Ok(Json(state.store.list_employees(&corp_id).await?))
}

/// `POST /api/v1/corps/{corpId}/service-accounts`
#[utoipa::path(post, path = "/corps/{corp_id}/service-accounts", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")), request_body = fxmsg_api::native::NewServiceAccount,
    responses((status = 201, body = fxmsg_api::native::ServiceAccount), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn create_service_account(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    NativeJson(new): NativeJson<NewServiceAccount>,
) -> Result<(StatusCode, Json<ServiceAccount>), NativeError> {
    existing_corp(&state, &corp_id).await?;
    let account =
        directory::create_service_account(state.store.as_ref(), &corp_id, &new.name, state.now())
            .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `GET /api/v1/corps/{corpId}/service-accounts`
#[utoipa::path(get, path = "/corps/{corp_id}/service-accounts", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 200, body = Vec<fxmsg_api::native::ServiceAccount>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn list_service_accounts(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<Json<Vec<ServiceAccount>>, NativeError> {
    existing_corp(&state, &corp_id).await?;
    Ok(Json(state.store.list_service_accounts(&corp_id).await?))
}
