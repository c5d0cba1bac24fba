//! Which backend holds fxmsg's state, chosen by one setting (`--database`): the only place that
//! knows the backends exist. Everything else holds an `Arc<dyn Store>`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use fxmsg_store::{Store, StoreError};

/// Where the state is.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite database file: `sqlite:PATH` (or `sqlite://PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or
    /// `postgresql://`), which several fxmsg nodes can share.
    Postgres(String),
}

impl Database {
    /// The default: `fxmsg.db` in the data directory.
    pub fn in_data_dir(data_dir: &std::path::Path) -> Database {
        Database::Sqlite(data_dir.join("fxmsg.db"))
    }

    /// Opens the backend, creating and migrating its schema if needed.
    pub async fn open(&self, event_buffer: usize) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            Database::Sqlite(path) => fxmsg_store_sqlite::open(path, event_buffer).await,
            Database::Postgres(url) => fxmsg_store_postgres::open(url, event_buffer).await,
        }
    }

    /// The SQLite file, for the operations that work on it directly (`fxmsg backup`).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

impl FromStr for Database {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Database::Postgres(s.to_owned()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"));
        match path {
            Some("") => Err("sqlite: needs a file path, as in sqlite:./fxmsg-data/fxmsg.db".into()),
            Some(path) => Ok(Database::Sqlite(PathBuf::from(path))),
            None => Err(format!(
                "unsupported database {s:?}: use sqlite:PATH or postgres://USER@HOST/DATABASE (the default is fxmsg.db in the data directory)"
            )),
        }
    }
}

/// As [`Display`](fmt::Display): a password never reaches a log.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Database::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

/// The URL with its password (if any) replaced, for logs and errors.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The credentials end at the last `@` before the host (a password may hold `@`, encoded).
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{}", &rest[host_start..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_print_back() {
        for text in ["sqlite:/var/lib/fxmsg/fxmsg.db", "sqlite:relative.db"] {
            assert_eq!(text.parse::<Database>().unwrap().to_string(), text);
        }
        assert_eq!(
            "sqlite:///abs.db".parse::<Database>().unwrap(),
            Database::Sqlite("/abs.db".into())
        );
        assert!("sqlite:"
            .parse::<Database>()
            .unwrap_err()
            .contains("file path"));
        assert!("mysql://x"
            .parse::<Database>()
            .unwrap_err()
            .contains("unsupported"));
        let pg = "postgres://fxmsg@db.internal:5432/fxmsg";
        assert_eq!(pg.parse::<Database>().unwrap().to_string(), pg);
    }

    #[test]
    fn a_postgres_password_is_never_printed() {
        let db: Database = "postgresql://fxmsg:s3cr%40t@db:5432/fxmsg?sslmode=require"
            .parse()
            .unwrap();
        assert_eq!(
            db.to_string(),
            "postgresql://fxmsg:***@db:5432/fxmsg?sslmode=require"
        );
        assert!(!format!("{db:?}").contains("s3cr"), "{db:?}");
    }
}
