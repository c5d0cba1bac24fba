//! The fxmsg-only `/api/v1` types: directory administration and message inspection.
//!
//! Native routes use HTTP status codes and a stable [`ApiError`] body, unlike the compat envelope.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Error body of every native route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// `POST /api/v1/corps`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCorp {
    /// Display name.
    pub name: String,
    /// Enterprise account; letters, digits, `_` and `-`.
    pub ea: String,
}

/// An app of a corp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct NewApp {
    /// Display name.
    pub name: String,
}

/// `PATCH /api/v1/corps/{corpId}/apps/{appId}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppPatch {
    /// Enable or disable the app.
    pub enabled: bool,
}

/// A created app with its secrets, shown exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmployeeStatus {
    /// Receives messages.
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

/// An employee of a corp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `POST /api/v1/corps/{corpId}/employees`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEmployee {
    /// Display name.
    pub name: String,
    /// Employee number; the next free number from 1000 when absent.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `PATCH /api/v1/corps/{corpId}/employees/{openUserId}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmployeePatch {
    /// New status.
    pub status: EmployeeStatus,
}

/// A service account messages can be sent as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct NewServiceAccount {
    /// Display name.
    pub name: String,
}

/// A stored message as the native API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Newest first.
    pub items: Vec<T>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One message in an employee's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// `POST /api/v1/faults`: make the next `times` calls to `path` fail, to test client retry and
/// token logic. Exactly one of `errorCode` and `dropResponse` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewFault {
    /// Compat path, e.g. `/cgi/message/send`.
    pub path: String,
    /// Answer with this non-zero `errorCode` without processing the request.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Process the request (and commit it), then cut the connection before the response is read:
    /// a lost response.
    #[serde(default)]
    pub drop_response: bool,
    /// How many calls fail (1..=1000, default 1).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// A planned fault with the number of calls it will still affect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Id for reference.
    pub id: u64,
    /// Compat path.
    pub path: String,
    /// Injected code, if any.
    pub error_code: Option<i64>,
    /// Whether the response is dropped.
    pub drop_response: bool,
    /// Calls still to be affected.
    pub remaining: u32,
}

/// What an [`Event`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    /// The message.
    pub message_id: String,
    /// Unix milliseconds of the first read; repeating the call does not move it.
    pub read_at: i64,
}
