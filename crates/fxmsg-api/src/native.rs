//! The fxmsg-only `/api/v1` types: directory administration and message inspection.
//!
//! Native routes use HTTP status codes and a stable [`ApiError`] body, unlike the compat envelope.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Error body of every native route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Corp {
    /// `FSCID_…`.
    pub corp_id: String,
    /// Enterprise account, the `x-fs-ea` header value.
    pub ea: String,
    /// Display name.
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Created by `POST /api/v1/sandboxes`, and so deletable with everything it holds.
    #[serde(default)]
    pub sandbox: bool,
}

/// `POST /api/v1/corps`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewCorp {
    /// Display name.
    pub name: String,
    /// Enterprise account; letters, digits, `_` and `-`.
    pub ea: String,
}

/// An app of a corp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `FSAID_…`.
    pub app_id: String,
    /// Owning corp.
    pub corp_id: String,
    /// Display name.
    pub name: String,
    /// Disabled apps get 20021.
    pub enabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `POST /api/v1/corps/{corpId}/apps`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApp {
    /// Display name.
    pub name: String,
}

/// `PATCH /api/v1/corps/{corpId}/apps/{appId}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppPatch {
    /// Enable or disable the app.
    pub enabled: bool,
}

/// A created app with its secrets, shown exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppCredentials {
    /// The app.
    #[serde(flatten)]
    pub app: App,
    /// 32 lower hex; stored hashed, never shown again.
    pub app_secret: String,
    /// 32 upper hex; stored hashed, never shown again.
    pub permanent_code: String,
}

/// Whether an employee can receive messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EmployeeStatus {
    /// Receives messages.
    #[default]
    Active,
    /// Left or suspended: listed in `invalidUsers`.
    Stopped,
}

impl EmployeeStatus {
    /// Lower-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EmployeeStatus::Active => "active",
            EmployeeStatus::Stopped => "stopped",
        }
    }
}

/// An employee of a corp, with the address-book fields the platform's `/cgi/user/*` return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    /// `FSUID_…`, usable in `toUser`.
    pub open_user_id: String,
    /// Employee number (the `x-fs-userid` form), also usable in `toUser`.
    pub user_id: String,
    /// Owning corp.
    pub corp_id: String,
    /// Display name.
    pub name: String,
    /// Active or stopped.
    pub status: EmployeeStatus,
    /// Mobile number, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Login account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `M` or `F`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// The main department; `0`, the corp itself, for an employee in no department.
    #[serde(default)]
    pub main_department_id: i64,
    /// Every department the employee is in, the main one first.
    #[serde(default)]
    pub department_ids: Vec<i64>,
    /// The leader's `FSUID_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Employee {
    /// The departments besides the main one.
    pub fn attaching_department_ids(&self) -> Vec<i64> {
        let main = self.main_department_id;
        self.department_ids
            .iter()
            .copied()
            .filter(|d| *d != main)
            .collect()
    }
}

/// `POST /api/v1/corps/{corpId}/employees`, and an employee of an imported directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewEmployee {
    /// Display name, 1..100 characters.
    pub name: String,
    /// Employee number; the next free number from 1000 when absent (an import needs it: it is
    /// how a second import finds the employee again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Mobile number: digits, optionally after `+`, 5..20 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Login account, 1..64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Nickname, 1..100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// E-mail address, up to 254 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `M` or `F`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Job title, 1..100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Departments (at most 20); the first is the main one unless `mainDepartmentId` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub department_ids: Vec<i64>,
    /// The main department; it joins `departmentIds` if missing there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_department_id: Option<i64>,
    /// The leader: an `FSUID_…` or an employee number of the same corp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    /// Active unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EmployeeStatus>,
}

/// `PATCH /api/v1/corps/{corpId}/employees/{employee}`: absent fields stay as they are; `null`
/// clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EmployeePatch {
    /// Activate or stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EmployeeStatus>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mobile number.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub mobile: Option<Option<String>>,
    /// Login account.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub account: Option<Option<String>>,
    /// Nickname.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub nick_name: Option<Option<String>>,
    /// E-mail address.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    /// `M` or `F`.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub gender: Option<Option<String>>,
    /// Job title.
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub position: Option<Option<String>>,
    /// Departments; the main one is the first unless `mainDepartmentId` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_ids: Option<Vec<i64>>,
    /// The main department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_department_id: Option<i64>,
    /// The leader (`FSUID_…` or employee number).
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub leader_id: Option<Option<String>>,
}

/// A present field, even `null`, is `Some`: `Some(None)` clears, a missing field (`None`, by
/// `default`) keeps.
fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A department of a corp's address book. Department `0` is the corp itself: it is always
/// there, named after the corp, and every top-level department's parent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Department {
    /// `1..=2147483647`; `0` is the corp itself.
    pub id: i64,
    /// Owning corp.
    pub corp_id: String,
    /// Display name.
    pub name: String,
    /// The parent department; `0` for a top-level one (and for department `0` itself).
    pub parent_id: i64,
    /// Position among its siblings, from 1; smaller comes first.
    pub order: i64,
    /// Stopped departments stay listed, with `isStop: true` in the platform's API.
    pub stopped: bool,
    /// The head of the department, `FSUID_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `POST /api/v1/corps/{corpId}/departments`, and a department of an imported directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewDepartment {
    /// `1..=2147483647`; the next free id when absent (an import needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Display name, 1..100 characters.
    pub name: String,
    /// The parent; `0` (the corp itself) when absent.
    #[serde(default)]
    pub parent_id: i64,
    /// Position among its siblings, from 1; after the last sibling when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// Stopped.
    #[serde(default)]
    pub stopped: bool,
    /// The head: an `FSUID_…` or employee number of the same corp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

/// `PATCH /api/v1/corps/{corpId}/departments/{id}`: absent fields stay; `null` clears the head.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepartmentPatch {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Move under another department (not under itself or one of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// Position among its siblings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// Stop or restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<bool>,
    /// The head (`FSUID_…` or employee number).
    #[serde(
        default,
        deserialize_with = "some",
        skip_serializing_if = "Option::is_none"
    )]
    pub principal_id: Option<Option<String>>,
}

/// A whole address book, as `GET /api/v1/corps/{corpId}/directory` exports it and `PUT` imports
/// it. Employees are keyed by their number (`userId`), departments by `id`; leaders and heads are
/// named by employee number, so a file moves between corps and servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DirectoryFile {
    /// Departments, parents before children (department `0` is never listed).
    #[serde(default)]
    pub departments: Vec<NewDepartment>,
    /// Employees, by employee number.
    #[serde(default)]
    pub employees: Vec<NewEmployee>,
}

/// How many records an import created, changed, or found as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportCounts {
    /// New.
    pub created: u64,
    /// Changed.
    pub updated: u64,
    /// Already as in the file.
    pub unchanged: u64,
}

/// What `PUT /api/v1/corps/{corpId}/directory` did. An import that finds an error imports
/// nothing and answers 400 with every error's line instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    /// Departments.
    pub departments: ImportCounts,
    /// Employees.
    pub employees: ImportCounts,
}

/// A service account messages can be sent as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// `FSAID_…`, the `serviceId`.
    pub service_id: String,
    /// Owning corp.
    pub corp_id: String,
    /// Display name.
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `POST /api/v1/corps/{corpId}/service-accounts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewServiceAccount {
    /// Display name.
    pub name: String,
}

/// `POST /api/v1/sandboxes`: a throwaway corp with an app, a service account and employees,
/// created in one transaction. Every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewSandbox {
    /// Display name (default `Sandbox <ea>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Enterprise account (default `sandbox-` and 12 random hex digits).
    #[serde(default)]
    pub ea: Option<String>,
    /// The employees: a number of generated ones, or each one's name, number and mobile.
    #[serde(default)]
    pub employees: Option<SandboxEmployees>,
    /// The address book's departments, parents before children (`0`, the corp, is implied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<NewDepartment>,
}

/// The employees of a [`NewSandbox`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SandboxEmployees {
    /// This many generated employees (0..=500), numbered from 1000.
    Count(u32),
    /// These employees; a missing number or mobile is generated.
    List(Vec<NewEmployee>),
}

/// A created sandbox (or the first start's demo corp) with every credential, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Sandbox {
    /// The corp.
    pub corp: Corp,
    /// Its app, with the secrets.
    pub app: AppCredentials,
    /// Its service account.
    pub service_account: ServiceAccount,
    /// Its employees.
    pub employees: Vec<Employee>,
    /// Its departments, `0` (the corp itself) first.
    #[serde(default)]
    pub departments: Vec<Department>,
}

/// `DELETE /api/v1/messages`: what a reset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// Messages deleted, with their inbox rows, events and idempotency keys.
    pub messages: u64,
}

/// `GET /api/v1/clock` (with `fxmsg serve --test-clock`): the server's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClockTime {
    /// Now, unix milliseconds.
    pub now_ms: i64,
}

/// `POST /api/v1/clock`: set the test clock, or move it forward. Exactly one field is given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClockChange {
    /// The new time: unix milliseconds (a number or a string), an RFC 3339 time or a date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Value>,
    /// Seconds to move forward, 0..=315,360,000 (ten years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_secs: Option<i64>,
}

/// A stored message as the native API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id returned by the send.
    pub message_id: String,
    /// Sending corp.
    pub corp_id: String,
    /// Sending app.
    pub app_id: String,
    /// Service account, for `/cgi/app/message/send`.
    pub service_id: Option<String>,
    /// `text`, `composite` or `articles`.
    pub msg_type: String,
    /// Normalized content (the value under `text`, `composite` or `articles`).
    pub content: Value,
    /// Resolved recipients, `FSUID_…`.
    pub recipients: Vec<String>,
    /// Requested recipients that were not delivered to.
    pub invalid_users: Vec<String>,
    /// The `thirdTraceId` of the send, if any.
    pub third_trace_id: Option<String>,
    /// The send's `traceId`.
    pub trace_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds; `None` while not revoked.
    pub revoked_at: Option<i64>,
}

/// One message with its raw request and per-recipient delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageDetail {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// The request body exactly as received, credentials removed.
    pub raw_request: Value,
    /// One row per delivered recipient.
    pub deliveries: Vec<Delivery>,
}

/// Per-recipient delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Recipient, `FSUID_…`.
    pub open_user_id: String,
    /// `delivered`, `read` (the recipient opened it) or `revoked`.
    pub state: String,
    /// Unix milliseconds.
    pub delivered_at: i64,
    /// When the recipient opened it (unix milliseconds).
    #[serde(default)]
    pub read_at: Option<i64>,
    /// Unix milliseconds.
    pub revoked_at: Option<i64>,
}

/// A page of results; pass `nextCursor` back as `cursor` for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Newest first.
    pub items: Vec<T>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One message in an employee's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxItem {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// This recipient's delivery state: `delivered`, `read` or `revoked`.
    pub state: String,
    /// When this recipient opened it (unix milliseconds).
    #[serde(default)]
    pub read_at: Option<i64>,
}

/// `POST /api/v1/faults`: make calls to a compat path fail as a real gateway (or the proxy in
/// front of it) fails, to test client retry, timeout and token logic.
///
/// What it does: exactly one of `errorCode`, `httpStatus` and `cut` (or `dropResponse`, the same
/// as `cut: afterCommit`), optionally after `delayMs`; or `delayMs` alone, which only delays.
/// When: calls to `path` matching every filter given (`corpId`, `appId`, and for sends
/// `recipient` and `msgType`), each with `probability` (drawn from `seed`, so a run repeats), for
/// `times` calls (default 1) or `untilDeleted`. A fault with no filter fires before anything
/// else, as a proxy would; one with a filter once the call is authenticated, before it has any
/// effect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewFault {
    /// Compat path, e.g. `/cgi/message/send`.
    pub path: String,
    /// Answer with this non-zero Fxiaoke `errorCode` without processing the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Answer with this HTTP status (429 or 500..=599) and a proxy's HTML page, not the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Cut the connection before the handler runs, or after the request was committed (a lost
    /// response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
    /// The same as `cut: afterCommit` (kept from the first fault API).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_response: bool,
    /// Delay before the call goes on (or the fault answers): milliseconds, or `[min, max]` for a
    /// uniform draw; at most 60,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<Delay>,
    /// Chance that a matching call is affected, in (0, 1]; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the fault's draws (probability, delay range): the same calls fire on every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How many calls it affects (1..=1000, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Affect calls until the fault is deleted, instead of `times`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub until_deleted: bool,
    /// Only calls authenticated for this corp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corp_id: Option<String>,
    /// Only calls authenticated for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Only sends whose `toUser` holds this entry, as given (an employee number or `FSUID_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Only sends of this `msgType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<String>,
}

/// When a [`NewFault`] cuts the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Cut {
    /// Before the request has any effect: nothing is stored.
    BeforeHandler,
    /// After the request was committed, before its answer is read: the client cannot tell it
    /// succeeded.
    AfterCommit,
}

/// A fault's delay: fixed, or drawn uniformly from a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Delay {
    /// Milliseconds.
    Fixed(u64),
    /// `[min, max]` milliseconds.
    Range([u64; 2]),
}

/// A planned fault: what it was planned as, how often it fired, what it has left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Id, for `DELETE /api/v1/faults/{id}`.
    pub id: u64,
    /// The fault as planned (`dropResponse` shown as `cut: afterCommit`, `times` as given).
    #[serde(flatten)]
    pub plan: NewFault,
    /// Calls it affected so far.
    pub fired: u64,
    /// Calls it will still affect; `None` until deleted. A used-up fault stays listed with 0.
    pub remaining: Option<u32>,
}

/// What an [`Event`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A message was sent (committed with its inbox rows).
    Message,
    /// A message was revoked for every recipient.
    Revoke,
    /// A recipient opened a message.
    Read,
}

impl EventKind {
    /// The SSE `event:` name and the stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::Revoke => "revoke",
            EventKind::Read => "read",
        }
    }

    /// The kind spelled `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        match name {
            "message" => Some(EventKind::Message),
            "revoke" => Some(EventKind::Revoke),
            "read" => Some(EventKind::Read),
            _ => None,
        }
    }
}

/// One committed change in a corp's event log, as the streams carry it (the SSE `data:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Position in the corp's log: from 1, in commit order, without gaps. The SSE `id:` of a
    /// corp's stream and of an employee's.
    pub seq: i64,
    /// Position in the log of every corp, also without gaps: the SSE `id:` of the stream of
    /// all corps.
    pub global_seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// The corp it happened in.
    pub corp_id: String,
    /// The message it is about.
    pub message_id: String,
    /// The reader, for `read`.
    pub open_user_id: Option<String>,
    /// When (unix milliseconds).
    pub at: i64,
    /// The message, normalized, as it was after the change.
    pub message: Message,
}

/// The `data:` of a stream's first event (`open`) and of a `reset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamHead {
    /// The newest sequence number in the stream's log when it was sent; a client that has seen
    /// this one is up to date. Live events follow.
    pub head: i64,
    /// For `reset`: why the client must refetch (its position was pruned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an employee credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    /// An API token (`authorization: Bearer fxe_…`), until revoked.
    Token,
    /// A one-time login link's code, short-lived.
    Login,
    /// A web session (the `fxmsg_session` cookie), made from a login link.
    Session,
}

impl CredentialKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Token => "token",
            CredentialKind::Login => "login",
            CredentialKind::Session => "session",
        }
    }

    /// The kind spelled `name`.
    pub fn parse(name: &str) -> Option<CredentialKind> {
        match name {
            "token" => Some(CredentialKind::Token),
            "login" => Some(CredentialKind::Login),
            "session" => Some(CredentialKind::Session),
            _ => None,
        }
    }
}

/// An employee's credential as listed: never its secret, which is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// `fxc_…`: names it, to revoke it.
    pub credential_id: String,
    /// Token, login link or session.
    pub kind: CredentialKind,
    /// The employee's corp.
    pub corp_id: String,
    /// The employee.
    pub open_user_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds; `None` for tokens, which last until revoked.
    pub expires_at: Option<i64>,
    /// Unix milliseconds, once revoked (or, for a login link, used).
    pub revoked_at: Option<i64>,
}

/// `POST /api/v1/corps/{corpId}/employees/{employee}/tokens`: the only time the token is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The credential, as listed later.
    #[serde(flatten)]
    pub credential: Credential,
    /// `fxe_…`, for `authorization: Bearer`.
    pub token: String,
}

/// `POST /api/v1/corps/{corpId}/employees/{employee}/login-links`: a one-time link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginLink {
    /// The credential, as listed later.
    #[serde(flatten)]
    pub credential: Credential,
    /// Where to send the employee: this server's address and `path`.
    pub url: String,
    /// `/login/fxl_…`.
    pub path: String,
}

/// An employee's inbox page, with how many of their messages are unread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    /// Newest first.
    pub items: Vec<InboxItem>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
    /// Messages neither read nor revoked, in the whole inbox.
    pub unread: u64,
}

/// `POST /api/v1/inbox/messages/{messageId}/read`: when it was first read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    /// The message.
    pub message_id: String,
    /// Unix milliseconds of the first read; repeating the call does not move it.
    pub read_at: i64,
}
