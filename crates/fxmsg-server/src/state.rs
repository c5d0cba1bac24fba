//! Shared state handed to every handler.

use std::sync::Arc;

use fxmsg_store::Store;
use object_store::ObjectStore;

use crate::clock::Clock;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::secrets::TokenKey;

/// Everything a handler needs. Extractors clone it several times per request, so a clone is one
/// reference-count increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Shares `shared` between handlers.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// Metadata and messages.
    pub store: Arc<dyn Store>,
    /// Media bytes.
    pub media: Arc<dyn ObjectStore>,
    /// Bytes per part of a multipart upload to `media` (S3 wants at least 5 MiB).
    pub media_part_bytes: usize,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Derives token strings.
    pub token_key: TokenKey,
    /// SHA-256 of the admin token.
    pub admin_token_hash: Arc<str>,
    /// How request bodies are read: JSON size limit, read timeout, memory budget.
    pub bodies: crate::extract::Bodies,
    /// Bytes of live media each corp may hold (`--media-quota-bytes`); `None`: no limit.
    pub media_quota: Option<u64>,
    /// Planned faults on compat paths.
    pub faults: Faults,
    /// The platform's call limits, when on (`--rate-limits`).
    pub limits: Option<crate::limits::Limits>,
    /// What `/metrics` exports.
    pub metrics: Metrics,
    /// Cancelled when the server begins to stop: ends event streams and waits.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Whether `/api/v1/clock` may set the clock (`--test-clock`).
    pub test_clock: bool,
    /// Wakes the pruner at once, when the test clock moved.
    pub prune_now: Arc<tokio::sync::Notify>,
    /// Held while an address-book write checks the corp's directory and writes it, so two
    /// writes never check against the same old state (say, two moves that together make a cycle).
    pub directory_writes: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Now, unix milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
