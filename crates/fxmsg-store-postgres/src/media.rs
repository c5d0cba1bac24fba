//! Media metadata; the bytes are in the object store.

use fxmsg_store::{MediaKind, MediaRecord, Result, StoreError};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;

use crate::db;

fn media_from(row: &PgRow) -> MediaRecord {
    let kind = if row.get::<&str, _>("kind") == "image" {
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

pub async fn live(pool: &PgPool, corp_id: &str, media_id: &str) -> Result<Option<MediaRecord>> {
    let row = sqlx::query(
        "SELECT * FROM media WHERE corp_id = $1 AND media_id = $2 AND deleted_at IS NULL",
    )
    .bind(corp_id)
    .bind(media_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.as_ref().map(media_from))
}

const LIVE_BYTES: &str =
    "SELECT coalesce(sum(size), 0)::BIGINT FROM media WHERE corp_id = $1 AND deleted_at IS NULL";

pub async fn live_bytes(pool: &PgPool, corp_id: &str) -> Result<u64> {
    let bytes: i64 = sqlx::query_scalar(LIVE_BYTES)
        .bind(corp_id)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// Stores the metadata. With a quota, uploads of one corp take turns on its row (`NO KEY
/// UPDATE`, which sends' foreign-key checks do not wait for), so two cannot both fit in the last
/// room.
pub async fn insert(pool: &PgPool, m: &MediaRecord, quota: Option<u64>) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    if let Some(quota) = quota {
        sqlx::query("SELECT 1 FROM corps WHERE corp_id = $1 FOR NO KEY UPDATE")
            .bind(&m.corp_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let used: i64 = sqlx::query_scalar(LIVE_BYTES)
            .bind(&m.corp_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let used = u64::try_from(used).unwrap_or(0);
        if used.saturating_add(u64::try_from(m.size).unwrap_or(0)) > quota {
            return Err(StoreError::QuotaExceeded { used });
        }
    }
    sqlx::query(
        "INSERT INTO media (media_id, corp_id, app_id, kind, content_type, file_name, size,
                            object_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}

/// Marks live media deleted and returns it. A send that holds the medium (it shares its row's
/// lock until it commits) finishes first.
pub async fn delete(
    pool: &PgPool,
    corp_id: &str,
    media_id: &str,
    now: i64,
) -> Result<Option<MediaRecord>> {
    let row = sqlx::query(
        "UPDATE media SET deleted_at = $1
          WHERE corp_id = $2 AND media_id = $3 AND deleted_at IS NULL RETURNING *",
    )
    .bind(now)
    .bind(corp_id)
    .bind(media_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.as_ref().map(media_from))
}
