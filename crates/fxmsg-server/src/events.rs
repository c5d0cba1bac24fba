//! Event streams: Server-Sent Events over the store's event log.
//!
//! A stream subscribes to the live events first and only then reads where the log stands, so an
//! event committed in between is in both the log and the live channel, and is sent once: every
//! stream remembers the last position it sent and sends only what comes after it. A resume
//! (`Last-Event-ID` or `?since=`) replays the log after that position page by page, then follows
//! the live channel. A reader too slow for the live channel's buffer is told so by the channel
//! (`Lagged`) and catches up from the log the same way; no sender ever waits for a reader.
//!
//! The first event is `open` with the log's head, so a client can wait for it rather than sleep.
//! A resume from a position the log no longer holds (pruned, or ahead of the head) gets `reset`
//! with the head instead: the client refetches, and the stream goes on from the head.
//! Streams end when the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{HeaderMap, HeaderValue, CACHE_CONTROL};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use fxmsg_api::native::{Event, StreamHead};
use fxmsg_api::native::{EventKind, Message};
use fxmsg_store::{EventScope, LiveEvent, MessageFilter, Store};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio_util::sync::CancellationToken;

use crate::error::NativeError;
use crate::metrics::StreamMetrics;

/// Events read from the log per query while replaying or catching up.
const PAGE: u32 = 500;
/// Comment lines that keep idle connections (and the proxies on their way) open.
const KEEP_ALIVE: Duration = Duration::from_secs(20);

/// Where a client asks to resume: `Last-Event-ID` (what a reconnecting `EventSource` sends) or
/// `since`. `None` follows from the head.
pub fn resume_from(headers: &HeaderMap, since: Option<i64>) -> Result<Option<i64>, NativeError> {
    let header = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    NativeError::bad_request("Last-Event-ID: must be an event id from this stream")
                })
        })
        .transpose()?;
    let from = header.or(since);
    if from.is_some_and(|n| n < 0) {
        return Err(NativeError::bad_request("since: must be 0 or more"));
    }
    Ok(from)
}

/// The SSE response for `scope`, resuming after `from` when given.
pub async fn stream(
    store: Arc<dyn Store>,
    scope: EventScope,
    from: Option<i64>,
    shutdown: CancellationToken,
    metrics: StreamMetrics,
) -> Result<Response, NativeError> {
    // Subscribe before reading the head: nothing committed after the read can be missed.
    let live = store.subscribe();
    let log = store.event_log(&scope).await?;
    let mut follow = Follow {
        store,
        scope,
        live,
        last: log.head,
        pending: VecDeque::new(),
        replaying: false,
        shutdown,
        metrics,
    };
    follow.metrics.open.inc();
    follow.pending.push_back(head_event("open", log.head, None));
    match from {
        None => {}
        Some(n) if n < log.pruned_through || n > log.head => {
            let why = if n > log.head {
                format!("position {n} is past this log's head {}", log.head)
            } else {
                format!(
                    "events up to {} were pruned; refetch, then follow from {}",
                    log.pruned_through, log.head
                )
            };
            follow
                .pending
                .push_back(head_event("reset", log.head, Some(why)).id(log.head.to_string()));
        }
        Some(n) => {
            follow.last = n;
            follow.replaying = n < log.head;
        }
    }
    let events = futures_util::stream::unfold(follow, Follow::next);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx and the like buffer responses unless told not to, which would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn head_event(name: &str, head: i64, reason: Option<String>) -> SseEvent {
    SseEvent::default()
        .event(name)
        .json_data(StreamHead { head, reason })
        .expect("a stream head serializes")
}

/// One stream's progress through the log.
struct Follow {
    store: Arc<dyn Store>,
    scope: EventScope,
    live: Receiver<Arc<LiveEvent>>,
    /// The position of the last event sent (or the one the stream starts after).
    last: i64,
    /// Events ready to send.
    pending: VecDeque<SseEvent>,
    /// Reading the log after `last` rather than the live channel.
    replaying: bool,
    shutdown: CancellationToken,
    metrics: StreamMetrics,
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.metrics.open.dec();
    }
}

impl Follow {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Follow)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.replaying {
                let page = tokio::select! {
                    () = self.shutdown.cancelled() => return None,
                    page = self.store.events_after(&self.scope, self.last, PAGE) => page,
                };
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        // The client resumes from its last id once it reconnects.
                        tracing::warn!(error = %e, "reading the event log for a stream failed");
                        return None;
                    }
                };
                self.replaying = page.len() == PAGE as usize;
                for event in &page {
                    self.last = self.scope.position(event);
                    self.pending.push_back(self.sse(event));
                }
                continue;
            }
            let received = tokio::select! {
                () = self.shutdown.cancelled() => return None,
                received = self.live.recv() => received,
            };
            match received {
                Ok(event) => {
                    let position = self.scope.position(&event);
                    if self.scope.admits(&event) && position > self.last {
                        self.last = position;
                        let sse = SseEvent::default()
                            .id(position.to_string())
                            .event(event.kind.as_str())
                            .data(event.json());
                        return Some((Ok(sse), self));
                    }
                }
                // Too slow for the live buffer: catch up from the log, then follow again.
                Err(RecvError::Lagged(_)) => {
                    self.metrics.catch_ups.inc();
                    self.replaying = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn sse(&self, event: &Event) -> SseEvent {
        SseEvent::default()
            .id(self.scope.position(event).to_string())
            .event(event.kind.as_str())
            .json_data(event)
            .expect("an event serializes")
    }
}

/// Messages matching `filter` after position `after`, oldest first: at once if some are
/// committed, else as soon as one commits, else none once `timeout` has passed (or the server
/// stops). No polling: the live channel says when to look again. Returns the messages with the
/// position of the last one (or `after`).
pub async fn wait_for_messages(
    store: &dyn Store,
    filter: &MessageFilter,
    after: i64,
    limit: u32,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<(Vec<Message>, i64), NativeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribe before the first look: a message committed in between is seen live.
    let mut live = store.subscribe();
    loop {
        let found = store.messages_after(filter, after, limit).await?;
        if let Some((last, _)) = found.last() {
            let last = *last;
            return Ok((found.into_iter().map(|(_, m)| m).collect(), last));
        }
        // Wait for a message event that matches (or a lag, after which the log is read again).
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return Ok((Vec::new(), after)),
                () = tokio::time::sleep_until(deadline) => return Ok((Vec::new(), after)),
                received = live.recv() => received,
            };
            match received {
                Ok(event) if event.kind == EventKind::Message && filter.matches(&event.message) => {
                    break
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return Ok((Vec::new(), after)),
            }
        }
    }
}
