//! Issued tokens, by hash.

use fxmsg_store::{Result, TokenKind, TokenRecord};
use rusqlite::{params, Connection};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;
use crate::writer::error;

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

pub fn insert(db: &Connection, t: &TokenRecord) -> Result<()> {
    // Expired tokens are useless; dropping them here keeps the table at its live size.
    db.prepare_cached("DELETE FROM tokens WHERE app_id = ?1 AND expires_at <= ?2")
        .and_then(|mut s| s.execute(params![t.app_id, t.issued_at]))
        .map_err(error)?;
    db.prepare_cached(
        "INSERT INTO tokens (token_hash, kind, nonce, app_id, corp_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![t.token_hash, t.kind.as_str(), t.nonce, t.app_id, t.corp_id, t.issued_at, t.expires_at])
    })
    .map(drop)
    .map_err(error)
}

/// Deletes a live token; returns whether this call was the one that removed it.
pub fn take(db: &Connection, kind: TokenKind, hash: &str, now: i64) -> Result<bool> {
    db.prepare_cached("DELETE FROM tokens WHERE token_hash = ?1 AND kind = ?2 AND expires_at > ?3")
        .and_then(|mut s| s.execute(params![hash, kind.as_str(), now]))
        .map(|deleted| deleted == 1)
        .map_err(error)
}
