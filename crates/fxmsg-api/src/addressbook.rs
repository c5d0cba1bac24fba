//! The platform's address-book read API: `/cgi/department/list` and `/detail`, `/cgi/user/get`,
//! `/getByMobile`, `/simpleList` and `/list`. Field names are the ones public clients read
//! (FxiaokeSDK.NET's `Response/*.cs`, k8scat/fxiaoke's `user.go`): `userlist` in the simple
//! listing, `userList` in the full one, `empList` by mobile.

use serde::{Deserialize, Serialize};

use crate::native::{Department, Employee, EmployeeStatus};

/// A department as `/cgi/department/list` and `/detail` show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepartmentInfo {
    /// Department id; `0` is the corp itself.
    #[serde(default)]
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Parent id; `0` at the top.
    #[serde(default)]
    pub parent_id: i64,
    /// Stopped.
    #[serde(default)]
    pub is_stop: bool,
    /// Position among siblings, from 1.
    #[serde(default)]
    pub order: i64,
    /// The head, `FSUID_…` (in `/detail` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

impl DepartmentInfo {
    /// The listing's fields of `department`; `detail` adds the head.
    pub fn of(department: &Department, detail: bool) -> DepartmentInfo {
        DepartmentInfo {
            id: department.id,
            name: department.name.clone(),
            parent_id: department.parent_id,
            is_stop: department.stopped,
            order: department.order,
            principal_id: department.principal_id.clone().filter(|_| detail),
        }
    }
}

/// `/cgi/department/list` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentList {
    /// Every department of the corp, `0` first, then by id.
    #[serde(default)]
    pub departments: Vec<DepartmentInfo>,
}

/// An employee as `/cgi/user/get`, `/getByMobile` and `/list` show them. Unknown optional
/// fields are left out rather than sent as `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// `FSUID_…`.
    #[serde(default)]
    pub open_user_id: String,
    /// Login account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Stopped: listed, but not a valid message recipient.
    #[serde(default)]
    pub is_stop: bool,
    /// Mobile number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `M` or `F`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Every department, the main one first.
    #[serde(default)]
    pub department_ids: Vec<i64>,
    /// Employee number.
    #[serde(default)]
    pub employee_number: String,
    /// Unix milliseconds.
    #[serde(default)]
    pub create_time: i64,
    /// The leader's `FSUID_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    /// The main department (with `showDepartmentIdsDetail`, and in `/cgi/user/list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_department_id: Option<i64>,
    /// The other departments (with `showDepartmentIdsDetail`, and in `/cgi/user/list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attaching_department_ids: Option<Vec<i64>>,
}

impl UserInfo {
    /// The platform's fields of `employee`; `detail` adds the main and attaching departments.
    pub fn of(employee: &Employee, detail: bool) -> UserInfo {
        UserInfo {
            open_user_id: employee.open_user_id.clone(),
            account: employee.account.clone(),
            name: employee.name.clone(),
            nick_name: employee.nick_name.clone(),
            is_stop: employee.status == EmployeeStatus::Stopped,
            mobile: employee.mobile.clone(),
            email: employee.email.clone(),
            gender: employee.gender.clone(),
            position: employee.position.clone(),
            department_ids: employee.department_ids.clone(),
            employee_number: employee.user_id.clone(),
            create_time: employee.created_at,
            leader_id: employee.leader_id.clone(),
            main_department_id: detail.then_some(employee.main_department_id),
            attaching_department_ids: detail.then(|| employee.attaching_department_ids()),
        }
    }
}

/// `/cgi/user/getByMobile` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EmployeesByMobile {
    /// The corp's employees with that mobile number; empty when there is none.
    #[serde(default)]
    pub emp_list: Vec<UserInfo>,
}

/// One employee of `/cgi/user/simpleList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserBrief {
    /// `FSUID_…`.
    #[serde(default)]
    pub open_user_id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
}

/// `/cgi/user/simpleList` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSimpleList {
    /// The department's employees (with `fetchChild`, its sub-departments' too), by number.
    #[serde(default)]
    pub userlist: Vec<UserBrief>,
}

/// `/cgi/user/list` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    /// The department's employees (with `fetchChild`, its sub-departments' too), by number.
    #[serde(default)]
    pub user_list: Vec<UserInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_platforms() {
        let employee = Employee {
            open_user_id: "FSUID_A".into(),
            user_id: "1000".into(),
            name: "Ada".into(),
            status: EmployeeStatus::Stopped,
            main_department_id: 2,
            department_ids: vec![2, 5],
            ..Employee::default()
        };
        let json = serde_json::to_value(UserInfo::of(&employee, true)).unwrap();
        assert_eq!(json["openUserId"], "FSUID_A");
        assert_eq!(json["employeeNumber"], "1000");
        assert_eq!(json["isStop"], true);
        assert_eq!(json["mainDepartmentId"], 2);
        assert_eq!(json["attachingDepartmentIds"], serde_json::json!([5]));
        assert!(
            json.get("nickName").is_none(),
            "unknown fields are left out"
        );
        let brief = serde_json::to_value(UserSimpleList::default()).unwrap();
        assert!(brief.get("userlist").is_some());
        let full = serde_json::to_value(UserList::default()).unwrap();
        assert!(full.get("userList").is_some());
        let by_mobile = serde_json::to_value(EmployeesByMobile::default()).unwrap();
        assert!(by_mobile.get("empList").is_some());
        let without = serde_json::to_value(UserInfo::of(&employee, false)).unwrap();
        assert!(without.get("mainDepartmentId").is_none());
    }
}
