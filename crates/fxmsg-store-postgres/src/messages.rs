//! Messages, their inbox rows (deliveries), idempotency keys and the event log.

use fxmsg_api::native::{Delivery, Event, EventKind, InboxItem, Message, MessageDetail};
use fxmsg_store::{
    delivery_state, Cursor, EventScope, IdempotencyKey, InsertOutcome, LogState, MessageFilter,
    NewMessage, PrunedMedia, PrunedMessages, ReadOutcome, Result, RevokeOutcome, StoreError,
};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use crate::{db, decode};

/// The notification channel committed events ring (see `pump`).
pub(crate) const CHANNEL: &str = "fxmsg_events";

fn message_from(row: &PgRow) -> Result<Message> {
    Ok(Message {
        message_id: row.get("message_id"),
        corp_id: row.get("corp_id"),
        app_id: row.get("app_id"),
        service_id: row.get("service_id"),
        msg_type: row.get("msg_type"),
        content: decode("messages.content", row.get("content"))?,
        recipients: row.get("recipients"),
        invalid_users: row.get("invalid_users"),
        third_trace_id: row.get("third_trace_id"),
        trace_id: row.get("trace_id"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    })
}

/// `SELECT m.* FROM messages AS m` with `f`'s conditions, ready for more.
fn filtered(f: &MessageFilter) -> QueryBuilder<'_, Postgres> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT m.* FROM messages AS m WHERE TRUE");
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
        q.push(
            " AND EXISTS (SELECT 1 FROM deliveries AS d WHERE d.corp_id = m.corp_id
                 AND d.open_user_id = ",
        )
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
        // Any string of the content, at any depth, as `MessageFilter::matches` reads it; never
        // the keys.
        q.push(
            " AND EXISTS (SELECT 1 FROM jsonb_path_query(m.content::JSONB, 'strict $.**') AS v(x)
                 WHERE jsonb_typeof(v.x) = 'string' AND strpos(v.x #>> '{}', ",
        )
        .push_bind(text)
        .push(") > 0)");
    }
    q
}

pub async fn list(
    pool: &PgPool,
    f: &MessageFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<Message>, Option<Cursor>)> {
    let mut q = filtered(f);
    if let Some(Cursor(pos)) = cursor {
        q.push(" AND m.pos < ").push_bind(pos);
    }
    q.push(" ORDER BY m.pos DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(pool).await.map_err(db)?;
    page(&rows, limit, "pos", message_from)
}

/// Messages matching `f` after position `after`, oldest first, with their positions.
pub async fn after(
    pool: &PgPool,
    f: &MessageFilter,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, Message)>> {
    let mut q = filtered(f);
    q.push(" AND m.pos > ").push_bind(after);
    q.push(" ORDER BY m.pos LIMIT ").push_bind(i64::from(limit));
    let rows = q.build().fetch_all(pool).await.map_err(db)?;
    rows.iter()
        .map(|row| Ok((row.get("pos"), message_from(row)?)))
        .collect()
}

/// Cuts a `limit + 1` fetch to `limit` items and the cursor (column `at`) of the last one, if
/// more remain.
fn page<T>(
    rows: &[PgRow],
    limit: u32,
    at: &str,
    map: impl Fn(&PgRow) -> Result<T>,
) -> Result<(Vec<T>, Option<Cursor>)> {
    let limit = limit as usize;
    let next = (rows.len() > limit).then(|| Cursor(rows[limit - 1].get(at)));
    Ok((
        rows.iter().take(limit).map(map).collect::<Result<_>>()?,
        next,
    ))
}

pub async fn detail(
    pool: &PgPool,
    corp_id: Option<&str>,
    message_id: &str,
) -> Result<Option<MessageDetail>> {
    let row = sqlx::query(
        "SELECT * FROM messages WHERE message_id = $1 AND ($2::TEXT IS NULL OR corp_id = $2)",
    )
    .bind(message_id)
    .bind(corp_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let deliveries = sqlx::query(
        "SELECT open_user_id, delivered_at, read_at, revoked_at FROM deliveries
          WHERE message_seq = $1 AND corp_id = $2 ORDER BY open_user_id",
    )
    .bind(row.get::<i64, _>("seq"))
    .bind(row.get::<&str, _>("corp_id"))
    .fetch_all(pool)
    .await
    .map_err(db)?
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
        raw_request: decode("messages.raw_request", row.get("raw_request"))?,
        deliveries,
    }))
}

const INBOX_COLUMNS: &str =
    "SELECT m.*, d.revoked_at AS delivery_revoked_at, d.read_at AS delivery_read_at";

pub async fn inbox(
    pool: &PgPool,
    corp_id: &str,
    open_user_id: &str,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<InboxItem>, Option<Cursor>)> {
    let rows = sqlx::query(&format!(
        "{INBOX_COLUMNS} FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq
          WHERE d.corp_id = $1 AND d.open_user_id = $2 AND d.message_seq < $3
          ORDER BY d.message_seq DESC LIMIT $4"
    ))
    .bind(corp_id)
    .bind(open_user_id)
    .bind(cursor.map_or(i64::MAX, |c| c.0))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    page(&rows, limit, "seq", inbox_item_from)
}

pub async fn unread_count(pool: &PgPool, corp_id: &str, open_user_id: &str) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deliveries
          WHERE corp_id = $1 AND open_user_id = $2 AND read_at IS NULL AND revoked_at IS NULL",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(n as u64)
}

pub async fn inbox_item(
    pool: &PgPool,
    corp_id: &str,
    open_user_id: &str,
    message_id: &str,
) -> Result<Option<InboxItem>> {
    let row = sqlx::query(&format!(
        "{INBOX_COLUMNS} FROM messages AS m JOIN deliveries AS d
             ON d.corp_id = m.corp_id AND d.open_user_id = $1 AND d.message_seq = m.seq
          WHERE m.corp_id = $2 AND m.message_id = $3"
    ))
    .bind(open_user_id)
    .bind(corp_id)
    .bind(message_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(inbox_item_from).transpose()
}

fn inbox_item_from(row: &PgRow) -> Result<InboxItem> {
    let read_at = row.get("delivery_read_at");
    Ok(InboxItem {
        message: message_from(row)?,
        state: delivery_state(row.get("delivery_revoked_at"), read_at).into(),
        read_at,
    })
}

/// Logs an event about the message stored as `message_seq`, as the last thing its transaction
/// does. The global head's row is locked first, then the corp's: every event-logging
/// transaction takes them in that order and holds them until it commits, so numbers are handed
/// out in commit order, once, and a rollback hands its numbers back. The notification goes out
/// when the transaction commits. Returns the event's global number.
async fn log_event(
    c: &mut PgConnection,
    kind: EventKind,
    corp_id: &str,
    message_seq: i64,
    open_user_id: Option<&str>,
    at: i64,
    message_revoked_at: Option<i64>,
) -> Result<i64> {
    let global: i64 = sqlx::query_scalar(
        "UPDATE event_heads SET head = head + 1 WHERE corp_id = '' RETURNING head",
    )
    .fetch_one(&mut *c)
    .await
    .map_err(db)?;
    sqlx::query(
        "WITH corp AS (
             INSERT INTO event_heads (corp_id, head) VALUES ($2, 1)
             ON CONFLICT (corp_id) DO UPDATE SET head = event_heads.head + 1
             RETURNING head
         ), logged AS (
             INSERT INTO events (global_seq, corp_id, seq, kind, message_seq, open_user_id,
                                 created_at, message_revoked_at)
             SELECT $1, $2, corp.head, $3, $4, $5, $6, $7 FROM corp
             RETURNING global_seq
         ), placed AS (
             -- A new message's listing position is its own event's number.
             UPDATE messages SET pos = $1 WHERE seq = $4 AND $3 = 'message'
         )
         SELECT pg_notify($8, global_seq::TEXT)::TEXT FROM logged",
    )
    .bind(global)
    .bind(corp_id)
    .bind(kind.as_str())
    .bind(message_seq)
    .bind(open_user_id)
    .bind(at)
    .bind(message_revoked_at)
    .bind(CHANNEL)
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(global)
}

/// Stores a message with its inbox rows and its event, in one transaction of its own.
pub async fn insert(
    pool: &PgPool,
    new: &NewMessage,
    key: Option<&IdempotencyKey>,
) -> Result<InsertOutcome> {
    let mut tx = pool.begin().await.map_err(db)?;
    match stage(&mut tx, new, key).await? {
        Staged::Answered(outcome) => {
            tx.rollback().await.map_err(db)?;
            Ok(outcome)
        }
        Staged::Written(seq) => {
            log_message(&mut tx, &new.message, seq).await?;
            tx.commit().await.map_err(db)?;
            Ok(InsertOutcome::Inserted)
        }
    }
}

/// What the first part of a send did inside its transaction.
pub(crate) enum Staged {
    /// The message and its rows are written under this `seq`; its event is still to be logged.
    Written(i64),
    /// The send is answered without a new message (a retry, a missing medium), and nothing it
    /// wrote is left: only shared locks on media, which the commit releases.
    Answered(InsertOutcome),
}

/// A send's writes, all but its event: the media it needs (locked, shared, until the commit),
/// the message, its idempotency key and its inbox rows. The event comes last, in
/// [`log_message`], because it takes the event heads, which are held until the commit.
pub(crate) async fn stage(
    c: &mut PgConnection,
    new: &NewMessage,
    key: Option<&IdempotencyKey>,
) -> Result<Staged> {
    let m = &new.message;
    if !new.media_ids.is_empty() {
        // Shared locks on the media until the commit: a delete waits for this send, and a send
        // never sees a medium that a committed delete removed.
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT media_id FROM media
              WHERE corp_id = $1 AND media_id = ANY($2) AND deleted_at IS NULL FOR SHARE",
        )
        .bind(&m.corp_id)
        .bind(&new.media_ids)
        .fetch_all(&mut *c)
        .await
        .map_err(db)?;
        if let Some(missing) = new.media_ids.iter().find(|id| !live.contains(id)) {
            // A retry of a send that succeeded is answered as before, even if its cover is gone.
            if let Some(replayed) = match key {
                Some(key) => replay(&mut *c, m, key).await?,
                None => None,
            } {
                return Ok(Staged::Answered(replayed));
            }
            return Ok(Staged::Answered(InsertOutcome::MissingMedia(
                missing.clone(),
            )));
        }
    }
    // One round trip: the message; its idempotency key, claimed for it (a new key, or one past
    // its window, is (re)written; a live one is left alone, a racing first call holding its row
    // until it commits and this waiting for it); and, only if the key was claimed (or there is
    // none), its media references and inbox rows.
    let (seq, claimed): (i64, bool) = sqlx::query_as(
        "WITH m AS (
             INSERT INTO messages (message_id, corp_id, app_id, service_id, msg_type, content,
                                   recipients, invalid_users, raw_request, third_trace_id,
                                   trace_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING seq
         ), k AS (
             INSERT INTO idempotency_keys (app_id, key, body_hash, message_seq, created_at)
             SELECT $3, $13, $14, m.seq, $12 FROM m WHERE $13::TEXT IS NOT NULL
             ON CONFLICT (app_id, key) DO UPDATE
                SET body_hash = excluded.body_hash, message_seq = excluded.message_seq,
                    created_at = excluded.created_at
              WHERE idempotency_keys.created_at < $15
             RETURNING 1
         ), claimed AS (
             SELECT $13::TEXT IS NULL OR EXISTS (SELECT 1 FROM k) AS ok
         ), referred AS (
             INSERT INTO message_media (message_seq, media_id)
             SELECT m.seq, unnest($16::TEXT[]) FROM m, claimed WHERE claimed.ok
             ON CONFLICT DO NOTHING
         ), delivered AS (
             INSERT INTO deliveries (corp_id, open_user_id, message_seq, delivered_at)
             SELECT $2, unnest($7::TEXT[]), m.seq, $12 FROM m, claimed WHERE claimed.ok
         )
         SELECT m.seq, claimed.ok FROM m, claimed",
    )
    .bind(&m.message_id)
    .bind(&m.corp_id)
    .bind(&m.app_id)
    .bind(&m.service_id)
    .bind(&m.msg_type)
    .bind(m.content.to_string())
    .bind(&m.recipients)
    .bind(&m.invalid_users)
    .bind(&new.raw_request)
    .bind(&m.third_trace_id)
    .bind(&m.trace_id)
    .bind(m.created_at)
    .bind(key.map(|k| k.key.as_str()))
    .bind(key.map(|k| &k.body_hash[..]))
    .bind(key.map(|k| k.not_before))
    .bind(&new.media_ids)
    .fetch_one(&mut *c)
    .await
    .map_err(db)?;
    if let (Some(key), false) = (key, claimed) {
        // A retry. Nothing of it may stay written: a batch commits the other sends with it.
        sqlx::query("DELETE FROM messages WHERE seq = $1")
            .bind(seq)
            .execute(&mut *c)
            .await
            .map_err(db)?;
        return replay(&mut *c, m, key)
            .await?
            .map(Staged::Answered)
            .ok_or_else(|| StoreError::Backend("an idempotency key vanished".into()));
    }
    Ok(Staged::Written(seq))
}

/// A staged message's event, which also gives it its position: the last part of its
/// transaction.
pub(crate) async fn log_message(c: &mut PgConnection, m: &Message, seq: i64) -> Result<()> {
    log_event(
        &mut *c,
        EventKind::Message,
        &m.corp_id,
        seq,
        None,
        m.created_at,
        None,
    )
    .await?;
    Ok(())
}

/// The first call under a live idempotency key, if there is one: its body hash and the message it
/// created (in the caller's corp; an app never sends for another corp).
async fn replay(
    c: &mut PgConnection,
    m: &Message,
    key: &IdempotencyKey,
) -> Result<Option<InsertOutcome>> {
    let row = sqlx::query(
        "SELECT k.body_hash, m.* FROM idempotency_keys AS k
           JOIN messages AS m ON m.seq = k.message_seq AND m.corp_id = $1
          WHERE k.app_id = $2 AND k.key = $3 AND k.created_at >= $4",
    )
    .bind(&m.corp_id)
    .bind(&m.app_id)
    .bind(&key.key)
    .bind(key.not_before)
    .fetch_optional(c)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let hash: Vec<u8> = row.get("body_hash");
    let body_hash = <[u8; 32]>::try_from(hash.as_slice())
        .map_err(|_| StoreError::Backend("idempotency_keys.body_hash is not 32 bytes".into()))?;
    Ok(Some(InsertOutcome::Replayed {
        body_hash,
        message: Box::new(message_from(&row)?),
    }))
}

/// One pruning step: deletes up to `limit` of the oldest keys created before `before`.
pub async fn prune_keys(pool: &PgPool, before: i64, limit: u32) -> Result<u64> {
    let deleted = sqlx::query(
        "DELETE FROM idempotency_keys WHERE (app_id, key) IN (
             SELECT app_id, key FROM idempotency_keys WHERE created_at < $1
              ORDER BY created_at LIMIT $2)",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(deleted.rows_affected())
}

pub async fn revoke(
    pool: &PgPool,
    corp_id: &str,
    service_id: &str,
    message_id: &str,
    now: i64,
) -> Result<RevokeOutcome> {
    let mut tx = pool.begin().await.map_err(db)?;
    // Locked: of racing revokes, the later ones see the first's revocation.
    let found = sqlx::query(
        "SELECT seq, service_id, revoked_at FROM messages
          WHERE corp_id = $1 AND message_id = $2 FOR UPDATE",
    )
    .bind(corp_id)
    .bind(message_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(found) = found else {
        return Ok(RevokeOutcome::NotFound);
    };
    let (seq, sent_as, revoked_at): (i64, Option<String>, Option<i64>) = (
        found.get("seq"),
        found.get("service_id"),
        found.get("revoked_at"),
    );
    if sent_as.is_some_and(|s| s != service_id) {
        return Ok(RevokeOutcome::NotFound);
    }
    if revoked_at.is_some() {
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    sqlx::query("UPDATE messages SET revoked_at = $1 WHERE seq = $2")
        .bind(now)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("UPDATE deliveries SET revoked_at = $1 WHERE message_seq = $2 AND corp_id = $3")
        .bind(now)
        .bind(seq)
        .bind(corp_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    log_event(
        &mut tx,
        EventKind::Revoke,
        corp_id,
        seq,
        None,
        now,
        Some(now),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(RevokeOutcome::Revoked)
}

/// Marks the employee's delivery of the message read, once, and logs the `read` event.
pub async fn mark_read(
    pool: &PgPool,
    corp_id: &str,
    open_user_id: &str,
    message_id: &str,
    now: i64,
) -> Result<ReadOutcome> {
    let mut tx = pool.begin().await.map_err(db)?;
    let found = sqlx::query(
        "SELECT d.message_seq, d.read_at, m.revoked_at
           FROM messages AS m JOIN deliveries AS d
             ON d.corp_id = m.corp_id AND d.open_user_id = $2 AND d.message_seq = m.seq
          WHERE m.corp_id = $1 AND m.message_id = $3
            FOR UPDATE OF d",
    )
    .bind(corp_id)
    .bind(open_user_id)
    .bind(message_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(found) = found else {
        return Ok(ReadOutcome::NotFound);
    };
    let (seq, read_at, revoked_at): (i64, Option<i64>, Option<i64>) = (
        found.get("message_seq"),
        found.get("read_at"),
        found.get("revoked_at"),
    );
    if let Some(at) = read_at {
        return Ok(ReadOutcome::AlreadyRead(at));
    }
    sqlx::query(
        "UPDATE deliveries SET read_at = $1
          WHERE corp_id = $2 AND open_user_id = $3 AND message_seq = $4",
    )
    .bind(now)
    .bind(corp_id)
    .bind(open_user_id)
    .bind(seq)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    log_event(
        &mut tx,
        EventKind::Read,
        corp_id,
        seq,
        Some(open_user_id),
        now,
        revoked_at,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(ReadOutcome::Read(now))
}

/// The scope's events after `after`, oldest first, each with its message as the live event
/// carried it (revoked or not as of the event).
pub async fn events_after(
    pool: &PgPool,
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
                "{COLUMNS} WHERE e.global_seq > $1 ORDER BY e.global_seq LIMIT $2"
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        EventScope::Corp(corp) => {
            sqlx::query(&format!(
                "{COLUMNS} WHERE e.corp_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
            ))
            .bind(corp)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        EventScope::Employee {
            corp_id,
            open_user_id,
        } => {
            sqlx::query(&format!(
                "{COLUMNS} JOIN deliveries AS d
                   ON d.corp_id = e.corp_id AND d.open_user_id = $1
                  AND d.message_seq = e.message_seq
                WHERE e.corp_id = $2 AND e.seq > $3
                  AND (e.kind <> 'read' OR e.open_user_id = d.open_user_id)
                ORDER BY e.seq LIMIT $4"
            ))
            .bind(open_user_id)
            .bind(corp_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
    .map_err(db)?;
    rows.iter()
        .map(|row| {
            let kind: &str = row.get("kind");
            let kind = EventKind::parse(kind).ok_or_else(|| {
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

/// The scope's newest position (its head, which never goes back) and pruning watermark.
pub async fn event_log(pool: &PgPool, scope: &EventScope) -> Result<LogState> {
    let corp = match scope {
        EventScope::All => "",
        EventScope::Corp(corp) | EventScope::Employee { corp_id: corp, .. } => corp.as_str(),
    };
    let row = sqlx::query(
        "SELECT coalesce((SELECT head FROM event_heads WHERE corp_id = $1), 0) AS head,
                coalesce((SELECT pruned_through FROM event_watermarks WHERE corp_id = $1), 0)
                    AS pruned_through",
    )
    .bind(corp)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(LogState {
        head: row.get("head"),
        pruned_through: row.get("pruned_through"),
    })
}

/// Records that every event of `corp` (of all corps for `""`) up to `through` is gone.
async fn raise_watermark(c: &mut PgConnection, corp: &str, through: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_watermarks (corp_id, pruned_through) VALUES ($1, $2)
         ON CONFLICT (corp_id) DO UPDATE
            SET pruned_through = greatest(event_watermarks.pruned_through, excluded.pruned_through)",
    )
    .bind(corp)
    .bind(through)
    .execute(c)
    .await
    .map_err(db)?;
    Ok(())
}

/// One pruning step: deletes up to `limit` of the oldest events created before `before`, never
/// a corp's newest, and raises the watermarks to what it deleted. Oldest first by number, which
/// is commit order: the pass stops at the first event that is not old enough.
pub async fn prune_events(pool: &PgPool, before: i64, limit: u32) -> Result<u64> {
    let mut doomed: Vec<(i64, String, i64)> = Vec::new();
    let mut after = 0i64;
    'scan: loop {
        let window = sqlx::query(
            "SELECT e.global_seq, e.corp_id, e.seq, e.created_at,
                    e.seq = (SELECT max(seq) FROM events AS n WHERE n.corp_id = e.corp_id)
                        AS newest
               FROM events AS e WHERE e.global_seq > $1 ORDER BY e.global_seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
        if window.is_empty() {
            break;
        }
        for row in window {
            let (global_seq, at, newest): (i64, i64, bool) = (
                row.get("global_seq"),
                row.get("created_at"),
                row.get("newest"),
            );
            if at >= before {
                break 'scan;
            }
            after = global_seq;
            if !newest {
                doomed.push((global_seq, row.get("corp_id"), row.get("seq")));
                if doomed.len() == limit as usize {
                    break 'scan;
                }
            }
        }
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let globals: Vec<i64> = doomed.iter().map(|(g, ..)| *g).collect();
    sqlx::query("DELETE FROM events WHERE global_seq = ANY($1)")
        .bind(&globals)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    for (global_seq, corp, seq) in &doomed {
        raise_watermark(&mut tx, corp, *seq).await?;
        raise_watermark(&mut tx, "", *global_seq).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(doomed.len() as u64)
}

/// Deletes the messages of one corp (or all) with their inbox rows, media references, events and
/// keys, raising the watermarks over the deleted events.
pub async fn delete_messages(c: &mut PgConnection, corp_id: Option<&str>) -> Result<u64> {
    let heads = sqlx::query(
        "SELECT corp_id, max(seq) AS seq, max(global_seq) AS global_seq FROM events
          WHERE $1::TEXT IS NULL OR corp_id = $1 GROUP BY corp_id",
    )
    .bind(corp_id)
    .fetch_all(&mut *c)
    .await
    .map_err(db)?;
    for row in &heads {
        raise_watermark(&mut *c, row.get("corp_id"), row.get("seq")).await?;
        raise_watermark(&mut *c, "", row.get("global_seq")).await?;
    }
    for sql in [
        "DELETE FROM deliveries WHERE $1::TEXT IS NULL OR corp_id = $1",
        "DELETE FROM events WHERE $1::TEXT IS NULL OR corp_id = $1",
        "DELETE FROM message_media WHERE message_seq IN
             (SELECT seq FROM messages WHERE $1::TEXT IS NULL OR corp_id = $1)",
        "DELETE FROM idempotency_keys WHERE $1::TEXT IS NULL
             OR app_id IN (SELECT app_id FROM apps WHERE corp_id = $1)",
    ] {
        sqlx::query(sql)
            .bind(corp_id)
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    let deleted = sqlx::query("DELETE FROM messages WHERE $1::TEXT IS NULL OR corp_id = $1")
        .bind(corp_id)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(deleted.rows_affected())
}

/// One pass of message retention: up to `limit` of the oldest messages, in commit order,
/// stopping at the first created at or after `before`, each with its inbox rows and media
/// references; then up to `limit` media older than `before` that no remaining message refers to
/// are marked deleted (at `now`) and returned for their bytes to be removed.
pub async fn prune_messages(
    pool: &PgPool,
    before: i64,
    now: i64,
    limit: u32,
) -> Result<PrunedMessages> {
    let mut tx = pool.begin().await.map_err(db)?;
    let doomed: Vec<i64> =
        sqlx::query("SELECT seq, created_at FROM messages ORDER BY pos LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .take_while(|row| row.get::<i64, _>("created_at") < before)
            .map(|row| row.get("seq"))
            .collect();
    for sql in [
        "DELETE FROM deliveries WHERE message_seq = ANY($1)",
        "DELETE FROM message_media WHERE message_seq = ANY($1)",
        "DELETE FROM messages WHERE seq = ANY($1)",
    ] {
        sqlx::query(sql)
            .bind(&doomed)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    // Candidates are locked first, skipping any a send holds; the update then reads the
    // references afresh, so a send that committed meanwhile keeps its medium.
    let candidates: Vec<String> = sqlx::query_scalar(
        "SELECT media_id FROM media AS m
          WHERE created_at < $1 AND deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM message_media AS r WHERE r.media_id = m.media_id)
          ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let media = sqlx::query(
        "UPDATE media AS m SET deleted_at = $1
          WHERE m.media_id = ANY($2)
            AND NOT EXISTS (SELECT 1 FROM message_media AS r WHERE r.media_id = m.media_id)
          RETURNING corp_id, media_id, object_key",
    )
    .bind(now)
    .bind(&candidates)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?
    .iter()
    .map(|row| PrunedMedia {
        corp_id: row.get("corp_id"),
        media_id: row.get("media_id"),
        object_key: row.get("object_key"),
    })
    .collect::<Vec<_>>();
    tx.commit().await.map_err(db)?;
    Ok(PrunedMessages {
        messages: doomed.len() as u64,
        done: doomed.len() < limit as usize && candidates.len() < limit as usize,
        media,
    })
}
