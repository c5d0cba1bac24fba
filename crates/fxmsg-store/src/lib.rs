//! The fxmsg storage contract.
//!
//! Handlers talk to a [`Store`]: domain methods (`insert_message`, `revoke_message`), never rows, SQL or
//! pools. Each backend (today `fxmsg-store-sqlite`) owns its SQL and migrations, so a PostgreSQL
//! backend can be added without touching a handler; the server holds an `Arc<dyn Store>` and
//! never names a backend's type.
//!
//! Invariants every backend keeps:
//! - A method returns only after its writes are committed (the server acknowledges after that).
//! - [`Store::insert_message`] is one transaction: idempotency check, media liveness check, the
//!   message and every recipient's inbox row commit together or not at all.
//! - Every lookup of tenant data takes the caller's corp; a foreign id is indistinguishable from a
//!   missing one.
#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;

use std::sync::Arc;

use async_trait::async_trait;
use fxmsg_api::native::{
    App, Corp, Credential, Department, Employee, Event, EventKind, InboxItem, Message,
    MessageDetail, NewFault, ServiceAccount,
};
use tokio::sync::{broadcast, watch};

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in a backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique value is already taken: the field's name (`ea`, `user_id`, `message_id`, …),
    /// never the database's own words.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A reference names no record: the referring field's name (`corp_id`, …) where the
    /// backend can tell, else `"a referenced record"`; never the database's own words.
    #[error("not found: {0}")]
    NotFound(String),
    /// Storing this would take the corp past its quota; `used` is what it holds already.
    #[error("quota exceeded: {used} bytes in use")]
    QuotaExceeded { used: u64 },
    /// The backend's storage is full: nothing was written, and the same write can succeed once
    /// space returns. The message is for logs.
    #[error("storage full: {0}")]
    Full(String),
    /// The backend failed; the message is for logs, never for clients.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// What [`StoreError::NotFound`] says when the backend cannot tell which reference failed.
pub const UNKNOWN_REFERENCE: &str = "a referenced record";

/// File and thread errors of a backend (opening files, starting its threads).
impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// An app with the hashes of its secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    /// The app as the native API shows it.
    pub app: App,
    /// SHA-256 hex of the appSecret.
    pub secret_hash: String,
    /// SHA-256 hex of the permanentCode.
    pub permanent_code_hash: String,
}

/// A whole corp created at once: a sandbox, or the first start's demo.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The corp.
    pub corp: Corp,
    /// Its apps.
    pub apps: Vec<AppRecord>,
    /// Its service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Its departments (not `0`, which every corp has without a row).
    pub departments: Vec<Department>,
    /// Its employees.
    pub employees: Vec<Employee>,
}

/// Which kind of token a [`TokenRecord`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Legacy `corpAccessToken`.
    Corp,
    /// `/oauth2.0/token` bearer access token.
    Access,
    /// Single-use refresh token.
    Refresh,
    /// Legacy `appAccessToken`.
    App,
}

impl TokenKind {
    /// Stable spelling for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Corp => "corp",
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::App => "app",
        }
    }
}

/// An issued token. The token string itself is never stored: only its hash, and the server-side
/// nonce from which the server re-derives the string when it hands the same token out again.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Kind of token.
    pub kind: TokenKind,
    /// Server-generated nonce the token is derived from.
    pub nonce: String,
    /// SHA-256 hex of the token string.
    pub token_hash: String,
    /// Issuing app.
    pub app_id: String,
    /// Corp the token acts for.
    pub corp_id: String,
    /// Unix milliseconds.
    pub issued_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// A message ready to be stored with its fan-out.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The message row (`recipients` are the resolved `FSUID_…` ids that get inbox rows).
    pub message: Message,
    /// Request body as received, credentials removed, as JSON text.
    pub raw_request: String,
    /// Media the content refers to; each must be live in the message's corp at commit time.
    pub media_ids: Vec<String>,
}

/// The idempotency key of a send, scoped by its app (an app belongs to one corp).
///
/// Only what decides a retry is kept: the body hash and the message the first call created. A
/// replay is answered from that message, so no response is stored twice.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The `thirdTraceId`.
    pub key: String,
    /// SHA-256 of the request body without credentials.
    pub body_hash: [u8; 32],
    /// Keys created before this instant (unix ms) are expired and replaced.
    pub not_before: i64,
}

/// What [`Store::insert_message`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The message and its inbox rows are committed.
    Inserted,
    /// The key was used within its window: nothing was written. Holds the first call's body hash and
    /// the message it created, which its response is rebuilt from.
    Replayed {
        /// Body hash of the first call.
        body_hash: [u8; 32],
        /// The message the first call created.
        message: Box<Message>,
    },
    /// A referenced media id is not live in the corp: nothing was written.
    MissingMedia(String),
}

/// What [`Store::revoke_message`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// No such message in this corp (or sent as another service account).
    NotFound,
    /// Revoked now.
    Revoked,
    /// It was revoked before; nothing changed.
    AlreadyRevoked,
}

/// What one pass of [`Store::prune_messages`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedMessages {
    /// Messages deleted, with their inbox rows.
    pub messages: u64,
    /// Whether nothing more is old enough: the next pass would find nothing.
    pub done: bool,
    /// Media no message needs any more: marked deleted, bytes to remove.
    pub media: Vec<PrunedMedia>,
}

/// A medium retention deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedMedia {
    pub corp_id: String,
    pub media_id: String,
    /// Where its bytes are.
    pub object_key: String,
}

/// Whether media is an image or a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// JPG, PNG, GIF or BMP, ≤ 5 MB.
    Image,
    /// Any file, ≤ 20 MB.
    Document,
}

impl MediaKind {
    /// Stable spelling for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
        }
    }
}

/// A stored media file's metadata; the bytes live in the object store under `object_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    /// The `mediaId`.
    pub media_id: String,
    /// Owning corp.
    pub corp_id: String,
    /// Uploading app.
    pub app_id: String,
    /// Image or document.
    pub kind: MediaKind,
    /// Detected content type.
    pub content_type: String,
    /// Client's file name, for `Content-Disposition` only.
    pub file_name: String,
    /// Bytes.
    pub size: i64,
    /// Server-generated object key.
    pub object_key: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Filters for [`Store::list_messages`]; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Sending corp.
    pub corp_id: Option<String>,
    /// Sending app.
    pub app_id: Option<String>,
    /// Sent as this service account.
    pub service_id: Option<String>,
    /// A recipient, `FSUID_…`.
    pub recipient: Option<String>,
    /// `text`, `composite` or `articles`.
    pub msg_type: Option<String>,
    /// Created at or after (unix ms).
    pub since: Option<i64>,
    /// Created before (unix ms).
    pub until: Option<i64>,
    /// Only revoked (`true`) or only live (`false`) messages.
    pub revoked: Option<bool>,
    /// Text the content contains (any field: a text's body, a card's rows, an article's title).
    pub text: Option<String>,
}

impl MessageFilter {
    /// Whether `message` passes the filter, for messages seen live rather than queried.
    pub fn matches(&self, message: &Message) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.corp_id, &message.corp_id)
            && is(&self.app_id, &message.app_id)
            && is(&self.msg_type, &message.msg_type)
            && self
                .service_id
                .as_ref()
                .is_none_or(|s| message.service_id.as_ref() == Some(s))
            && self
                .recipient
                .as_ref()
                .is_none_or(|r| message.recipients.contains(r))
            && self.since.is_none_or(|t| message.created_at >= t)
            && self.until.is_none_or(|t| message.created_at < t)
            && self
                .revoked
                .is_none_or(|r| r == message.revoked_at.is_some())
            && self
                .text
                .as_ref()
                .is_none_or(|t| content_contains(&message.content, t))
    }
}

/// Whether any string in `content` contains `text`.
pub fn content_contains(content: &serde_json::Value, text: &str) -> bool {
    match content {
        serde_json::Value::String(s) => s.contains(text),
        serde_json::Value::Array(items) => items.iter().any(|v| content_contains(v, text)),
        serde_json::Value::Object(fields) => fields.values().any(|v| content_contains(v, text)),
        _ => false,
    }
}

/// A committed event as live subscribers get it: the event, and its JSON made once for all of
/// them (a thousand streams on one corp would otherwise serialize it a thousand times).
#[derive(Debug)]
pub struct LiveEvent {
    event: Event,
    json: std::sync::OnceLock<String>,
    rendered: [std::sync::OnceLock<bytes::Bytes>; 2],
}

impl LiveEvent {
    /// Wraps a committed event.
    pub fn new(event: Event) -> LiveEvent {
        LiveEvent {
            event,
            json: std::sync::OnceLock::new(),
            rendered: Default::default(),
        }
    }

    /// The event as JSON, made by the first subscriber that asks.
    pub fn json(&self) -> &str {
        self.json
            .get_or_init(|| serde_json::to_string(&self.event).expect("an event serializes"))
    }

    /// The event as a stream sends it, made by the first stream of its kind (`slot` 0 or 1,
    /// say numbered per corp or across corps) and shared by the others.
    pub fn rendered(
        &self,
        slot: usize,
        render: impl FnOnce(&LiveEvent) -> bytes::Bytes,
    ) -> bytes::Bytes {
        self.rendered[slot].get_or_init(|| render(self)).clone()
    }
}

impl std::ops::Deref for LiveEvent {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

/// Whose events a stream carries, and which sequence numbers it counts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// Every corp's events, numbered by `global_seq`.
    All,
    /// One corp's events, numbered by `seq`.
    Corp(String),
    /// The events of one employee's messages, numbered by the corp's `seq`: the messages they
    /// received, their revokes, and the employee's own reads.
    Employee {
        /// The employee's corp.
        corp_id: String,
        /// The employee.
        open_user_id: String,
    },
}

impl EventScope {
    /// The event's position in this scope's numbering.
    pub fn position(&self, event: &Event) -> i64 {
        match self {
            EventScope::All => event.global_seq,
            _ => event.seq,
        }
    }

    /// Whether a reader of this scope may see `event`.
    pub fn admits(&self, event: &Event) -> bool {
        match self {
            EventScope::All => true,
            EventScope::Corp(corp) => event.corp_id == *corp,
            EventScope::Employee {
                corp_id,
                open_user_id,
            } => {
                event.corp_id == *corp_id
                    && event.message.recipients.iter().any(|r| r == open_user_id)
                    && (event.kind != EventKind::Read
                        || event.open_user_id.as_deref() == Some(open_user_id))
            }
        }
    }
}

/// Where a scope's log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogState {
    /// The newest position (0 before the first event).
    pub head: i64,
    /// Every position up to this one was pruned: a reader resuming from before it missed events.
    pub pruned_through: i64,
}

/// What [`Store::mark_read`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The employee did not receive this message (or it does not exist in the corp).
    NotFound,
    /// Marked read now, at this time; a `read` event was logged.
    Read(i64),
    /// It was read before, at this time; nothing changed.
    AlreadyRead(i64),
}

/// A planned fault as every node sees it: its plan and how far it has run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFault {
    /// Its id, in the order faults were planned.
    pub id: u64,
    /// What it was planned as.
    pub plan: NewFault,
    /// How far it has run.
    pub state: FaultState,
}

/// How far a fault has run. `version` grows with every change, so nodes that race to fire the
/// same fault change it one at a time ([`Store::update_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultState {
    /// Calls it affected.
    pub fired: u64,
    /// Calls it will still affect; `None` until deleted.
    pub remaining: Option<u32>,
    /// Its random sequence's state, so its draws continue where any node left them.
    pub rng: u64,
    /// Changes so far.
    pub version: u64,
}

/// A position in a newest-first listing; opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

/// Everything fxmsg persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the backend can serve reads and writes.
    async fn ping(&self) -> Result<()>;
    /// Waits for every write in flight to commit, then releases the backend's connections and
    /// files. Calls after this fail.
    async fn close(&self) -> Result<()>;
    /// Adds the backend's own metrics (commits, checkpoints, ...) to `registry`, for `/metrics`.
    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry);
    /// A server-wide setting.
    async fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets a server-wide setting.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
    /// Sets a server-wide setting unless it is set, and returns what it holds: `value` for the
    /// one caller that set it, the first value for every other, however many nodes race.
    async fn claim_meta(&self, key: &str, value: &str) -> Result<String>;

    /// Creates a corp; `Conflict` if its ea is taken.
    async fn create_corp(&self, corp: &Corp) -> Result<()>;
    /// Creates a corp with its apps, service accounts and employees in one transaction: all of
    /// them or, on any error, none. `Conflict` if the ea or an employee number is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// Deletes a corp with everything it holds: apps, employees, service accounts, tokens,
    /// credentials, messages with their inbox rows, events and idempotency keys, and media rows.
    /// Returns the object keys of its media, for the caller to delete the bytes; `None` if there
    /// is no such corp.
    async fn delete_corp(&self, corp_id: &str) -> Result<Option<Vec<String>>>;
    /// Deletes the messages of one corp (or of all corps) with their inbox rows, events and
    /// idempotency keys; returns how many. Event numbering continues after the deleted ones, so a
    /// stream resuming from before the reset is told it missed events.
    async fn delete_messages(&self, corp_id: Option<&str>) -> Result<u64>;
    /// All corps, oldest first.
    async fn list_corps(&self) -> Result<Vec<Corp>>;
    /// A corp by id. Shared, like [`Store::app`] and [`Store::live_token`]: every request reads
    /// these, and a cached value is handed out without copying its strings.
    async fn corp(&self, corp_id: &str) -> Result<Option<Arc<Corp>>>;

    /// Creates an app; `NotFound` if its corp does not exist.
    async fn create_app(&self, app: &AppRecord) -> Result<()>;
    /// A corp's apps, oldest first.
    async fn list_apps(&self, corp_id: &str) -> Result<Vec<App>>;
    /// An app by id, with its secret hashes.
    async fn app(&self, app_id: &str) -> Result<Option<Arc<AppRecord>>>;
    /// Enables or disables an app of the corp; `None` if there is none.
    async fn set_app_enabled(
        &self,
        corp_id: &str,
        app_id: &str,
        enabled: bool,
    ) -> Result<Option<App>>;

    /// Creates an employee; `Conflict` if the employee number is taken in the corp.
    async fn create_employee(&self, employee: &Employee) -> Result<()>;
    /// A corp's employees, by employee number.
    async fn list_employees(&self, corp_id: &str) -> Result<Vec<Employee>>;
    /// An employee by `FSUID_…` or employee number.
    async fn employee(&self, corp_id: &str, id: &str) -> Result<Option<Employee>>;
    /// Writes departments and employees of one corp in one transaction, all or none: each is
    /// inserted, or replaces the corp's row with its id (a department's id, an employee's
    /// `FSUID_…`). The caller has checked them against each other; `Conflict` if an employee
    /// number belongs to another employee of the corp.
    async fn write_directory(
        &self,
        corp_id: &str,
        departments: &[Department],
        employees: &[Employee],
    ) -> Result<()>;
    /// A corp's departments by id; department `0`, the corp itself, has no row and is not listed.
    async fn list_departments(&self, corp_id: &str) -> Result<Vec<Department>>;
    /// The corp's employees with this mobile number, by employee number.
    async fn employees_by_mobile(&self, corp_id: &str, mobile: &str) -> Result<Vec<Employee>>;
    /// Employees in `department`, as main or attaching department, and with `fetch_child` in
    /// any department below it; by employee number.
    async fn department_members(
        &self,
        corp_id: &str,
        department: i64,
        fetch_child: bool,
    ) -> Result<Vec<Employee>>;
    /// Maps each requested id (`FSUID_…` or employee number) to the active employee's `FSUID_…`, or
    /// `None` when it is not an active employee of the corp. Same order as `ids`.
    async fn resolve_recipients(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>>;

    /// Creates a service account; `NotFound` if its corp does not exist.
    async fn create_service_account(&self, account: &ServiceAccount) -> Result<()>;
    /// A corp's service accounts, oldest first.
    async fn list_service_accounts(&self, corp_id: &str) -> Result<Vec<ServiceAccount>>;
    /// A service account of the corp.
    async fn service_account(
        &self,
        corp_id: &str,
        service_id: &str,
    ) -> Result<Option<ServiceAccount>>;

    /// Stores an issued token.
    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    /// The newest token of this kind for (app, corp) issued at or after `issued_since`.
    async fn newest_token(
        &self,
        kind: TokenKind,
        app_id: &str,
        corp_id: &str,
        issued_since: i64,
    ) -> Result<Option<TokenRecord>>;
    /// A token of this kind by hash, if it has not expired at `now`.
    async fn live_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Arc<TokenRecord>>>;
    /// Removes a live token of this kind and returns it: the single use of a refresh token.
    async fn take_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>>;

    /// Deletes up to `limit` of the oldest idempotency keys created before `before`. Returns how
    /// many it deleted and whether that was all of them. Called in a loop, it keeps the key table
    /// to the keys of the live window in short writes, whose cost follows the keys expired, not
    /// the keys kept.
    async fn prune_idempotency_keys(&self, before: i64, limit: u32) -> Result<(u64, bool)>;
    /// Stores a message and its inbox rows atomically, honouring the idempotency key.
    async fn insert_message(
        &self,
        message: NewMessage,
        key: Option<IdempotencyKey>,
    ) -> Result<InsertOutcome>;
    /// Marks the message revoked for every recipient.
    async fn revoke_message(
        &self,
        corp_id: &str,
        service_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<RevokeOutcome>;
    /// Messages matching `filter`, newest first, at most `limit`, after `cursor`.
    async fn list_messages(
        &self,
        filter: &MessageFilter,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<Message>, Option<Cursor>)>;
    /// One message with its raw request and deliveries; scoped to `corp_id` when given.
    async fn message(
        &self,
        corp_id: Option<&str>,
        message_id: &str,
    ) -> Result<Option<MessageDetail>>;
    /// An employee's inbox, newest first.
    async fn inbox(
        &self,
        corp_id: &str,
        open_user_id: &str,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<InboxItem>, Option<Cursor>)>;

    /// Live events, each sent once its transaction has committed, in commit order. A receiver
    /// that falls behind gets `Lagged` and catches up with [`Store::events_after`].
    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>>;
    /// The scope's events after position `after`, oldest first, at most `limit`.
    async fn events_after(&self, scope: &EventScope, after: i64, limit: u32) -> Result<Vec<Event>>;
    /// The scope's newest position and how far its log was pruned.
    async fn event_log(&self, scope: &EventScope) -> Result<LogState>;
    /// Deletes up to `limit` of the oldest events created before `before`, always keeping each
    /// corp's newest (numbering continues from it); returns how many and whether that was all.
    async fn prune_events(&self, before: i64, limit: u32) -> Result<(u64, bool)>;
    /// One pass of message retention: up to `limit` of the oldest messages created before
    /// `before`, with their inbox rows, then up to `limit` media older than `before` that no
    /// remaining message refers to (marked deleted at `now`; the caller removes their bytes).
    async fn prune_messages(&self, before: i64, now: i64, limit: u32) -> Result<PrunedMessages>;
    /// Marks a message the employee received as read, logging a `read` event the first time.
    async fn mark_read(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<ReadOutcome>;
    /// Messages matching `filter` whose listing position is after `after`, oldest first, at most
    /// `limit`; with the position of each (what `after` takes).
    async fn messages_after(
        &self,
        filter: &MessageFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Message)>>;

    /// How many of the employee's messages are neither read nor revoked.
    async fn unread_count(&self, corp_id: &str, open_user_id: &str) -> Result<u64>;
    /// One message of the employee's inbox; `None` if they did not receive it.
    async fn inbox_item(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
    ) -> Result<Option<InboxItem>>;

    /// Stores an employee credential (its secret only as `secret_hash`).
    async fn insert_credential(&self, credential: &Credential, secret_hash: &str) -> Result<()>;
    /// The live credential (not revoked, not expired at `now`) with this secret hash.
    async fn live_credential(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>>;
    /// Uses a live login-link credential up (marks it revoked) and returns it: one use only,
    /// under races too.
    async fn take_login(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>>;
    /// The employee's credentials, newest first, revoked ones included.
    async fn list_credentials(&self, corp_id: &str, open_user_id: &str) -> Result<Vec<Credential>>;
    /// Revokes one of the employee's credentials; false if they have no live one by that id.
    async fn revoke_credential(
        &self,
        corp_id: &str,
        open_user_id: &str,
        credential_id: &str,
        now: i64,
    ) -> Result<bool>;

    /// Stores media metadata (after the bytes are in the object store). With a `quota`, the
    /// corp's live media plus this one must fit in it, checked in the same transaction, else
    /// [`StoreError::QuotaExceeded`] and nothing is written.
    async fn insert_media(&self, media: &MediaRecord, quota: Option<u64>) -> Result<()>;
    /// Bytes of the corp's live media.
    async fn media_bytes(&self, corp_id: &str) -> Result<u64>;
    /// Live media of the corp.
    async fn media(&self, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>>;
    /// Marks media of the corp deleted and returns it; `None` if it was not live.
    async fn delete_media(
        &self,
        corp_id: &str,
        media_id: &str,
        now: i64,
    ) -> Result<Option<MediaRecord>>;

    /// Plans a fault (the test kit's); returns its id. Faults are shared by every node.
    async fn add_fault(&self, plan: &NewFault, state: FaultState) -> Result<u64>;
    /// Every planned fault, oldest first.
    async fn faults(&self) -> Result<Vec<StoredFault>>;
    /// Sets a fault's state if it is still at version `seen` (the stored version becomes
    /// `seen + 1`, whatever `state.version` says); false if it changed or went first.
    async fn update_fault(&self, id: u64, seen: u64, state: FaultState) -> Result<bool>;
    /// Removes the fault `id`, or every fault with `None`; returns how many went.
    async fn remove_faults(&self, id: Option<u64>) -> Result<u64>;
    /// Changes whenever the faults may have changed, on any node, and after the backend lost
    /// track (a dropped connection): the receiver then reads them all again.
    fn fault_changes(&self) -> watch::Receiver<u64>;
}

/// Delivery state spelled for the native API: `revoked` once revoked, else `read` once the
/// recipient opened it, else `delivered`.
pub fn delivery_state(revoked_at: Option<i64>, read_at: Option<i64>) -> &'static str {
    match (revoked_at, read_at) {
        (Some(_), _) => "revoked",
        (None, Some(_)) => "read",
        (None, None) => "delivered",
    }
}
