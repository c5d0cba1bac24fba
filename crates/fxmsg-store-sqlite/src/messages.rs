//! Messages, their inbox rows (deliveries) and idempotency keys.

use fxmsg_api::native::{Delivery, Event, EventKind, InboxItem, Message, MessageDetail};
use fxmsg_store::{
    delivery_state, Cursor, EventScope, IdempotencyKey, InsertOutcome, LogState, MessageFilter,
    NewMessage, PrunedMedia, PrunedMessages, ReadOutcome, Result, RevokeOutcome, StoreError,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::backend;
use crate::writer::{error, Db};

/// A JSON column of `messages`; a value that does not decode is reported, not papered over.
fn decode<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("messages.{column} is not valid JSON: {e}")))
}

fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> Result<T> {
    decode(column, &row.get::<String, _>(column))
}

fn message_from(row: &SqliteRow) -> Result<Message> {
    Ok(Message {
        message_id: row.get("message_id"),
        corp_id: row.get("corp_id"),
        app_id: row.get("app_id"),
        service_id: row.get("service_id"),
        msg_type: row.get("msg_type"),
        content: json_column(row, "content")?,
        recipients: json_column(row, "recipients")?,
        invalid_users: json_column(row, "invalid_users")?,
        third_trace_id: row.get("third_trace_id"),
        trace_id: row.get("trace_id"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    })
}

/// `SELECT m.* FROM messages AS m` with `f`'s conditions, ready for more.
fn filtered(f: &MessageFilter) -> QueryBuilder<'_, Sqlite> {
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT m.* FROM messages AS m WHERE 1 = 1");
    if let Some(corp) = &f.corp_id {
        q.push(" AND m.corp_id = ").push_bind(corp);
    }
    if let Some(app) = &f.app_id {
        q.push(" AND m.app_id = ").push_bind(app);
    }
    if let Some(service) = &f.service_id {
        q.push(" AND m.service_id = ").push_bind(service);
    }
    if let Some(user) = &f.recipient {
        q.push(" AND EXISTS (SELECT 1 FROM deliveries AS d WHERE d.corp_id = m.corp_id AND d.open_user_id = ")
            .push_bind(user)
            .push(" AND d.message_seq = m.seq)");
    }
    if let Some(t) = &f.msg_type {
        q.push(" AND m.msg_type = ").push_bind(t);
    }
    if let Some(since) = f.since {
        q.push(" AND m.created_at >= ").push_bind(since);
    }
    if let Some(until) = f.until {
        q.push(" AND m.created_at < ").push_bind(until);
    }
    match f.revoked {
        Some(true) => q.push(" AND m.revoked_at IS NOT NULL"),
        Some(false) => q.push(" AND m.revoked_at IS NULL"),
        None => &mut q,
    };
    if let Some(text) = &f.text {
        // Any string of the content, as `MessageFilter::matches` reads it; never the keys.
        q.push(
            " AND EXISTS (SELECT 1 FROM json_tree(m.content) WHERE type = 'text' AND instr(value, ",
        )
        .push_bind(text)
        .push(") > 0)");
    }
    q
}

pub async fn list(
    db: &SqlitePool,
    f: &MessageFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<Message>, Option<Cursor>)> {
    let mut q = filtered(f);
    if let Some(Cursor(seq)) = cursor {
        q.push(" AND m.seq < ").push_bind(seq);
    }
    q.push(" ORDER BY m.seq DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(db).await.map_err(backend)?;
    page(&rows, limit, message_from)
}

/// Messages matching `f` after position `after`, oldest first, with their positions.
pub async fn after(
    db: &SqlitePool,
    f: &MessageFilter,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, Message)>> {
    let mut q = filtered(f);
    q.push(" AND m.seq > ").push_bind(after);
    q.push(" ORDER BY m.seq LIMIT ").push_bind(i64::from(limit));
    let rows = q.build().fetch_all(db).await.map_err(backend)?;
    rows.iter()
        .map(|row| Ok((row.get("seq"), message_from(row)?)))
        .collect()
}

/// Cuts a `limit + 1` fetch to `limit` items and the cursor of the last one, if more remain.
fn page<T>(
    rows: &[SqliteRow],
    limit: u32,
    map: impl Fn(&SqliteRow) -> Result<T>,
) -> Result<(Vec<T>, Option<Cursor>)> {
    let limit = limit as usize;
    let next = (rows.len() > limit).then(|| Cursor(rows[limit - 1].get("seq")));
    Ok((
        rows.iter().take(limit).map(map).collect::<Result<_>>()?,
        next,
    ))
}

pub async fn detail(
    db: &SqlitePool,
    corp_id: Option<&str>,
    message_id: &str,
) -> Result<Option<MessageDetail>> {
    let row =
        sqlx::query("SELECT * FROM messages WHERE message_id = ? AND (? IS NULL OR corp_id = ?)")
            .bind(message_id)
            .bind(corp_id)
            .bind(corp_id)
            .fetch_optional(db)
            .await
            .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    // Inbox rows are keyed by employee, so they are found through the message's recipients.
    let deliveries = sqlx::query(
        "SELECT d.open_user_id, d.delivered_at, d.read_at, d.revoked_at
           FROM json_each(?) AS r CROSS JOIN deliveries AS d
             ON d.corp_id = ? AND d.open_user_id = r.value AND d.message_seq = ?
          ORDER BY d.open_user_id",
    )
    .bind(row.get::<String, _>("recipients"))
    .bind(row.get::<String, _>("corp_id"))
    .bind(row.get::<i64, _>("seq"))
    .fetch_all(db)
    .await
    .map_err(backend)?
    .iter()
    .map(|d| {
        let (revoked_at, read_at): (Option<i64>, Option<i64>) =
            (d.get("revoked_at"), d.get("read_at"));
        Delivery {
            open_user_id: d.get("open_user_id"),
            state: delivery_state(revoked_at, read_at).into(),
            delivered_at: d.get("delivered_at"),
            read_at,
            revoked_at,
        }
    })
    .collect();
    Ok(Some(MessageDetail {
        message: message_from(&row)?,
        raw_request: json_column(&row, "raw_request")?,
        deliveries,
    }))
}

pub async fn inbox(
    db: &SqlitePool,
    corp_id: &str,
    open_user_id: &str,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<InboxItem>, Option<Cursor>)> {
    let rows = sqlx::query(
        "SELECT m.*, d.revoked_at AS delivery_revoked_at, d.read_at AS delivery_read_at
           FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq
          WHERE d.corp_id = ? AND d.open_user_id = ? AND d.message_seq < ?
          ORDER BY d.message_seq DESC LIMIT ?",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .bind(cursor.map_or(i64::MAX, |c| c.0))
    .bind(i64::from(limit) + 1)
    .fetch_all(db)
    .await
    .map_err(backend)?;
    page(&rows, limit, inbox_item_from)
}

pub async fn unread_count(db: &SqlitePool, corp_id: &str, open_user_id: &str) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deliveries
          WHERE corp_id = ? AND open_user_id = ? AND read_at IS NULL AND revoked_at IS NULL",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .fetch_one(db)
    .await
    .map_err(backend)?;
    Ok(n as u64)
}

pub async fn inbox_item(
    db: &SqlitePool,
    corp_id: &str,
    open_user_id: &str,
    message_id: &str,
) -> Result<Option<InboxItem>> {
    let row = sqlx::query(
        "SELECT m.*, d.revoked_at AS delivery_revoked_at, d.read_at AS delivery_read_at
           FROM messages AS m JOIN deliveries AS d
             ON d.corp_id = m.corp_id AND d.open_user_id = ? AND d.message_seq = m.seq
          WHERE m.corp_id = ? AND m.message_id = ?",
    )
    .bind(open_user_id)
    .bind(corp_id)
    .bind(message_id)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    row.as_ref().map(inbox_item_from).transpose()
}

fn inbox_item_from(row: &SqliteRow) -> Result<InboxItem> {
    let read_at = row.get("delivery_read_at");
    Ok(InboxItem {
        message: message_from(row)?,
        state: delivery_state(row.get("delivery_revoked_at"), read_at).into(),
        read_at,
    })
}

/// Inserts a message under `seq`, a number no message has (see `SqliteStore::next_seq`).
pub fn insert(
    db: &mut Db<'_>,
    new: &NewMessage,
    key: Option<&IdempotencyKey>,
    seq: i64,
) -> Result<InsertOutcome> {
    let m = &new.message;
    // Checked before anything is written: a job that answers Ok commits what it wrote.
    for media_id in &new.media_ids {
        let live = db
            .kept(
                "SELECT 1 FROM media WHERE corp_id = ?1 AND media_id = ?2 AND deleted_at IS NULL",
            )?
            .exists(params![m.corp_id, media_id])
            .map_err(error)?;
        if !live {
            // A retry of a send that succeeded is answered as before, even if its cover is gone.
            if let Some(replayed) = key.map(|k| replay(db, m, k)).transpose()?.flatten() {
                return Ok(replayed);
            }
            return Ok(InsertOutcome::MissingMedia(media_id.clone()));
        }
    }
    if let Some(key) = key {
        // Claim the key for this message: a new key, or one past its window, is (re)written; a
        // live one is left alone, nothing is written, and this request is a retry.
        let claimed = db
            .kept(
                "INSERT INTO idempotency_keys (app_id, key, body_hash, message_seq, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (app_id, key) DO UPDATE
                    SET body_hash = excluded.body_hash, message_seq = excluded.message_seq,
                        created_at = excluded.created_at
                  WHERE idempotency_keys.created_at < ?6",
            )?
            .execute(params![
                m.app_id,
                key.key,
                key.body_hash,
                seq,
                m.created_at,
                key.not_before
            ])
            .map_err(error)?;
        if claimed == 0 {
            return replay(db, m, key)?
                .ok_or_else(|| StoreError::Backend("an idempotency key vanished".into()));
        }
    }
    fn json(v: &impl serde::Serialize) -> Result<String> {
        serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
    }
    let (recipients, invalid_users) = (json(&m.recipients)?, json(&m.invalid_users)?);
    let content = json(&m.content)?;
    db.kept(
        "INSERT INTO messages (seq, message_id, corp_id, app_id, service_id, msg_type, content,
                               recipients, invalid_users, raw_request, third_trace_id, trace_id,
                               created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        seq,
        m.message_id,
        m.corp_id,
        m.app_id,
        m.service_id,
        m.msg_type,
        content,
        recipients,
        invalid_users,
        new.raw_request,
        m.third_trace_id,
        m.trace_id,
        m.created_at
    ])
    .map_err(error)?;
    if !new.media_ids.is_empty() {
        let refer =
            db.kept("INSERT OR IGNORE INTO message_media (message_seq, media_id) VALUES (?1, ?2)")?;
        for media_id in &new.media_ids {
            refer.execute(params![seq, media_id]).map_err(error)?;
        }
    }
    let deliver = db.kept(
        "INSERT INTO deliveries (corp_id, open_user_id, message_seq, delivered_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for user in &m.recipients {
        deliver
            .execute(params![m.corp_id, user, seq, m.created_at])
            .map_err(error)?;
    }
    db.log_event(EventKind::Message, m, seq, None, m.created_at)?;
    Ok(InsertOutcome::Inserted)
}

/// One pruning step: (created before, most keys).
pub(crate) const PRUNE_KEYS: &str = "DELETE FROM idempotency_keys WHERE (app_id, key) IN (
     SELECT app_id, key FROM idempotency_keys WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)";

/// Deletes up to `limit` of the oldest idempotency keys created before `before`, found through the
/// keys' age index; returns how many it deleted.
pub fn prune_keys(db: &Connection, before: i64, limit: u32) -> Result<u64> {
    db.prepare_cached(PRUNE_KEYS)
        .and_then(|mut s| s.execute(params![before, limit]))
        .map(|deleted| deleted as u64)
        .map_err(error)
}

/// The first call under a live idempotency key, if there is one: its body hash and the message it
/// created (in the caller's corp; an app never sends for another corp).
fn replay(db: &Connection, m: &Message, key: &IdempotencyKey) -> Result<Option<InsertOutcome>> {
    let found = db
        .prepare_cached(
            "SELECT k.body_hash, m.message_id, m.service_id, m.msg_type, m.content, m.recipients,
                    m.invalid_users, m.third_trace_id, m.trace_id, m.created_at, m.revoked_at
               FROM idempotency_keys AS k
               JOIN messages AS m ON m.seq = k.message_seq AND m.corp_id = ?1
              WHERE k.app_id = ?2 AND k.key = ?3 AND k.created_at >= ?4",
        )
        .and_then(|mut s| {
            s.query_row(params![m.corp_id, m.app_id, key.key, key.not_before], |r| {
                Ok((
                    r.get::<_, [u8; 32]>(0)?,
                    Message {
                        message_id: r.get(1)?,
                        corp_id: m.corp_id.clone(),
                        app_id: m.app_id.clone(),
                        service_id: r.get(2)?,
                        msg_type: r.get(3)?,
                        content: Value::Null,
                        recipients: Vec::new(),
                        invalid_users: Vec::new(),
                        third_trace_id: r.get(7)?,
                        trace_id: r.get(8)?,
                        created_at: r.get(9)?,
                        revoked_at: r.get(10)?,
                    },
                    [r.get::<_, String>(4)?, r.get(5)?, r.get(6)?],
                ))
            })
            .optional()
        })
        .map_err(error)?;
    let Some((body_hash, mut message, [content, recipients, invalid_users])) = found else {
        return Ok(None);
    };
    message.content = decode("content", &content)?;
    message.recipients = decode("recipients", &recipients)?;
    message.invalid_users = decode("invalid_users", &invalid_users)?;
    Ok(Some(InsertOutcome::Replayed {
        body_hash,
        message: Box::new(message),
    }))
}

pub fn revoke(
    db: &mut Db<'_>,
    corp_id: &str,
    service_id: &str,
    message_id: &str,
    now: i64,
) -> Result<RevokeOutcome> {
    let found: Option<(i64, Option<String>, Option<i64>, String)> = db
        .prepare_cached("SELECT seq, service_id, revoked_at, recipients FROM messages WHERE corp_id = ?1 AND message_id = ?2")
        .and_then(|mut s| s.query_row(params![corp_id, message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).optional())
        .map_err(error)?;
    let Some((seq, sent_as, revoked_at, recipients)) = found else {
        return Ok(RevokeOutcome::NotFound);
    };
    if sent_as.is_some_and(|s| s != service_id) {
        return Ok(RevokeOutcome::NotFound);
    }
    if revoked_at.is_some() {
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    db.prepare_cached("UPDATE messages SET revoked_at = ?1 WHERE seq = ?2")
        .and_then(|mut s| s.execute(params![now, seq]))
        .map_err(error)?;
    db.prepare_cached(
        "UPDATE deliveries SET revoked_at = ?1
          WHERE corp_id = ?2 AND open_user_id IN (SELECT value FROM json_each(?3)) AND message_seq = ?4",
    )
    .and_then(|mut s| s.execute(params![now, corp_id, recipients, seq]))
        .map_err(error)?;
    let message = message_at(db, seq)?;
    db.log_event(EventKind::Revoke, &message, seq, None, now)?;
    Ok(RevokeOutcome::Revoked)
}

/// The message stored as `seq`, read by the writer.
pub(crate) fn message_at(db: &Connection, seq: i64) -> Result<Message> {
    let (mut message, [content, recipients, invalid_users]) = db
        .prepare_cached(
            "SELECT message_id, corp_id, app_id, service_id, msg_type, content, recipients,
                    invalid_users, third_trace_id, trace_id, created_at, revoked_at
               FROM messages WHERE seq = ?1",
        )
        .and_then(|mut s| {
            s.query_row([seq], |r| {
                Ok((
                    Message {
                        message_id: r.get(0)?,
                        corp_id: r.get(1)?,
                        app_id: r.get(2)?,
                        service_id: r.get(3)?,
                        msg_type: r.get(4)?,
                        content: Value::Null,
                        recipients: Vec::new(),
                        invalid_users: Vec::new(),
                        third_trace_id: r.get(8)?,
                        trace_id: r.get(9)?,
                        created_at: r.get(10)?,
                        revoked_at: r.get(11)?,
                    },
                    [r.get::<_, String>(5)?, r.get(6)?, r.get(7)?],
                ))
            })
        })
        .map_err(error)?;
    message.content = decode("content", &content)?;
    message.recipients = decode("recipients", &recipients)?;
    message.invalid_users = decode("invalid_users", &invalid_users)?;
    Ok(message)
}

/// Marks the employee's delivery of the message read, once, and logs the `read` event.
pub fn mark_read(
    db: &mut Db<'_>,
    corp_id: &str,
    open_user_id: &str,
    message_id: &str,
    now: i64,
) -> Result<ReadOutcome> {
    let found: Option<(i64, Option<i64>)> = db
        .prepare_cached(
            "SELECT d.message_seq, d.read_at
               FROM messages AS m JOIN deliveries AS d
                 ON d.corp_id = m.corp_id AND d.open_user_id = ?2 AND d.message_seq = m.seq
              WHERE m.corp_id = ?1 AND m.message_id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![corp_id, open_user_id, message_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(error)?;
    let Some((seq, read_at)) = found else {
        return Ok(ReadOutcome::NotFound);
    };
    if let Some(at) = read_at {
        return Ok(ReadOutcome::AlreadyRead(at));
    }
    db.prepare_cached(
        "UPDATE deliveries SET read_at = ?1 WHERE corp_id = ?2 AND open_user_id = ?3 AND message_seq = ?4",
    )
    .and_then(|mut s| s.execute(params![now, corp_id, open_user_id, seq]))
    .map_err(error)?;
    let message = message_at(db, seq)?;
    db.log_event(EventKind::Read, &message, seq, Some(open_user_id), now)?;
    Ok(ReadOutcome::Read(now))
}

/// The scope's events after `after`, oldest first, each with its message as the live event
/// carried it (revoked or not as of the event).
pub async fn events_after(
    db: &SqlitePool,
    scope: &EventScope,
    after: i64,
    limit: u32,
) -> Result<Vec<Event>> {
    const COLUMNS: &str =
        "SELECT e.global_seq, e.seq AS event_seq, e.kind, e.open_user_id, e.created_at AS at,
                e.message_revoked_at, m.*
                             FROM events AS e JOIN messages AS m ON m.seq = e.message_seq";
    let limit = i64::from(limit);
    let rows = match scope {
        EventScope::All => {
            sqlx::query(&format!(
                "{COLUMNS} WHERE e.global_seq > ? ORDER BY e.global_seq LIMIT ?"
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
        }
        EventScope::Corp(corp) => {
            sqlx::query(&format!(
                "{COLUMNS} WHERE e.corp_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?"
            ))
            .bind(corp)
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
        }
        EventScope::Employee {
            corp_id,
            open_user_id,
        } => {
            sqlx::query(&format!(
                "{COLUMNS} JOIN deliveries AS d
                   ON d.corp_id = e.corp_id AND d.open_user_id = ? AND d.message_seq = e.message_seq
                WHERE e.corp_id = ? AND e.seq > ? AND (e.kind <> 'read' OR e.open_user_id = d.open_user_id)
                ORDER BY e.seq LIMIT ?"
            ))
            .bind(open_user_id)
            .bind(corp_id)
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
        }
    }
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let kind: String = row.get("kind");
            let kind = EventKind::parse(&kind).ok_or_else(|| {
                StoreError::Backend(format!("events.kind {kind:?} is not a kind"))
            })?;
            let mut message = message_from(row)?;
            message.revoked_at = row.get("message_revoked_at");
            Ok(Event {
                seq: row.get("event_seq"),
                global_seq: row.get("global_seq"),
                kind,
                corp_id: message.corp_id.clone(),
                message_id: message.message_id.clone(),
                open_user_id: row.get("open_user_id"),
                at: row.get("at"),
                message,
            })
        })
        .collect()
}

/// The scope's newest position and pruning watermark.
pub async fn event_log(db: &SqlitePool, scope: &EventScope) -> Result<LogState> {
    let (head, watermark_key) = match scope {
        EventScope::All => (sqlx::query_scalar(GLOBAL_HEAD).fetch_one(db).await, ""),
        EventScope::Corp(corp) | EventScope::Employee { corp_id: corp, .. } => (
            sqlx::query_scalar(CORP_HEAD).bind(corp).fetch_one(db).await,
            corp.as_str(),
        ),
    };
    let pruned_through: Option<i64> =
        sqlx::query_scalar("SELECT pruned_through FROM event_watermarks WHERE corp_id = ?")
            .bind(watermark_key)
            .fetch_optional(db)
            .await
            .map_err(backend)?;
    Ok(LogState {
        head: head.map_err(backend)?,
        pruned_through: pruned_through.unwrap_or(0),
    })
}

/// One pruning step: deletes up to `limit` of the oldest events created before `before`, never
/// a corp's newest (numbering continues from it), and raises the watermarks to what it deleted.
/// Returns how many it deleted.
/// Deletes up to `limit` of the oldest messages, in commit order, stopping at the first created
/// at or after `before`: each with its inbox rows and media references. Then up to `limit` media
/// older than `before` that no remaining message refers to are marked deleted (at `now`), and returned for
/// their bytes to be removed. Their events go with the event log's own retention (shorter), and
/// their idempotency keys are past their 24-hour window already (retention is whole days).
pub fn prune_messages(
    db: &Connection,
    before: i64,
    now: i64,
    limit: u32,
) -> Result<PrunedMessages> {
    let doomed: Vec<(i64, String, String)> = db
        .prepare_cached(
            "SELECT seq, corp_id, recipients, created_at FROM messages ORDER BY seq LIMIT ?1",
        )
        .and_then(|mut s| {
            s.query_map(params![limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)?))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()
        })
        .map_err(error)?
        .into_iter()
        .take_while(|(.., at)| *at < before)
        .map(|(seq, corp, recipients, _)| (seq, corp, recipients))
        .collect();
    let mut forget = db
        .prepare_cached(
            "DELETE FROM deliveries WHERE corp_id = ?1 AND open_user_id = ?2 AND message_seq = ?3",
        )
        .map_err(error)?;
    let mut unrefer = db
        .prepare_cached("DELETE FROM message_media WHERE message_seq = ?1")
        .map_err(error)?;
    let mut remove = db
        .prepare_cached("DELETE FROM messages WHERE seq = ?1")
        .map_err(error)?;
    for (seq, corp, recipients) in &doomed {
        let recipients: Vec<String> =
            serde_json::from_str(recipients).map_err(|e| StoreError::Backend(e.to_string()))?;
        for user in &recipients {
            forget.execute(params![corp, user, seq]).map_err(error)?;
        }
        unrefer.execute(params![seq]).map_err(error)?;
        remove.execute(params![seq]).map_err(error)?;
    }
    let media: Vec<PrunedMedia> = db
        .prepare_cached(
            "SELECT corp_id, media_id, object_key FROM media AS m
              WHERE created_at < ?1 AND deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM message_media AS r WHERE r.media_id = m.media_id)
              LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![before, limit], |r| {
                Ok(PrunedMedia {
                    corp_id: r.get(0)?,
                    media_id: r.get(1)?,
                    object_key: r.get(2)?,
                })
            })?
            .collect()
        })
        .map_err(error)?;
    let mut mark = db
        .prepare_cached("UPDATE media SET deleted_at = ?1 WHERE media_id = ?2")
        .map_err(error)?;
    for m in &media {
        mark.execute(params![now, m.media_id]).map_err(error)?;
    }
    Ok(PrunedMessages {
        messages: doomed.len() as u64,
        done: doomed.len() < limit as usize && media.len() < limit as usize,
        media,
    })
}

pub fn prune_events(db: &Connection, before: i64, limit: u32) -> Result<u64> {
    // Oldest first by number, which is commit order and so time order: the pass stops at the
    // first event that is not old enough. A corp's newest event is kept and stepped over.
    let mut doomed: Vec<(i64, String, i64)> = Vec::new();
    let mut after = 0i64;
    'scan: loop {
        let window: Vec<(i64, String, i64, i64, bool)> = db
            .prepare_cached(
                "SELECT e.global_seq, e.corp_id, e.seq, e.created_at,
                        e.seq = (SELECT max(seq) FROM events AS n WHERE n.corp_id = e.corp_id)
                   FROM events AS e WHERE e.global_seq > ?1 ORDER BY e.global_seq LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .map_err(error)?;
        if window.is_empty() {
            break;
        }
        for (global_seq, corp, seq, at, newest) in window {
            if at >= before {
                break 'scan;
            }
            after = global_seq;
            if !newest {
                doomed.push((global_seq, corp, seq));
                if doomed.len() == limit as usize {
                    break 'scan;
                }
            }
        }
    }
    for (global_seq, corp, seq) in &doomed {
        db.prepare_cached("DELETE FROM events WHERE global_seq = ?1")
            .and_then(|mut s| s.execute([global_seq]))
            .map_err(error)?;
        raise_watermark(db, corp, *seq)?;
        raise_watermark(db, "", *global_seq)?;
    }
    Ok(doomed.len() as u64)
}

/// Records that every event of `corp` (of all corps for `""`) up to `through` is gone. Numbering
/// continues after the watermark even when no event is left (see [`GLOBAL_HEAD`]).
pub(crate) fn raise_watermark(db: &Connection, corp: &str, through: i64) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO event_watermarks (corp_id, pruned_through) VALUES (?1, ?2)
         ON CONFLICT (corp_id) DO UPDATE SET pruned_through = max(pruned_through, excluded.pruned_through)",
    )
    .and_then(|mut s| s.execute(params![corp, through]))
    .map(drop)
    .map_err(error)
}

/// The newest event number of all corps: the newest event's, or the watermark's when the newest
/// events were deleted, so that numbers are never handed out twice.
pub(crate) const GLOBAL_HEAD: &str = "SELECT max(
        coalesce((SELECT max(global_seq) FROM events), 0),
        coalesce((SELECT pruned_through FROM event_watermarks WHERE corp_id = ''), 0))";
/// [`GLOBAL_HEAD`] for the corp `?1`.
pub(crate) const CORP_HEAD: &str = "SELECT max(
        coalesce((SELECT max(seq) FROM events WHERE corp_id = ?1), 0),
        coalesce((SELECT pruned_through FROM event_watermarks WHERE corp_id = ?1), 0))";
