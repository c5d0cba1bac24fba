//! The embedded default [`Store`]: SQLite in WAL mode.
//!
//! Writes go through one writer thread that owns the only write connection and commits queued
//! writes together (group commit, see `writer`), so write transactions are serialized and check-then-insert
//! logic (idempotency keys, media liveness) cannot race. Reads use a separate pool.
//! `synchronous=FULL` makes every commit durable before a write returns, which is what lets the
//! server acknowledge a request only after its data is on disk.
#![forbid(unsafe_code)]

pub mod backup;
mod cache;
mod credentials;
mod directory;
mod faults;
mod media;
mod messages;
mod tenants;
mod tokens;
mod writer;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache::CacheMap;
use fxmsg_api::native::{
    App, Corp, Credential, Department, Employee, EmployeeStatus, Event, InboxItem, Message,
    MessageDetail, NewFault, ServiceAccount,
};
use fxmsg_store::{
    AppRecord, Cursor, EventScope, FaultState, IdempotencyKey, InsertOutcome, LiveEvent, LogState,
    MediaRecord, MessageFilter, NewMessage, PrunedMessages, ReadOutcome, Result, RevokeOutcome,
    Store, StoreError, StoredFault, Tenant, TokenKind, TokenRecord,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::{broadcast, watch};
use writer::Writer;

/// SQLite-backed store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    reader: SqlitePool,
    caches: Arc<Caches>,
    /// The highest message seq handed out. Sends take the next one before they write, so a send
    /// can claim its idempotency key for its message before inserting it. Only the writer inserts
    /// messages, so numbers only grow while the store is open; a write that is rolled back leaves
    /// a gap, which nothing minds. A reset deletes messages with every row that refers to them, so
    /// a number reused after a restart refers to nothing else.
    last_seq: Arc<AtomicI64>,
    /// Rung after every change of the faults; one process is every reader there is.
    fault_changes: Arc<watch::Sender<u64>>,
}

/// What the send path reads on every request, kept in memory (see `cache`).
#[derive(Default)]
struct Caches {
    tokens: CacheMap<String, Arc<TokenRecord>>,
    apps: CacheMap<String, Arc<AppRecord>>,
    corps: CacheMap<String, Arc<Corp>>,
    services: CacheMap<(String, String), ServiceAccount>,
    media: CacheMap<(String, String), MediaRecord>,
    directories: CacheMap<String, Arc<Directory>>,
}

/// A corp's employees by employee number and by `FSUID_…`: (open user id, active).
struct Directory(HashMap<String, (String, bool)>);

impl Directory {
    fn of(employees: Vec<Employee>) -> Directory {
        let mut ids = HashMap::with_capacity(employees.len() * 2);
        for e in employees {
            let active = e.status == EmployeeStatus::Active;
            ids.insert(e.user_id, (e.open_user_id.clone(), active));
            ids.insert(e.open_user_id.clone(), (e.open_user_id, active));
        }
        Directory(ids)
    }
}

/// Returns the cached value, or loads it and caches it if it exists. The key is owned only to
/// fill the cache after a miss.
async fn cached<K, Q, V, Fut>(map: &CacheMap<K, V>, key: &Q, load: Fut) -> Result<Option<V>>
where
    K: Eq + Hash + Borrow<Q>,
    Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
    V: Clone,
    Fut: Future<Output = Result<Option<V>>>,
{
    if let Some(value) = map.get(key) {
        return Ok(Some(value));
    }
    let generation = map.generation();
    let loaded = load.await?;
    if let Some(value) = &loaded {
        map.fill(generation, key.to_owned(), value.clone());
    }
    Ok(loaded)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_with_event_buffer(path, writer::EVENT_BUFFER).await
    }

    /// [`SqliteStore::open`] holding `event_buffer` committed events in memory for live
    /// subscribers (a subscriber further behind reads the log instead).
    pub async fn open_with_event_buffer(path: &Path, event_buffer: usize) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Migrations that rebuild a table run with foreign keys off, as SQLite prescribes; the
        // check afterwards proves they left no dangling reference.
        let mut migrator = options
            .clone()
            .foreign_keys(false)
            .connect()
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations")
            .run(&mut migrator)
            .await
            .map_err(backend)?;
        let dangling = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut migrator)
            .await
            .map_err(backend)?;
        if !dangling.is_empty() {
            return Err(StoreError::Backend(format!(
                "the database has {} rows with a dangling foreign key",
                dangling.len()
            )));
        }
        let last_seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM messages")
            .fetch_one(&mut migrator)
            .await
            .map_err(backend)?;
        sqlx::Connection::close(migrator).await.map_err(backend)?;
        let writer = Writer::start_buffering(path, event_buffer)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(backend)?;
        Ok(SqliteStore {
            writer,
            reader,
            caches: Arc::default(),
            last_seq: Arc::new(AtomicI64::new(last_seq)),
            fault_changes: Arc::new(watch::channel(0).0),
        })
    }

    /// Runs `write` in the writer's next group commit.
    async fn write<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut writer::Db<'_>) -> Result<T> + Send + 'static,
    {
        self.writer.write(write).await
    }
}

/// Maps a driver error: unique violations are conflicts, foreign-key violations a missing parent.
pub(crate) fn backend(e: impl Into<SqlxOrOther>) -> StoreError {
    match e.into() {
        SqlxOrOther::Sqlx(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Conflict(taken_field(db.message()))
        }
        SqlxOrOther::Sqlx(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
            StoreError::NotFound(fxmsg_store::UNKNOWN_REFERENCE.into())
        }
        SqlxOrOther::Sqlx(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("13")
                || db.code().as_deref() == Some("SQLITE_FULL") =>
        {
            StoreError::Full(db.message().to_owned())
        }
        SqlxOrOther::Sqlx(e) => StoreError::Backend(e.to_string()),
        SqlxOrOther::Other(s) => StoreError::Backend(s),
    }
}

/// The field a unique violation names: SQLite says `UNIQUE constraint failed: corps.ea` (or
/// `employees.corp_id, employees.user_id`, whose last column is the one a caller chose).
pub(crate) fn taken_field(message: &str) -> String {
    message
        .rsplit([',', ' '])
        .next()
        .and_then(|column| column.rsplit('.').next())
        .filter(|field| !field.is_empty())
        .unwrap_or("value")
        .to_owned()
}

/// Either a driver error or another failure, for [`backend`].
pub(crate) enum SqlxOrOther {
    Sqlx(sqlx::Error),
    Other(String),
}

impl From<sqlx::Error> for SqlxOrOther {
    fn from(e: sqlx::Error) -> Self {
        SqlxOrOther::Sqlx(e)
    }
}

impl From<sqlx::migrate::MigrateError> for SqlxOrOther {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        SqlxOrOther::Other(e.to_string())
    }
}

impl From<serde_json::Error> for SqlxOrOther {
    fn from(e: serde_json::Error) -> Self {
        SqlxOrOther::Other(e.to_string())
    }
}

/// Opens (creating if needed) the database file at `path` as the server's store: see
/// [`SqliteStore::open_with_event_buffer`].
pub async fn open(path: &Path, event_buffer: usize) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(
        SqliteStore::open_with_event_buffer(path, event_buffer).await?,
    ))
}

#[async_trait]
impl Store for SqliteStore {
    /// Closes the read pool, waits for every queued write to commit, copies the WAL back into
    /// the database and stops the writer.
    async fn close(&self) -> Result<()> {
        // Readers first: an open read transaction would keep the checkpoint from finishing.
        self.reader.close().await;
        self.writer.close().await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.writer.metrics().register(registry);
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            c.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .and_then(|mut s| s.execute([&key, &value]))
                .map(drop)
                .map_err(writer::error)
        })
        .await
    }

    async fn claim_meta(&self, key: &str, value: &str) -> Result<String> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            )
            .and_then(|mut s| s.execute([&key, &value]))
            .and_then(|_| {
                c.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
            })
            .map_err(writer::error)
        })
        .await
    }

    async fn create_corp(&self, corp: &Corp) -> Result<()> {
        let corp = corp.clone();
        let id = corp.corp_id.clone();
        let done = self.write(move |c| directory::create_corp(c, &corp)).await;
        self.caches.corps.invalidate(&id);
        done
    }
    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        let tenant = tenant.clone();
        let corp = tenant.corp.corp_id.clone();
        let done = self.write(move |c| tenants::create(c, &tenant)).await;
        self.caches.corps.invalidate(&corp);
        self.caches.directories.invalidate(&corp);
        done
    }
    async fn delete_corp(&self, corp_id: &str) -> Result<Option<Vec<String>>> {
        let corp = corp_id.to_owned();
        let deleted = self.write(move |c| tenants::delete_corp(c, &corp)).await;
        // Everything cached about the corp goes, its tokens first: a request in flight that
        // authenticated before the commit may finish, none after it can start.
        let caches = &self.caches;
        caches.tokens.retain(|_, t| t.corp_id != corp_id);
        caches.apps.retain(|_, a| a.app.corp_id != corp_id);
        caches.services.retain(|(corp, _), _| corp != corp_id);
        caches.media.retain(|(corp, _), _| corp != corp_id);
        caches.corps.invalidate(&corp_id.to_owned());
        caches.directories.invalidate(&corp_id.to_owned());
        deleted
    }
    async fn delete_messages(&self, corp_id: Option<&str>) -> Result<u64> {
        let corp = corp_id.map(str::to_owned);
        self.write(move |c| tenants::delete_messages(c, corp.as_deref()))
            .await
    }
    async fn list_corps(&self) -> Result<Vec<Corp>> {
        directory::list_corps(&self.reader).await
    }
    async fn corp(&self, corp_id: &str) -> Result<Option<Arc<Corp>>> {
        let load = async { Ok(directory::corp(&self.reader, corp_id).await?.map(Arc::new)) };
        cached(&self.caches.corps, corp_id, load).await
    }
    async fn create_app(&self, app: &AppRecord) -> Result<()> {
        let app = app.clone();
        let id = app.app.app_id.clone();
        let done = self.write(move |c| directory::create_app(c, &app)).await;
        self.caches.apps.invalidate(&id);
        done
    }
    async fn list_apps(&self, corp_id: &str) -> Result<Vec<App>> {
        directory::list_apps(&self.reader, corp_id).await
    }
    async fn app(&self, app_id: &str) -> Result<Option<Arc<AppRecord>>> {
        let load = async { Ok(directory::app(&self.reader, app_id).await?.map(Arc::new)) };
        cached(&self.caches.apps, app_id, load).await
    }
    async fn set_app_enabled(
        &self,
        corp_id: &str,
        app_id: &str,
        enabled: bool,
    ) -> Result<Option<App>> {
        let (corp, id) = (corp_id.to_owned(), app_id.to_owned());
        let found = self
            .write(move |c| directory::set_app_enabled(c, &corp, &id, enabled))
            .await;
        self.caches.apps.invalidate(&app_id.to_owned());
        if !found? {
            return Ok(None);
        }
        Ok(directory::app(&self.reader, app_id)
            .await?
            .map(|record| record.app))
    }
    async fn create_employee(&self, employee: &Employee) -> Result<()> {
        self.write_directory(&employee.corp_id, &[], std::slice::from_ref(employee))
            .await
    }
    async fn list_employees(&self, corp_id: &str) -> Result<Vec<Employee>> {
        directory::list_employees(&self.reader, corp_id).await
    }
    async fn employee(&self, corp_id: &str, id: &str) -> Result<Option<Employee>> {
        directory::employee(&self.reader, corp_id, id).await
    }
    async fn write_directory(
        &self,
        corp_id: &str,
        departments: &[Department],
        employees: &[Employee],
    ) -> Result<()> {
        let (departments, employees) = (departments.to_vec(), employees.to_vec());
        let done = self
            .write(move |c| {
                departments
                    .iter()
                    .try_for_each(|d| directory::put_department(c, d))?;
                employees
                    .iter()
                    .try_for_each(|e| directory::put_employee(c, e))
            })
            .await;
        self.caches.directories.invalidate(&corp_id.to_owned());
        done
    }
    async fn list_departments(&self, corp_id: &str) -> Result<Vec<Department>> {
        directory::list_departments(&self.reader, corp_id).await
    }
    async fn employees_by_mobile(&self, corp_id: &str, mobile: &str) -> Result<Vec<Employee>> {
        directory::employees_by_mobile(&self.reader, corp_id, mobile).await
    }
    async fn department_members(
        &self,
        corp_id: &str,
        department: i64,
        fetch_child: bool,
    ) -> Result<Vec<Employee>> {
        directory::department_members(&self.reader, corp_id, department, fetch_child).await
    }
    async fn resolve_recipients(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>> {
        let load = async {
            let employees = directory::list_employees(&self.reader, corp_id).await?;
            Ok(Some(Arc::new(Directory::of(employees))))
        };
        let directory = cached(&self.caches.directories, corp_id, load)
            .await?
            .expect("a directory always loads");
        Ok(ids
            .iter()
            .map(|id| match directory.0.get(id) {
                Some((open_user_id, true)) => Some(open_user_id.clone()),
                _ => None,
            })
            .collect())
    }
    async fn create_service_account(&self, account: &ServiceAccount) -> Result<()> {
        let account = account.clone();
        let key = (account.corp_id.clone(), account.service_id.clone());
        let done = self
            .write(move |c| directory::create_service_account(c, &account))
            .await;
        self.caches.services.invalidate(&key);
        done
    }
    async fn list_service_accounts(&self, corp_id: &str) -> Result<Vec<ServiceAccount>> {
        directory::list_service_accounts(&self.reader, corp_id).await
    }
    async fn service_account(
        &self,
        corp_id: &str,
        service_id: &str,
    ) -> Result<Option<ServiceAccount>> {
        let key = (corp_id.to_owned(), service_id.to_owned());
        let load = directory::service_account(&self.reader, corp_id, service_id);
        cached(&self.caches.services, &key, load).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let token = token.clone();
        let now = token.issued_at;
        let done = self.write(move |c| tokens::insert(c, &token)).await;
        // The insert removed this app's expired tokens; forget every expired one.
        self.caches.tokens.retain(|_, t| t.expires_at > now);
        done
    }
    async fn newest_token(
        &self,
        kind: TokenKind,
        app_id: &str,
        corp_id: &str,
        issued_since: i64,
    ) -> Result<Option<TokenRecord>> {
        tokens::newest(&self.reader, kind, app_id, corp_id, issued_since).await
    }
    async fn live_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Arc<TokenRecord>>> {
        if let Some(t) = self.caches.tokens.get(token_hash) {
            return Ok((t.kind == kind && t.expires_at > now).then_some(t));
        }
        let load = async {
            Ok(tokens::live(&self.reader, kind, token_hash, now)
                .await?
                .map(Arc::new))
        };
        cached(&self.caches.tokens, token_hash, load).await
    }
    async fn take_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        let Some(live) = tokens::live(&self.reader, kind, token_hash, now).await? else {
            return Ok(None);
        };
        let hash = token_hash.to_owned();
        let taken = self.write(move |c| tokens::take(c, kind, &hash, now)).await;
        self.caches.tokens.invalidate(&token_hash.to_owned());
        // Only the caller whose delete removed the row gets the token: single use under races too.
        Ok(taken?.then_some(live))
    }

    async fn prune_idempotency_keys(&self, before: i64, limit: u32) -> Result<(u64, bool)> {
        let deleted = self
            .write(move |c| messages::prune_keys(c, before, limit))
            .await?;
        Ok((deleted, deleted < u64::from(limit)))
    }
    async fn insert_message(
        &self,
        message: NewMessage,
        key: Option<IdempotencyKey>,
    ) -> Result<InsertOutcome> {
        let last_seq = self.last_seq.clone();
        self.write(move |c| {
            let seq = last_seq.fetch_add(1, Ordering::Relaxed) + 1;
            messages::insert(c, &message, key.as_ref(), seq)
        })
        .await
    }
    async fn revoke_message(
        &self,
        corp_id: &str,
        service_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<RevokeOutcome> {
        let (corp_id, service_id, message_id) = (
            corp_id.to_owned(),
            service_id.to_owned(),
            message_id.to_owned(),
        );
        self.write(move |c| messages::revoke(c, &corp_id, &service_id, &message_id, now))
            .await
    }
    async fn list_messages(
        &self,
        filter: &MessageFilter,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<Message>, Option<Cursor>)> {
        messages::list(&self.reader, filter, cursor, limit).await
    }
    async fn message(
        &self,
        corp_id: Option<&str>,
        message_id: &str,
    ) -> Result<Option<MessageDetail>> {
        messages::detail(&self.reader, corp_id, message_id).await
    }
    async fn inbox(
        &self,
        corp_id: &str,
        open_user_id: &str,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<InboxItem>, Option<Cursor>)> {
        messages::inbox(&self.reader, corp_id, open_user_id, cursor, limit).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.writer.subscribe()
    }
    async fn events_after(&self, scope: &EventScope, after: i64, limit: u32) -> Result<Vec<Event>> {
        messages::events_after(&self.reader, scope, after, limit).await
    }
    async fn event_log(&self, scope: &EventScope) -> Result<LogState> {
        messages::event_log(&self.reader, scope).await
    }
    async fn prune_messages(&self, before: i64, now: i64, limit: u32) -> Result<PrunedMessages> {
        let pruned = self
            .write(move |c| messages::prune_messages(c, before, now, limit))
            .await?;
        for m in &pruned.media {
            self.caches
                .media
                .invalidate(&(m.corp_id.clone(), m.media_id.clone()));
        }
        Ok(pruned)
    }
    async fn prune_events(&self, before: i64, limit: u32) -> Result<(u64, bool)> {
        let deleted = self
            .write(move |c| messages::prune_events(c, before, limit))
            .await?;
        Ok((deleted, deleted < u64::from(limit)))
    }
    async fn mark_read(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<ReadOutcome> {
        let (corp_id, open_user_id, message_id) = (
            corp_id.to_owned(),
            open_user_id.to_owned(),
            message_id.to_owned(),
        );
        self.write(move |c| messages::mark_read(c, &corp_id, &open_user_id, &message_id, now))
            .await
    }
    async fn messages_after(
        &self,
        filter: &MessageFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Message)>> {
        messages::after(&self.reader, filter, after, limit).await
    }

    async fn unread_count(&self, corp_id: &str, open_user_id: &str) -> Result<u64> {
        messages::unread_count(&self.reader, corp_id, open_user_id).await
    }
    async fn inbox_item(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
    ) -> Result<Option<InboxItem>> {
        messages::inbox_item(&self.reader, corp_id, open_user_id, message_id).await
    }

    async fn insert_credential(&self, credential: &Credential, secret_hash: &str) -> Result<()> {
        let (credential, hash) = (credential.clone(), secret_hash.to_owned());
        self.write(move |c| credentials::insert(c, &credential, &hash))
            .await
    }
    async fn live_credential(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
        credentials::live(&self.reader, secret_hash, now).await
    }
    async fn take_login(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
        let hash = secret_hash.to_owned();
        let taken = self
            .write(move |c| credentials::take_login(c, &hash, now))
            .await?;
        match taken {
            Some(id) => credentials::by_id(&self.reader, &id).await,
            None => Ok(None),
        }
    }
    async fn list_credentials(&self, corp_id: &str, open_user_id: &str) -> Result<Vec<Credential>> {
        credentials::list(&self.reader, corp_id, open_user_id).await
    }
    async fn revoke_credential(
        &self,
        corp_id: &str,
        open_user_id: &str,
        credential_id: &str,
        now: i64,
    ) -> Result<bool> {
        let (corp, user, id) = (
            corp_id.to_owned(),
            open_user_id.to_owned(),
            credential_id.to_owned(),
        );
        self.write(move |c| credentials::revoke(c, &corp, &user, &id, now))
            .await
    }

    async fn insert_media(&self, media: &MediaRecord, quota: Option<u64>) -> Result<()> {
        let media = media.clone();
        self.write(move |c| media::insert(c, &media, quota)).await
    }
    async fn media_bytes(&self, corp_id: &str) -> Result<u64> {
        media::live_bytes(&self.reader, corp_id).await
    }
    async fn media(&self, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>> {
        let key = (corp_id.to_owned(), media_id.to_owned());
        cached(
            &self.caches.media,
            &key,
            media::live(&self.reader, corp_id, media_id),
        )
        .await
    }
    async fn delete_media(
        &self,
        corp_id: &str,
        media_id: &str,
        now: i64,
    ) -> Result<Option<MediaRecord>> {
        let Some(live) = media::live(&self.reader, corp_id, media_id).await? else {
            return Ok(None);
        };
        let (corp, id) = (corp_id.to_owned(), media_id.to_owned());
        let deleted = self.write(move |c| media::delete(c, &corp, &id, now)).await;
        self.caches
            .media
            .invalidate(&(corp_id.to_owned(), media_id.to_owned()));
        Ok(deleted?.then_some(live))
    }

    async fn add_fault(&self, plan: &NewFault, state: FaultState) -> Result<u64> {
        let plan = serde_json::to_string(plan).map_err(backend)?;
        let id = self.write(move |c| faults::add(c, &plan, state)).await?;
        self.fault_changes.send_modify(|n| *n += 1);
        Ok(id)
    }

    async fn faults(&self) -> Result<Vec<StoredFault>> {
        faults::all(&self.reader).await
    }

    async fn update_fault(&self, id: u64, seen: u64, state: FaultState) -> Result<bool> {
        let changed = self
            .write(move |c| faults::update(c, id, seen, state))
            .await?;
        if changed {
            self.fault_changes.send_modify(|n| *n += 1);
        }
        Ok(changed)
    }

    async fn remove_faults(&self, id: Option<u64>) -> Result<u64> {
        let removed = self.write(move |c| faults::remove(c, id)).await?;
        self.fault_changes.send_modify(|n| *n += 1);
        Ok(removed)
    }

    fn fault_changes(&self) -> watch::Receiver<u64> {
        self.fault_changes.subscribe()
    }
}

#[cfg(test)]
mod tests;
