use fxmsg_api::native::{App, Corp, Employee, EmployeeStatus, Event, EventKind, Message};
use fxmsg_store::{
    AppRecord, Cursor, EventScope, IdempotencyKey, InsertOutcome, LogState, MediaKind, MediaRecord,
    MessageFilter, NewMessage, ReadOutcome, RevokeOutcome, Store, StoreError,
};
use serde_json::json;

use super::SqliteStore;

/// The next `n` live events that pass `wanted`, failing the test after ten seconds.
async fn received(
    live: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<fxmsg_store::LiveEvent>>,
    n: usize,
    wanted: impl Fn(&fxmsg_store::LiveEvent) -> bool,
) -> Vec<std::sync::Arc<fxmsg_store::LiveEvent>> {
    let mut events = Vec::new();
    while events.len() < n {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), live.recv())
            .await
            .expect("an event in time")
            .expect("the channel is open");
        if wanted(&event) {
            events.push(event);
        }
    }
    events
}

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("fxmsg.db"))
        .await
        .unwrap();
    for (corp, ea) in [("C1", "one"), ("C2", "two")] {
        store
            .create_corp(&Corp {
                corp_id: corp.into(),
                ea: ea.into(),
                name: ea.into(),
                created_at: 0,
                sandbox: false,
            })
            .await
            .unwrap();
        let app = App {
            app_id: format!("A{corp}"),
            corp_id: corp.into(),
            name: "a".into(),
            enabled: true,
            created_at: 0,
        };
        store
            .create_app(&AppRecord {
                app,
                secret_hash: "s".into(),
                permanent_code_hash: "p".into(),
            })
            .await
            .unwrap();
        for n in 0..3 {
            let e = Employee {
                open_user_id: format!("U{corp}{n}"),
                user_id: format!("{}", 1000 + n),
                corp_id: corp.into(),
                name: "e".into(),
                status: EmployeeStatus::Active,
                department_ids: vec![0],
                ..Employee::default()
            };
            store.create_employee(&e).await.unwrap();
        }
    }
    (dir, store)
}

fn message(id: &str, corp: &str, recipients: &[&str], at: i64) -> NewMessage {
    NewMessage {
        message: Message {
            message_id: id.into(),
            corp_id: corp.into(),
            app_id: format!("A{corp}"),
            service_id: None,
            msg_type: "text".into(),
            content: json!({"content": "hi"}),
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            invalid_users: vec![],
            third_trace_id: None,
            trace_id: "t".into(),
            created_at: at,
            revoked_at: None,
        },
        raw_request: json!({"msgType": "text"}).to_string(),
        media_ids: vec![],
    }
}

#[tokio::test]
async fn a_message_and_all_its_inbox_rows_commit_together() {
    let (_dir, store) = store().await;
    let users: Vec<String> = (0..600).map(|i| format!("X{i}")).collect();
    let mut m = message("m1", "C1", &[], 1);
    m.message.recipients = users.clone();
    assert_eq!(
        store.insert_message(m, None).await.unwrap(),
        InsertOutcome::Inserted
    );
    let detail = store.message(Some("C1"), "m1").await.unwrap().unwrap();
    assert_eq!(detail.deliveries.len(), 600);
    assert!(
        store.message(Some("C2"), "m1").await.unwrap().is_none(),
        "foreign corp sees nothing"
    );
}

#[tokio::test]
async fn a_repeated_idempotency_key_replays_and_writes_nothing() {
    let (_dir, store) = store().await;
    let key = IdempotencyKey {
        key: "k".into(),
        body_hash: [1; 32],
        not_before: 0,
    };
    store
        .insert_message(message("m1", "C1", &["UC10"], 10), Some(key.clone()))
        .await
        .unwrap();
    let again = store
        .insert_message(message("m2", "C1", &["UC10"], 20), Some(key.clone()))
        .await
        .unwrap();
    assert_eq!(replayed(&again), Some(([1; 32], "m1")));
    let InsertOutcome::Replayed { message: first, .. } = again else {
        unreachable!()
    };
    assert_eq!(first.recipients, ["UC10"]);
    assert_eq!((first.trace_id.as_str(), first.created_at), ("t", 10));
    assert!(store.message(None, "m2").await.unwrap().is_none());
    // The same key in another corp is a different key.
    let other = store
        .insert_message(message("m3", "C2", &["UC20"], 20), Some(key.clone()))
        .await
        .unwrap();
    assert_eq!(other, InsertOutcome::Inserted);
    // Past its window the key is replaced.
    let late = IdempotencyKey {
        not_before: 11,
        ..key
    };
    assert_eq!(
        store
            .insert_message(message("m4", "C1", &["UC10"], 30), Some(late.clone()))
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

#[tokio::test]
async fn a_send_with_missing_media_writes_nothing() {
    let (_dir, store) = store().await;
    let media = MediaRecord {
        media_id: "img".into(),
        corp_id: "C2".into(),
        app_id: "AC2".into(),
        kind: MediaKind::Image,
        content_type: "image/png".into(),
        file_name: "a.png".into(),
        size: 1,
        object_key: "k".into(),
        created_at: 0,
    };
    store.insert_media(&media, None).await.unwrap();
    let mut m = message("m1", "C1", &["UC10"], 1);
    m.media_ids = vec!["img".into()];
    assert_eq!(
        store.insert_message(m, None).await.unwrap(),
        InsertOutcome::MissingMedia("img".into())
    );
    assert!(store.message(None, "m1").await.unwrap().is_none());
    assert!(
        store.delete_media("C1", "img", 5).await.unwrap().is_none(),
        "foreign corp cannot delete"
    );
    assert!(store.delete_media("C2", "img", 5).await.unwrap().is_some());
    assert!(store.media("C2", "img").await.unwrap().is_none());
}

#[tokio::test]
async fn revoke_is_scoped_by_corp_and_repeatable() {
    let (_dir, store) = store().await;
    store
        .insert_message(message("m1", "C1", &["UC10", "UC11"], 1), None)
        .await
        .unwrap();
    assert_eq!(
        store.revoke_message("C2", "S", "m1", 5).await.unwrap(),
        RevokeOutcome::NotFound
    );
    assert_eq!(
        store.revoke_message("C1", "S", "m1", 5).await.unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        store.revoke_message("C1", "S", "m1", 6).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let detail = store.message(Some("C1"), "m1").await.unwrap().unwrap();
    assert!(detail
        .deliveries
        .iter()
        .all(|d| d.state == "revoked" && d.revoked_at == Some(5)));
}

#[tokio::test]
async fn listings_page_newest_first_with_a_cursor() {
    let (_dir, store) = store().await;
    for i in 0..5 {
        store
            .insert_message(message(&format!("m{i}"), "C1", &["UC10"], i), None)
            .await
            .unwrap();
    }
    let filter = MessageFilter {
        corp_id: Some("C1".into()),
        ..Default::default()
    };
    let (first, next) = store.list_messages(&filter, None, 2).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|m| m.message_id.as_str())
            .collect::<Vec<_>>(),
        ["m4", "m3"]
    );
    let (rest, end) = store.list_messages(&filter, next, 10).await.unwrap();
    assert_eq!(rest.len(), 3);
    assert_eq!(end, None);
    let (inbox, _) = store
        .inbox("C1", "UC10", Some(Cursor(3)), 10)
        .await
        .unwrap();
    assert_eq!(
        inbox
            .iter()
            .map(|m| m.message.message_id.as_str())
            .collect::<Vec<_>>(),
        ["m1", "m0"]
    );
}

#[tokio::test]
async fn recipients_resolve_by_either_id_and_only_when_active() {
    let (_dir, store) = store().await;
    let mut stopped = store.employee("C1", "UC12").await.unwrap().unwrap();
    stopped.status = EmployeeStatus::Stopped;
    store.write_directory("C1", &[], &[stopped]).await.unwrap();
    let ids = ["UC10", "1001", "UC12", "UC20", "nobody"].map(String::from);
    let resolved = store.resolve_recipients("C1", &ids).await.unwrap();
    assert_eq!(
        resolved,
        [Some("UC10".into()), Some("UC11".into()), None, None, None]
    );
}

#[tokio::test]
async fn unique_and_parent_violations_are_typed() {
    let (_dir, store) = store().await;
    let dup = Corp {
        corp_id: "C9".into(),
        ea: "one".into(),
        name: "x".into(),
        created_at: 0,
        sandbox: false,
    };
    assert!(matches!(
        store.create_corp(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = App {
        app_id: "A9".into(),
        corp_id: "nope".into(),
        name: "a".into(),
        enabled: true,
        created_at: 0,
    };
    let record = AppRecord {
        app: orphan,
        secret_hash: "s".into(),
        permanent_code_hash: "p".into(),
    };
    assert!(matches!(
        store.create_app(&record).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_failing_write_in_a_group_commit_does_not_undo_its_neighbours() {
    let (_dir, store) = store().await;
    // Fired together, these land in shared transactions; every third reuses a taken ea.
    let writes = (0..60).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let ea = if i % 3 == 0 {
                "one".to_owned()
            } else {
                format!("corp{i}")
            };
            let corp = Corp {
                corp_id: format!("G{i}"),
                ea,
                name: "g".into(),
                created_at: 0,
                sandbox: false,
            };
            store.create_corp(&corp).await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(writes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (i, result) in results.iter().enumerate() {
        let exists = store.corp(&format!("G{i}")).await.unwrap().is_some();
        if i % 3 == 0 {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "{i}: {result:?}"
            );
            assert!(!exists);
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
            assert!(exists);
        }
    }
}

fn image(id: &str, corp: &str) -> MediaRecord {
    MediaRecord {
        media_id: id.into(),
        corp_id: corp.into(),
        app_id: format!("A{corp}"),
        kind: MediaKind::Image,
        content_type: "image/png".into(),
        file_name: "a.png".into(),
        size: 1,
        object_key: "k".into(),
        created_at: 0,
    }
}

fn key(name: &str, hash: u8) -> IdempotencyKey {
    IdempotencyKey {
        key: name.into(),
        body_hash: [hash; 32],
        not_before: 0,
    }
}

/// A replay's body hash and the id of the message it answers with.
fn replayed(outcome: &InsertOutcome) -> Option<([u8; 32], &str)> {
    match outcome {
        InsertOutcome::Replayed { body_hash, message } => {
            Some((*body_hash, message.message_id.as_str()))
        }
        _ => None,
    }
}

#[tokio::test]
async fn a_send_refused_for_missing_media_does_not_claim_its_key() {
    let (_dir, store) = store().await;
    let mut m = message("m1", "C1", &["UC10"], 1);
    m.media_ids = vec!["img".into()];
    assert_eq!(
        store
            .insert_message(m.clone(), Some(key("k", 7)))
            .await
            .unwrap(),
        InsertOutcome::MissingMedia("img".into())
    );
    // The integrator uploads the cover and retries with the same key: it is a first send.
    store.insert_media(&image("img", "C1"), None).await.unwrap();
    assert_eq!(
        store.insert_message(m, Some(key("k", 7))).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert!(store.message(None, "m1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_retry_is_answered_as_before_after_its_cover_was_deleted() {
    let (_dir, store) = store().await;
    store.insert_media(&image("img", "C1"), None).await.unwrap();
    let mut m = message("m1", "C1", &["UC10"], 1);
    m.media_ids = vec!["img".into()];
    assert_eq!(
        store
            .insert_message(m.clone(), Some(key("k", 7)))
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    store.delete_media("C1", "img", 2).await.unwrap().unwrap();
    m.message.message_id = "m2".into();
    let retried = store.insert_message(m, Some(key("k", 7))).await.unwrap();
    assert_eq!(replayed(&retried), Some(([7; 32], "m1")));
    assert!(store.message(None, "m2").await.unwrap().is_none());
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

#[tokio::test]
async fn pruning_removes_expired_keys_oldest_first_in_chunks() {
    let (_dir, store) = store().await;
    // Created at 50, 40, 30, 20, 10: the keys' age is not their order in the key table.
    for n in 0..5 {
        let m = message(&format!("m{n}"), "C1", &["UC10"], 10 * (5 - n));
        let outcome = store
            .insert_message(m, Some(key(&format!("k{n}"), 7)))
            .await
            .unwrap();
        assert_eq!(outcome, InsertOutcome::Inserted);
    }
    // k4, k3 and k2 (created at 10, 20, 30) have expired; k1 and k0 (40, 50) have not.
    let before = 35;
    assert_eq!(
        store.prune_idempotency_keys(before, 2).await.unwrap(),
        (2, false)
    );
    // The oldest went first: k2 is still there.
    assert!(matches!(
        store
            .insert_message(message("again", "C1", &["UC10"], 60), Some(key("k2", 7)))
            .await
            .unwrap(),
        InsertOutcome::Replayed { .. }
    ));
    assert_eq!(
        store.prune_idempotency_keys(before, 2).await.unwrap(),
        (1, true)
    );
    assert_eq!(
        store.prune_idempotency_keys(before, 10).await.unwrap(),
        (0, true)
    );
    // Live keys still replay; a pruned one is free for a new message.
    let retry = message("again", "C1", &["UC10"], 60);
    assert!(matches!(
        store
            .insert_message(retry.clone(), Some(key("k0", 7)))
            .await
            .unwrap(),
        InsertOutcome::Replayed { .. }
    ));
    assert_eq!(
        store
            .insert_message(retry, Some(key("k4", 7)))
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

/// Sends fired together, a third of them failing inside shared transactions (a message id that
/// is taken): the committed ones are numbered 1.. per corp and across corps without a gap, the
/// live stream carries exactly those in that order, and the stored log reads back the same.
#[tokio::test]
async fn events_are_numbered_in_commit_order_without_gaps_and_published_after_commit() {
    let (_dir, store) = store().await;
    store
        .insert_message(message("taken", "C2", &["UC20"], 1), None)
        .await
        .unwrap();
    let mut live = store.subscribe();
    let sends = (0..60).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let (id, corp) = match i % 3 {
                0 => ("taken".to_owned(), "C1"),
                1 => (format!("m{i}"), "C1"),
                _ => (format!("m{i}"), "C2"),
            };
            store
                .insert_message(message(&id, corp, &[&format!("U{corp}0")], 2), None)
                .await
        })
    });
    let results = futures_util::future::join_all(sends).await;
    let failed = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_err())
        .count();
    assert_eq!(failed, 20);
    // The first send's event may still come through: callers are answered before the streams.
    let seen = received(&mut live, 40, |e| e.global_seq > 1).await;
    let globals: Vec<i64> = seen.iter().map(|e| e.global_seq).collect();
    assert_eq!(
        globals,
        (2..=41).collect::<Vec<_>>(),
        "one event before, then 40"
    );
    for (corp, first) in [("C1", 1), ("C2", 2)] {
        let seqs: Vec<i64> = seen
            .iter()
            .filter(|e| e.corp_id == corp)
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (first..first + 20).collect::<Vec<_>>(), "{corp}");
    }
    let stored = store.events_after(&EventScope::All, 1, 100).await.unwrap();
    let live: Vec<Event> = seen.iter().map(|e| Event::clone(e)).collect();
    assert_eq!(stored, live);
    let log = store
        .event_log(&EventScope::Corp("C2".into()))
        .await
        .unwrap();
    assert_eq!(
        log,
        LogState {
            head: 21,
            pruned_through: 0
        }
    );
}

/// An employee's scope holds their messages, those messages' revokes and only their own reads;
/// a read is logged once, and is refused for a message the employee did not receive.
#[tokio::test]
async fn revokes_and_reads_are_logged_and_scoped_to_the_recipients() {
    let (_dir, store) = store().await;
    store
        .insert_message(message("both", "C1", &["UC10", "UC11"], 1), None)
        .await
        .unwrap();
    store
        .insert_message(message("other", "C1", &["UC11"], 2), None)
        .await
        .unwrap();
    store
        .insert_message(message("foreign", "C2", &["UC20"], 3), None)
        .await
        .unwrap();
    let mut m = message("svc", "C1", &["UC10"], 4);
    m.message.service_id = Some("S".into());
    store.insert_message(m, None).await.unwrap();
    assert_eq!(
        store.mark_read("C1", "UC10", "both", 5).await.unwrap(),
        ReadOutcome::Read(5)
    );
    assert_eq!(
        store.mark_read("C1", "UC10", "both", 6).await.unwrap(),
        ReadOutcome::AlreadyRead(5)
    );
    assert_eq!(
        store.mark_read("C1", "UC11", "both", 7).await.unwrap(),
        ReadOutcome::Read(7)
    );
    for (user, id) in [("UC10", "other"), ("UC10", "foreign"), ("UC10", "missing")] {
        assert_eq!(
            store.mark_read("C1", user, id, 8).await.unwrap(),
            ReadOutcome::NotFound,
            "{user} {id}"
        );
    }
    assert_eq!(
        store.revoke_message("C1", "S", "svc", 9).await.unwrap(),
        RevokeOutcome::Revoked
    );
    let scope = EventScope::Employee {
        corp_id: "C1".into(),
        open_user_id: "UC10".into(),
    };
    let mine = store.events_after(&scope, 0, 100).await.unwrap();
    let seen: Vec<(i64, EventKind, &str)> = mine
        .iter()
        .map(|e| (e.seq, e.kind, e.message_id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, EventKind::Message, "both"),
            (3, EventKind::Message, "svc"),
            (4, EventKind::Read, "both"),
            (6, EventKind::Revoke, "svc"),
        ]
    );
    // A replayed `message` event shows the message as sent; the revoke shows it revoked.
    assert_eq!(mine[1].message.revoked_at, None);
    assert_eq!(mine[3].message.revoked_at, Some(9));
    assert!(mine.iter().all(|e| scope.admits(e)));
    let all = store.events_after(&EventScope::All, 0, 100).await.unwrap();
    assert_eq!(all.iter().filter(|e| scope.admits(e)).count(), 4);
    let detail = store.message(Some("C1"), "both").await.unwrap().unwrap();
    let states: Vec<(&str, Option<i64>)> = detail
        .deliveries
        .iter()
        .map(|d| (d.state.as_str(), d.read_at))
        .collect();
    assert_eq!(states, [("read", Some(5)), ("read", Some(7))]);
}

/// Pruning deletes old events oldest first in steps, keeps each corp's newest so numbering
/// goes on from it, and raises the watermarks a resuming reader is checked against.
#[tokio::test]
async fn pruning_events_keeps_each_corps_newest_and_records_how_far_it_went() {
    // C2's only event last, then first: at the front of the log it is stepped over, not a wall.
    for c2_first in [false, true] {
        let (_dir, store) = store().await;
        let c2 = || message("b0", "C2", &["UC20"], 12);
        if c2_first {
            store.insert_message(c2(), None).await.unwrap();
        }
        for i in 0..5 {
            store
                .insert_message(message(&format!("a{i}"), "C1", &["UC10"], 10 + i), None)
                .await
                .unwrap();
        }
        if !c2_first {
            store.insert_message(c2(), None).await.unwrap();
        }
        let shift = i64::from(c2_first);
        // Younger than the cut-off: kept.
        assert_eq!(store.prune_events(10, 10).await.unwrap(), (0, true));
        assert_eq!(store.prune_events(100, 2).await.unwrap(), (2, false));
        assert_eq!(store.prune_events(100, 2).await.unwrap(), (2, false));
        assert_eq!(store.prune_events(100, 2).await.unwrap(), (0, true));
        let log = |corp: &str| {
            let (store, scope) = (store.clone(), EventScope::Corp(corp.into()));
            async move { store.event_log(&scope).await.unwrap() }
        };
        let at = |head, pruned_through| LogState {
            head,
            pruned_through,
        };
        assert_eq!(log("C1").await, at(5, 4), "c2 first: {c2_first}");
        assert_eq!(log("C2").await, at(1, 0), "c2 first: {c2_first}");
        // a0-a3 went; a4 and b0 are their corps' newest.
        let all = store.event_log(&EventScope::All).await.unwrap();
        assert_eq!(all, at(6, 4 + shift), "c2 first: {c2_first}");
        store
            .insert_message(message("a5", "C1", &["UC10"], 200), None)
            .await
            .unwrap();
        let next = store
            .events_after(&EventScope::Corp("C1".into()), 4, 10)
            .await
            .unwrap();
        let seqs: Vec<(i64, i64)> = next.iter().map(|e| (e.seq, e.global_seq)).collect();
        assert_eq!(seqs, [(5, 5 + shift), (6, 7)], "c2 first: {c2_first}");
    }
}

#[tokio::test]
async fn messages_after_a_position_match_text_in_any_content_string_but_not_keys() {
    let (_dir, store) = store().await;
    let mut card = message("card", "C1", &["UC10"], 1);
    card.message.msg_type = "composite".into();
    card.message.content =
        json!({"head": {"title": "Daily"}, "form": [{"label": "Sales", "value": "42"}]});
    store.insert_message(card, None).await.unwrap();
    store
        .insert_message(message("hi", "C1", &["UC11"], 2), None)
        .await
        .unwrap();
    let find = |text: &str, after: i64| {
        let filter = MessageFilter {
            corp_id: Some("C1".into()),
            text: Some(text.into()),
            ..Default::default()
        };
        let store = store.clone();
        async move {
            store
                .messages_after(&filter, after, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, m)| m.message_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("42", 0).await, ["card"]);
    assert_eq!(find("Dai", 0).await, ["card"]);
    assert_eq!(find("hi", 0).await, ["hi"]);
    assert!(find("title", 0).await.is_empty(), "keys are not content");
    assert!(find("42", 1).await.is_empty(), "after the card's position");
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

/// `MessageFilter::matches`, which the wait API applies to live events, agrees with the SQL the
/// listing and the wait run, filter by filter.
#[tokio::test]
async fn a_filter_matches_live_messages_as_the_query_finds_stored_ones() {
    let (_dir, store) = store().await;
    let mut card = message("card", "C1", &["UC10", "UC11"], 10);
    card.message.msg_type = "composite".into();
    card.message.content =
        json!({"head": {"title": "Daily 512"}, "form": [{"label": "Sales", "value": "42"}]});
    store.insert_message(card, None).await.unwrap();
    let mut revoked = message("gone", "C1", &["UC11"], 20);
    revoked.message.service_id = Some("S".into());
    store.insert_message(revoked, None).await.unwrap();
    store.revoke_message("C1", "S", "gone", 21).await.unwrap();
    store
        .insert_message(message("other", "C2", &["UC20"], 30), None)
        .await
        .unwrap();
    let all: Vec<Message> = store
        .messages_after(&MessageFilter::default(), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(all.len(), 3);
    let some = |s: &str| Some(s.to_owned());
    let filters = [
        MessageFilter::default(),
        MessageFilter {
            corp_id: some("C1"),
            ..Default::default()
        },
        MessageFilter {
            app_id: some("AC2"),
            ..Default::default()
        },
        MessageFilter {
            recipient: some("UC11"),
            ..Default::default()
        },
        MessageFilter {
            service_id: some("S"),
            ..Default::default()
        },
        MessageFilter {
            msg_type: some("composite"),
            ..Default::default()
        },
        MessageFilter {
            since: Some(20),
            ..Default::default()
        },
        MessageFilter {
            until: Some(20),
            ..Default::default()
        },
        MessageFilter {
            revoked: Some(true),
            ..Default::default()
        },
        MessageFilter {
            revoked: Some(false),
            ..Default::default()
        },
        MessageFilter {
            text: some("512"),
            ..Default::default()
        },
        MessageFilter {
            text: some("title"),
            ..Default::default()
        },
        MessageFilter {
            corp_id: some("C1"),
            recipient: some("UC10"),
            text: some("42"),
            ..Default::default()
        },
    ];
    for filter in filters {
        let stored: Vec<String> = store
            .messages_after(&filter, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, m)| m.message_id)
            .collect();
        let live: Vec<String> = all
            .iter()
            .filter(|m| filter.matches(m))
            .map(|m| m.message_id.clone())
            .collect();
        assert_eq!(stored, live, "{filter:?}");
    }
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

/// Fills corp `corp` with one of everything a corp can hold.
async fn fill(store: &SqliteStore, corp: &str) {
    let key = IdempotencyKey {
        key: format!("k{corp}"),
        body_hash: [1; 32],
        not_before: 0,
    };
    let recipients = [format!("U{corp}0"), format!("U{corp}1")];
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    store
        .insert_message(
            message(&format!("m{corp}"), corp, &recipients, 1),
            Some(key),
        )
        .await
        .unwrap();
    store
        .mark_read(corp, recipients[0], &format!("m{corp}"), 2)
        .await
        .unwrap();
    store
        .insert_token(&fxmsg_store::TokenRecord {
            kind: fxmsg_store::TokenKind::Corp,
            nonce: "n".into(),
            token_hash: format!("t{corp}"),
            app_id: format!("A{corp}"),
            corp_id: corp.into(),
            issued_at: 0,
            expires_at: i64::MAX,
        })
        .await
        .unwrap();
    let mut media = image(&format!("i{corp}"), corp);
    media.object_key = format!("media/{corp}");
    store.insert_media(&media, None).await.unwrap();
    let credential = fxmsg_api::native::Credential {
        credential_id: format!("c{corp}"),
        kind: fxmsg_api::native::CredentialKind::Token,
        corp_id: corp.into(),
        open_user_id: recipients[0].into(),
        created_at: 0,
        expires_at: None,
        revoked_at: None,
    };
    store
        .insert_credential(&credential, &format!("h{corp}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_corp_leaves_no_row_of_it_and_touches_no_other() {
    let (dir, store) = store().await;
    fill(&store, "C1").await;
    fill(&store, "C2").await;
    // Cached before the delete: the corp, its app, its token, its media.
    assert!(store.corp("C1").await.unwrap().is_some());
    assert!(store.app("AC1").await.unwrap().is_some());
    assert!(store
        .live_token(fxmsg_store::TokenKind::Corp, "tC1", 0)
        .await
        .unwrap()
        .is_some());
    assert!(store.media("C1", "iC1").await.unwrap().is_some());
    let before = rows_of(&dir, "C2");

    let keys = store.delete_corp("C1").await.unwrap();
    assert_eq!(keys, Some(vec!["media/C1".to_owned()]));
    for (table, rows) in rows_of(&dir, "C1") {
        assert_eq!(rows, 0, "{table} still holds rows of the deleted corp");
    }
    assert_eq!(rows_of(&dir, "C2"), before, "the other corp is untouched");
    // Nothing of it is served from a cache either.
    assert!(store.corp("C1").await.unwrap().is_none());
    assert!(store.app("AC1").await.unwrap().is_none());
    assert!(store
        .live_token(fxmsg_store::TokenKind::Corp, "tC1", 0)
        .await
        .unwrap()
        .is_none());
    assert!(store.media("C1", "iC1").await.unwrap().is_none());
    assert_eq!(store.delete_corp("C1").await.unwrap(), None);
}

#[tokio::test]
async fn a_tenant_is_created_whole_or_not_at_all() {
    let (dir, store) = store().await;
    let tenant = |corp: &str, ea: &str| fxmsg_store::Tenant {
        corp: Corp {
            corp_id: corp.into(),
            ea: ea.into(),
            name: "t".into(),
            created_at: 0,
            sandbox: true,
        },
        apps: vec![AppRecord {
            app: App {
                app_id: format!("A{corp}"),
                corp_id: corp.into(),
                name: "a".into(),
                enabled: true,
                created_at: 0,
            },
            secret_hash: "s".into(),
            permanent_code_hash: "p".into(),
        }],
        service_accounts: vec![],
        departments: vec![],
        employees: vec![Employee {
            open_user_id: format!("U{corp}"),
            user_id: "1000".into(),
            corp_id: corp.into(),
            name: "e".into(),
            status: EmployeeStatus::Active,
            mobile: Some("13800001000".into()),
            ..Employee::default()
        }],
    };
    store.create_tenant(&tenant("T1", "t1")).await.unwrap();
    assert!(store.corp("T1").await.unwrap().unwrap().sandbox);
    let employee = store.employee("T1", "1000").await.unwrap().unwrap();
    assert_eq!(employee.mobile.as_deref(), Some("13800001000"));
    // A taken ea fails the whole tenant: no app or employee is left behind.
    let taken = store.create_tenant(&tenant("T2", "one")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert!(rows_of(&dir, "T2").iter().all(|(_, rows)| *rows == 0));
}

#[tokio::test]
async fn a_reset_deletes_messages_and_numbering_goes_on_after_them() {
    let (dir, store) = store().await;
    fill(&store, "C1").await;
    fill(&store, "C2").await;
    let scope = EventScope::Corp("C1".into());
    let before = store.event_log(&scope).await.unwrap();
    assert_eq!(before.head, 2, "a message and a read");

    assert_eq!(store.delete_messages(Some("C1")).await.unwrap(), 1);
    let counts: std::collections::HashMap<_, _> = rows_of(&dir, "C1").into_iter().collect();
    for table in ["messages", "deliveries", "events", "idempotency_keys"] {
        assert_eq!(counts[table], 0, "{table}");
    }
    assert_eq!(
        (counts["corps"], counts["employees"], counts["media"]),
        (1, 3, 1)
    );
    assert_eq!(rows_of(&dir, "C2")[5], ("messages", 1));
    // Resuming from before the reset is told it missed events; the next event is number 3,
    // also after a restart, when no event of the corp is left to count from.
    assert_eq!(
        store.event_log(&scope).await.unwrap(),
        LogState {
            head: 2,
            pruned_through: 2
        }
    );
    store.close().await.unwrap();
    let store = SqliteStore::open(&dir.path().join("fxmsg.db"))
        .await
        .unwrap();
    store
        .insert_message(message("again", "C1", &["UC10"], 3), None)
        .await
        .unwrap();
    assert_eq!(store.event_log(&scope).await.unwrap().head, 3);
    let all = store.event_log(&EventScope::All).await.unwrap();
    assert_eq!(all.head, 5, "global numbers go on too");

    assert_eq!(store.delete_messages(None).await.unwrap(), 2);
    assert!(store
        .list_messages(&MessageFilter::default(), None, 10)
        .await
        .unwrap()
        .0
        .is_empty());
}

#[tokio::test]
async fn department_members_follow_the_tree_and_stay_in_their_corp() {
    let (_dir, store) = store().await;
    let department = |corp: &str, id: i64, parent: i64| fxmsg_api::native::Department {
        id,
        corp_id: corp.into(),
        name: format!("d{id}"),
        parent_id: parent,
        order: 1,
        ..Default::default()
    };
    // 1 → 2 → 3 in C1; C2 has a department 1 of its own.
    let tree = [
        department("C1", 1, 0),
        department("C1", 2, 1),
        department("C1", 3, 2),
    ];
    let mut members = Vec::new();
    for (n, departments) in [(0, vec![1]), (1, vec![3]), (2, vec![2, 1])] {
        let mut e = store
            .employee("C1", &format!("UC1{n}"))
            .await
            .unwrap()
            .unwrap();
        e.main_department_id = departments[0];
        e.department_ids = departments;
        e.mobile = Some("13800000000".into());
        members.push(e);
    }
    store.write_directory("C1", &tree, &members).await.unwrap();
    store
        .write_directory("C2", &[department("C2", 1, 0)], &[])
        .await
        .unwrap();

    let ids = |list: Vec<Employee>| list.into_iter().map(|e| e.open_user_id).collect::<Vec<_>>();
    let of = |d, child| store.department_members("C1", d, child);
    assert_eq!(ids(of(1, false).await.unwrap()), ["UC10", "UC12"]);
    assert_eq!(ids(of(1, true).await.unwrap()), ["UC10", "UC11", "UC12"]);
    assert_eq!(ids(of(2, false).await.unwrap()), ["UC12"]);
    assert_eq!(ids(of(3, true).await.unwrap()), ["UC11"]);
    assert!(store
        .department_members("C2", 1, true)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_departments("C1").await.unwrap(), tree);
    let by_mobile = store
        .employees_by_mobile("C1", "13800000000")
        .await
        .unwrap();
    assert_eq!(ids(by_mobile), ["UC10", "UC11", "UC12"]);
    assert!(store
        .employees_by_mobile("C2", "13800000000")
        .await
        .unwrap()
        .is_empty());
    // A written employee reads back field for field.
    assert_eq!(
        store.employee("C1", "UC12").await.unwrap().unwrap(),
        members[2]
    );

    store.delete_corp("C1").await.unwrap();
    assert!(store.list_departments("C1").await.unwrap().is_empty());
    assert_eq!(store.list_departments("C2").await.unwrap().len(), 1);
}

#[tokio::test]
async fn media_fits_a_quota_at_its_limit_and_not_past_it_per_corp() {
    let (_dir, store) = store().await;
    let sized = |id: &str, corp: &str, size: i64| MediaRecord {
        size,
        ..image(id, corp)
    };
    store
        .insert_media(&sized("a", "C1", 60), Some(100))
        .await
        .unwrap();
    // Exactly at the quota.
    store
        .insert_media(&sized("b", "C1", 40), Some(100))
        .await
        .unwrap();
    assert_eq!(store.media_bytes("C1").await.unwrap(), 100);
    // One byte past it: refused, nothing written.
    let refused = store.insert_media(&sized("c", "C1", 1), Some(100)).await;
    assert!(
        matches!(refused, Err(StoreError::QuotaExceeded { used: 100 })),
        "{refused:?}"
    );
    assert!(store.media("C1", "c").await.unwrap().is_none());
    // Another corp's media count for it alone.
    store
        .insert_media(&sized("d", "C2", 100), Some(100))
        .await
        .unwrap();
    // Deleted media frees its room.
    store.delete_media("C1", "a", 1).await.unwrap();
    assert_eq!(store.media_bytes("C1").await.unwrap(), 40);
    store
        .insert_media(&sized("c", "C1", 60), Some(100))
        .await
        .unwrap();
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

#[tokio::test]
async fn retention_takes_old_messages_with_their_rows_and_only_media_nothing_needs() {
    let (_dir, store) = store().await;
    let media = |id: &str, at: i64| MediaRecord {
        created_at: at,
        object_key: format!("k-{id}"),
        ..image(id, "C1")
    };
    for (id, at) in [
        ("only-old", 0),
        ("shared", 0),
        ("unused", 0),
        ("fresh", 150),
    ] {
        store.insert_media(&media(id, at), None).await.unwrap();
    }
    let with_cover = |id: &str, cover: &str, at: i64| {
        let mut m = message(id, "C1", &["U1", "U2"], at);
        m.media_ids = vec![cover.into()];
        m
    };
    for m in [
        with_cover("old", "only-old", 10),
        with_cover("kept", "shared", 60),
        message("new", "C1", &["U1"], 200),
    ] {
        assert_eq!(
            store.insert_message(m, None).await.unwrap(),
            InsertOutcome::Inserted
        );
    }
    // Everything before 50 goes, one message a step.
    let first = store.prune_messages(50, 300, 1).await.unwrap();
    assert_eq!(first.messages, 1);
    let mut pruned = first.media;
    loop {
        let step = store.prune_messages(50, 300, 1).await.unwrap();
        pruned.extend(step.media);
        if step.done {
            break;
        }
    }
    let mut ids: Vec<&str> = pruned.iter().map(|m| m.media_id.as_str()).collect();
    ids.sort_unstable();
    // The cover a remaining message needs stays, however old; so does a new medium.
    assert_eq!(ids, ["only-old", "unused"]);
    assert!(store.media("C1", "only-old").await.unwrap().is_none());
    assert!(store.media("C1", "shared").await.unwrap().is_some());
    assert!(store.media("C1", "fresh").await.unwrap().is_some());
    assert!(store.message(None, "kept").await.unwrap().is_some());
    assert!(store.message(None, "old").await.unwrap().is_none());
    assert!(store.message(None, "new").await.unwrap().is_some());
}
