//! Media metadata; the bytes live in the object store.

use fxmsg_store::{MediaKind, MediaRecord, Result};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;

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

pub async fn insert(db: &mut SqliteConnection, m: &MediaRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO media (media_id, corp_id, app_id, kind, content_type, file_name, size, object_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.media_id)
    .bind(&m.corp_id)
    .bind(&m.app_id)
    .bind(m.kind.as_str())
    .bind(&m.content_type)
    .bind(&m.file_name)
    .bind(m.size)
    .bind(&m.object_key)
    .bind(m.created_at)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
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

pub async fn delete(
    db: &mut SqliteConnection,
    corp_id: &str,
    media_id: &str,
    now: i64,
) -> Result<Option<MediaRecord>> {
    let row = sqlx::query(
        "UPDATE media SET deleted_at = ? WHERE corp_id = ? AND media_id = ? AND deleted_at IS NULL RETURNING *",
    )
    .bind(now)
    .bind(corp_id)
    .bind(media_id)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.as_ref().map(media_from))
}
