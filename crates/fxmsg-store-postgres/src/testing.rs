//! Throwaway databases for tests (feature `testing`): each [`TempDatabase`] is a new, empty
//! database on the server in `FXMSG_TEST_POSTGRES` (default: the local one with trust auth),
//! dropped with it.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The server tests make their databases on.
pub fn server_url() -> String {
    std::env::var("FXMSG_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new database, dropped (its connections closed first) when this is.
pub struct TempDatabase {
    name: String,
    url: String,
}

impl TempDatabase {
    /// Creates the database; panics naming the server if it cannot.
    pub async fn new() -> TempDatabase {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "fxmsg_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let server = server_url();
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} (set FXMSG_TEST_POSTGRES): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        let (base, _) = server.rsplit_once('/').expect("a postgres:// URL");
        let url = format!("{base}/{name}");
        TempDatabase { name, url }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        // On a thread of its own: this may run inside a runtime, which cannot block on a future.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server_url()).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map(drop)
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("dropping a test database: {e}");
        }
    }
}
