//! Corps created and deleted as a whole (sandboxes, the demo), and resets of their messages.

use fxmsg_store::{Result, Tenant};
use rusqlite::{params, Connection, OptionalExtension};

use crate::directory;
use crate::messages::raise_watermark;
use crate::writer::error;

/// Inserts the corp and everything it holds; the caller's transaction makes it all or nothing.
pub fn create(db: &Connection, tenant: &Tenant) -> Result<()> {
    directory::create_corp(db, &tenant.corp)?;
    for app in &tenant.apps {
        directory::create_app(db, app)?;
    }
    for account in &tenant.service_accounts {
        directory::create_service_account(db, account)?;
    }
    for department in &tenant.departments {
        directory::put_department(db, department)?;
    }
    for employee in &tenant.employees {
        directory::put_employee(db, employee)?;
    }
    Ok(())
}

/// Deletes the corp and every row that belongs to it, children first. Returns its media's object
/// keys, or `None` if there is no such corp.
pub fn delete_corp(db: &Connection, corp_id: &str) -> Result<Option<Vec<String>>> {
    let found = db
        .query_row("SELECT 1 FROM corps WHERE corp_id = ?1", [corp_id], |_| {
            Ok(())
        })
        .optional()
        .map_err(error)?;
    if found.is_none() {
        return Ok(None);
    }
    let keys = db
        .prepare("SELECT object_key FROM media WHERE corp_id = ?1")
        .and_then(|mut s| {
            s.query_map([corp_id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(error)?;
    delete_messages(db, Some(corp_id))?;
    for sql in [
        "DELETE FROM employee_credentials WHERE corp_id = ?1",
        "DELETE FROM tokens WHERE corp_id = ?1",
        "DELETE FROM media WHERE corp_id = ?1",
        "DELETE FROM service_accounts WHERE corp_id = ?1",
        "DELETE FROM employees WHERE corp_id = ?1",
        "DELETE FROM departments WHERE corp_id = ?1",
        "DELETE FROM apps WHERE corp_id = ?1",
        "DELETE FROM event_watermarks WHERE corp_id = ?1",
        "DELETE FROM corps WHERE corp_id = ?1",
    ] {
        db.execute(sql, [corp_id]).map_err(error)?;
    }
    Ok(Some(keys))
}

/// Deletes the messages of `corp_id` (of every corp for `None`) with their inbox rows, events
/// and idempotency keys. The deleted events' numbers become watermarks first, so numbering goes on
/// after them and a stream resuming from before the reset is told it missed events.
pub fn delete_messages(db: &Connection, corp_id: Option<&str>) -> Result<u64> {
    let heads: Vec<(String, i64, i64)> = db
        .prepare(
            "SELECT corp_id, max(seq), max(global_seq) FROM events
              WHERE ?1 IS NULL OR corp_id = ?1 GROUP BY corp_id",
        )
        .and_then(|mut s| {
            s.query_map([corp_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(error)?;
    for (corp, seq, global_seq) in &heads {
        raise_watermark(db, corp, *seq)?;
        raise_watermark(db, "", *global_seq)?;
    }
    let deleted = match corp_id {
        Some(corp) => {
            for sql in [
                "DELETE FROM deliveries WHERE corp_id = ?1",
                "DELETE FROM events WHERE corp_id = ?1",
                "DELETE FROM message_media
                  WHERE message_seq IN (SELECT seq FROM messages WHERE corp_id = ?1)",
                "DELETE FROM idempotency_keys
                  WHERE app_id IN (SELECT app_id FROM apps WHERE corp_id = ?1)",
            ] {
                db.execute(sql, [corp]).map_err(error)?;
            }
            db.execute("DELETE FROM messages WHERE corp_id = ?1", [corp])
        }
        None => {
            for table in ["deliveries", "events", "idempotency_keys", "message_media"] {
                db.execute(&format!("DELETE FROM {table}"), params![])
                    .map_err(error)?;
            }
            db.execute("DELETE FROM messages", params![])
        }
    };
    deleted.map(|n| n as u64).map_err(error)
}
