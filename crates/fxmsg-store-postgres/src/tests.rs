//! The Store contract's suite on PostgreSQL, each case on a new database (see `testing`).

use std::sync::{Arc, Mutex};

use fxmsg_store::conformance::Backend;
use fxmsg_store::Store;

use crate::testing::TempDatabase;
use crate::PgStore;

#[derive(Default)]
struct Postgres {
    databases: Mutex<Vec<TempDatabase>>,
}

#[async_trait::async_trait(?Send)]
impl Backend for Postgres {
    async fn open(&self) -> Arc<dyn Store> {
        let database = TempDatabase::new().await;
        let store = PgStore::open(database.url(), 1024).await.unwrap();
        self.databases.lock().unwrap().push(database);
        Arc::new(store)
    }
}

fxmsg_store::conformance_suite!(Postgres::default());

/// A node's notification connection dropping loses nothing. Its pump listens again and then
/// rings the faults' doorbell whether or not anything changed (a change made while it was down
/// was heard by nobody), so the test kit reads the faults again; and what another node commits
/// afterwards still reaches it.
#[tokio::test]
async fn after_a_dropped_listen_connection_the_doorbell_rings_and_events_still_arrive() {
    use std::time::Duration;

    use fxmsg_api::native::NewFault;
    use fxmsg_store::conformance::{message, seed};
    use fxmsg_store::FaultState;
    use sqlx::Connection;

    const PATIENCE: Duration = Duration::from_secs(20);
    let database = TempDatabase::new().await;
    let here = PgStore::open(database.url(), 1024).await.unwrap();
    let there = PgStore::open(database.url(), 1024).await.unwrap();
    seed(&here).await;
    let mut events = here.subscribe();
    let mut doorbell = here.fault_changes();

    // Each pump keeps one connection whose last statement was its LISTEN.
    let mut admin = sqlx::PgConnection::connect(database.url()).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    async fn listeners(admin: &mut sqlx::PgConnection, deadline: tokio::time::Instant) -> Vec<i32> {
        loop {
            let pids: Vec<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity
                  WHERE datname = current_database() AND query LIKE 'LISTEN%' ORDER BY pid",
            )
            .fetch_all(&mut *admin)
            .await
            .unwrap();
            if pids.len() == 2 {
                return pids;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "listeners: {pids:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let before = listeners(&mut admin, deadline).await;
    // Rung by each pump's first listen; from here on, only a reconnect rings it.
    doorbell.borrow_and_update();
    let mut killer = sqlx::PgConnection::connect(database.url()).await.unwrap();
    for pid in &before {
        let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut killer)
            .await
            .unwrap();
        assert!(killed, "backend {pid}");
    }
    tokio::time::timeout(PATIENCE, doorbell.changed())
        .await
        .expect("the doorbell rings after the pump listens again, with nothing changed")
        .unwrap();
    let after = listeners(&mut admin, deadline).await;
    assert!(
        after.iter().all(|pid| !before.contains(pid)),
        "{before:?} → {after:?}"
    );

    // The other node commits; this one hears of it on its new connection.
    there
        .insert_message(message("m1", "C1", &["UC10"], 1), None)
        .await
        .unwrap();
    let event = tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("the event committed by the other node arrives")
        .unwrap();
    assert_eq!(event.message_id, "m1");
    doorbell.borrow_and_update();
    let plan = NewFault {
        path: "/cgi/message/send".into(),
        error_code: Some(-1),
        times: Some(1),
        ..NewFault::default()
    };
    let state = FaultState {
        fired: 0,
        remaining: Some(1),
        rng: 1,
        version: 0,
    };
    there.add_fault(&plan, state).await.unwrap();
    tokio::time::timeout(PATIENCE, doorbell.changed())
        .await
        .expect("a fault planned on the other node rings the doorbell")
        .unwrap();
    assert_eq!(here.faults().await.unwrap().len(), 1);
}

/// Errors as PostgreSQL raises them map to what the server answers: a full disk (SQLSTATE class
/// 53, insufficient resources) is `Full`, which the server turns into `50009`; a duplicate key a
/// conflict naming the key's last column; anything else a backend error.
#[tokio::test]
async fn postgres_errors_map_to_full_conflict_and_backend() {
    use fxmsg_store::StoreError;
    use sqlx::Connection;

    let database = TempDatabase::new().await;
    let mut conn = sqlx::PgConnection::connect(database.url()).await.unwrap();
    async fn raised(conn: &mut sqlx::PgConnection, code: &str) -> sqlx::Error {
        let sql = format!(
            "DO $$ BEGIN RAISE EXCEPTION 'raised by the test' USING ERRCODE = '{code}'; END $$"
        );
        sqlx::query(&sql).execute(conn).await.unwrap_err()
    }
    for code in ["disk_full", "out_of_memory", "too_many_connections"] {
        let mapped = crate::db(raised(&mut conn, code).await);
        assert!(matches!(mapped, StoreError::Full(_)), "{code}: {mapped:?}");
    }
    let mapped = crate::db(raised(&mut conn, "query_canceled").await);
    assert!(matches!(mapped, StoreError::Backend(_)), "{mapped:?}");

    sqlx::query("CREATE TABLE t (corp_id TEXT, user_id TEXT, UNIQUE (corp_id, user_id))")
        .execute(&mut conn)
        .await
        .unwrap();
    let insert = "INSERT INTO t VALUES ('c', 'u')";
    sqlx::query(insert).execute(&mut conn).await.unwrap();
    let duplicate = sqlx::query(insert).execute(&mut conn).await.unwrap_err();
    let mapped = crate::db(duplicate);
    assert!(
        matches!(&mapped, StoreError::Conflict(field) if field == "user_id"),
        "{mapped:?}"
    );
}
