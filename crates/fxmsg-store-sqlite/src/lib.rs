//! The embedded default [`Store`]: SQLite in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so write transactions are serialized and
//! check-then-insert logic (idempotency keys, media liveness) cannot race. Reads use a separate pool.
//! `synchronous=FULL` makes every commit durable before the call returns, which is what lets the
//! server acknowledge a request only after its data is on disk.
#![forbid(unsafe_code)]

mod directory;
mod media;
mod messages;
mod tokens;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use fxmsg_api::native::{
    App, Corp, Employee, EmployeeStatus, InboxItem, Message, MessageDetail, ServiceAccount,
};
use fxmsg_store::{
    AppRecord, Cursor, IdempotencyKey, InsertOutcome, MediaRecord, MessageFilter, NewMessage,
    Result, RevokeOutcome, Store, StoreError, TokenKind, TokenRecord,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// SQLite-backed store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(backend)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(backend)?;
        Ok(SqliteStore { writer, reader })
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Maps a driver error: unique violations are conflicts, foreign-key violations a missing parent.
pub(crate) fn backend(e: impl Into<SqlxOrOther>) -> StoreError {
    match e.into() {
        SqlxOrOther::Sqlx(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        SqlxOrOther::Sqlx(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
            StoreError::NotFound(db.message().to_owned())
        }
        SqlxOrOther::Sqlx(e) => StoreError::Backend(e.to_string()),
        SqlxOrOther::Other(s) => StoreError::Backend(s),
    }
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

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn create_corp(&self, corp: &Corp) -> Result<()> {
        directory::create_corp(&self.writer, corp).await
    }
    async fn list_corps(&self) -> Result<Vec<Corp>> {
        directory::list_corps(&self.reader).await
    }
    async fn corp(&self, corp_id: &str) -> Result<Option<Corp>> {
        directory::corp_where(&self.reader, "corp_id", corp_id).await
    }
    async fn corp_by_ea(&self, ea: &str) -> Result<Option<Corp>> {
        directory::corp_where(&self.reader, "ea", ea).await
    }
    async fn create_app(&self, app: &AppRecord) -> Result<()> {
        directory::create_app(&self.writer, app).await
    }
    async fn list_apps(&self, corp_id: &str) -> Result<Vec<App>> {
        directory::list_apps(&self.reader, corp_id).await
    }
    async fn app(&self, app_id: &str) -> Result<Option<AppRecord>> {
        directory::app(&self.reader, app_id).await
    }
    async fn set_app_enabled(
        &self,
        corp_id: &str,
        app_id: &str,
        enabled: bool,
    ) -> Result<Option<App>> {
        directory::set_app_enabled(&self.writer, corp_id, app_id, enabled).await
    }
    async fn create_employee(&self, employee: &Employee) -> Result<()> {
        directory::create_employee(&self.writer, employee).await
    }
    async fn list_employees(&self, corp_id: &str) -> Result<Vec<Employee>> {
        directory::list_employees(&self.reader, corp_id).await
    }
    async fn employee(&self, corp_id: &str, id: &str) -> Result<Option<Employee>> {
        directory::employee(&self.reader, corp_id, id).await
    }
    async fn set_employee_status(
        &self,
        corp_id: &str,
        open_user_id: &str,
        status: EmployeeStatus,
    ) -> Result<Option<Employee>> {
        directory::set_employee_status(&self.writer, corp_id, open_user_id, status).await
    }
    async fn resolve_recipients(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>> {
        directory::resolve_recipients(&self.reader, corp_id, ids).await
    }
    async fn create_service_account(&self, account: &ServiceAccount) -> Result<()> {
        directory::create_service_account(&self.writer, account).await
    }
    async fn list_service_accounts(&self, corp_id: &str) -> Result<Vec<ServiceAccount>> {
        directory::list_service_accounts(&self.reader, corp_id).await
    }
    async fn service_account(
        &self,
        corp_id: &str,
        service_id: &str,
    ) -> Result<Option<ServiceAccount>> {
        directory::service_account(&self.reader, corp_id, service_id).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        tokens::insert(&self.writer, token).await
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
    ) -> Result<Option<TokenRecord>> {
        tokens::live(&self.reader, kind, token_hash, now).await
    }
    async fn take_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<TokenRecord>> {
        tokens::take(&self.writer, kind, token_hash, now).await
    }

    async fn insert_message(
        &self,
        message: &NewMessage,
        key: Option<&IdempotencyKey>,
    ) -> Result<InsertOutcome> {
        messages::insert(&self.writer, message, key).await
    }
    async fn revoke_message(
        &self,
        corp_id: &str,
        service_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<RevokeOutcome> {
        messages::revoke(&self.writer, corp_id, service_id, message_id, now).await
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

    async fn insert_media(&self, media: &MediaRecord) -> Result<()> {
        media::insert(&self.writer, media).await
    }
    async fn media(&self, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>> {
        media::live(&self.reader, corp_id, media_id).await
    }
    async fn delete_media(
        &self,
        corp_id: &str,
        media_id: &str,
        now: i64,
    ) -> Result<Option<MediaRecord>> {
        media::delete(&self.writer, corp_id, media_id, now).await
    }
}

#[cfg(test)]
mod tests;
