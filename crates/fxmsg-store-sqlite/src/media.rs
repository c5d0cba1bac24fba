//! Media metadata; the bytes live in the object store.

use fxmsg_store::{MediaKind, MediaRecord, Result, StoreError};
use rusqlite::{params, Connection};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;
use crate::writer::error;

fn media_from(row: &SqliteRow) -> MediaRecord {
    let kind = if row.get::<String, _>("kind") == "image" {
        MediaKind::Image
    } else {
        MediaKind::Document
    };
    MediaRecord {
        media_id: row.get("media_id"),
        corp_id: row.get("corp_id"),
        app_id: row.get("app_id"),
        kind,
        content_type: row.get("content_type"),
        file_name: row.get("file_name"),
        size: row.get("size"),
        object_key: row.get("object_key"),
        created_at: row.get("created_at"),
    }
}

pub async fn live(db: &SqlitePool, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>> {
    let row = sqlx::query(
        "SELECT * FROM media WHERE corp_id = ? AND media_id = ? AND deleted_at IS NULL",
    )
    .bind(corp_id)
    .bind(media_id)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.as_ref().map(media_from))
}

pub async fn live_bytes(db: &SqlitePool, corp_id: &str) -> Result<u64> {
    let bytes: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size), 0) FROM media WHERE corp_id = ? AND deleted_at IS NULL",
    )
    .bind(corp_id)
    .fetch_one(db)
    .await
    .map_err(backend)?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// Inserts `m`, if with it the corp's live media fit in `quota`. The sum and the insert are one
/// transaction on the single writer, so concurrent uploads cannot both take the last room.
pub fn insert(db: &Connection, m: &MediaRecord, quota: Option<u64>) -> Result<()> {
    if let Some(quota) = quota {
        let used: i64 = db
            .prepare_cached(
                "SELECT COALESCE(SUM(size), 0) FROM media WHERE corp_id = ?1 AND deleted_at IS NULL",
            )
            .and_then(|mut s| s.query_row(params![m.corp_id], |r| r.get(0)))
            .map_err(error)?;
        let used = u64::try_from(used).unwrap_or(0);
        if used.saturating_add(u64::try_from(m.size).unwrap_or(0)) > quota {
            return Err(StoreError::QuotaExceeded { used });
        }
    }
    db.prepare_cached(
        "INSERT INTO media (media_id, corp_id, app_id, kind, content_type, file_name, size, object_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            m.media_id,
            m.corp_id,
            m.app_id,
            m.kind.as_str(),
            m.content_type,
            m.file_name,
            m.size,
            m.object_key,
            m.created_at
        ])
    })
    .map(drop)
    .map_err(error)
}

/// Marks live media deleted; returns whether this call deleted it.
pub fn delete(db: &Connection, corp_id: &str, media_id: &str, now: i64) -> Result<bool> {
    db.prepare_cached("UPDATE media SET deleted_at = ?1 WHERE corp_id = ?2 AND media_id = ?3 AND deleted_at IS NULL")
        .and_then(|mut s| s.execute(params![now, corp_id, media_id]))
        .map(|changed| changed == 1)
        .map_err(error)
}
