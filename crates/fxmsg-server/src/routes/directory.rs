//! Native `/api/v1` address-book administration: departments, employees' fields, and whole
//! directories exported and imported (JSON or CSV). Every write goes through
//! [`crate::directory::change_book`].

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{HeaderMap, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fxmsg_api::native::{
    Department, DepartmentPatch, DirectoryFile, Employee, EmployeePatch, ImportSummary,
    NewDepartment, NewEmployee,
};
use serde::Deserialize;

use crate::directory::book::Book;
use crate::directory::{change_book, file, with_root, Refused};
use crate::error::NativeError;
use crate::extract::Path;
use crate::routes::admin::{missing_employee, NativeJson};
use crate::state::AppState;

/// Largest directory file an import takes: some 50,000 employees with every field.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

fn missing_department(corp_id: &str, id: i64) -> NativeError {
    NativeError::not_found(format!("no department {id} in corp {corp_id}"))
}

/// `POST /api/v1/corps/{corpId}/departments`
#[utoipa::path(post, path = "/corps/{corp_id}/departments", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")), request_body = fxmsg_api::native::NewDepartment,
    responses((status = 201, body = fxmsg_api::native::Department), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError), (status = 409, description = "Taken", body = fxmsg_api::native::ApiError)))]
pub async fn create_department(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    NativeJson(new): NativeJson<NewDepartment>,
) -> Result<(StatusCode, Json<Department>), NativeError> {
    let plan = change_book(&state, &corp_id, false, |book| {
        if let Some(id) = new.id.filter(|id| book.department(*id).is_some()) {
            return Err(NativeError::conflict(format!(
                "id: department {id} already exists in corp {corp_id}"
            )));
        }
        Ok(DirectoryFile {
            departments: vec![new],
            employees: Vec::new(),
        })
    })
    .await
    .map_err(Refused::into_error)?;
    let created = plan.placed_departments.into_iter().next();
    Ok((
        StatusCode::CREATED,
        Json(created.expect("a planned department")),
    ))
}

/// `GET /api/v1/corps/{corpId}/departments`: department `0`, the corp itself, first.
#[utoipa::path(get, path = "/corps/{corp_id}/departments", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")),
    responses((status = 200, body = Vec<fxmsg_api::native::Department>), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn list_departments(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
) -> Result<Json<Vec<Department>>, NativeError> {
    let corp = state
        .store
        .corp(&corp_id)
        .await?
        .ok_or_else(|| NativeError::not_found(format!("no corp {corp_id}")))?;
    let departments = state.store.list_departments(&corp_id).await?;
    Ok(Json(with_root(&corp, departments)))
}

/// `PATCH /api/v1/corps/{corpId}/departments/{id}`: rename, move, reorder, stop, set the head.
#[utoipa::path(patch, path = "/corps/{corp_id}/departments/{id}", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…"), ("id" = i64, Path, description = "1..=2147483647")), request_body = fxmsg_api::native::DepartmentPatch,
    responses((status = 200, body = fxmsg_api::native::Department), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn update_department(
    State(state): State<AppState>,
    Path((corp_id, id)): Path<(String, String)>,
    NativeJson(patch): NativeJson<DepartmentPatch>,
) -> Result<Json<Department>, NativeError> {
    let id: i64 = id
        .parse()
        .map_err(|_| NativeError::bad_request(format!("id: {id:?} is not a department id")))?;
    if id == 0 {
        return Err(NativeError::bad_request(
            "department 0 is the corp itself: it follows the corp's name and cannot be changed",
        ));
    }
    let plan = change_book(&state, &corp_id, false, |book| {
        let found = book
            .department(id)
            .ok_or_else(|| missing_department(&corp_id, id))?;
        let mut record = book.new_department(found);
        record.name = patch.name.unwrap_or(record.name);
        record.parent_id = patch.parent_id.unwrap_or(record.parent_id);
        record.order = patch.order.or(record.order);
        record.stopped = patch.stopped.unwrap_or(record.stopped);
        record.principal_id = patch.principal_id.unwrap_or(record.principal_id);
        Ok(DirectoryFile {
            departments: vec![record],
            employees: Vec::new(),
        })
    })
    .await
    .map_err(Refused::into_error)?;
    let updated = plan.placed_departments.into_iter().next();
    Ok(Json(updated.expect("a planned department")))
}

/// `POST /api/v1/corps/{corpId}/employees`
#[utoipa::path(post, path = "/corps/{corp_id}/employees", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")), request_body = fxmsg_api::native::NewEmployee,
    responses((status = 201, body = fxmsg_api::native::Employee), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError), (status = 409, description = "Taken", body = fxmsg_api::native::ApiError)))]
pub async fn create_employee(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    NativeJson(new): NativeJson<NewEmployee>,
) -> Result<(StatusCode, Json<Employee>), NativeError> {
    let plan = change_book(&state, &corp_id, false, |book| {
        let number = new.user_id.as_deref().map(str::trim);
        if let Some(number) = number.filter(|n| book.employees().iter().any(|e| e.user_id == *n)) {
            return Err(NativeError::conflict(format!(
                "userId: employee number {number} is taken in corp {corp_id}"
            )));
        }
        Ok(DirectoryFile {
            departments: Vec::new(),
            employees: vec![new],
        })
    })
    .await
    .map_err(Refused::into_error)?;
    let created = plan.placed_employees.into_iter().next();
    Ok((
        StatusCode::CREATED,
        Json(created.expect("a planned employee")),
    ))
}

/// `PATCH /api/v1/corps/{corpId}/employees/{employee}`: any of the fields, `status` to stop or
/// activate; `employee` is an `FSUID_…` or an employee number, as everywhere else.
#[utoipa::path(patch, path = "/corps/{corp_id}/employees/{employee}", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…"), ("employee" = String, Path, description = "FSUID_… or an employee number")), request_body = fxmsg_api::native::EmployeePatch,
    responses((status = 200, body = fxmsg_api::native::Employee), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn update_employee(
    State(state): State<AppState>,
    Path((corp_id, employee)): Path<(String, String)>,
    NativeJson(patch): NativeJson<EmployeePatch>,
) -> Result<Json<Employee>, NativeError> {
    let plan = change_book(&state, &corp_id, false, |book| {
        // The book is loaded anyway: the employee is looked up there, by FSUID_ or number.
        let current = book
            .employees()
            .iter()
            .find(|e| e.open_user_id == employee || e.user_id == employee)
            .ok_or_else(|| missing_employee(&corp_id, &employee))?;
        Ok(DirectoryFile {
            departments: Vec::new(),
            employees: vec![patched(book.new_employee(current), patch)],
        })
    })
    .await
    .map_err(Refused::into_error)?;
    let updated = plan.placed_employees.into_iter().next();
    Ok(Json(updated.expect("a planned employee")))
}

/// `record` with the patch's fields over it. New departments without a new main one make the
/// first of them the main one.
fn patched(mut record: NewEmployee, patch: EmployeePatch) -> NewEmployee {
    record.status = patch.status.or(record.status);
    record.name = patch.name.unwrap_or(record.name);
    let keep = |old: &mut Option<String>, new: Option<Option<String>>| {
        if let Some(new) = new {
            *old = new;
        }
    };
    keep(&mut record.mobile, patch.mobile);
    keep(&mut record.account, patch.account);
    keep(&mut record.nick_name, patch.nick_name);
    keep(&mut record.email, patch.email);
    keep(&mut record.gender, patch.gender);
    keep(&mut record.position, patch.position);
    keep(&mut record.leader_id, patch.leader_id);
    if let Some(departments) = patch.department_ids {
        record.department_ids = departments;
        record.main_department_id = None;
    }
    if let Some(main) = patch.main_department_id {
        record.main_department_id = Some(main);
    }
    record
}

/// `?format=` of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// `GET /api/v1/corps/{corpId}/directory`: the whole address book, as a file `PUT` takes.
#[utoipa::path(get, path = "/corps/{corp_id}/directory", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…"), ExportQuery),
    responses((status = 200, description = "The directory as JSON, or as CSV with `format=csv`", body = fxmsg_api::native::DirectoryFile), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError)))]
pub async fn export_directory(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, NativeError> {
    if state.store.corp(&corp_id).await?.is_none() {
        return Err(NativeError::not_found(format!("no corp {corp_id}")));
    }
    let exported = Book::load(state.store.as_ref(), &corp_id).await?.export();
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(exported).into_response()),
        Some("csv") => Ok((
            [(CONTENT_TYPE, "text/csv; charset=utf-8")],
            file::to_csv(&exported),
        )
            .into_response()),
        Some(other) => Err(NativeError::bad_request(format!(
            "format: must be json or csv, got {other:?}"
        ))),
    }
}

/// `PUT /api/v1/corps/{corpId}/directory`: imports a directory file (`Content-Type:
/// text/csv` for CSV, JSON otherwise). Departments are matched by id and employees by number,
/// so importing the same file again changes nothing; the employees and departments the file
/// does not name stay as they are. One bad record refuses the whole file, with every problem's
/// line.
#[utoipa::path(put, path = "/corps/{corp_id}/directory", tag = "admin", params(("corp_id" = String, Path, description = "FSCID_…")), request_body(content = fxmsg_api::native::DirectoryFile, description = "JSON, or CSV with `Content-Type: text/csv`"),
    responses((status = 200, body = fxmsg_api::native::ImportSummary), (status = 400, description = "A bad query or body", body = fxmsg_api::native::ApiError), (status = 401, description = "No or a wrong credential", body = fxmsg_api::native::ApiError), (status = 404, description = "Not found (a foreign id is a missing one)", body = fxmsg_api::native::ApiError), (status = 413, description = "Larger than 16 MiB")))]
pub async fn import_directory(
    State(state): State<AppState>,
    Path(corp_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportSummary>, NativeError> {
    let text = std::str::from_utf8(&body)
        .map_err(|e| NativeError::bad_request(format!("body: not UTF-8 ({e})")))?;
    let csv = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/csv"));
    let parsed = if csv {
        file::parse_csv(text)
    } else {
        file::parse_json(text)
    }
    .map_err(NativeError::bad_request)?;
    let plan = change_book(&state, &corp_id, true, |_| Ok(parsed.file.clone()))
        .await
        .map_err(|refused| match refused {
            Refused::Problems(problems) => NativeError::bad_request(parsed.describe(&problems)),
            Refused::Error(e) => e,
        })?;
    Ok(Json(plan.summary))
}
