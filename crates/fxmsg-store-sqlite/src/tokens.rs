//! Issued tokens, by hash.

use fxmsg_store::{Result, TokenKind, TokenRecord};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;

fn token_from(kind: TokenKind, row: &SqliteRow) -> TokenRecord {
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

pub async fn insert(db: &mut SqliteConnection, t: &TokenRecord) -> Result<()> {
    // Expired tokens are useless; dropping them here keeps the table at its live size.
    sqlx::query("DELETE FROM tokens WHERE app_id = ? AND expires_at <= ?")
        .bind(&t.app_id)
        .bind(t.issued_at)
        .execute(&mut *db)
        .await
        .map_err(backend)?;
    sqlx::query(
        "INSERT INTO tokens (token_hash, kind, nonce, app_id, corp_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.token_hash)
    .bind(t.kind.as_str())
    .bind(&t.nonce)
    .bind(&t.app_id)
    .bind(&t.corp_id)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .execute(&mut *db)
    .await
    .map_err(backend)?;
    Ok(())
}

pub async fn newest(
    db: &SqlitePool,
    kind: TokenKind,
    app_id: &str,
    corp_id: &str,
    issued_since: i64,
) -> Result<Option<TokenRecord>> {
    let row = sqlx::query(
        "SELECT * FROM tokens WHERE kind = ? AND app_id = ? AND corp_id = ? AND issued_at >= ?
         ORDER BY issued_at DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .bind(app_id)
    .bind(corp_id)
    .bind(issued_since)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.map(|r| token_from(kind, &r)))
}

pub async fn live(
    db: &SqlitePool,
    kind: TokenKind,
    hash: &str,
    now: i64,
) -> Result<Option<TokenRecord>> {
    let row =
        sqlx::query("SELECT * FROM tokens WHERE token_hash = ? AND kind = ? AND expires_at > ?")
            .bind(hash)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(db)
            .await
            .map_err(backend)?;
    Ok(row.map(|r| token_from(kind, &r)))
}

pub async fn take(
    db: &mut SqliteConnection,
    kind: TokenKind,
    hash: &str,
    now: i64,
) -> Result<Option<TokenRecord>> {
    let row = sqlx::query(
        "DELETE FROM tokens WHERE token_hash = ? AND kind = ? AND expires_at > ? RETURNING *",
    )
    .bind(hash)
    .bind(kind.as_str())
    .bind(now)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.map(|r| token_from(kind, &r)))
}
