//! Live delivery: the event streams (SSE) and the wait API, against the real server.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use fxmsg_client::admin::MessageQuery;
use fxmsg_client::events::{EventsQuery, StreamItem};
use fxmsg_client::native::{Event, EventKind, StreamHead};
use fxmsg_client::{AuthStyle, Client, SendMessage};
use serde_json::Value;

use crate::support::{TestServer, ADMIN_TOKEN};

/// How long any single expected event may take to arrive.
const PATIENCE: Duration = Duration::from_secs(20);

/// The next item of an SDK stream, failing the test after [`PATIENCE`].
pub async fn next_item<S>(stream: &mut S) -> StreamItem
where
    S: Stream<Item = Result<StreamItem, fxmsg_client::Error>> + Unpin,
{
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on")
        .expect("no error")
}

/// The next `n` events of an SDK stream (skipping `open` items).
pub async fn next_events<S>(stream: &mut S, n: usize) -> Vec<Event>
where
    S: Stream<Item = Result<StreamItem, fxmsg_client::Error>> + Unpin,
{
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        match next_item(stream).await {
            StreamItem::Event(e) => events.push(*e),
            StreamItem::Open(_) => {}
            StreamItem::Reset(head) => panic!("unexpected reset {head:?}"),
        }
    }
    events
}

/// One SSE event as it came over the wire.
#[derive(Debug)]
pub struct Raw {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// A stream read by hand, to check the wire format and resume by `since` or `Last-Event-ID`.
pub struct RawStream {
    pub response: reqwest::Response,
    buffer: String,
}

impl RawStream {
    pub async fn open(server: &TestServer, query: &str, last_event_id: Option<i64>) -> RawStream {
        let mut request = server
            .http()
            .get(format!("{}/api/v1/events{query}", server.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        RawStream {
            response,
            buffer: String::new(),
        }
    }

    pub async fn next(&mut self) -> Raw {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).unwrap();
                return Raw { id, event, data };
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("a chunk in time")
                .unwrap()
                .expect("the stream goes on");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn corp_events(server: &TestServer) -> EventsQuery {
    EventsQuery {
        corp_id: Some(server.demo.corp.corp_id.clone()),
        since: None,
    }
}

/// Sends `n` texts from `tasks` concurrent senders; returns the message ids.
async fn burst(client: &Client, n: usize, tasks: usize) -> Vec<String> {
    let sends = (0..tasks).map(|t| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (t..n).step_by(tasks) {
                let sent = client
                    .send(&SendMessage::text(["1000", "1001"], format!("burst {i}")))
                    .await
                    .unwrap();
                ids.push(sent.message_id);
            }
            ids
        })
    });
    futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn events_arrive_in_commit_order_after_an_open_event_and_revokes_follow() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let mut stream = Box::pin(server.admin.events(corp_events(&server)));
    assert_eq!(
        next_item(&mut stream).await,
        StreamItem::Open(StreamHead {
            head: 0,
            reason: None
        })
    );
    let sent = burst(&client, 30, 6).await;
    let events = next_events(&mut stream, 30).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.kind == EventKind::Message));
    let ids: HashSet<&str> = events.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, sent.iter().map(String::as_str).collect());
    // Commit order is the store's order: the listing, newest first, is the stream reversed.
    let listed = server
        .admin
        .list_messages(&MessageQuery {
            limit: Some(30),
            ..Default::default()
        })
        .await
        .unwrap();
    let listed: Vec<&str> = listed
        .items
        .iter()
        .rev()
        .map(|m| m.message_id.as_str())
        .collect();
    let streamed: Vec<&str> = events.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(listed, streamed);
    assert_eq!(
        events[0].message.content["content"]
            .as_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("burst")
    );

    client.revoke(server.service_id(), &sent[3]).await.unwrap();
    let revoke = &next_events(&mut stream, 1).await[0];
    assert_eq!((revoke.seq, revoke.kind), (31, EventKind::Revoke));
    assert_eq!(revoke.message_id, sent[3]);
    assert!(revoke.message.revoked_at.is_some());
}

#[tokio::test]
async fn the_wire_format_is_server_sent_events_never_compressed_or_buffered() {
    let server = TestServer::start().await;
    let mut raw = RawStream::open(&server, "", None).await;
    let headers = raw.response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-encoding").is_none());
    let open = raw.next().await;
    assert_eq!((open.event.as_str(), open.id), ("open", None));
    assert_eq!(open.data["head"], 0);
    let sent = server
        .client(AuthStyle::Legacy)
        .send(&SendMessage::text(["1000"], "on the wire"))
        .await
        .unwrap();
    let message = raw.next().await;
    assert_eq!(message.event, "message");
    assert_eq!(message.id.as_deref(), Some("1"));
    assert_eq!(message.data["messageId"], sent.message_id.as_str());
    assert_eq!(message.data["message"]["content"]["content"], "on the wire");
    // A stream outlives the request timeout.
    let server = TestServer::start_with(|c| c.request_timeout_secs = 1).await;
    let mut raw = RawStream::open(&server, "", None).await;
    raw.next().await;
    let started = Instant::now();
    let wait = tokio::time::timeout(Duration::from_millis(1500), raw.response.chunk()).await;
    assert!(wait.is_err(), "the stream was cut: {wait:?}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

/// A burst of concurrent sends while a reader drops off and comes back, once by `since` and
/// once by `Last-Event-ID`: together the two connections carry every event exactly once, in
/// order.
#[tokio::test]
async fn resuming_by_since_or_last_event_id_loses_and_duplicates_nothing() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let corp = format!("?corpId={}", server.demo.corp.corp_id);
    for by_header in [false, true] {
        let mut first = RawStream::open(&server, &corp, None).await;
        let head = first.next().await.data["head"].as_i64().unwrap();
        let sending = tokio::spawn({
            let client = client.clone();
            async move { burst(&client, 120, 8).await }
        });
        let mut seen = Vec::new();
        for _ in 0..25 {
            let event = first.next().await;
            seen.push(event.id.unwrap().parse::<i64>().unwrap());
        }
        drop(first);
        let last = *seen.last().unwrap();
        let mut second = if by_header {
            RawStream::open(&server, &corp, Some(last)).await
        } else {
            RawStream::open(&server, &format!("{corp}&since={last}"), None).await
        };
        assert_eq!(second.next().await.event, "open");
        while seen.len() < 120 {
            let event = second.next().await;
            assert_eq!(event.event, "message");
            seen.push(event.id.unwrap().parse().unwrap());
        }
        assert_eq!(
            seen,
            (head + 1..=head + 120).collect::<Vec<_>>(),
            "by header: {by_header}"
        );
        assert_eq!(sending.await.unwrap().len(), 120);
    }
    // A resume id that is not a number is refused, not ignored.
    let bad = server
        .http()
        .get(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .header("last-event-id", "seven")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    for (query, status) in [("?since=-1", 400), ("?corpId=FSCID_NOPE", 404)] {
        let r = server
            .get(&format!("/api/v1/events{query}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(r.status(), status, "{query}");
    }
}

/// A resume further back than one page of the log (500 events) replays every page, in order.
#[tokio::test]
async fn a_resume_replays_more_than_a_page_of_the_log() {
    let server = TestServer::start().await;
    burst(&server.client(AuthStyle::Bearer), 1100, 8).await;
    let mut raw = RawStream::open(&server, "?since=0", None).await;
    assert_eq!(raw.next().await.data["head"], 1100);
    let mut ids = Vec::new();
    while ids.len() < 1100 {
        ids.push(raw.next().await.id.unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(ids, (1..=1100).collect::<Vec<_>>());
}

/// A position past the log's head (another server's, or a database restored from a backup) is
/// not followed blindly: `reset`, with the head.
#[tokio::test]
async fn resuming_from_past_the_head_yields_reset() {
    let server = TestServer::start().await;
    server
        .client(AuthStyle::Bearer)
        .send(&SendMessage::text(["1000"], "one"))
        .await
        .unwrap();
    let mut raw = RawStream::open(&server, "?since=99", None).await;
    assert_eq!(raw.next().await.event, "open");
    let reset = raw.next().await;
    assert_eq!(
        (reset.event.as_str(), reset.id.as_deref()),
        ("reset", Some("1"))
    );
    assert!(reset.data["reason"]
        .as_str()
        .unwrap()
        .contains("past this log's head 1"));
}

/// A reader that stops reading while far more events are sent than the server keeps in memory
/// (here 8) falls behind; it catches up from the log and misses nothing, and no send waited.
#[tokio::test]
async fn a_slow_reader_catches_up_from_the_log() {
    let server = TestServer::start_with(|c| c.event_buffer = 8).await;
    let client = server.client(AuthStyle::Bearer);
    let mut raw = RawStream::open(&server, "", None).await;
    raw.next().await;
    // Large messages (12 MB of events in all), so the socket buffers fill and the server's side
    // of the stream stalls.
    let body = "x".repeat(30_000);
    let started = Instant::now();
    let sends = (0..8).map(|t| {
        let (client, body) = (client.clone(), body.clone());
        tokio::spawn(async move {
            for i in 0..50 {
                let text = format!("{t}-{i} {body}");
                client
                    .send(&SendMessage::text(["1000"], text))
                    .await
                    .unwrap();
            }
        })
    });
    for send in futures_util::future::join_all(sends).await {
        send.unwrap();
    }
    let sending = started.elapsed();
    let mut ids = Vec::new();
    while ids.len() < 400 {
        ids.push(raw.next().await.id.unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(ids, (1..=400).collect::<Vec<_>>());
    let metrics = server.admin.metrics().await.unwrap();
    assert!(
        metrics.sum("fxmsg_event_stream_catch_ups_total", &[]) >= 1.0,
        "the reader never fell behind (sending took {sending:?})"
    );
}

#[tokio::test]
async fn a_thousand_subscribers_on_one_corp_all_receive_a_send() {
    let server = TestServer::start().await;
    let mut streams = Vec::new();
    for _ in 0..1000 {
        streams.push(Box::pin(server.admin.events(corp_events(&server))));
    }
    // Every one is open (and so subscribed) before the send.
    let opened = futures_util::future::join_all(streams.iter_mut().map(next_item)).await;
    assert!(opened.iter().all(|i| matches!(i, StreamItem::Open(_))));
    assert_eq!(
        server
            .admin
            .metrics()
            .await
            .unwrap()
            .sum("fxmsg_event_streams", &[]),
        1000.0
    );
    let sent = server
        .client(AuthStyle::Bearer)
        .send(&SendMessage::text(["1000"], "to everyone watching"))
        .await
        .unwrap();
    let received =
        futures_util::future::join_all(streams.iter_mut().map(|s| next_events(s, 1))).await;
    assert!(received
        .iter()
        .all(|events| events[0].message_id == sent.message_id));
    drop(streams);
    let deadline = Instant::now() + PATIENCE;
    while server
        .admin
        .metrics()
        .await
        .unwrap()
        .sum("fxmsg_event_streams", &[])
        > 0.0
    {
        assert!(
            Instant::now() < deadline,
            "closed streams are still counted"
        );
        tokio::task::yield_now().await;
    }
}

/// Events past their retention are pruned; a client resuming from before the pruned stretch is
/// told to refetch (`reset`, with the head), and its stream goes on live from there.
#[tokio::test]
async fn resuming_from_before_the_retention_window_yields_reset() {
    let server = TestServer::start_with(|c| c.key_prune_secs = 0).await;
    let client = server.client(AuthStyle::Bearer);
    for i in 0..3 {
        client
            .send(&SendMessage::text(["1000"], format!("old {i}")))
            .await
            .unwrap();
    }
    server.clock.advance_secs(8 * 86_400);
    client
        .send(&SendMessage::text(["1000"], "recent"))
        .await
        .unwrap();
    let query = EventsQuery {
        corp_id: Some(server.demo.corp.corp_id.clone()),
        since: Some(1),
    };
    let deadline = Instant::now() + PATIENCE;
    let mut stream = loop {
        let mut stream = Box::pin(server.admin.events(query.clone()));
        assert!(matches!(next_item(&mut stream).await, StreamItem::Open(_)));
        match next_item(&mut stream).await {
            StreamItem::Reset(head) => {
                assert_eq!(head.head, 4);
                assert!(head.reason.unwrap().contains("pruned"));
                break stream;
            }
            // Not pruned yet: the old events replay. Look again.
            StreamItem::Event(_) => {}
            StreamItem::Open(_) => unreachable!(),
        }
        assert!(
            Instant::now() < deadline,
            "the old events were never pruned"
        );
        tokio::task::yield_now().await;
    };
    let sent = client
        .send(&SendMessage::text(["1000"], "after the reset"))
        .await
        .unwrap();
    let next = &next_events(&mut stream, 1).await[0];
    assert_eq!(
        (next.seq, next.message_id.as_str()),
        (5, sent.message_id.as_str())
    );
    // Resuming within the window replays as usual.
    let mut within = Box::pin(server.admin.events(EventsQuery {
        since: Some(4),
        ..query
    }));
    assert_eq!(next_events(&mut within, 1).await[0].seq, 5);
}

#[tokio::test]
async fn the_wait_api_answers_when_a_matching_message_commits_and_times_out_cleanly() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    client
        .send(&SendMessage::text(["1001"], "Build 511 passed"))
        .await
        .unwrap();
    let query = MessageQuery {
        corp_id: Some(server.demo.corp.corp_id.clone()),
        recipient: Some("1000".into()),
        text: Some("Build 512".into()),
        ..Default::default()
    };
    let waiting = tokio::spawn({
        let (admin, query) = (server.admin.clone(), query.clone());
        async move {
            admin
                .wait_for_message(&query, Duration::from_secs(20))
                .await
        }
    });
    // Other messages commit first and do not end the wait.
    client
        .send(&SendMessage::text(["1000"], "Build 512 started"))
        .await
        .map(drop)
        .ok();
    let started = Instant::now();
    let sent = client
        .send(&SendMessage::text(["1001", "1000"], "Build 512 passed"))
        .await
        .unwrap();
    let found = waiting.await.unwrap().unwrap().expect("the wait found it");
    // "Build 512 started" also matches; whichever committed first is the answer.
    assert!(found.content["content"]
        .as_str()
        .unwrap()
        .starts_with("Build 512"));
    assert!(started.elapsed() < PATIENCE);
    let _ = sent;

    // After the newest position, only a newer message answers; none comes, so it times out.
    let page = server
        .admin
        .wait_messages(&query, 0, Duration::from_secs(1))
        .await
        .unwrap();
    let after: i64 = page.next_cursor.unwrap().parse().unwrap();
    assert_eq!(page.items.len(), 2);
    let started = Instant::now();
    let none = server
        .admin
        .wait_messages(&query, after, Duration::from_secs(1))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(none.items.is_empty());
    assert_eq!(
        none.next_cursor.as_deref(),
        Some(after.to_string().as_str())
    );
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let nothing = server
        .admin
        .wait_for_message(
            &MessageQuery {
                text: Some("never sent".into()),
                ..Default::default()
            },
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(nothing.is_none());

    // At the longest timeout a wait is accepted (and answers at once: a match is committed).
    let longest = server
        .get(
            "/api/v1/messages/wait?text=Build%20511&timeout=300",
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(longest.status(), 200);
    for bad in ["timeout=301", "cursor=5", "after=-1", "recipient=1000"] {
        let r = server
            .get(&format!("/api/v1/messages/wait?{bad}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let listing = server
        .get("/api/v1/messages?timeout=5", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(listing.status(), 400);
}

/// A wait longer than the request timeout is not cut at 408, and shutdown ends waits and
/// streams instead of waiting for them.
#[tokio::test]
async fn waits_outlast_the_request_timeout_and_shutdown_ends_them() {
    let server = TestServer::start_with(|c| c.request_timeout_secs = 1).await;
    let started = Instant::now();
    let page = server
        .admin
        .wait_messages(&MessageQuery::default(), 0, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(2));

    let waiting = tokio::spawn({
        let admin = server.admin.clone();
        async move {
            admin
                .wait_messages(&MessageQuery::default(), 0, Duration::from_secs(60))
                .await
        }
    });
    let mut stream = Box::pin(server.admin.events(EventsQuery::default()));
    next_item(&mut stream).await;
    let stopping = Instant::now();
    server.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(10));
    let answered = waiting.await.unwrap();
    assert!(answered.is_ok_and(|p| p.items.is_empty()));
}
