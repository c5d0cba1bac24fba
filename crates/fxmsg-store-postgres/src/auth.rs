//! Issued tokens and employees' credentials, by the hash of their secret.

use fxmsg_api::native::{Credential, CredentialKind};
use fxmsg_store::{Result, StoreError, TokenKind, TokenRecord};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;

use crate::db;

fn token_from(kind: TokenKind, row: &PgRow) -> TokenRecord {
    TokenRecord {
        kind,
        nonce: row.get("nonce"),
        token_hash: row.get("token_hash"),
        app_id: row.get("app_id"),
        corp_id: row.get("corp_id"),
        issued_at: row.get("issued_at"),
        expires_at: row.get("expires_at"),
    }
}

/// Stores the token, and drops the app's expired ones (useless; this keeps the table at its live
/// size).
pub async fn insert_token(pool: &PgPool, t: &TokenRecord) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("DELETE FROM tokens WHERE app_id = $1 AND expires_at <= $2")
        .bind(&t.app_id)
        .bind(t.issued_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query(
        "INSERT INTO tokens (token_hash, kind, nonce, app_id, corp_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&t.token_hash)
    .bind(t.kind.as_str())
    .bind(&t.nonce)
    .bind(&t.app_id)
    .bind(&t.corp_id)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}

pub async fn newest_token(
    pool: &PgPool,
    kind: TokenKind,
    app_id: &str,
    corp_id: &str,
    issued_since: i64,
) -> Result<Option<TokenRecord>> {
    let row = sqlx::query(
        "SELECT * FROM tokens WHERE kind = $1 AND app_id = $2 AND corp_id = $3 AND issued_at >= $4
         ORDER BY issued_at DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .bind(app_id)
    .bind(corp_id)
    .bind(issued_since)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.map(|r| token_from(kind, &r)))
}

pub async fn live_token(
    pool: &PgPool,
    kind: TokenKind,
    hash: &str,
    now: i64,
) -> Result<Option<TokenRecord>> {
    let row =
        sqlx::query("SELECT * FROM tokens WHERE token_hash = $1 AND kind = $2 AND expires_at > $3")
            .bind(hash)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    Ok(row.map(|r| token_from(kind, &r)))
}

/// Deletes the live token and returns it: only the caller whose delete removed the row gets it.
pub async fn take_token(
    pool: &PgPool,
    kind: TokenKind,
    hash: &str,
    now: i64,
) -> Result<Option<TokenRecord>> {
    let row = sqlx::query(
        "DELETE FROM tokens WHERE token_hash = $1 AND kind = $2 AND expires_at > $3 RETURNING *",
    )
    .bind(hash)
    .bind(kind.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.map(|r| token_from(kind, &r)))
}

fn credential_from(row: &PgRow) -> Result<Credential> {
    let kind: &str = row.get("kind");
    Ok(Credential {
        credential_id: row.get("credential_id"),
        kind: CredentialKind::parse(kind).ok_or_else(|| {
            StoreError::Backend(format!("employee_credentials.kind {kind:?} is not a kind"))
        })?,
        corp_id: row.get("corp_id"),
        open_user_id: row.get("open_user_id"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
    })
}

pub async fn insert_credential(pool: &PgPool, c: &Credential, secret_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO employee_credentials
             (credential_id, secret_hash, kind, corp_id, open_user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.credential_id)
    .bind(secret_hash)
    .bind(c.kind.as_str())
    .bind(&c.corp_id)
    .bind(&c.open_user_id)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub async fn live_credential(
    pool: &PgPool,
    secret_hash: &str,
    now: i64,
) -> Result<Option<Credential>> {
    let row = sqlx::query(
        "SELECT * FROM employee_credentials
          WHERE secret_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(secret_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(credential_from).transpose()
}

/// Uses a live login code up: the one update that revokes it is the one caller that gets it.
pub async fn take_login(pool: &PgPool, secret_hash: &str, now: i64) -> Result<Option<Credential>> {
    let row = sqlx::query(
        "UPDATE employee_credentials SET revoked_at = $2
          WHERE secret_hash = $1 AND kind = 'login' AND revoked_at IS NULL AND expires_at > $2
          RETURNING *",
    )
    .bind(secret_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(credential_from).transpose()
}

pub async fn list_credentials(
    pool: &PgPool,
    corp_id: &str,
    open_user_id: &str,
) -> Result<Vec<Credential>> {
    let rows = sqlx::query(
        "SELECT * FROM employee_credentials WHERE corp_id = $1 AND open_user_id = $2
          ORDER BY created_at DESC, credential_id",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(credential_from).collect()
}

pub async fn revoke_credential(
    pool: &PgPool,
    corp_id: &str,
    open_user_id: &str,
    credential_id: &str,
    now: i64,
) -> Result<bool> {
    let revoked = sqlx::query(
        "UPDATE employee_credentials SET revoked_at = $4
          WHERE corp_id = $1 AND open_user_id = $2 AND credential_id = $3 AND revoked_at IS NULL",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .bind(credential_id)
    .bind(now)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(revoked.rows_affected() > 0)
}
