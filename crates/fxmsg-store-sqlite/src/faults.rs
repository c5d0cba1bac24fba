//! The test kit's planned faults.

use fxmsg_api::native::NewFault;
use fxmsg_store::{FaultState, Result, StoreError, StoredFault};
use rusqlite::{params, Connection};
use sqlx::sqlite::SqlitePool;
use sqlx::Row;

use crate::backend;
use crate::writer::error;

pub fn add(db: &Connection, plan: &str, state: FaultState) -> Result<u64> {
    db.prepare_cached(
        "INSERT INTO faults (plan, fired, remaining, rng, version) VALUES (?1, ?2, ?3, ?4, 0)
         RETURNING id",
    )
    .and_then(|mut s| {
        s.query_row(
            params![plan, state.fired as i64, state.remaining, state.rng as i64],
            |r| r.get::<_, i64>(0),
        )
    })
    .map(|id| id as u64)
    .map_err(error)
}

pub fn update(db: &Connection, id: u64, seen: u64, state: FaultState) -> Result<bool> {
    db.prepare_cached(
        "UPDATE faults SET fired = ?3, remaining = ?4, rng = ?5, version = version + 1
         WHERE id = ?1 AND version = ?2",
    )
    .and_then(|mut s| {
        s.execute(params![
            id as i64,
            seen as i64,
            state.fired as i64,
            state.remaining,
            state.rng as i64
        ])
    })
    .map(|changed| changed == 1)
    .map_err(error)
}

pub fn remove(db: &Connection, id: Option<u64>) -> Result<u64> {
    let removed = match id {
        Some(id) => db
            .prepare_cached("DELETE FROM faults WHERE id = ?1")
            .and_then(|mut s| s.execute([id as i64])),
        None => db
            .prepare_cached("DELETE FROM faults")
            .and_then(|mut s| s.execute([])),
    };
    removed.map(|n| n as u64).map_err(error)
}

pub async fn all(db: &SqlitePool) -> Result<Vec<StoredFault>> {
    let rows = sqlx::query("SELECT * FROM faults ORDER BY id")
        .fetch_all(db)
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let plan: String = row.get("plan");
            Ok(StoredFault {
                id: row.get::<i64, _>("id") as u64,
                plan: serde_json::from_str::<NewFault>(&plan).map_err(|e| {
                    StoreError::Backend(format!("faults.plan is not valid JSON: {e}"))
                })?,
                state: FaultState {
                    fired: row.get::<i64, _>("fired") as u64,
                    remaining: row.get("remaining"),
                    rng: row.get::<i64, _>("rng") as u64,
                    version: row.get::<i64, _>("version") as u64,
                },
            })
        })
        .collect()
}
