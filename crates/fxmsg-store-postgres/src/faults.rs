//! The test kit's planned faults, shared by every node. Each change notifies [`CHANNEL`] in
//! the statement that makes it, so the notification goes out exactly when the change commits.

use fxmsg_api::native::NewFault;
use fxmsg_store::{FaultState, Result, StoredFault};
use sqlx::postgres::PgPool;
use sqlx::Row;

use crate::{db, decode};

/// Where changes of the faults are announced.
pub(crate) const CHANNEL: &str = "fxmsg_faults";

pub async fn add(pool: &PgPool, plan: &NewFault, state: FaultState) -> Result<u64> {
    let plan = serde_json::to_string(plan)
        .map_err(|e| fxmsg_store::StoreError::Backend(format!("encoding a fault: {e}")))?;
    let id: i64 = sqlx::query_scalar(
        "WITH added AS (
             INSERT INTO faults (plan, fired, remaining, rng, version)
             VALUES ($1, $2, $3, $4, 0) RETURNING id
         )
         SELECT id FROM added, LATERAL (SELECT pg_notify($5, id::TEXT)) AS rang",
    )
    .bind(plan)
    .bind(state.fired as i64)
    .bind(state.remaining.map(i64::from))
    .bind(state.rng as i64)
    .bind(CHANNEL)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(id as u64)
}

pub async fn update(pool: &PgPool, id: u64, seen: u64, state: FaultState) -> Result<bool> {
    let changed = sqlx::query(
        "WITH changed AS (
             UPDATE faults SET fired = $3, remaining = $4, rng = $5, version = version + 1
             WHERE id = $1 AND version = $2 RETURNING id
         )
         SELECT id FROM changed, LATERAL (SELECT pg_notify($6, id::TEXT)) AS rang",
    )
    .bind(id as i64)
    .bind(seen as i64)
    .bind(state.fired as i64)
    .bind(state.remaining.map(i64::from))
    .bind(state.rng as i64)
    .bind(CHANNEL)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(changed.is_some())
}

pub async fn remove(pool: &PgPool, id: Option<u64>) -> Result<u64> {
    let removed: i64 = sqlx::query_scalar(
        "WITH removed AS (
             DELETE FROM faults WHERE $1::BIGINT IS NULL OR id = $1 RETURNING id
         )
         SELECT count(*) FROM removed, LATERAL (SELECT pg_notify($2, id::TEXT)) AS rang",
    )
    .bind(id.map(|id| id as i64))
    .bind(CHANNEL)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(removed as u64)
}

pub async fn all(pool: &PgPool) -> Result<Vec<StoredFault>> {
    let rows = sqlx::query("SELECT * FROM faults ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|row| {
            let remaining: Option<i64> = row.get("remaining");
            Ok(StoredFault {
                id: row.get::<i64, _>("id") as u64,
                plan: decode("faults.plan", row.get("plan"))?,
                state: FaultState {
                    fired: row.get::<i64, _>("fired") as u64,
                    remaining: remaining.map(|n| n as u32),
                    rng: row.get::<i64, _>("rng") as u64,
                    version: row.get::<i64, _>("version") as u64,
                },
            })
        })
        .collect()
}
