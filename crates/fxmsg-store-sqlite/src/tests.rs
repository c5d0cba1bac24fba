use std::sync::Arc;

use fxmsg_api::native::{Corp, Employee, EmployeeStatus, Event, EventKind};
use fxmsg_store::conformance::{fill, image, key, message, received, replayed, seed, Backend};
use fxmsg_store::{EventScope, InsertOutcome, MediaRecord, RevokeOutcome, Store, StoreError};
use serde_json::json;

use super::SqliteStore;

/// The Store contract's suite, each case on a store in a new directory.
mod conformance {
    use super::*;

    #[derive(Default)]
    struct Sqlite {
        dirs: std::sync::Mutex<Vec<tempfile::TempDir>>,
    }

    #[async_trait::async_trait(?Send)]
    impl Backend for Sqlite {
        async fn open(&self) -> Arc<dyn Store> {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("fxmsg.db"))
                .await
                .unwrap();
            self.dirs.lock().unwrap().push(dir);
            Arc::new(store)
        }
    }

    fxmsg_store::conformance_suite!(Sqlite::default());
}

/// A store in a new directory, seeded as the conformance suite seeds.
async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("fxmsg.db"))
        .await
        .unwrap();
    seed(&store).await;
    (dir, store)
}

/// A new database at `path` with only the first `migrations` migrations applied, as an older fxmsg
/// left it.
async fn database_at_migration(
    path: &std::path::Path,
    migrations: usize,
) -> sqlx::sqlite::SqliteConnection {
    use sqlx::ConnectOptions;
    let mut old = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .connect()
        .await
        .unwrap();
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.migrations = std::borrow::Cow::Owned(migrator.migrations[..migrations].to_vec());
    migrator.run(&mut old).await.unwrap();
    old
}

/// A database written by the schema before migration 3 opens with its messages, inbox rows and
/// revocations intact, and keeps working.
#[tokio::test]
async fn messages_written_before_the_send_path_migration_survive_it() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fxmsg.db");
    let mut old = database_at_migration(&path, 2).await;
    sqlx::raw_sql(
        "INSERT INTO corps VALUES ('C1', 'one', 'one', 0);
         INSERT INTO apps VALUES ('AC1', 'C1', 'a', 1, 's', 'p', 0);
         INSERT INTO employees VALUES ('U1', 'C1', '1000', 'e', 'active', 0);
         INSERT INTO employees VALUES ('U2', 'C1', '1001', 'e', 'active', 0);
         INSERT INTO messages (message_id, corp_id, app_id, service_id, msg_type, content, recipients,
                               invalid_users, raw_request, third_trace_id, trace_id, created_at, revoked_at)
              VALUES ('old1', 'C1', 'AC1', 'S1', 'text', '{\"content\":\"one\"}', '[\"U1\",\"U2\"]', '[]',
                      '{}', NULL, 't1', 10, 20),
                     ('old2', 'C1', 'AC1', 'S1', 'text', '{\"content\":\"two\"}', '[\"U1\"]', '[]',
                      '{}', NULL, 't2', 30, NULL);
         INSERT INTO deliveries VALUES (1, 'C1', 'U1', 10, 20), (1, 'C1', 'U2', 10, 20),
                                       (2, 'C1', 'U1', 30, NULL);",
    )
    .execute(&mut old)
    .await
    .unwrap();
    old.close().await.unwrap();

    let store = SqliteStore::open(&path).await.unwrap();
    let detail = store.message(Some("C1"), "old1").await.unwrap().unwrap();
    let states: Vec<_> = detail
        .deliveries
        .iter()
        .map(|d| (d.open_user_id.as_str(), d.state.as_str()))
        .collect();
    assert_eq!(states, [("U1", "revoked"), ("U2", "revoked")]);
    let (inbox, _) = store.inbox("C1", "U1", None, 10).await.unwrap();
    let ids: Vec<_> = inbox
        .iter()
        .map(|i| i.message.message_id.as_str())
        .collect();
    assert_eq!(ids, ["old2", "old1"]);
    // New messages continue the sequence, and revoking an old one reaches its inbox rows.
    store
        .insert_message(message("new", "C1", &["U1"], 40), None)
        .await
        .unwrap();
    assert_eq!(
        store.revoke_message("C1", "S1", "old2", 50).await.unwrap(),
        RevokeOutcome::Revoked
    );
    let (inbox, _) = store.inbox("C1", "U1", None, 10).await.unwrap();
    let listed: Vec<_> = inbox
        .iter()
        .map(|i| (i.message.message_id.as_str(), i.state.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("new", "delivered"),
            ("old2", "revoked"),
            ("old1", "revoked")
        ]
    );
}

/// Keys stored before migration 4 (hex body hash, the response as JSON) still replay after it, as
/// the message their response named.
#[tokio::test]
async fn idempotency_keys_written_before_migration_4_still_replay() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fxmsg.db");
    let mut old = database_at_migration(&path, 3).await;
    let hash = "07".repeat(32);
    sqlx::raw_sql(&format!(
        "INSERT INTO corps VALUES ('C1', 'one', 'one', 0);
         INSERT INTO apps VALUES ('AC1', 'C1', 'a', 1, 's', 'p', 0);
         INSERT INTO employees VALUES ('U1', 'C1', '1000', 'e', 'active', 0);
         INSERT INTO messages (message_id, corp_id, app_id, service_id, msg_type, content, recipients,
                               invalid_users, raw_request, third_trace_id, trace_id, created_at)
              VALUES ('old1', 'C1', 'AC1', NULL, 'text', '{{\"content\":\"one\"}}', '[\"U1\"]',
                      '[\"9999\"]', '{{}}', 'k', 'E-O.first', 10);
         INSERT INTO deliveries VALUES ('C1', 'U1', 1, 10, NULL);
         INSERT INTO idempotency_keys VALUES ('C1', 'AC1', 'k', '{hash}',
             '{{\"traceId\":\"E-O.first\",\"errorCode\":0,\"errorMessage\":\"success\",\"messageId\":\"old1\",\"invalidUsers\":[\"9999\"]}}', 10);"
    ))
    .execute(&mut old)
    .await
    .unwrap();
    old.close().await.unwrap();

    let store = SqliteStore::open(&path).await.unwrap();
    let mut retry = message("new", "C1", &["U1"], 20);
    retry.message.app_id = "AC1".into();
    let outcome = store
        .insert_message(retry.clone(), Some(key("k", 7)))
        .await
        .unwrap();
    assert_eq!(replayed(&outcome), Some(([7; 32], "old1")));
    let InsertOutcome::Replayed { message: first, .. } = outcome else {
        unreachable!()
    };
    assert_eq!(first.trace_id, "E-O.first");
    assert_eq!(first.invalid_users, ["9999"]);
    assert!(store.message(None, "new").await.unwrap().is_none());
    // Another key is a first send.
    assert_eq!(
        store
            .insert_message(retry, Some(key("k2", 7)))
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

/// A pruning step looks only at expired keys, through the age index: its cost follows the keys
/// it deletes, not the size of the table.
#[tokio::test]
async fn pruning_never_scans_the_key_table() {
    let (dir, _store) = store().await;
    let db = rusqlite::Connection::open(dir.path().join("fxmsg.db")).unwrap();
    let mut plan = db
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            crate::messages::PRUNE_KEYS
        ))
        .unwrap();
    let steps: Vec<String> = plan
        .query_map([0, 10], |r| r.get(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        steps.iter().any(|s| s.contains("idempotency_keys_by_age")),
        "{steps:?}"
    );
    assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
}

/// Runs `sql` on the database at `path` behind the store's back, with foreign keys off: damage
/// that only another program, or a bug, could have done.
async fn tamper(path: &std::path::Path, sql: &str) {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// Migrations rebuild tables with foreign keys off; the check afterwards refuses to open a
/// database that holds a dangling reference instead of serving it.
#[tokio::test]
async fn a_database_with_a_dangling_reference_is_refused_after_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fxmsg.db");
    drop(SqliteStore::open(&path).await.unwrap());
    tamper(
        &path,
        "INSERT INTO apps VALUES ('A9', 'no-such-corp', 'a', 1, 's', 'p', 0)",
    )
    .await;
    match SqliteStore::open(&path).await {
        Err(StoreError::Backend(e)) => assert!(e.contains("dangling foreign key"), "{e}"),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a database with a dangling reference was opened"),
    }
}

/// A stored JSON column that does not decode is an error naming the column, not an empty value
/// served as if it were the message.
#[tokio::test]
async fn a_message_whose_stored_json_is_damaged_is_reported() {
    let (dir, store) = store().await;
    store
        .insert_message(message("m1", "C1", &["UC10"], 1), None)
        .await
        .unwrap();
    tamper(
        &dir.path().join("fxmsg.db"),
        "UPDATE messages SET content = '{\"content\":' WHERE message_id = 'm1'",
    )
    .await;
    for outcome in [
        store.message(Some("C1"), "m1").await.map(drop),
        store.inbox("C1", "UC10", None, 10).await.map(drop),
    ] {
        match outcome {
            Err(StoreError::Backend(e)) => assert!(e.contains("messages.content"), "{e}"),
            other => panic!("damaged JSON was served: {other:?}"),
        }
    }
}

/// Writes that log an event and then fail, in the same group commits as sends: their events are
/// neither stored nor published, and the numbers they had taken are given to the next events.
#[tokio::test]
async fn an_event_logged_by_a_write_that_then_fails_leaves_no_trace_and_no_gap() {
    let (_dir, store) = store().await;
    store
        .insert_message(message("first", "C1", &["UC10"], 1), None)
        .await
        .unwrap();
    let first = store.message(Some("C1"), "first").await.unwrap().unwrap();
    let mut live = store.subscribe();
    let writes = (0..40).map(|i| {
        let store = store.clone();
        let template = first.message.clone();
        tokio::spawn(async move {
            if i % 2 == 0 {
                store
                    .write(move |db| {
                        db.log_event(EventKind::Read, &template, 1, Some("UC10"), 2)?;
                        Err::<(), _>(StoreError::Conflict("fails after logging".into()))
                    })
                    .await
                    .map(|_| false)
            } else {
                store
                    .insert_message(message(&format!("m{i}"), "C1", &["UC10"], 2), None)
                    .await
                    .map(|_| true)
            }
        })
    });
    let results = futures_util::future::join_all(writes).await;
    let sent = results
        .iter()
        .filter(|r| matches!(r.as_ref().unwrap(), Ok(true)))
        .count();
    assert_eq!(sent, 20);
    let published: Vec<(i64, EventKind)> = received(&mut live, 20, |e| e.seq > 1)
        .await
        .iter()
        .map(|e| (e.seq, e.kind))
        .collect();
    let expected: Vec<(i64, EventKind)> = (2..=21).map(|n| (n, EventKind::Message)).collect();
    assert_eq!(published, expected);
    let stored: Vec<(i64, EventKind)> = store
        .events_after(&EventScope::Corp("C1".into()), 1, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.seq, e.kind))
        .collect();
    assert_eq!(stored, expected);
}

/// An event logged while no stream listens is not copied; a stream that subscribes before the
/// commit still receives it, built from the log after the commit.
#[tokio::test]
async fn a_stream_that_subscribes_during_the_transaction_still_gets_the_event() {
    let (_dir, store) = store().await;
    let subscribed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (slot, subscriber) = (subscribed.clone(), store.clone());
    let mut m = message("late", "C1", &["UC10"], 7);
    m.message.content = json!({"content": "built from the log"});
    store
        .write(move |db| {
            let outcome = crate::messages::insert(db, &m, None, 999)?;
            // Subscribes after the event was logged (unbuilt), before the commit.
            *slot.lock().unwrap() = Some(subscriber.subscribe());
            Ok(outcome)
        })
        .await
        .unwrap();
    let mut live = subscribed.lock().unwrap().take().unwrap();
    let event = received(&mut live, 1, |_| true).await.remove(0);
    assert_eq!((event.seq, event.kind), (1, EventKind::Message));
    assert_eq!(event.message.content["content"], "built from the log");
    assert_eq!(event.message.revoked_at, None);
    let stored = store.events_after(&EventScope::All, 0, 10).await.unwrap();
    assert_eq!(stored[0], Event::clone(&event));
}

/// Rows of each table that mention `corp` (through its apps for idempotency keys).
fn rows_of(dir: &tempfile::TempDir, corp: &str) -> Vec<(&'static str, i64)> {
    let db = rusqlite::Connection::open(dir.path().join("fxmsg.db")).unwrap();
    [
        ("corps", "SELECT count(*) FROM corps WHERE corp_id = ?1"),
        ("apps", "SELECT count(*) FROM apps WHERE corp_id = ?1"),
        (
            "employees",
            "SELECT count(*) FROM employees WHERE corp_id = ?1",
        ),
        (
            "service_accounts",
            "SELECT count(*) FROM service_accounts WHERE corp_id = ?1",
        ),
        ("tokens", "SELECT count(*) FROM tokens WHERE corp_id = ?1"),
        (
            "messages",
            "SELECT count(*) FROM messages WHERE corp_id = ?1",
        ),
        (
            "deliveries",
            "SELECT count(*) FROM deliveries WHERE corp_id = ?1",
        ),
        ("events", "SELECT count(*) FROM events WHERE corp_id = ?1"),
        (
            "idempotency_keys",
            "SELECT count(*) FROM idempotency_keys WHERE app_id = 'A' || ?1",
        ),
        ("media", "SELECT count(*) FROM media WHERE corp_id = ?1"),
        (
            "employee_credentials",
            "SELECT count(*) FROM employee_credentials WHERE corp_id = ?1",
        ),
        (
            "event_watermarks",
            "SELECT count(*) FROM event_watermarks WHERE corp_id = ?1",
        ),
    ]
    .into_iter()
    .map(|(table, sql)| (table, db.query_row(sql, [corp], |r| r.get(0)).unwrap()))
    .collect()
}

/// What the suite checks through the API, checked in the tables: a deleted corp leaves no row
/// in any of them, and the other corp's rows are untouched.
#[tokio::test]
async fn deleting_a_corp_leaves_no_row_of_it_and_touches_no_other() {
    let (dir, store) = store().await;
    fill(&store, "C1").await;
    fill(&store, "C2").await;
    let before = rows_of(&dir, "C2");
    store.delete_corp("C1").await.unwrap();
    for (table, rows) in rows_of(&dir, "C1") {
        assert_eq!(rows, 0, "{table} still holds rows of the deleted corp");
    }
    assert_eq!(rows_of(&dir, "C2"), before, "the other corp is untouched");
}

/// A tenant refused for a taken ea leaves no row in any table.
#[tokio::test]
async fn a_refused_tenant_leaves_no_row() {
    let (dir, store) = store().await;
    let tenant = fxmsg_store::Tenant {
        corp: Corp {
            corp_id: "T2".into(),
            ea: "one".into(),
            name: "t".into(),
            created_at: 0,
            sandbox: true,
        },
        apps: vec![],
        service_accounts: vec![],
        departments: vec![],
        employees: vec![Employee {
            open_user_id: "UT2".into(),
            user_id: "1000".into(),
            corp_id: "T2".into(),
            name: "e".into(),
            status: EmployeeStatus::Active,
            ..Employee::default()
        }],
    };
    let taken = store.create_tenant(&tenant).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert!(rows_of(&dir, "T2").iter().all(|(_, rows)| *rows == 0));
}

/// After a reset no row of the corp's messages is left, and after a restart, with no event of
/// the corp left to count from, the numbering still goes on after the deleted events.
#[tokio::test]
async fn after_a_reset_and_a_restart_numbering_goes_on_after_the_deleted_events() {
    let (dir, store) = store().await;
    fill(&store, "C1").await;
    fill(&store, "C2").await;
    assert_eq!(store.delete_messages(Some("C1")).await.unwrap(), 1);
    let counts: std::collections::HashMap<_, _> = rows_of(&dir, "C1").into_iter().collect();
    for table in ["messages", "deliveries", "events", "idempotency_keys"] {
        assert_eq!(counts[table], 0, "{table}");
    }
    assert_eq!(
        (counts["corps"], counts["employees"], counts["media"]),
        (1, 3, 1)
    );
    store.close().await.unwrap();
    let store = SqliteStore::open(&dir.path().join("fxmsg.db"))
        .await
        .unwrap();
    store
        .insert_message(message("again", "C1", &["UC10"], 3), None)
        .await
        .unwrap();
    let scope = EventScope::Corp("C1".into());
    assert_eq!(store.event_log(&scope).await.unwrap().head, 3);
    assert_eq!(store.event_log(&EventScope::All).await.unwrap().head, 5);
}

#[tokio::test]
async fn a_snapshot_lists_its_live_media_and_can_forget_what_was_deleted_meanwhile() {
    let (dir, store) = store().await;
    store.insert_media(&image("a", "C1"), None).await.unwrap();
    store
        .insert_media(
            &MediaRecord {
                object_key: "kb".into(),
                ..image("b", "C1")
            },
            None,
        )
        .await
        .unwrap();
    store.delete_media("C1", "a", 1).await.unwrap();
    let copy = dir.path().join("copy.db");
    let keys = crate::backup::snapshot(&dir.path().join("fxmsg.db"), &copy)
        .await
        .unwrap();
    assert_eq!(keys, ["kb"]);
    // Deleted on the live side before its bytes were copied: forgotten in the copy.
    crate::backup::forget_media(&copy, vec!["kb".into()], 2)
        .await
        .unwrap();
    let restored = SqliteStore::open(&copy).await.unwrap();
    assert!(restored.media("C1", "b").await.unwrap().is_none());
    assert!(store.media("C1", "b").await.unwrap().is_some());
    // A snapshot never overwrites a file.
    assert!(crate::backup::snapshot(&dir.path().join("fxmsg.db"), &copy)
        .await
        .is_err());
}
