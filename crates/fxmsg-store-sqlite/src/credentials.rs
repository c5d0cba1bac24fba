//! Employees' credentials: API tokens, login links and web sessions, by secret hash.

use fxmsg_api::native::{Credential, CredentialKind};
use fxmsg_store::{Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;
use crate::writer::error;

fn kind(text: &str) -> Result<CredentialKind> {
    CredentialKind::parse(text).ok_or_else(|| {
        StoreError::Backend(format!("employee_credentials.kind {text:?} is not a kind"))
    })
}

fn credential_from(row: &SqliteRow) -> Result<Credential> {
    Ok(Credential {
        credential_id: row.get("credential_id"),
        kind: kind(row.get("kind"))?,
        corp_id: row.get("corp_id"),
        open_user_id: row.get("open_user_id"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
    })
}

pub fn insert(db: &Connection, c: &Credential, secret_hash: &str) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO employee_credentials
             (credential_id, secret_hash, kind, corp_id, open_user_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.credential_id,
            secret_hash,
            c.kind.as_str(),
            c.corp_id,
            c.open_user_id,
            c.created_at,
            c.expires_at
        ])
    })
    .map(drop)
    .map_err(error)
}

pub async fn live(db: &SqlitePool, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
    let row = sqlx::query(
        "SELECT * FROM employee_credentials
          WHERE secret_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(secret_hash)
    .bind(now)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    row.as_ref().map(credential_from).transpose()
}

/// Marks the live login link with this hash used, if there is one; its id.
pub fn take_login(db: &Connection, secret_hash: &str, now: i64) -> Result<Option<String>> {
    db.prepare_cached(
        "UPDATE employee_credentials SET revoked_at = ?2
          WHERE secret_hash = ?1 AND kind = 'login' AND revoked_at IS NULL AND expires_at > ?2
          RETURNING credential_id",
    )
    .and_then(|mut s| {
        s.query_row(params![secret_hash, now], |r| r.get(0))
            .optional()
    })
    .map_err(error)
}

pub async fn by_id(db: &SqlitePool, credential_id: &str) -> Result<Option<Credential>> {
    let row = sqlx::query("SELECT * FROM employee_credentials WHERE credential_id = ?")
        .bind(credential_id)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    row.as_ref().map(credential_from).transpose()
}

pub async fn list(db: &SqlitePool, corp_id: &str, open_user_id: &str) -> Result<Vec<Credential>> {
    let rows = sqlx::query(
        "SELECT * FROM employee_credentials WHERE corp_id = ? AND open_user_id = ?
          ORDER BY created_at DESC, credential_id",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .fetch_all(db)
    .await
    .map_err(backend)?;
    rows.iter().map(credential_from).collect()
}

pub fn revoke(
    db: &Connection,
    corp_id: &str,
    open_user_id: &str,
    credential_id: &str,
    now: i64,
) -> Result<bool> {
    db.prepare_cached(
        "UPDATE employee_credentials SET revoked_at = ?4
          WHERE corp_id = ?1 AND open_user_id = ?2 AND credential_id = ?3 AND revoked_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![corp_id, open_user_id, credential_id, now]))
    .map(|n| n > 0)
    .map_err(error)
}
