//! The integrator's test kit under `/api/v1`, behind the admin token: throwaway tenants
//! (sandboxes), resets, the test clock and planned faults.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use fxmsg_api::native::{ClockChange, ClockTime, Deleted, Fault, NewFault, NewSandbox, Sandbox};
use object_store::path::Path as ObjectPath;
use serde::Deserialize;
use serde_json::Value;

use crate::directory::{self, TenantPlan};
use crate::error::NativeError;
use crate::extract::Path;
use crate::routes::admin::NativeJson;
use crate::routes::inspect::time_ms;
use crate::secrets::random_hex;
use crate::state::AppState;

/// `POST /api/v1/sandboxes`: a corp with an app, a service account and employees, in one
/// transaction; the response holds every credential, shown once.
#[utoipa::path(post, path = "/sandboxes", tag = "test kit", request_body = fxmsg_api::native::NewSandbox,
    responses((status = 201, description = "The sandbox with every credential, shown once", body = fxmsg_api::native::Sandbox), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 409, description = "Taken", body = fxmsg_api::native::ApiError)))]
pub async fn create_sandbox(
    State(state): State<AppState>,
    NativeJson(new): NativeJson<NewSandbox>,
) -> Result<(StatusCode, Json<Sandbox>), NativeError> {
    let ea = new
        .ea
        .clone()
        .unwrap_or_else(|| format!("sandbox-{}", random_hex(6)));
    let name = new.name.clone().unwrap_or_else(|| format!("Sandbox {ea}"));
    let plan = TenantPlan {
        name: &name,
        ea: &ea,
        sandbox: true,
        app: "Sandbox App",
        service_account: "Sandbox Notices",
        employees: directory::sandbox_employees(new.employees)?,
        departments: new.departments,
    };
    let sandbox = directory::create_tenant(state.store.as_ref(), plan, state.now()).await?;
    Ok((StatusCode::CREATED, Json(sandbox)))
}

/// `DELETE /api/v1/sandboxes/{corpId}`: the sandbox with everything it holds, media files
/// included. A corp that is not a sandbox (the demo, one made with `POST /corps`) is not one.
#[utoipa::path(delete, path = "/sandboxes/{corp_id}", tag = "test kit", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 204, description = "fxmsg_api::native::Deleted with everything it held"), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn delete_sandbox(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<StatusCode, NativeError> {
    let missing = || NativeError::not_found(format!("no sandbox {corp_id}"));
    let corp = state.store.corp(&corp_id).await?.ok_or_else(missing)?;
    if !corp.sandbox {
        return Err(missing());
    }
    let keys = state
        .store
        .delete_corp(&corp_id)
        .await?
        .ok_or_else(missing)?;
    // The rows are gone, so the bytes are unreachable: delete them, and only log a failure.
    for key in keys {
        match state.media.delete(&ObjectPath::from(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "could not delete a sandbox's media bytes"),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `DELETE /api/v1/messages`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetQuery {
    /// Only this corp's messages; every corp's without it.
    corp_id: Option<String>,
}

/// `DELETE /api/v1/messages[?corpId=…]`: forget the messages (a test's reset), with their inbox
/// rows, events and idempotency keys. Directories, tokens and media stay.
#[utoipa::path(delete, path = "/messages", tag = "test kit", params(ResetQuery),
    responses((status = 200, body = fxmsg_api::native::Deleted), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn delete_messages(
    State(state): State<AppState>,
    query: Result<Query<ResetQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Deleted>, NativeError> {
    let Query(query) = query.map_err(|e| NativeError::bad_request(e.body_text()))?;
    if let Some(corp_id) = &query.corp_id {
        if state.store.corp(corp_id).await?.is_none() {
            return Err(NativeError::not_found(format!("no corp {corp_id}")));
        }
    }
    let messages = state
        .store
        .delete_messages(query.corp_id.as_deref())
        .await?;
    Ok(Json(Deleted { messages }))
}

/// Longest move of the test clock in one call: ten years.
const MAX_ADVANCE_SECS: i64 = 10 * 365 * 86_400;

/// `GET /api/v1/clock` (with `--test-clock`).
#[utoipa::path(get, path = "/clock", tag = "test kit",
    responses((status = 200, body = fxmsg_api::native::ClockTime), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn get_clock(State(state): State<AppState>) -> Json<ClockTime> {
    Json(ClockTime {
        now_ms: state.now(),
    })
}

/// `POST /api/v1/clock` (with `--test-clock`): set the clock or move it forward; answers the new
/// time. The pruner runs at once, so retention follows the jump.
#[utoipa::path(post, path = "/clock", tag = "test kit", request_body = fxmsg_api::native::ClockChange,
    responses((status = 200, body = fxmsg_api::native::ClockTime), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn set_clock(
    State(state): State<AppState>,
    NativeJson(change): NativeJson<ClockChange>,
) -> Result<Json<ClockTime>, NativeError> {
    let clock = state
        .clock
        .as_manual()
        .ok_or_else(|| NativeError::not_found("no such route"))?;
    match (change.set, change.advance_secs) {
        (Some(set), None) => {
            let text = match &set {
                Value::String(text) => text.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            let ms = time_ms("set", &text)?;
            if ms < 0 {
                return Err(NativeError::bad_request("set: must not be before 1970"));
            }
            clock.set_ms(ms);
        }
        (None, Some(secs)) if (0..=MAX_ADVANCE_SECS).contains(&secs) => clock.advance_secs(secs),
        (None, Some(_)) => {
            return Err(NativeError::bad_request(format!(
                "advanceSecs: must be 0..={MAX_ADVANCE_SECS} (the clock only moves forward by \
                 it; use set to go back)"
            )))
        }
        _ => {
            return Err(NativeError::bad_request(
                "give exactly one of set (a time) and advanceSecs (seconds)",
            ))
        }
    }
    state.prune_now.notify_one();
    Ok(Json(ClockTime {
        now_ms: state.now(),
    }))
}

/// `POST /api/v1/faults`: plan a fault on a compat path.
#[utoipa::path(post, path = "/faults", tag = "test kit", request_body = fxmsg_api::native::NewFault,
    responses((status = 201, body = fxmsg_api::native::Fault), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn create_fault(
    State(state): State<AppState>,
    NativeJson(new): NativeJson<NewFault>,
) -> Result<(StatusCode, Json<Fault>), NativeError> {
    let paths = crate::routes::compat_paths();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let fault = state.faults.add(new, &paths).await?;
    Ok((StatusCode::CREATED, Json(fault)))
}

/// `DELETE /api/v1/faults/{id}`: remove one planned fault.
#[utoipa::path(delete, path = "/faults/{id}", tag = "test kit", params(("id" = String, Path, description = "The fault's id")),
    responses((status = 204, description = "Removed"), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn delete_fault(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, NativeError> {
    let missing = || NativeError::not_found(format!("no fault {id} (used up, or never planned)"));
    let id = id.parse::<u64>().map_err(|_| missing())?;
    if state.faults.remove(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing())
    }
}

/// `GET /api/v1/faults`: the planned faults, how often each fired and what it has left.
#[utoipa::path(get, path = "/faults", tag = "test kit",
    responses((status = 200, body = Vec<fxmsg_api::native::Fault>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn list_faults(State(state): State<AppState>) -> Json<Vec<Fault>> {
    Json(state.faults.list())
}

/// `DELETE /api/v1/faults`: remove every planned fault.
#[utoipa::path(delete, path = "/faults", tag = "test kit",
    responses((status = 204, description = "Every fault removed"), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError)))]
pub async fn clear_faults(State(state): State<AppState>) -> Result<StatusCode, NativeError> {
    state.faults.clear().await?;
    Ok(StatusCode::NO_CONTENT)
}
