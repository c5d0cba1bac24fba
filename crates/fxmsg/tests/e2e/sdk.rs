//! The SDK against conditions a real gateway produces: token renewal across the 6600–7200 s
//! window, a refused token, lost responses, transient and permanent errors, concurrent first calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use fxmsg_client::native::NewFault;
use fxmsg_client::{AuthStyle, Client, Composite, ErrorCode, RetryPolicy, SendMessage, TimeSource};
use fxmsg_server::ManualClock;

use crate::support::TestServer;

/// The server's test clock, seen by the SDK's token cache.
struct SharedClock(ManualClock);

impl TimeSource for SharedClock {
    fn now(&self) -> Duration {
        use fxmsg_server::Clock;
        Duration::from_millis(self.0.now_ms() as u64)
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..Default::default()
    }
}

fn client_on_test_clock(server: &TestServer, style: AuthStyle) -> Client {
    Client::builder(&server.url)
        .credentials(server.credentials())
        .auth_style(style)
        .retry(fast_retries())
        .time_source(Arc::new(SharedClock(server.clock.clone())))
        .build()
        .unwrap()
}

fn fault(path: &str, error_code: Option<i64>, drop_response: bool, times: u32) -> NewFault {
    NewFault {
        path: path.into(),
        error_code,
        drop_response,
        times: Some(times),
        ..NewFault::default()
    }
}

#[tokio::test]
async fn the_sdk_renews_its_token_inside_the_renewal_window() {
    for style in [AuthStyle::Bearer, AuthStyle::Legacy] {
        let server = TestServer::start().await;
        let client = client_on_test_clock(&server, style);
        let first = client.access_token().await.unwrap();
        server.clock.advance_secs(6599);
        assert_eq!(
            client.access_token().await.unwrap(),
            first,
            "cached before the window"
        );
        server.clock.advance_secs(1);
        let renewed = client.access_token().await.unwrap();
        assert_ne!(
            renewed, first,
            "renewed at 6600 s, when the server issues a new token"
        );
        client
            .send(&SendMessage::text(["1000"], "after renewal"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_refused_token_is_refetched_once_then_the_error_surfaces() {
    let server = TestServer::start().await;
    let client = client_on_test_clock(&server, AuthStyle::Bearer);
    server
        .admin
        .add_fault(&fault("/cgi/message/send", Some(20016), false, 1))
        .await
        .unwrap();
    client
        .send(&SendMessage::text(["1000"], "one refusal"))
        .await
        .unwrap();
    server
        .admin
        .add_fault(&fault("/cgi/message/send", Some(20016), false, 2))
        .await
        .unwrap();
    let err = client
        .send(&SendMessage::text(["1000"], "two refusals"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::CorpTokenInvalid));
    let faults = server.admin.list_faults().await.unwrap();
    assert!(
        faults.iter().map(|f| f.fired).eq([1, 2]) && faults.iter().all(|f| f.remaining == Some(0)),
        "exactly two attempts were made: {faults:?}"
    );
    assert_eq!(server.message_count().await, 1);
}

#[tokio::test]
async fn a_send_whose_response_is_lost_is_retried_and_delivered_once() {
    let server = TestServer::start().await;
    let client = client_on_test_clock(&server, AuthStyle::Legacy);
    server
        .admin
        .add_fault(&fault("/cgi/message/send", None, true, 2))
        .await
        .unwrap();
    let sent = client
        .send(&SendMessage::text(["1000", "1001"], "exactly once"))
        .await
        .unwrap();
    assert_eq!(
        server.message_count().await,
        1,
        "three attempts, one message"
    );
    let inbox = server
        .admin
        .inbox(&server.demo.corp.corp_id, "1000", None)
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.items[0].message.message_id, sent.message_id);
}

#[tokio::test]
async fn transient_codes_are_retried_and_permanent_ones_are_not() {
    let server = TestServer::start().await;
    let client = client_on_test_clock(&server, AuthStyle::Bearer);
    for code in [-1, 14001, 30004, 50009] {
        server
            .admin
            .add_fault(&fault("/cgi/message/send", Some(code), false, 2))
            .await
            .unwrap();
        client
            .send(&SendMessage::text(["1000"], format!("after {code}")))
            .await
            .unwrap();
    }
    // Each was used up by one failure and one retry.
    let used = server.admin.list_faults().await.unwrap();
    assert!(used.iter().all(|f| f.fired == 2), "{used:?}");
    server.admin.clear_faults().await.unwrap();
    for code in [30002, 30003, 20021, 20022, 15002] {
        server
            .admin
            .add_fault(&fault("/cgi/message/send", Some(code), false, 2))
            .await
            .unwrap();
        let err = client
            .send(&SendMessage::text(["1000"], "refused"))
            .await
            .unwrap_err();
        assert_eq!(err.code().map(|c| c.as_i64()), Some(code));
        assert!(!err.is_retryable());
        let left = server.admin.list_faults().await.unwrap();
        assert_eq!(left[0].remaining, Some(1), "{code} was tried once");
        server.admin.clear_faults().await.unwrap();
    }
    // Retries stop at the configured count.
    server
        .admin
        .add_fault(&fault("/cgi/message/send", Some(-1), false, 10))
        .await
        .unwrap();
    let err = client
        .send(&SendMessage::text(["1000"], "busy"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::SystemBusy));
    assert_eq!(
        server.admin.list_faults().await.unwrap()[0].remaining,
        Some(6),
        "four attempts"
    );
    assert_eq!(server.message_count().await, 4);
}

#[tokio::test]
async fn concurrent_first_calls_fetch_one_token() {
    let server = TestServer::start().await;
    // A counting proxy in front of the token endpoint.
    let count = Arc::new(AtomicUsize::new(0));
    let upstream = format!("{}/oauth2.0/token", server.url);
    let counter = count.clone();
    let proxy = axum::Router::new().route(
        "/oauth2.0/token",
        axum::routing::post(move |body: Bytes| {
            let (upstream, counter) = (upstream.clone(), counter.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                reqwest::Client::new()
                    .post(upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });
    let client = Client::builder(&proxy_url)
        .credentials(server.credentials())
        .build()
        .unwrap();
    let tokens = futures_util::future::join_all((0..20).map(|_| client.access_token())).await;
    assert!(tokens
        .iter()
        .all(|t| t.as_ref().unwrap() == tokens[0].as_ref().unwrap()));
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one fetch for twenty concurrent callers"
    );
}

#[tokio::test]
async fn every_message_type_goes_through_the_typed_builders() {
    let server = TestServer::start().await;
    let client = client_on_test_clock(&server, AuthStyle::Bearer);
    let card = Composite::new("Daily report", "Details", "http://www.fxiaoke.com")
        .first("Red packets")
        .row("CRM", "100000")
        .remark("remark");
    let sent = client
        .send(&SendMessage::composite(["1000"], card).as_service(server.service_id()))
        .await
        .unwrap();
    let detail = server.admin.get_message(&sent.message_id).await.unwrap();
    assert_eq!(detail.message.msg_type, "composite");
    assert_eq!(detail.message.content["form"][0]["value"], "100000");
    assert_eq!(
        detail.message.service_id.as_deref(),
        Some(server.service_id())
    );
}

#[tokio::test]
async fn the_fault_api_refuses_contradictory_faults() {
    let server = TestServer::start().await;
    let err = server
        .admin
        .add_fault(&fault("/cgi/message/send", Some(-1), true, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, fxmsg_client::Error::Native { status: 400, .. }),
        "{err}"
    );
}
