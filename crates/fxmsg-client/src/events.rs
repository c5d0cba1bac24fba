//! fxmsg's event streams and waits, from the admin client.
//!
//! [`AdminClient::events`] is a [`Stream`] of typed items that resumes by itself: when the
//! connection drops it reconnects with `Last-Event-ID` set to the last event it yielded, so no
//! event is lost or repeated. [`AdminClient::wait_for_message`] answers as soon as a matching
//! message is committed, for tests that would otherwise poll or sleep.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use fxmsg_api::native::{Event, Message, Page, StreamHead};
use serde::Serialize;

use crate::admin::{AdminClient, MessageQuery};
use crate::Error;

/// Which events [`AdminClient::events`] follows, and from where.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsQuery {
    /// Only this corp's events (ids are then the corp's `seq`; otherwise `globalSeq`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corp_id: Option<String>,
    /// Resume after this id instead of following from the head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// One item of an event stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A connection opened; the log's head then. Comes first, and again after each reconnect.
    Open(StreamHead),
    /// A committed change.
    Event(Box<Event>),
    /// The position the stream resumed from is gone (pruned): refetch what you keep, then carry on
    /// from `head`, which the stream does.
    Reset(StreamHead),
}

/// Longest pause between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where a stream is: connected, or waiting to reconnect.
struct Follow {
    client: AdminClient,
    /// `/events` or `/inbox/events`, under `/api/v1`.
    path: &'static str,
    query: EventsQuery,
    /// The id of the last item yielded that carried one.
    last: Option<i64>,
    connection: Option<BoxStream<'static, Result<eventsource_stream::Event, String>>>,
    /// Failed connection attempts in a row.
    failures: u32,
}

impl AdminClient {
    /// Every committed event (of one corp with `corp_id`), live, resuming after a dropped
    /// connection from the last event yielded. Ends with an error item only for a refusal (a
    /// wrong token, an unknown corp); connection failures are retried with a growing pause.
    ///
    /// ```no_run
    /// # async fn run(admin: fxmsg_client::admin::AdminClient) -> Result<(), fxmsg_client::Error> {
    /// use futures_util::StreamExt;
    /// use fxmsg_client::events::{EventsQuery, StreamItem};
    /// let mut events = Box::pin(admin.events(EventsQuery::default()));
    /// while let Some(item) = events.next().await {
    ///     if let StreamItem::Event(event) = item? {
    ///         println!("{} {:?} {}", event.global_seq, event.kind, event.message_id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(
        &self,
        query: EventsQuery,
    ) -> impl Stream<Item = Result<StreamItem, Error>> + Send {
        self.follow("/events", query)
    }

    /// The stream at `path` (under `/api/v1`), resuming as [`AdminClient::events`] does.
    pub(crate) fn follow(
        &self,
        path: &'static str,
        query: EventsQuery,
    ) -> impl Stream<Item = Result<StreamItem, Error>> + Send {
        let follow = Follow {
            client: self.clone(),
            path,
            last: query.since,
            query,
            connection: None,
            failures: 0,
        };
        futures_util::stream::unfold(Some(follow), |follow| async move {
            let mut follow = follow?;
            match follow.next().await {
                Ok(item) => Some((Ok(item), Some(follow))),
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Messages matching `query` committed after position `after` (0: any), oldest first, as soon
    /// as there is one, or none after `timeout` (at most 300 s). The page's `nextCursor` is the
    /// `after` of the next wait.
    pub async fn wait_messages(
        &self,
        query: &MessageQuery,
        after: i64,
        timeout: Duration,
    ) -> Result<Page<Message>, Error> {
        let secs = timeout.as_secs().min(300).to_string();
        let after = after.to_string();
        self.send(
            self.http()
                .get(self.url("/messages/wait"))
                .query(query)
                .query(&[("after", after.as_str()), ("timeout", secs.as_str())])
                // The server answers within its timeout; this one only guards a dead connection.
                .timeout(timeout + Duration::from_secs(30)),
        )
        .await
    }

    /// The first message matching `query` (already committed, or committed within `timeout`),
    /// or `None` after `timeout`.
    ///
    /// ```no_run
    /// # async fn run(admin: fxmsg_client::admin::AdminClient) -> Result<(), fxmsg_client::Error> {
    /// use std::time::Duration;
    /// use fxmsg_client::admin::MessageQuery;
    /// let query = MessageQuery { recipient: Some("FSUID_…".into()), text: Some("Build 512".into()), ..Default::default() };
    /// let message = admin.wait_for_message(&query, Duration::from_secs(10)).await?;
    /// assert!(message.is_some(), "the build notice was never sent");
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_message(
        &self,
        query: &MessageQuery,
        timeout: Duration,
    ) -> Result<Option<Message>, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut query = query.clone();
        query.limit = Some(1);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let page = self.wait_messages(&query, 0, left).await?;
            if let Some(message) = page.items.into_iter().next() {
                return Ok(Some(message));
            }
            if left.is_zero() || tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }
}

impl Follow {
    async fn next(&mut self) -> Result<StreamItem, Error> {
        loop {
            let Some(connection) = self.connection.as_mut() else {
                self.connect().await?;
                continue;
            };
            match connection.next().await {
                Some(Ok(sse)) => {
                    if let Some(item) = self.item(&sse)? {
                        self.failures = 0;
                        return Ok(item);
                    }
                }
                // Dropped or ended: reconnect from the last id.
                Some(Err(_)) | None => self.connection = None,
            }
        }
    }

    /// Opens a connection, after a pause if the last ones failed. Refusals end the stream.
    async fn connect(&mut self) -> Result<(), Error> {
        if self.failures > 0 {
            let pause = Duration::from_millis(100)
                .saturating_mul(1 << self.failures.min(6))
                .min(MAX_BACKOFF);
            tokio::time::sleep(pause).await;
        }
        let mut request = self
            .client
            .http()
            .get(self.client.url(self.path))
            .header("accept", "text/event-stream");
        if let Some(corp) = &self.query.corp_id {
            request = request.query(&[("corpId", corp)]);
        }
        if let Some(last) = self.last {
            request = request.header("last-event-id", last.to_string());
        }
        let response = match self.client.authorized(request)?.send().await {
            Ok(response) => response,
            // The server is restarting, or the network is down: try again shortly.
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                self.failures += 1;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.unwrap_or_default();
            return AdminClient::refusal(status, &bytes);
        }
        self.failures += 1; // until an item arrives
        self.connection = Some(
            response
                .bytes_stream()
                .eventsource()
                .map(|r| r.map_err(|e| e.to_string()))
                .boxed(),
        );
        Ok(())
    }

    /// The typed item for one SSE event; `None` for kinds this client does not know.
    fn item(&mut self, sse: &eventsource_stream::Event) -> Result<Option<StreamItem>, Error> {
        let bad = |e: serde_json::Error| {
            Error::Decode(format!("event {:?} {:?}: {e}", sse.event, sse.data))
        };
        let item = match sse.event.as_str() {
            "open" => StreamItem::Open(serde_json::from_str(&sse.data).map_err(bad)?),
            "reset" => {
                let head: StreamHead = serde_json::from_str(&sse.data).map_err(bad)?;
                self.last = Some(head.head);
                StreamItem::Reset(head)
            }
            "message" | "revoke" | "read" => {
                let event: Event = serde_json::from_str(&sse.data).map_err(bad)?;
                // The stream of all corps counts across corps; a corp's and an employee's, in
                // the corp.
                self.last = Some(if self.query.corp_id.is_none() && self.path == "/events" {
                    event.global_seq
                } else {
                    event.seq
                });
                StreamItem::Event(Box::new(event))
            }
            _ => return Ok(None),
        };
        Ok(Some(item))
    }
}
