//! The platform's address-book reads: `/cgi/department/list` and `/detail`, `/cgi/user/get`,
//! `/getByMobile`, `/simpleList` and `/list`. Every lookup is the caller's corp's: another
//! corp's ids answer exactly as missing ones.

use axum::extract::State;
use axum::Json;
use fxmsg_api::addressbook::{
    DepartmentInfo, DepartmentList, EmployeesByMobile, UserBrief, UserInfo, UserList,
    UserSimpleList,
};
use fxmsg_api::native::Department;
use fxmsg_api::{Envelope, ErrorCode};
use serde_json::Value;

use crate::auth::{Call, Caller};
use crate::directory::book::MAX_DEPARTMENT_ID;
use crate::directory::{root, with_root};
use crate::error::CompatError;
use crate::extract::CompatJson;
use crate::state::AppState;
use crate::trace::current_trace_id;

type Answer<T> = Result<Json<Envelope<T>>, CompatError>;

fn ok<T>(data: T) -> Answer<T> {
    Ok(Json(Envelope::ok(current_trace_id(), data)))
}

/// `departmentId`: a non-negative integer (a JSON number, or a string of digits as loosely
/// typed clients send), else `11009`.
fn department_id(body: &CompatJson) -> Result<i64, CompatError> {
    let invalid = |why: &str| {
        CompatError::new(
            ErrorCode::InvalidDepartmentId,
            format!("departmentId: {why}"),
        )
    };
    let id = match body.0.get("departmentId") {
        None | Some(Value::Null) => return Err(invalid("is required")),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    id.filter(|id| (0..=MAX_DEPARTMENT_ID).contains(id))
        .ok_or_else(|| {
            invalid(&format!(
                "must be an integer 0..={MAX_DEPARTMENT_ID} (0 is the corp itself)"
            ))
        })
}

/// A boolean flag; absent is `false`.
fn flag(body: &CompatJson, name: &str) -> Result<bool, CompatError> {
    match body.0.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(CompatError::invalid(name, "must be true or false")),
    }
}

/// The caller's department, `0` included; `30007` if there is none.
async fn department(state: &AppState, caller: &Caller, id: i64) -> Result<Department, CompatError> {
    let found = if id == 0 {
        state.store.corp(&caller.corp_id).await?.map(|c| root(&c))
    } else {
        let departments = state.store.list_departments(&caller.corp_id).await?;
        departments.into_iter().find(|d| d.id == id)
    };
    found.ok_or_else(|| {
        CompatError::new(
            ErrorCode::DepartmentNotFound,
            format!("departmentId: this corp has no department {id}"),
        )
    })
}

/// `POST /cgi/department/list`: every department, `0` (the corp itself) first.
#[utoipa::path(post, path = "/cgi/department/list", tag = "fxiaoke", request_body = crate::routes::schema::CorpRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::DepartmentList>)))]
pub async fn department_list(State(state): State<AppState>, call: Call) -> Answer<DepartmentList> {
    let corp = state
        .store
        .corp(&call.caller.corp_id)
        .await?
        .ok_or_else(CompatError::internal)?;
    let departments = state.store.list_departments(&corp.corp_id).await?;
    ok(DepartmentList {
        departments: with_root(&corp, departments)
            .iter()
            .map(|d| DepartmentInfo::of(d, false))
            .collect(),
    })
}

/// `POST /cgi/department/detail`: one department, with its head.
#[utoipa::path(post, path = "/cgi/department/detail", tag = "fxiaoke", request_body = crate::routes::schema::DepartmentRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::DepartmentInfo>)))]
pub async fn department_detail(
    State(state): State<AppState>,
    call: Call,
) -> Answer<DepartmentInfo> {
    let id = department_id(&call.body)?;
    let found = department(&state, &call.caller, id).await?;
    ok(DepartmentInfo::of(&found, true))
}

/// `POST /cgi/user/get`: one employee by `openUserId`.
#[utoipa::path(post, path = "/cgi/user/get", tag = "fxiaoke", request_body = crate::routes::schema::UserRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::UserInfo>)))]
pub async fn user_get(State(state): State<AppState>, call: Call) -> Answer<UserInfo> {
    let id = call
        .body
        .required("openUserId", ErrorCode::MissingOpenUserId)?
        .trim();
    let well_formed = id.strip_prefix("FSUID_").is_some_and(|rest| {
        (1..=64).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !well_formed {
        return Err(CompatError::new(
            ErrorCode::InvalidOpenUserId,
            format!("openUserId: {id:?} is not an FSUID_… id"),
        ));
    }
    let detail = flag(&call.body, "showDepartmentIdsDetail")?;
    let employee = state
        .store
        .employee(&call.caller.corp_id, id)
        .await?
        .filter(|e| e.open_user_id == id)
        .ok_or_else(|| {
            CompatError::new(
                ErrorCode::OpenUserIdNotFound,
                format!("openUserId: no employee {id} in this corp"),
            )
        })?;
    ok(UserInfo::of(&employee, detail))
}

/// `POST /cgi/user/getByMobile`: the employees with this mobile number; none is an empty list.
#[utoipa::path(post, path = "/cgi/user/getByMobile", tag = "fxiaoke", request_body = crate::routes::schema::MobileRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::EmployeesByMobile>)))]
pub async fn user_by_mobile(
    State(state): State<AppState>,
    call: Call,
) -> Answer<EmployeesByMobile> {
    let mobile = call
        .body
        .required("mobile", ErrorCode::InvalidParameter)?
        .trim();
    let found = state
        .store
        .employees_by_mobile(&call.caller.corp_id, mobile)
        .await?;
    ok(EmployeesByMobile {
        emp_list: found.iter().map(|e| UserInfo::of(e, false)).collect(),
    })
}

/// The employees `departmentId` (and with `fetchChild` its sub-departments) holds.
async fn members(
    state: &AppState,
    call: &Call,
) -> Result<Vec<fxmsg_api::native::Employee>, CompatError> {
    let id = department_id(&call.body)?;
    let fetch_child = flag(&call.body, "fetchChild")?;
    department(state, &call.caller, id).await?;
    Ok(state
        .store
        .department_members(&call.caller.corp_id, id, fetch_child)
        .await?)
}

/// `POST /cgi/user/simpleList`: ids and names of a department's employees.
#[utoipa::path(post, path = "/cgi/user/simpleList", tag = "fxiaoke", request_body = crate::routes::schema::DepartmentMembersRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::UserSimpleList>)))]
pub async fn user_simple_list(State(state): State<AppState>, call: Call) -> Answer<UserSimpleList> {
    let found = members(&state, &call).await?;
    ok(UserSimpleList {
        userlist: found
            .into_iter()
            .map(|e| UserBrief {
                open_user_id: e.open_user_id,
                name: e.name,
                nick_name: e.nick_name,
            })
            .collect(),
    })
}

/// `POST /cgi/user/list`: a department's employees with every field.
#[utoipa::path(post, path = "/cgi/user/list", tag = "fxiaoke", request_body = crate::routes::schema::DepartmentMembersRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::addressbook::UserList>)))]
pub async fn user_list(State(state): State<AppState>, call: Call) -> Answer<UserList> {
    let found = members(&state, &call).await?;
    ok(UserList {
        user_list: found.iter().map(|e| UserInfo::of(e, true)).collect(),
    })
}
