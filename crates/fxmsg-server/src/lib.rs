//! The fxmsg server: the Fxiaoke Open Platform message and media API on an embedded store.
//!
//! Layout:
//! - [`Server`] builds everything from a [`Config`] and serves until a shutdown future resolves.
//! - `routes/`: the route table and one file per resource (tokens, messages, media, admin, inspect,
//!   events, inbox, access).
//! - `auth`: both Fxiaoke auth styles resolved to one caller; `tokens`: the 6600/7200 s rule.
//! - `events`: Server-Sent Event streams and the wait API over the store's event log.
//! - `access`: employees' own credentials (API tokens, login links, session cookies).
//! - `error`: `CompatError` (Fxiaoke envelope) and `NativeError` (`/api/v1`), the only mapping points.
//! - `media`: image sniffing and header rules; bytes go through the `object_store` crate.
//! - `clock`: injectable time, so expiry is testable without waiting.
//!
//! A send flows: extract body → authenticate → `SendMessage::parse` (shared with the SDK) →
//! resolve recipients → `Store::insert_message` (one transaction: idempotency key, cover media,
//! message, inbox rows, its event) → respond. The response is written only after the commit;
//! the event reaches live streams after it too.
#![forbid(unsafe_code)]

mod access;
mod auth;
pub mod backup;
mod bootstrap;
pub mod clock;
mod config;
mod database;
mod directory;
mod error;
mod events;
mod extract;
mod faults;
#[doc(hidden)]
pub mod fuzz;
mod limits;
mod logs;
mod media;
mod metrics;
mod objects;
mod retention;
mod routes;
mod secrets;
mod serve;
mod state;
mod tokens;
mod trace;
mod web;

use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use bootstrap::{Bootstrap, Demo};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, Listen};
pub use database::Database;
pub use logs::{init_logging, LogFormat};
pub use media::{MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES};
pub use objects::MediaLocation;
pub use tokens::{TOKEN_LIFETIME_SECS, TOKEN_REUSE_SECS};

use state::AppState;

/// Why the server could not start. Each names what to change: the path, the address.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A file or directory under the data directory.
    #[error("{}: {source}", path.display())]
    Path {
        /// What could not be created, opened or read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process holds the data directory.
    #[error("{} is in use by another fxmsg (pid {pid}); stop it, or pass another --data-dir", path.display())]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// The holder's process id, as it wrote it in the lock file.
        pid: String,
    },
    /// The listener.
    #[error("cannot listen on {listen}: {source}; pass another --listen")]
    Listen {
        /// The address asked for.
        listen: Listen,
        /// Why.
        source: std::io::Error,
    },
    /// The database.
    #[error("database {database}: {source}")]
    Store {
        /// The database setting.
        database: Database,
        /// Why.
        source: fxmsg_store::StoreError,
    },
    /// The media store.
    #[error("media {location}: {reason}")]
    Media {
        /// The media setting.
        location: objects::MediaLocation,
        /// Why.
        reason: String,
    },
    /// First-start bootstrap.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// Builds a [`StartError::Path`] for `path`.
fn at(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Path {
        path: path.to_owned(),
        source,
    }
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn fxmsg_store::Store>,
    clock: Arc<dyn Clock>,
    /// The planned faults, read again whenever any node changes them.
    faults: faults::Faults,
    prune_now: Arc<tokio::sync::Notify>,
    /// What the pruner keeps, and its media store (for the bytes of pruned media).
    retention: retention::Retention,
    media: Arc<dyn object_store::ObjectStore>,
    /// Cancelled when shutdown begins, so event streams and waits end.
    shutdown: tokio_util::sync::CancellationToken,
    /// How connections are bounded.
    bounds: serve::Bounds,
    /// Held (locked) until the server is dropped: one server per data directory.
    _lock: File,
}

/// Makes the data directory the owner's alone (0700): the database, its WAL and the media are
/// created with the process's umask, and together with `token.key` they would let a reader
/// derive live tokens.
fn owner_only(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            tracing::info!(dir = %dir.display(), from = format!("{mode:o}"), "data directory made owner-only (700)");
        }
    }
    Ok(())
}

impl Server {
    /// Opens the data directory (creating it on first start), binds the listener and builds the app.
    ///
    /// With `config.test_clock` the server runs on `clock` if it can be set (a [`ManualClock`]),
    /// else on a new manual clock reading the current time.
    pub async fn build(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<(Server, Bootstrap), StartError> {
        let clock: Arc<dyn Clock> = match clock.as_manual() {
            None if config.test_clock => Arc::new(ManualClock::new()),
            _ => clock,
        };
        let configured_token = config.configured_admin_token()?;
        // Headers, JSON bodies and pauses inside uploads share one read timeout.
        let read_timeout = Duration::from_secs(config.read_timeout_secs.max(1));
        std::fs::create_dir_all(&config.data_dir).map_err(at(&config.data_dir))?;
        owner_only(&config.data_dir).map_err(at(&config.data_dir))?;
        let lock = lock_data_dir(&config.data_dir)?;
        let database = config.database();
        let store = database
            .open(config.event_buffer)
            .await
            .map_err(|source| StartError::Store { database, source })?;
        let location = config.media();
        let media = location
            .open(&config.s3())
            .await
            .map_err(|reason| StartError::Media { location, reason })?;
        let mut boot = Bootstrap::default();
        let bootstrap_error = |e: error::NativeError| StartError::Bootstrap(e.message);
        let admin_token_hash =
            bootstrap::admin_token_hash(&*store, configured_token.as_deref(), &mut boot)
                .await
                .map_err(bootstrap_error)?;
        bootstrap::demo(&*store, !config.no_demo, clock.now_ms(), &mut boot)
            .await
            .map_err(bootstrap_error)?;
        // A database of its own keeps its key in a file beside it; one that several nodes
        // share keeps it inside, so a token issued by one node works on all.
        let token_key = match config.database().sqlite_path() {
            Some(_) => {
                let key_path = config.data_dir.join("token.key");
                bootstrap::token_key(&key_path).map_err(at(&key_path))?
            }
            None => bootstrap::shared_token_key(&*store)
                .await
                .map_err(bootstrap_error)?,
        };
        let faults = faults::Faults::load(store.clone())
            .await
            .map_err(|source| StartError::Store {
                database: config.database(),
                source,
            })?;
        let media_store = media.store;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let prune_now = Arc::new(tokio::sync::Notify::new());
        let state = AppState::new(state::Shared {
            store: store.clone(),
            media: media_store.clone(),
            media_part_bytes: media.part_bytes,
            clock: clock.clone(),
            token_key,
            admin_token_hash: admin_token_hash.into(),
            bodies: extract::Bodies::new(
                config.json_body_limit,
                read_timeout,
                config.body_buffer_budget,
            ),
            media_quota: (config.media_quota_bytes > 0).then_some(config.media_quota_bytes),
            faults: faults.clone(),
            limits: config
                .rate_limits
                .then(|| limits::Limits::new(config.daily_quota)),
            metrics: metrics::Metrics::new(&*store),
            shutdown: shutdown.clone(),
            test_clock: config.test_clock,
            prune_now: prune_now.clone(),
            directory_writes: tokio::sync::Mutex::new(()),
        });
        let router = routes::router(state, Duration::from_secs(config.request_timeout_secs));
        let listener = TcpListener::bind(config.listen.bind_target())
            .await
            .map_err(|source| StartError::Listen {
                listen: config.listen.clone(),
                source,
            })?;
        Ok((
            Server {
                listener,
                router,
                store,
                clock,
                faults,
                prune_now,
                retention: retention::Retention {
                    every: Duration::from_secs(config.key_prune_secs),
                    events: Duration::from_secs(config.event_retention_days * 86_400),
                    messages: (config.retain_messages_days > 0)
                        .then(|| Duration::from_secs(config.retain_messages_days * 86_400)),
                },
                media: media_store,
                shutdown,
                bounds: serve::Bounds {
                    read_timeout,
                    max_connections: serve::connection_cap(config.max_connections),
                    grace: Duration::from_secs(config.shutdown_grace_secs),
                },
                _lock: lock,
            },
            boot,
        ))
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let pruner = tokio::spawn(retention::run(
            self.store.clone(),
            self.media,
            self.clock,
            self.prune_now,
            self.retention,
        ));
        let faults = tokio::spawn(self.faults.follow());
        let app = routes::app(self.router);
        let streams = self.shutdown.clone();
        // Open streams and waits end when shutdown begins; other requests in flight finish.
        serve::serve(self.listener, app, self.bounds, shutdown, move || {
            streams.cancel()
        })
        .await;
        pruner.abort();
        faults.abort();
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "closing the database");
        }
        Ok(())
    }
}

/// Takes `data_dir/fxmsg.lock` for this process, or says which process has it. The lock is the
/// kernel's (`flock`), so it goes away with the process however it ends, SIGKILL included, and a
/// stale file never blocks a start.
fn lock_data_dir(data_dir: &Path) -> Result<File, StartError> {
    let path = data_dir.join("fxmsg.lock");
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(at(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(StartError::InUse {
                path: data_dir.to_owned(),
                pid: pid.trim().to_owned(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(at(&path)(e)),
    }
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()))
        .map_err(at(&path))?;
    Ok(file)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
