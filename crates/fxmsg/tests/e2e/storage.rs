//! What a test server has stored, read behind its back from whichever backend it runs on: for
//! the few tests that check storage itself (a secret kept only as a hash, rows left after a
//! delete, expired keys gone).

use sqlx::Connection;

use crate::support::TestServer;

/// A test server's database.
pub enum Stored {
    /// The SQLite file in its data directory.
    Sqlite(std::path::PathBuf),
    /// Its PostgreSQL database.
    Postgres(String),
}

impl Stored {
    pub fn of(server: &TestServer) -> Stored {
        match server.database_url() {
            Some(url) => Stored::Postgres(url.to_owned()),
            None => Stored::Sqlite(server.data_dir.join("fxmsg.db")),
        }
    }

    /// `SELECT count(*) …` with `?1`, `?2`, … bound to `params`.
    pub async fn count(&self, sql: &str, params: &[&str]) -> i64 {
        match self {
            Stored::Sqlite(path) => {
                let db = sqlite(path);
                db.query_row(sql, rusqlite::params_from_iter(params), |r| r.get(0))
                    .unwrap()
            }
            Stored::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let sql = (1..=params.len()).fold(sql.to_owned(), |sql, n| {
                    sql.replace(&format!("?{n}"), &format!("${n}"))
                });
                params
                    .iter()
                    .fold(sqlx::query_scalar(&sql), |q, p| q.bind(*p))
                    .fetch_one(&mut db)
                    .await
                    .unwrap()
            }
        }
    }

    /// Every table of fxmsg's own with its columns.
    pub async fn tables(&self) -> Vec<(String, Vec<String>)> {
        match self {
            Stored::Sqlite(path) => {
                let db = sqlite(path);
                let tables: Vec<String> = db
                    .prepare(
                        "SELECT name FROM sqlite_master
                          WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
                    )
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                tables
                    .into_iter()
                    .map(|table| {
                        let columns = db
                            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                            .unwrap()
                            .query_map([], |r| r.get(0))
                            .unwrap()
                            .collect::<Result<_, _>>()
                            .unwrap();
                        (table, columns)
                    })
                    .collect()
            }
            Stored::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name NOT LIKE '\\_%'
                      ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut db)
                .await
                .unwrap();
                let mut tables: Vec<(String, Vec<String>)> = Vec::new();
                for (table, column) in rows {
                    match tables.last_mut() {
                        Some((last, columns)) if *last == table => columns.push(column),
                        _ => tables.push((table, vec![column])),
                    }
                }
                tables
            }
        }
    }

    /// Everything stored, as bytes a secret can be searched for in: the SQLite file and its WAL,
    /// or every row of every table as text.
    pub async fn everything(&self) -> Vec<u8> {
        match self {
            Stored::Sqlite(path) => {
                let mut bytes = std::fs::read(path).unwrap();
                let wal = path.with_extension("db-wal");
                bytes.extend(std::fs::read(wal).unwrap_or_default());
                bytes
            }
            Stored::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let mut text = String::new();
                for (table, _) in self.tables().await {
                    let rows: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT t::TEXT FROM {table} AS t"))
                            .fetch_all(&mut db)
                            .await
                            .unwrap();
                    text.extend(rows);
                }
                text.into_bytes()
            }
        }
    }
}

fn sqlite(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}
