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
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
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

/// The SSE response for `scope` on this server, resuming after `from` when given.
pub async fn respond(
    state: &crate::state::AppState,
    scope: EventScope,
    from: Option<i64>,
) -> Result<Response, NativeError> {
    stream(
        state.store.clone(),
        scope,
        from,
        state.shutdown.clone(),
        state.metrics.streams.clone(),
    )
    .await
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
        keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
    };
    follow.metrics.open.inc();
    follow.pending.push_back(head_frame("open", log.head, None));
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
                .push_back(head_frame("reset", log.head, Some(why)));
        }
        Some(n) => {
            follow.last = n;
            follow.replaying = n < log.head;
        }
    }
    let frames = futures_util::stream::unfold(follow, Follow::next).map(Ok::<_, Infallible>);
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx and the like buffer responses unless told not to, which would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// One SSE event: `id:` (when given), `event:` and one `data:` line (JSON has no raw newline).
fn frame(id: Option<i64>, name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + name.len() + 32);
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    let _ = write!(out, "event: {name}\ndata: {data}\n\n");
    Bytes::from(out)
}

/// `open` or `reset`. A reset carries the head as its id, so a client that reconnects goes on
/// from there; `open` carries none, so replayed events still move the client's position.
fn head_frame(name: &str, head: i64, reason: Option<String>) -> Bytes {
    let id = reason.is_some().then_some(head);
    let data = serde_json::to_string(&StreamHead { head, reason }).expect("a head serializes");
    frame(id, name, &data)
}

/// A comment line, which clients ignore and which keeps the connection and proxies awake.
const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// One stream's progress through the log.
struct Follow {
    store: Arc<dyn Store>,
    scope: EventScope,
    live: Receiver<Arc<LiveEvent>>,
    /// The position of the last event sent (or the one the stream starts after).
    last: i64,
    /// Frames ready to send.
    pending: VecDeque<Bytes>,
    /// Reading the log after `last` rather than the live channel.
    replaying: bool,
    shutdown: CancellationToken,
    metrics: StreamMetrics,
    /// When to send the next keep-alive comment (one timer per stream, reset only when it fires).
    keep_alive: Pin<Box<tokio::time::Sleep>>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.metrics.open.dec();
    }
}

impl Follow {
    async fn next(mut self) -> Option<(Bytes, Follow)> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some((frame, self));
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
                () = self.keep_alive.as_mut() => {
                    let next = tokio::time::Instant::now() + KEEP_ALIVE;
                    self.keep_alive.as_mut().reset(next);
                    return Some((Bytes::from_static(KEEP_ALIVE_FRAME), self));
                }
                received = self.live.recv() => received,
            };
            match received {
                Ok(event) => {
                    let position = self.scope.position(&event);
                    if self.scope.admits(&event) && position > self.last {
                        self.last = position;
                        // Every stream numbered the same way sends the same bytes: made once.
                        let slot = usize::from(matches!(self.scope, EventScope::All));
                        let frame = event
                            .rendered(slot, |e| frame(Some(position), e.kind.as_str(), e.json()));
                        return Some((frame, self));
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

    fn sse(&self, event: &Event) -> Bytes {
        let json = serde_json::to_string(event).expect("an event serializes");
        frame(Some(self.scope.position(event)), event.kind.as_str(), &json)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_server_sent_events() {
        assert_eq!(
            &frame(Some(7), "message", "{\"a\":1}")[..],
            b"id: 7\nevent: message\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(
            &head_frame("open", 3, None)[..],
            b"event: open\ndata: {\"head\":3}\n\n"
        );
        let reset = head_frame("reset", 9, Some("pruned".into()));
        assert!(reset.starts_with(b"id: 9\nevent: reset\n"));
    }

    /// An idle stream sends a comment line every 20 seconds.
    #[tokio::test]
    async fn an_idle_stream_sends_keep_alives() {
        let dir = tempfile::tempdir().unwrap();
        let store = fxmsg_store_sqlite::open(&dir.path().join("fxmsg.db"), 16)
            .await
            .unwrap();
        let response = stream(
            store,
            EventScope::All,
            None,
            CancellationToken::new(),
            StreamMetrics::default(),
        )
        .await
        .unwrap();
        let mut body = response.into_body().into_data_stream();
        let open = body.next().await.unwrap().unwrap();
        assert!(open.starts_with(b"event: open"));
        // The store is open; from here on time moves only when everything waits.
        tokio::time::pause();
        let started = tokio::time::Instant::now();
        let quiet = body.next().await.unwrap().unwrap();
        assert_eq!(&quiet[..], KEEP_ALIVE_FRAME);
        // (The first timer started with the stream, a moment before `started`.)
        let slack = Duration::from_secs(1);
        assert!(started.elapsed() >= KEEP_ALIVE - slack);
        let again = body.next().await.unwrap().unwrap();
        assert_eq!(&again[..], KEEP_ALIVE_FRAME);
        assert!(started.elapsed() >= KEEP_ALIVE * 2 - slack);
    }
}
