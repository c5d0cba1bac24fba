//! What the re-executed benchmark runs on the server core: the fxmsg server as `fxmsg serve` runs
//! it, the HTTP baseline, and the storage baseline.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Json;
use fxmsg_server::{Config, Server, SystemClock};
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite};

/// Admin token of the benchmark's server.
pub const ADMIN_TOKEN: &str = "bench-admin-token";

/// Runs the real server with the logging `fxmsg serve` sets up (sent to /dev/null by the parent).
pub async fn serve_fxmsg(data_dir: &Path, database: Option<&str>) {
    fxmsg_server::init_logging(fxmsg_server::LogFormat::Text);
    let mut config = Config::new(data_dir, "127.0.0.1:0".parse().expect("an address"));
    config.database = database.map(|d| d.parse().expect("a database URL"));
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.no_demo = true;
    let (server, _) = Server::build(&config, Arc::new(SystemClock))
        .await
        .expect("the server starts");
    println!("ready http://{}", server.local_addr());
    server
        .run(std::future::pending())
        .await
        .expect("the server runs");
}

/// The HTTP baseline: parses the same JSON body and answers a fixed envelope.
pub async fn serve_baseline() {
    async fn answer(Json(body): Json<Value>) -> Json<Value> {
        let recipients = body
            .get("toUser")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Json(
            json!({"traceId": "E-O.baseline", "errorDescription": "success", "errorMessage": "OK", "errorCode": 0,
                    "messageId": "00000000-0000-0000-0000-000000000000", "invalidUsers": [], "n": recipients}),
        )
    }
    let app = axum::Router::new().route("/cgi/message/send", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!(
        "ready http://{}",
        listener.local_addr().expect("an address")
    );
    axum::serve(listener, app).await.expect("the baseline runs");
}

/// The storage baseline: raw SQLite with fxmsg's pragmas, inserting inbox rows of fxmsg's shape in
/// batched transactions of `batch` rows for `secs` seconds. Prints `ready <rows per second>`.
pub async fn storage_baseline(data_dir: &Path, secs: f64, batch: usize) {
    let mut conn = SqliteConnectOptions::new()
        .filename(data_dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .expect("open SQLite");
    sqlx::query(
        "CREATE TABLE deliveries (message_seq INTEGER NOT NULL, corp_id TEXT NOT NULL, open_user_id TEXT NOT NULL,
         delivered_at INTEGER NOT NULL, revoked_at INTEGER, PRIMARY KEY (message_seq, open_user_id)) STRICT, WITHOUT ROWID",
    )
    .execute(&mut conn)
    .await
    .expect("create table");
    sqlx::query("CREATE INDEX inbox ON deliveries(corp_id, open_user_id, message_seq)")
        .execute(&mut conn)
        .await
        .expect("index");
    let users: Vec<String> = (0..batch).map(|i| format!("FSUID_{i:032X}")).collect();
    let corp = format!("FSCID_{:032X}", 7);
    let started = Instant::now();
    let (mut rows, mut seq) = (0u64, 0i64);
    while started.elapsed() < Duration::from_secs_f64(secs) {
        seq += 1;
        let mut tx = conn.begin().await.expect("begin");
        for chunk in users.chunks(250) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO deliveries (message_seq, corp_id, open_user_id, delivered_at) ",
            );
            insert.push_values(chunk, |mut row, user| {
                row.push_bind(seq)
                    .push_bind(&corp)
                    .push_bind(user)
                    .push_bind(seq);
            });
            insert.build().execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
        rows += batch as u64;
    }
    println!("ready {}", rows as f64 / started.elapsed().as_secs_f64());
}

/// The PostgreSQL baseline: `concurrency` connections each committing transactions of one
/// message-shaped row and `batch` inbox rows of fxmsg's shape (one multi-row insert) for `secs`
/// seconds. Prints `ready <inbox rows per second>` (with `batch` 1, transactions per second).
pub async fn postgres_baseline(url: &str, secs: f64, batch: usize, concurrency: usize) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(concurrency as u32)
        .connect(url)
        .await
        .expect("connect to PostgreSQL");
    for sql in [
        "CREATE TABLE messages (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             message_id TEXT NOT NULL UNIQUE, corp_id TEXT NOT NULL, content TEXT NOT NULL,
             recipients TEXT[] NOT NULL, created_at BIGINT NOT NULL)",
        "CREATE TABLE deliveries (corp_id TEXT NOT NULL, open_user_id TEXT NOT NULL,
             message_seq BIGINT NOT NULL, delivered_at BIGINT NOT NULL, revoked_at BIGINT,
             read_at BIGINT, PRIMARY KEY (corp_id, open_user_id, message_seq))",
    ] {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("create a table");
    }
    let users: Vec<String> = (0..batch).map(|i| format!("FSUID_{i:032X}")).collect();
    let corp = format!("FSCID_{:032X}", 7);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (pool, users, corp) = (pool.clone(), users.clone(), corp.clone());
            tokio::spawn(async move {
                let mut rows = 0u64;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let mut tx = pool.begin().await.expect("begin");
                    let seq: i64 = sqlx::query_scalar(
                        "INSERT INTO messages (message_id, corp_id, content, recipients, created_at)
                         VALUES ($1, $2, '{\"content\":\"hi\"}', $3, 0) RETURNING seq",
                    )
                    .bind(format!("m-{w}-{n}"))
                    .bind(&corp)
                    .bind(&users)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("insert a message");
                    sqlx::query(
                        "INSERT INTO deliveries (corp_id, open_user_id, message_seq, delivered_at)
                         SELECT $1, unnest($2::TEXT[]), $3, 0",
                    )
                    .bind(&corp)
                    .bind(&users)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .expect("insert inbox rows");
                    tx.commit().await.expect("commit");
                    rows += users.len() as u64;
                }
                rows
            })
        })
        .collect();
    let mut rows = 0;
    for worker in workers {
        rows += worker.await.expect("a worker");
    }
    println!("ready {}", rows as f64 / started.elapsed().as_secs_f64());
}

/// Times a thread spinning on its core was not running: preempted by another task, an interrupt or
/// the hypervisor. What a server on that core would lose with no load of its own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stalls {
    /// Gaps of at least [`Stalls::THRESHOLD`].
    pub count: u64,
    /// Their total, milliseconds.
    pub lost_ms: f64,
    /// The longest, milliseconds.
    pub largest_ms: f64,
}

impl Stalls {
    /// The shortest gap counted: far above the clock read's cost and an ordinary interrupt's.
    pub const THRESHOLD: Duration = Duration::from_micros(500);

    /// Spins on the calling thread for `secs`, reading the clock, and counts the gaps.
    pub fn probe(secs: Duration) -> Stalls {
        let start = Instant::now();
        let mut last = start;
        let mut stalls = Stalls::default();
        while last - start < secs {
            let now = Instant::now();
            stalls.add(now - last);
            last = now;
        }
        stalls
    }

    /// Counts one gap between two clock reads, if it is a stall.
    fn add(&mut self, gap: Duration) {
        if gap >= Stalls::THRESHOLD {
            let ms = gap.as_secs_f64() * 1e3;
            self.count += 1;
            self.lost_ms += ms;
            self.largest_ms = self.largest_ms.max(ms);
        }
    }

    /// The probe's answer to the benchmark, on its `ready` line.
    pub fn to_line(self) -> String {
        format!("{} {} {}", self.count, self.lost_ms, self.largest_ms)
    }

    /// Reads [`Stalls::to_line`].
    pub fn from_line(line: &str) -> Option<Stalls> {
        let mut fields = line.split_whitespace();
        let stalls = Stalls {
            count: fields.next()?.parse().ok()?,
            lost_ms: fields.next()?.parse().ok()?,
            largest_ms: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(stalls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gaps_from_the_threshold_up_are_stalls() {
        let mut stalls = Stalls::default();
        let us = Duration::from_micros;
        for gap in [us(1), us(499), us(500), us(3_000), us(20)] {
            stalls.add(gap);
        }
        assert_eq!(stalls.count, 2);
        assert!((stalls.lost_ms - 3.5).abs() < 1e-9);
        assert!((stalls.largest_ms - 3.0).abs() < 1e-9);
        assert_eq!(Stalls::from_line(&stalls.to_line()), Some(stalls));
        assert_eq!(Stalls::from_line("2 3.5"), None);
        assert_eq!(Stalls::from_line("2 3.5 3 4"), None);
    }
}
