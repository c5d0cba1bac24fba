//! Publishes committed events to this node's subscribers, in order, whichever node committed
//! them; and rings this node's doorbell for the test kit's faults when any node changed them.
//!
//! Each event-logging transaction notifies `fxmsg_events` when it commits. The pump listens, and
//! on each notification reads the log after the last event it published. Event numbers follow
//! commit order without gaps, so "after the last one" never skips an event: a notification that
//! is lost, or a connection that drops (after which the pump listens again and reads the log
//! before waiting), delays events but cannot lose one. Faults are read whole on each ring, and
//! the doorbell rings after every reconnect too, so a lost fault notification is made good the
//! same way.

use std::sync::Arc;
use std::time::Duration;

use fxmsg_store::{EventScope, LiveEvent};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{broadcast, watch};

use crate::faults;
use crate::messages::{events_after, CHANNEL};

/// Events read per query while catching up.
const PAGE: u32 = 512;

pub async fn run(
    pool: PgPool,
    live: broadcast::Sender<Arc<LiveEvent>>,
    mut last: i64,
    fault_changes: Arc<watch::Sender<u64>>,
) {
    let ring = || fault_changes.send_modify(|n| *n += 1);
    loop {
        let mut listener = match listen(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "listening for events; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever changed while the pump was not listening.
        ring();
        let mut events_due = true;
        loop {
            if events_due {
                // What committed while the pump was not listening, or since the last doorbell.
                if let Err(e) = publish_after(&pool, &live, &mut last).await {
                    tracing::warn!(error = %e, "reading the event log; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                events_due = false;
            }
            let mut heard = |channel: &str| match channel {
                faults::CHANNEL => ring(),
                _ => events_due = true,
            };
            match listener.try_recv().await {
                // Several commits ring once per read: the rest are already buffered.
                Ok(Some(first)) => {
                    heard(first.channel());
                    while let Some(next) = listener.next_buffered() {
                        heard(next.channel());
                    }
                }
                // The connection dropped and will be made again: read everything, then wait.
                Ok(None) => {
                    events_due = true;
                    ring();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event notifications");
                    break;
                }
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, faults::CHANNEL]).await?;
    Ok(listener)
}

async fn publish_after(
    pool: &PgPool,
    live: &broadcast::Sender<Arc<LiveEvent>>,
    last: &mut i64,
) -> fxmsg_store::Result<()> {
    loop {
        let events = events_after(pool, &EventScope::All, *last, PAGE).await?;
        let Some(newest) = events.last() else {
            return Ok(());
        };
        *last = newest.global_seq;
        let full = events.len() == PAGE as usize;
        for event in events {
            // No subscriber is no error: the event is in the log.
            let _ = live.send(Arc::new(LiveEvent::new(event)));
        }
        if !full {
            return Ok(());
        }
    }
}
