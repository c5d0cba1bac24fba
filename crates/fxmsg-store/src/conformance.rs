//! The Store contract as tests every backend runs unchanged (feature `conformance`).
//!
//! A backend's test crate implements [`Backend`] (how to open a new, empty store) and calls
//! [`conformance_suite!`](crate::conformance_suite), which makes one `#[tokio::test]` per case on
//! a multi-threaded runtime, so the concurrent cases race for real. Each case seeds what it needs:
//! corps `C1` and `C2`, each with app `A<corp>` and employees `U<corp>0..2` (numbers 1000..1002).
//! What only one backend has (its migrations, its query plans, its files) stays in its own crate.

use std::sync::Arc;

use async_trait::async_trait;
use fxmsg_api::native::{
    App, Corp, Credential, CredentialKind, Employee, EmployeeStatus, Event, EventKind, Message,
    NewFault,
};
use serde_json::json;

use crate::{
    AppRecord, Cursor, EventScope, FaultState, IdempotencyKey, InsertOutcome, LiveEvent, LogState,
    MediaKind, MediaRecord, MessageFilter, NewMessage, ReadOutcome, RevokeOutcome, Store,
    StoreError, TokenKind, TokenRecord,
};

/// How a backend's tests open stores for the suite. Opening need not be `Send` (sqlx's
/// migrations are not): the cases run on the test's own task.
#[async_trait(?Send)]
pub trait Backend: Sync {
    /// A new, empty, migrated store, kept alive (with its files or database) at least as long as
    /// the backend.
    async fn open(&self) -> Arc<dyn Store>;
}

/// A new store holding the two corps every case starts from.
pub async fn seeded(backend: &dyn Backend) -> Arc<dyn Store> {
    let store = backend.open().await;
    seed(&*store).await;
    store
}

/// Corps `C1` and `C2`, each with app `A<corp>` and active employees `U<corp>0..2`.
pub async fn seed(store: &dyn Store) {
    for (corp, ea) in [("C1", "one"), ("C2", "two")] {
        seed_corp(store, corp, ea).await;
    }
}

/// A text message of `corp`'s app to `recipients`, created at `at`.
pub fn message(id: &str, corp: &str, recipients: &[&str], at: i64) -> NewMessage {
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

/// A one-byte image of `corp`.
pub fn image(id: &str, corp: &str) -> MediaRecord {
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

/// An idempotency key whose body hash is `hash` repeated.
pub fn key(name: &str, hash: u8) -> IdempotencyKey {
    IdempotencyKey {
        key: name.into(),
        body_hash: [hash; 32],
        not_before: 0,
    }
}

/// A replay's body hash and the id of the message it answers with.
pub fn replayed(outcome: &InsertOutcome) -> Option<([u8; 32], &str)> {
    match outcome {
        InsertOutcome::Replayed { body_hash, message } => {
            Some((*body_hash, message.message_id.as_str()))
        }
        _ => None,
    }
}

/// The next `n` live events that pass `wanted`, failing the test after ten seconds.
pub async fn received(
    live: &mut tokio::sync::broadcast::Receiver<Arc<LiveEvent>>,
    n: usize,
    wanted: impl Fn(&LiveEvent) -> bool,
) -> Vec<Arc<LiveEvent>> {
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

/// Runs `n` copies of `call` at once, each on its own task, and returns their results in order.
async fn race<T, F, Fut>(store: &Arc<dyn Store>, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(call(store.clone(), i)))
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("a racing call panicked"));
    }
    results
}

/// One of everything a corp can hold: a message with a read and an idempotency key, a token,
/// a medium and an employee credential.
pub async fn fill(store: &dyn Store, corp: &str) {
    let recipients = [format!("U{corp}0"), format!("U{corp}1")];
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    store
        .insert_message(
            message(&format!("m{corp}"), corp, &recipients, 1),
            Some(key(&format!("k{corp}"), 1)),
        )
        .await
        .unwrap();
    store
        .mark_read(corp, recipients[0], &format!("m{corp}"), 2)
        .await
        .unwrap();
    store
        .insert_token(&token(corp, &format!("t{corp}")))
        .await
        .unwrap();
    let mut media = image(&format!("i{corp}"), corp);
    media.object_key = format!("media/{corp}");
    store.insert_media(&media, None).await.unwrap();
    store
        .insert_credential(
            &credential(corp, recipients[0], &format!("c{corp}")),
            &format!("h{corp}"),
        )
        .await
        .unwrap();
}

/// A corp token of `corp`'s app that never expires.
pub fn token(corp: &str, hash: &str) -> TokenRecord {
    TokenRecord {
        kind: TokenKind::Corp,
        nonce: "n".into(),
        token_hash: hash.into(),
        app_id: format!("A{corp}"),
        corp_id: corp.into(),
        issued_at: 0,
        expires_at: i64::MAX,
    }
}

/// A token credential of an employee that never expires.
pub fn credential(corp: &str, employee: &str, id: &str) -> Credential {
    Credential {
        credential_id: id.into(),
        kind: CredentialKind::Token,
        corp_id: corp.into(),
        open_user_id: employee.into(),
        created_at: 0,
        expires_at: None,
        revoked_at: None,
    }
}

pub async fn a_message_and_all_its_inbox_rows_commit_together(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn a_repeated_idempotency_key_replays_and_writes_nothing(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn a_send_with_missing_media_writes_nothing(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn revoke_is_scoped_by_corp_and_repeatable(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn listings_page_newest_first_with_a_cursor(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn recipients_resolve_by_either_id_and_only_when_active(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn unique_and_parent_violations_are_typed(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let dup = Corp {
        corp_id: "C9".into(),
        ea: "one".into(),
        name: "x".into(),
        created_at: 0,
        sandbox: false,
    };
    // The field that collided, not the database's words.
    let taken = store.create_corp(&dup).await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(field)) if field == "ea"),
        "{taken:?}"
    );
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
    let orphaned = store.create_app(&record).await;
    assert!(
        matches!(&orphaned, Err(StoreError::NotFound(what))
            if what == "corp_id" || what == crate::UNKNOWN_REFERENCE),
        "{orphaned:?}"
    );
    let number = Employee {
        open_user_id: "UC1new".into(),
        user_id: "1000".into(),
        corp_id: "C1".into(),
        name: "n".into(),
        status: EmployeeStatus::Active,
        ..Employee::default()
    };
    let taken = store.create_employee(&number).await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(field)) if field == "user_id"),
        "{taken:?}"
    );
}

pub async fn a_failing_write_does_not_undo_concurrent_ones(backend: &dyn Backend) {
    let store = seeded(backend).await;
    // Fired together (a batching backend puts them in shared transactions); every third
    // reuses a taken ea.
    let results = race(&store, 60, |store, i| async move {
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
    .await;
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

pub async fn a_send_refused_for_missing_media_does_not_claim_its_key(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn a_retry_is_answered_as_before_after_its_cover_was_deleted(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn pruning_removes_expired_keys_oldest_first_in_chunks(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

/// Sends fired together, a third of them failing inside shared transactions (a message id that
/// is taken): the committed ones are numbered 1.. per corp and across corps without a gap, the
/// live stream carries exactly those in that order, and the stored log reads back the same.
pub async fn events_are_numbered_in_commit_order_without_gaps_and_published_after_commit(
    backend: &dyn Backend,
) {
    let store = seeded(backend).await;
    store
        .insert_message(message("taken", "C2", &["UC20"], 1), None)
        .await
        .unwrap();
    let mut live = store.subscribe();
    let results = race(&store, 60, |store, i| async move {
        let (id, corp) = match i % 3 {
            0 => ("taken".to_owned(), "C1"),
            1 => (format!("m{i}"), "C1"),
            _ => (format!("m{i}"), "C2"),
        };
        store
            .insert_message(message(&id, corp, &[&format!("U{corp}0")], 2), None)
            .await
    })
    .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
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
pub async fn revokes_and_reads_are_logged_and_scoped_to_the_recipients(backend: &dyn Backend) {
    let store = seeded(backend).await;
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
pub async fn pruning_events_keeps_each_corps_newest_and_records_how_far_it_went(
    backend: &dyn Backend,
) {
    // C2's only event last, then first: at the front of the log it is stepped over, not a wall.
    for c2_first in [false, true] {
        let store = seeded(backend).await;
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

pub async fn messages_after_a_position_match_text_in_any_content_string_but_not_keys(
    backend: &dyn Backend,
) {
    let store = seeded(backend).await;
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

/// `MessageFilter::matches`, which the wait API applies to live events, agrees with the SQL the
/// listing and the wait run, filter by filter.
pub async fn a_filter_matches_live_messages_as_the_query_finds_stored_ones(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn department_members_follow_the_tree_and_stay_in_their_corp(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn media_fits_a_quota_at_its_limit_and_not_past_it_per_corp(backend: &dyn Backend) {
    let store = seeded(backend).await;
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

pub async fn retention_takes_old_messages_with_their_rows_and_only_media_nothing_needs(
    backend: &dyn Backend,
) {
    let store = seeded(backend).await;
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

/// Deleting a corp leaves nothing of it readable, from storage or from a cache, and touches no
/// other corp.
pub async fn deleting_a_corp_leaves_nothing_of_it_and_touches_no_other(backend: &dyn Backend) {
    let store = seeded(backend).await;
    fill(&*store, "C1").await;
    fill(&*store, "C2").await;
    // Read (and so cached, where a backend caches) before the delete.
    assert!(store.corp("C1").await.unwrap().is_some());
    assert!(store.app("AC1").await.unwrap().is_some());
    assert!(store
        .live_token(TokenKind::Corp, "tC1", 0)
        .await
        .unwrap()
        .is_some());
    assert!(store.media("C1", "iC1").await.unwrap().is_some());

    let keys = store.delete_corp("C1").await.unwrap();
    assert_eq!(keys, Some(vec!["media/C1".to_owned()]));
    assert!(store.corp("C1").await.unwrap().is_none());
    assert!(store.app("AC1").await.unwrap().is_none());
    assert!(store.list_apps("C1").await.unwrap().is_empty());
    assert!(store.list_employees("C1").await.unwrap().is_empty());
    assert!(store
        .live_token(TokenKind::Corp, "tC1", 0)
        .await
        .unwrap()
        .is_none());
    assert!(store.media("C1", "iC1").await.unwrap().is_none());
    assert!(store.message(None, "mC1").await.unwrap().is_none());
    assert!(store.live_credential("hC1", 0).await.unwrap().is_none());
    let c1 = EventScope::Corp("C1".into());
    assert!(store.events_after(&c1, 0, 10).await.unwrap().is_empty());
    // Its idempotency keys went too: a corp made again with its ids sends the key afresh.
    seed_corp(&*store, "C1", "one-again").await;
    let again = store
        .insert_message(message("new", "C1", &["UC10"], 5), Some(key("kC1", 1)))
        .await
        .unwrap();
    assert_eq!(again, InsertOutcome::Inserted);

    // The other corp has all it had.
    assert!(store.message(Some("C2"), "mC2").await.unwrap().is_some());
    assert!(store.media("C2", "iC2").await.unwrap().is_some());
    assert!(store
        .live_token(TokenKind::Corp, "tC2", 0)
        .await
        .unwrap()
        .is_some());
    assert!(store.live_credential("hC2", 0).await.unwrap().is_some());
    let c2 = EventScope::Corp("C2".into());
    assert_eq!(store.events_after(&c2, 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.delete_corp("nope").await.unwrap(), None);
}

/// A corp with its app `A<corp>` and active employees `U<corp>0..2` (numbers 1000..1002).
pub async fn seed_corp(store: &dyn Store, corp: &str, ea: &str) {
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
    store
        .create_app(&AppRecord {
            app: App {
                app_id: format!("A{corp}"),
                corp_id: corp.into(),
                name: "a".into(),
                enabled: true,
                created_at: 0,
            },
            secret_hash: "s".into(),
            permanent_code_hash: "p".into(),
        })
        .await
        .unwrap();
    for n in 0..3 {
        store
            .create_employee(&Employee {
                open_user_id: format!("U{corp}{n}"),
                user_id: format!("{}", 1000 + n),
                corp_id: corp.into(),
                name: "e".into(),
                status: EmployeeStatus::Active,
                department_ids: vec![0],
                ..Employee::default()
            })
            .await
            .unwrap();
    }
}

/// A corp made whole at once (a sandbox) is all there, or, when any part conflicts, not there at
/// all.
pub async fn a_tenant_is_created_whole_or_not_at_all(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let tenant = |corp: &str, ea: &str| crate::Tenant {
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
    assert!(store.corp("T2").await.unwrap().is_none());
    assert!(store.app("AT2").await.unwrap().is_none());
    assert!(store.employee("T2", "UT2").await.unwrap().is_none());
}

/// Deleting a corp's messages takes their inbox rows, events and keys and leaves the rest; the
/// event numbering goes on after the deleted events, and a reader from before is told it missed
/// them.
pub async fn a_reset_deletes_messages_and_numbering_goes_on_after_them(backend: &dyn Backend) {
    let store = seeded(backend).await;
    fill(&*store, "C1").await;
    fill(&*store, "C2").await;
    let scope = EventScope::Corp("C1".into());
    assert_eq!(
        store.event_log(&scope).await.unwrap().head,
        2,
        "a message and a read"
    );

    assert_eq!(store.delete_messages(Some("C1")).await.unwrap(), 1);
    assert!(store.message(None, "mC1").await.unwrap().is_none());
    assert!(store
        .inbox("C1", "UC10", None, 10)
        .await
        .unwrap()
        .0
        .is_empty());
    assert!(store.events_after(&scope, 0, 10).await.unwrap().is_empty());
    assert_eq!(store.list_employees("C1").await.unwrap().len(), 3);
    assert!(store.media("C1", "iC1").await.unwrap().is_some());
    assert!(store.message(None, "mC2").await.unwrap().is_some());
    assert_eq!(
        store.event_log(&scope).await.unwrap(),
        LogState {
            head: 2,
            pruned_through: 2
        }
    );
    // The key went with its message.
    let again = store
        .insert_message(message("again", "C1", &["UC10"], 3), Some(key("kC1", 1)))
        .await
        .unwrap();
    assert_eq!(again, InsertOutcome::Inserted);
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

/// Retries of one send racing each other, as a client's retries landing on several nodes do: one
/// message and one event, every other call answered as a replay of it.
pub async fn racing_retries_of_one_send_deliver_once(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let results = race(&store, 16, |store, i| async move {
        let m = message(&format!("m{i}"), "C1", &["UC10", "UC11"], 1);
        store.insert_message(m, Some(key("k", 7))).await.unwrap()
    })
    .await;
    let inserted: Vec<usize> = (0..results.len())
        .filter(|i| results[*i] == InsertOutcome::Inserted)
        .collect();
    assert_eq!(inserted.len(), 1, "{results:?}");
    let winner = format!("m{}", inserted[0]);
    for outcome in &results {
        if *outcome != InsertOutcome::Inserted {
            assert_eq!(replayed(outcome), Some(([7; 32], winner.as_str())));
        }
    }
    let filter = MessageFilter {
        corp_id: Some("C1".into()),
        ..Default::default()
    };
    let (stored, _) = store.list_messages(&filter, None, 100).await.unwrap();
    assert_eq!(stored.len(), 1);
    let events = store
        .events_after(&EventScope::Corp("C1".into()), 0, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        store.inbox("C1", "UC11", None, 10).await.unwrap().0.len(),
        1
    );
}

/// Tokens are found by kind and hash while they live, and the newest of an app by issue time.
pub async fn tokens_are_found_by_kind_hash_and_lifetime(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let issued = |hash: &str, at: i64, until: i64| TokenRecord {
        issued_at: at,
        expires_at: until,
        ..token("C1", hash)
    };
    store.insert_token(&issued("t1", 10, 100)).await.unwrap();
    store.insert_token(&issued("t2", 20, 200)).await.unwrap();
    let newest = store
        .newest_token(TokenKind::Corp, "AC1", "C1", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.token_hash, "t2");
    assert!(store
        .newest_token(TokenKind::Corp, "AC1", "C1", 21)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .newest_token(TokenKind::Access, "AC1", "C1", 0)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .newest_token(TokenKind::Corp, "AC2", "C2", 0)
        .await
        .unwrap()
        .is_none());
    let live = |kind, hash: &'static str, now| {
        let store = store.clone();
        async move { store.live_token(kind, hash, now).await.unwrap().is_some() }
    };
    assert!(live(TokenKind::Corp, "t1", 99).await);
    assert!(
        !live(TokenKind::Corp, "t1", 100).await,
        "expired at its instant"
    );
    assert!(!live(TokenKind::Access, "t1", 50).await, "another kind");
    assert!(live(TokenKind::Corp, "t2", 100).await);
}

/// A refresh token is taken once, however many calls race for it, and only while it lives.
pub async fn a_refresh_token_is_taken_once_under_races(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let refresh = |hash: &str, until: i64| TokenRecord {
        kind: TokenKind::Refresh,
        expires_at: until,
        ..token("C1", hash)
    };
    store.insert_token(&refresh("r", 100)).await.unwrap();
    store.insert_token(&refresh("old", 10)).await.unwrap();
    assert!(store
        .take_token(TokenKind::Corp, "r", 50)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .take_token(TokenKind::Refresh, "old", 50)
        .await
        .unwrap()
        .is_none());
    let taken = race(&store, 16, |store, _| async move {
        store.take_token(TokenKind::Refresh, "r", 50).await.unwrap()
    })
    .await;
    assert_eq!(taken.iter().flatten().count(), 1, "{taken:?}");
    assert!(store
        .live_token(TokenKind::Refresh, "r", 50)
        .await
        .unwrap()
        .is_none());
}

/// A credential is live until revoked (by its own employee only) or expired; a login link's code
/// is used once, however many calls race for it.
pub async fn credentials_live_until_revoked_or_expired_and_a_login_is_used_once(
    backend: &dyn Backend,
) {
    let store = seeded(backend).await;
    store
        .insert_credential(&credential("C1", "UC10", "c1"), "h1")
        .await
        .unwrap();
    let login = |id: &str, at: i64, until: i64| Credential {
        kind: CredentialKind::Login,
        created_at: at,
        expires_at: Some(until),
        ..credential("C1", "UC10", id)
    };
    store
        .insert_credential(&login("l1", 1, 100), "hl1")
        .await
        .unwrap();
    store
        .insert_credential(&login("l2", 2, 10), "hl2")
        .await
        .unwrap();
    assert_eq!(
        store
            .live_credential("h1", 50)
            .await
            .unwrap()
            .map(|c| c.credential_id),
        Some("c1".into())
    );
    assert!(!store
        .revoke_credential("C2", "UC10", "c1", 60)
        .await
        .unwrap());
    assert!(!store
        .revoke_credential("C1", "UC11", "c1", 60)
        .await
        .unwrap());
    assert!(store
        .revoke_credential("C1", "UC10", "c1", 60)
        .await
        .unwrap());
    assert!(!store
        .revoke_credential("C1", "UC10", "c1", 61)
        .await
        .unwrap());
    assert!(store.live_credential("h1", 70).await.unwrap().is_none());

    assert!(
        store.take_login("hl2", 50).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        store.take_login("h1", 50).await.unwrap().is_none(),
        "not a login"
    );
    let taken = race(&store, 16, |store, _| async move {
        store.take_login("hl1", 50).await.unwrap()
    })
    .await;
    assert_eq!(taken.iter().flatten().count(), 1, "{taken:?}");
    assert!(store.live_credential("hl1", 50).await.unwrap().is_none());
    let listed: Vec<String> = store
        .list_credentials("C1", "UC10")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.credential_id)
        .collect();
    assert_eq!(listed, ["l2", "l1", "c1"], "newest first, revoked ones too");
    assert!(store
        .list_credentials("C2", "UC10")
        .await
        .unwrap()
        .is_empty());
}

/// Uploads racing for the last room in a corp's quota: exactly one fits.
pub async fn racing_uploads_for_the_last_room_in_a_quota_fit_once(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let sized = |id: String, size: i64| MediaRecord {
        size,
        object_key: format!("k-{id}"),
        ..image(&id, "C1")
    };
    store
        .insert_media(&sized("first".into(), 60), Some(100))
        .await
        .unwrap();
    let results = race(&store, 8, move |store, i| async move {
        store
            .insert_media(&sized(format!("m{i}"), 40), Some(100))
            .await
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::QuotaExceeded { .. }))));
    assert_eq!(store.media_bytes("C1").await.unwrap(), 100);
}

/// Reads and revokes of one message racing each other change it once each, with one event each,
/// numbered after the message's.
pub async fn racing_reads_and_revokes_change_a_message_once(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let mut m = message("m", "C1", &["UC10", "UC11"], 1);
    m.message.service_id = Some("S".into());
    store.insert_message(m, None).await.unwrap();
    let reads = race(&store, 8, |store, i| async move {
        store
            .mark_read("C1", "UC10", "m", 5 + i as i64)
            .await
            .unwrap()
    })
    .await;
    let first: Vec<i64> = reads
        .iter()
        .filter_map(|r| match r {
            ReadOutcome::Read(at) => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(first.len(), 1, "{reads:?}");
    assert!(reads
        .iter()
        .all(|r| matches!(r, ReadOutcome::Read(_)) || *r == ReadOutcome::AlreadyRead(first[0])));
    let revokes = race(&store, 8, |store, i| async move {
        store
            .revoke_message("C1", "S", "m", 20 + i as i64)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        revokes
            .iter()
            .filter(|r| **r == RevokeOutcome::Revoked)
            .count(),
        1,
        "{revokes:?}"
    );
    assert!(revokes
        .iter()
        .all(|r| matches!(r, RevokeOutcome::Revoked | RevokeOutcome::AlreadyRevoked)));
    let events: Vec<(i64, EventKind)> = store
        .events_after(&EventScope::Corp("C1".into()), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.seq, e.kind))
        .collect();
    assert_eq!(
        events,
        [
            (1, EventKind::Message),
            (2, EventKind::Read),
            (3, EventKind::Revoke)
        ]
    );
}

/// Settings claimed by racing nodes hold the first value, and every racer is told that one.
pub async fn a_setting_claimed_by_racing_nodes_holds_one_value(backend: &dyn Backend) {
    let store = seeded(backend).await;
    let told = race(&store, 16, |store, i| async move {
        store.claim_meta("key", &format!("v{i}")).await.unwrap()
    })
    .await;
    let stored = store.meta("key").await.unwrap().unwrap();
    assert!(told.iter().all(|v| *v == stored), "{told:?} vs {stored}");
    assert_eq!(store.claim_meta("key", "later").await.unwrap(), stored);
    store.set_meta("key", "replaced").await.unwrap();
    assert_eq!(store.claim_meta("key", "again").await.unwrap(), "replaced");
}

/// Faults are listed oldest first as planned; racing changes of one version succeed once; a
/// removed fault's id is never handed out again; and every change rings the doorbell.
pub async fn faults_change_one_version_at_a_time_and_ring_the_doorbell(backend: &dyn Backend) {
    let store = backend.open().await;
    let mut changes = store.fault_changes();
    changes.borrow_and_update();
    let plan = |path: &str| NewFault {
        path: path.into(),
        error_code: Some(-1),
        times: Some(3),
        ..NewFault::default()
    };
    let start = FaultState {
        fired: 0,
        remaining: Some(3),
        rng: u64::MAX - 1,
        version: 0,
    };
    let first = store.add_fault(&plan("/a"), start).await.unwrap();
    let second = store.add_fault(&plan("/b"), start).await.unwrap();
    assert!(second > first);
    tokio::time::timeout(std::time::Duration::from_secs(10), changes.changed())
        .await
        .expect("a planned fault rings the doorbell")
        .unwrap();
    let listed = store.faults().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|f| (f.id, f.plan.path.as_str()))
            .collect::<Vec<_>>(),
        [(first, "/a"), (second, "/b")]
    );
    assert_eq!(listed[0].plan, plan("/a"));
    assert_eq!(listed[0].state, start);

    let fired = FaultState {
        fired: 1,
        remaining: Some(2),
        rng: 7,
        version: 0,
    };
    let won = race(&store, 16, move |store, _| async move {
        store.update_fault(first, 0, fired).await.unwrap()
    })
    .await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let now = store.faults().await.unwrap()[0].state;
    assert_eq!(
        now,
        FaultState {
            version: 1,
            ..fired
        }
    );
    assert!(
        !store.update_fault(first, 0, fired).await.unwrap(),
        "a stale version"
    );
    let endless = FaultState {
        remaining: None,
        ..fired
    };
    assert!(store.update_fault(first, 1, endless).await.unwrap());
    assert_eq!(store.faults().await.unwrap()[0].state.remaining, None);

    changes.borrow_and_update();
    assert_eq!(store.remove_faults(Some(first)).await.unwrap(), 1);
    assert_eq!(store.remove_faults(Some(first)).await.unwrap(), 0);
    assert!(
        !store.update_fault(first, 2, fired).await.unwrap(),
        "a removed fault"
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), changes.changed())
        .await
        .expect("a removal rings the doorbell")
        .unwrap();
    let third = store.add_fault(&plan("/c"), start).await.unwrap();
    assert!(third > second, "ids are not reused");
    assert_eq!(store.remove_faults(None).await.unwrap(), 2);
    assert!(store.faults().await.unwrap().is_empty());
}

/// One `#[tokio::test]` per case of the suite, each given `$backend` (an expression of a type
/// that implements [`conformance::Backend`](crate::conformance::Backend)).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!(@cases $backend; a_message_and_all_its_inbox_rows_commit_together, a_repeated_idempotency_key_replays_and_writes_nothing, a_send_with_missing_media_writes_nothing, revoke_is_scoped_by_corp_and_repeatable, listings_page_newest_first_with_a_cursor, recipients_resolve_by_either_id_and_only_when_active, unique_and_parent_violations_are_typed, a_failing_write_does_not_undo_concurrent_ones, a_send_refused_for_missing_media_does_not_claim_its_key, a_retry_is_answered_as_before_after_its_cover_was_deleted, pruning_removes_expired_keys_oldest_first_in_chunks, events_are_numbered_in_commit_order_without_gaps_and_published_after_commit, revokes_and_reads_are_logged_and_scoped_to_the_recipients, pruning_events_keeps_each_corps_newest_and_records_how_far_it_went, messages_after_a_position_match_text_in_any_content_string_but_not_keys, a_filter_matches_live_messages_as_the_query_finds_stored_ones, department_members_follow_the_tree_and_stay_in_their_corp, media_fits_a_quota_at_its_limit_and_not_past_it_per_corp, retention_takes_old_messages_with_their_rows_and_only_media_nothing_needs, deleting_a_corp_leaves_nothing_of_it_and_touches_no_other, a_tenant_is_created_whole_or_not_at_all, a_reset_deletes_messages_and_numbering_goes_on_after_them, racing_retries_of_one_send_deliver_once, tokens_are_found_by_kind_hash_and_lifetime, a_refresh_token_is_taken_once_under_races, racing_uploads_for_the_last_room_in_a_quota_fit_once, racing_reads_and_revokes_change_a_message_once, credentials_live_until_revoked_or_expired_and_a_login_is_used_once, a_setting_claimed_by_racing_nodes_holds_one_value, faults_change_one_version_at_a_time_and_ring_the_doorbell);
    };
    (@cases $backend:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::$case(&$backend).await;
            }
        )+
    };
}
