//! The PostgreSQL [`Store`]: state that several fxmsg nodes share.
//!
//! Every method is a transaction on a pooled connection. What the SQLite backend's single
//! writer serializes for free is serialized here by row locks, each held no longer than its
//! transaction: an idempotency key's row for the retries of one send, a corp's row for its media
//! quota, a medium's row (shared) while a send that needs it commits, and the event heads for
//! event numbering. The heads are taken last, just before the commit, so event numbers follow
//! commit order across every node without a gap, and the serialized part of a send is two small
//! updates and an insert. Sends are the exception to one transaction per call: the sends waiting
//! at once share a transaction, their events logged together at its end (see `batch`), so one
//! hold of the heads and one fsync serve them all.
//!
//! Committed events reach every node's subscribers through `LISTEN`/`NOTIFY` used as a
//! doorbell: each node reads the log after the last event it published (see `pump`), so a lost
//! notification or connection costs latency, never an event.
#![forbid(unsafe_code)]

mod auth;
mod batch;
mod directory;
mod faults;
mod media;
mod messages;
mod pump;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fxmsg_api::native::{
    App, Corp, Credential, Department, Employee, Event, InboxItem, Message, MessageDetail,
    NewFault, ServiceAccount,
};
use fxmsg_store::{
    AppRecord, Cursor, EventScope, FaultState, IdempotencyKey, InsertOutcome, LiveEvent, LogState,
    MediaRecord, MessageFilter, NewMessage, PrunedMessages, ReadOutcome, Result, RevokeOutcome,
    Store, StoreError, StoredFault, Tenant, TokenKind, TokenRecord,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::{broadcast, watch};

/// PostgreSQL-backed store.
pub struct PgStore {
    pool: PgPool,
    live: broadcast::Sender<Arc<LiveEvent>>,
    pump: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Rung by the pump when any node changed the faults.
    fault_changes: Arc<watch::Sender<u64>>,
    /// Sends, committed in batches.
    sends: batch::Batcher,
}

/// Connects to the database at `url` (`postgres://…`), applies pending migrations (one node at
/// a time: sqlx holds an advisory lock while it migrates) and starts publishing committed
/// events, holding up to `event_buffer` of them for live subscribers.
pub async fn open(url: &str, event_buffer: usize) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PgStore::open(url, event_buffer).await?))
}

impl PgStore {
    /// See [`open`].
    pub async fn open(url: &str, event_buffer: usize) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating the database: {e}")))?;
        let (live, _) = broadcast::channel(event_buffer.max(1));
        let head = messages::event_log(&pool, &EventScope::All).await?.head;
        let fault_changes = Arc::new(watch::channel(0).0);
        let pump = tokio::spawn(pump::run(
            pool.clone(),
            live.clone(),
            head,
            fault_changes.clone(),
        ));
        Ok(PgStore {
            sends: batch::Batcher::start(pool.clone()),
            pool,
            live,
            pump: Mutex::new(Some(pump)),
            fault_changes,
        })
    }
}

/// Maps a driver error: unique violations are conflicts, foreign-key violations a missing parent,
/// a full disk is [`StoreError::Full`]. Conflicts carry the constraint's name, which the server
/// never shows a client.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        // PostgreSQL's detail names the key: `Key (corp_id, user_id)=(…) already exists.`
        let field = d
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|pg| pg.detail())
            .and_then(key_field);
        if d.is_unique_violation() {
            return StoreError::Conflict(field.unwrap_or_else(|| "value".into()));
        }
        if d.is_foreign_key_violation() {
            return StoreError::NotFound(
                field.unwrap_or_else(|| fxmsg_store::UNKNOWN_REFERENCE.into()),
            );
        }
        // disk_full, and insufficient_resources in general.
        if d.code().is_some_and(|c| c.starts_with("53")) {
            return StoreError::Full(d.message().to_owned());
        }
    }
    StoreError::Backend(e.to_string())
}

/// The last column of the key a constraint's detail names (`Key (corp_id, user_id)=(…) …`):
/// the one a caller chose.
fn key_field(detail: &str) -> Option<String> {
    let columns = detail.strip_prefix("Key (")?.split_once(")=")?.0;
    let field = columns.rsplit(',').next()?.trim();
    (!field.is_empty()).then(|| field.to_owned())
}

/// A JSON text column that does not decode is reported, not served as an empty value.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("{column} is not valid JSON: {e}")))
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Stops publishing events and closes the pool once the connections in use are returned.
    async fn close(&self) -> Result<()> {
        if let Some(pump) = self.pump.lock().expect("the pump lock").take() {
            pump.abort();
        }
        self.pool.close().await;
        Ok(())
    }

    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        use prometheus_client::metrics::gauge::Gauge;
        // Sampled every 5 s by a task that ends when the pool closes.
        let (size, idle) = (Gauge::<i64>::default(), Gauge::<i64>::default());
        registry.register(
            "postgres_connections",
            "Connections the PostgreSQL pool holds (sampled every 5 s)",
            size.clone(),
        );
        registry.register(
            "postgres_idle_connections",
            "Idle connections in the PostgreSQL pool (sampled every 5 s)",
            idle.clone(),
        );
        let counts = &self.sends.counts;
        registry.register(
            "postgres_send_commits",
            "Transactions that committed sends (a batch of waiting sends commits once)",
            counts.commits.clone(),
        );
        registry.register(
            "postgres_sends_committed",
            "Sends those transactions committed",
            counts.sends.clone(),
        );
        registry.register(
            "postgres_send_batches_retried",
            "Batches of sends rolled back by an error and run again one send at a time",
            counts.retried.clone(),
        );
        let pool = self.pool.clone();
        tokio::spawn(async move {
            loop {
                size.set(i64::from(pool.size()));
                idle.set(pool.num_idle() as i64);
                if pool.is_closed() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        });
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn claim_meta(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        // A statement of its own: its snapshot sees the value a racing node committed, which
        // the insert waited for.
        sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn create_corp(&self, corp: &Corp) -> Result<()> {
        let mut c = self.pool.acquire().await.map_err(db)?;
        directory::create_corp(&mut c, corp).await
    }
    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        directory::create_tenant(&self.pool, tenant).await
    }
    async fn delete_corp(&self, corp_id: &str) -> Result<Option<Vec<String>>> {
        directory::delete_corp(&self.pool, corp_id).await
    }
    async fn delete_messages(&self, corp_id: Option<&str>) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let deleted = messages::delete_messages(&mut tx, corp_id).await?;
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }
    async fn list_corps(&self) -> Result<Vec<Corp>> {
        directory::list_corps(&self.pool).await
    }
    async fn corp(&self, corp_id: &str) -> Result<Option<Arc<Corp>>> {
        Ok(directory::corp(&self.pool, corp_id).await?.map(Arc::new))
    }

    async fn create_app(&self, app: &AppRecord) -> Result<()> {
        let mut c = self.pool.acquire().await.map_err(db)?;
        directory::create_app(&mut c, app).await
    }
    async fn list_apps(&self, corp_id: &str) -> Result<Vec<App>> {
        directory::list_apps(&self.pool, corp_id).await
    }
    async fn app(&self, app_id: &str) -> Result<Option<Arc<AppRecord>>> {
        Ok(directory::app(&self.pool, app_id).await?.map(Arc::new))
    }
    async fn set_app_enabled(
        &self,
        corp_id: &str,
        app_id: &str,
        enabled: bool,
    ) -> Result<Option<App>> {
        directory::set_app_enabled(&self.pool, corp_id, app_id, enabled).await
    }

    async fn create_employee(&self, employee: &Employee) -> Result<()> {
        self.write_directory(&employee.corp_id, &[], std::slice::from_ref(employee))
            .await
    }
    async fn list_employees(&self, corp_id: &str) -> Result<Vec<Employee>> {
        directory::list_employees(&self.pool, corp_id).await
    }
    async fn employee(&self, corp_id: &str, id: &str) -> Result<Option<Employee>> {
        directory::employee(&self.pool, corp_id, id).await
    }
    async fn write_directory(
        &self,
        _corp_id: &str,
        departments: &[Department],
        employees: &[Employee],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for d in departments {
            directory::put_department(&mut tx, d).await?;
        }
        for e in employees {
            directory::put_employee(&mut tx, e).await?;
        }
        tx.commit().await.map_err(db)
    }
    async fn list_departments(&self, corp_id: &str) -> Result<Vec<Department>> {
        directory::list_departments(&self.pool, corp_id).await
    }
    async fn employees_by_mobile(&self, corp_id: &str, mobile: &str) -> Result<Vec<Employee>> {
        directory::employees_by_mobile(&self.pool, corp_id, mobile).await
    }
    async fn department_members(
        &self,
        corp_id: &str,
        department: i64,
        fetch_child: bool,
    ) -> Result<Vec<Employee>> {
        directory::department_members(&self.pool, corp_id, department, fetch_child).await
    }
    async fn resolve_recipients(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>> {
        directory::resolve_recipients(&self.pool, corp_id, ids).await
    }

    async fn create_service_account(&self, account: &ServiceAccount) -> Result<()> {
        let mut c = self.pool.acquire().await.map_err(db)?;
        directory::create_service_account(&mut c, account).await
    }
    async fn list_service_accounts(&self, corp_id: &str) -> Result<Vec<ServiceAccount>> {
        directory::list_service_accounts(&self.pool, corp_id).await
    }
    async fn service_account(
        &self,
        corp_id: &str,
        service_id: &str,
    ) -> Result<Option<ServiceAccount>> {
        directory::service_account(&self.pool, corp_id, service_id).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        auth::insert_token(&self.pool, token).await
    }
    async fn newest_token(
        &self,
        kind: TokenKind,
        app_id: &str,
        corp_id: &str,
        issued_since: i64,
    ) -> Result<Option<TokenRecord>> {
        auth::newest_token(&self.pool, kind, app_id, corp_id, issued_since).await
    }
    async fn live_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Arc<TokenRecord>>> {
        Ok(auth::live_token(&self.pool, kind, token_hash, now)
            .await?
            .map(Arc::new))
    }
    async fn take_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        auth::take_token(&self.pool, kind, token_hash, now).await
    }

    async fn prune_idempotency_keys(&self, before: i64, limit: u32) -> Result<(u64, bool)> {
        let deleted = messages::prune_keys(&self.pool, before, limit).await?;
        Ok((deleted, deleted < u64::from(limit)))
    }
    async fn insert_message(
        &self,
        message: NewMessage,
        key: Option<IdempotencyKey>,
    ) -> Result<InsertOutcome> {
        self.sends.insert(message, key).await
    }
    async fn revoke_message(
        &self,
        corp_id: &str,
        service_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<RevokeOutcome> {
        messages::revoke(&self.pool, corp_id, service_id, message_id, now).await
    }
    async fn list_messages(
        &self,
        filter: &MessageFilter,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<Message>, Option<Cursor>)> {
        messages::list(&self.pool, filter, cursor, limit).await
    }
    async fn message(
        &self,
        corp_id: Option<&str>,
        message_id: &str,
    ) -> Result<Option<MessageDetail>> {
        messages::detail(&self.pool, corp_id, message_id).await
    }
    async fn inbox(
        &self,
        corp_id: &str,
        open_user_id: &str,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<InboxItem>, Option<Cursor>)> {
        messages::inbox(&self.pool, corp_id, open_user_id, cursor, limit).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.live.subscribe()
    }
    async fn events_after(&self, scope: &EventScope, after: i64, limit: u32) -> Result<Vec<Event>> {
        messages::events_after(&self.pool, scope, after, limit).await
    }
    async fn event_log(&self, scope: &EventScope) -> Result<LogState> {
        messages::event_log(&self.pool, scope).await
    }
    async fn prune_events(&self, before: i64, limit: u32) -> Result<(u64, bool)> {
        let deleted = messages::prune_events(&self.pool, before, limit).await?;
        Ok((deleted, deleted < u64::from(limit)))
    }
    async fn prune_messages(&self, before: i64, now: i64, limit: u32) -> Result<PrunedMessages> {
        messages::prune_messages(&self.pool, before, now, limit).await
    }
    async fn mark_read(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<ReadOutcome> {
        messages::mark_read(&self.pool, corp_id, open_user_id, message_id, now).await
    }
    async fn messages_after(
        &self,
        filter: &MessageFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Message)>> {
        messages::after(&self.pool, filter, after, limit).await
    }

    async fn unread_count(&self, corp_id: &str, open_user_id: &str) -> Result<u64> {
        messages::unread_count(&self.pool, corp_id, open_user_id).await
    }
    async fn inbox_item(
        &self,
        corp_id: &str,
        open_user_id: &str,
        message_id: &str,
    ) -> Result<Option<InboxItem>> {
        messages::inbox_item(&self.pool, corp_id, open_user_id, message_id).await
    }

    async fn insert_credential(&self, credential: &Credential, secret_hash: &str) -> Result<()> {
        auth::insert_credential(&self.pool, credential, secret_hash).await
    }
    async fn live_credential(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
        auth::live_credential(&self.pool, secret_hash, now).await
    }
    async fn take_login(&self, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
        auth::take_login(&self.pool, secret_hash, now).await
    }
    async fn list_credentials(&self, corp_id: &str, open_user_id: &str) -> Result<Vec<Credential>> {
        auth::list_credentials(&self.pool, corp_id, open_user_id).await
    }
    async fn revoke_credential(
        &self,
        corp_id: &str,
        open_user_id: &str,
        credential_id: &str,
        now: i64,
    ) -> Result<bool> {
        auth::revoke_credential(&self.pool, corp_id, open_user_id, credential_id, now).await
    }

    async fn insert_media(&self, media: &MediaRecord, quota: Option<u64>) -> Result<()> {
        media::insert(&self.pool, media, quota).await
    }
    async fn media_bytes(&self, corp_id: &str) -> Result<u64> {
        media::live_bytes(&self.pool, corp_id).await
    }
    async fn media(&self, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>> {
        media::live(&self.pool, corp_id, media_id).await
    }
    async fn delete_media(
        &self,
        corp_id: &str,
        media_id: &str,
        now: i64,
    ) -> Result<Option<MediaRecord>> {
        media::delete(&self.pool, corp_id, media_id, now).await
    }

    async fn add_fault(&self, plan: &NewFault, state: FaultState) -> Result<u64> {
        faults::add(&self.pool, plan, state).await
    }

    async fn faults(&self) -> Result<Vec<StoredFault>> {
        faults::all(&self.pool).await
    }

    async fn update_fault(&self, id: u64, seen: u64, state: FaultState) -> Result<bool> {
        faults::update(&self.pool, id, seen, state).await
    }

    async fn remove_faults(&self, id: Option<u64>) -> Result<u64> {
        faults::remove(&self.pool, id).await
    }

    fn fault_changes(&self) -> watch::Receiver<u64> {
        self.fault_changes.subscribe()
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests;

#[cfg(test)]
mod unit {
    #[test]
    fn a_key_detail_names_its_last_column() {
        let field = |d| super::key_field(d);
        assert_eq!(field("Key (ea)=(one) already exists."), Some("ea".into()));
        assert_eq!(
            field("Key (corp_id, user_id)=(C1, 1000) already exists."),
            Some("user_id".into())
        );
        assert_eq!(field("something else"), None);
    }
}
