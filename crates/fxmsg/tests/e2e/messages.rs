//! Sends, limits at and past each edge, invalid recipients, revoke and idempotent retries.

use bytes::Bytes;
use futures_util::future::join_all;
use fxmsg_client::native::EmployeeStatus;
use fxmsg_client::{AuthStyle, ErrorCode, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_success, TestServer, PNG};

fn text_to(users: Vec<String>) -> Value {
    json!({"toUser": users, "msgType": "text", "text": {"content": "hello"}})
}

#[tokio::test]
async fn five_hundred_recipients_all_get_an_inbox_row_and_501_are_refused() {
    let server = TestServer::start().await;
    let corp = server.demo.corp.corp_id.clone();
    let ids: Vec<String> = (0..495).map(|i| format!("bulk{i}")).collect();
    for chunk in ids.chunks(50) {
        join_all(
            chunk
                .iter()
                .map(|id| server.admin.create_employee(&corp, id, Some(id))),
        )
        .await;
    }
    let mut users: Vec<String> = server
        .demo
        .employees
        .iter()
        .map(|e| e.user_id.clone())
        .collect();
    users.extend(ids);
    assert_eq!(users.len(), 500);
    let r = server
        .post_legacy("/cgi/message/send", text_to(users.clone()))
        .await;
    assert_success(&r);
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(detail.deliveries.len(), 500);
    let inbox = server.admin.inbox(&corp, "bulk494", None).await.unwrap();
    assert_eq!(inbox.items[0].message.message_id, r["messageId"]);

    users.push("one-too-many".into());
    assert_error(
        &server
            .post_legacy("/cgi/message/send", text_to(users))
            .await,
        11016,
        "at most 500",
    );
    assert_eq!(
        server.message_count().await,
        1,
        "the refused send stored nothing"
    );
}

#[tokio::test]
async fn article_limits_are_enforced_at_and_past_each_edge() {
    let server = TestServer::start().await;
    let cover = server
        .client(AuthStyle::Legacy)
        .upload_bytes(MediaKind::MessageImage, "c.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let article = |title: &str, author: &str, description: &str| json!({"title": title, "author": author, "description": description, "coverImage": cover, "type": "URL", "content": "https://example.com"});
    let send = |articles: Vec<Value>| {
        server.post_legacy(
            "/cgi/message/send",
            json!({"toUser": ["1000"], "msgType": "articles", "articles": articles}),
        )
    };
    let ok = article(&"标".repeat(45), &"作".repeat(8), &"述".repeat(140));
    assert_success(&send(vec![ok.clone(); 7]).await);
    assert_error(
        &send(vec![ok.clone(); 8]).await,
        15002,
        "articles: must hold 1..7 articles, got 8",
    );
    assert_error(&send(vec![]).await, 15002, "articles");
    let cases = [
        (
            article(&"标".repeat(46), "a", "d"),
            "articles[1].title: at most 45 characters, got 46",
        ),
        (
            article("t", &"作".repeat(9), "d"),
            "articles[1].author: at most 8 characters",
        ),
        (
            article("t", "a", &"述".repeat(141)),
            "articles[1].description: at most 140 characters",
        ),
    ];
    for (bad, message) in cases {
        assert_error(&send(vec![ok.clone(), bad]).await, 15002, message);
    }
    assert_eq!(server.message_count().await, 1);
}

#[tokio::test]
async fn field_errors_carry_the_most_specific_code() {
    let server = TestServer::start().await;
    let send = |body: Value| server.post_legacy("/cgi/message/send", body);
    assert_error(
        &send(json!({"msgType": "text", "text": {"content": "x"}})).await,
        10015,
        "toUser",
    );
    assert_error(
        &send(json!({"toUser": [], "msgType": "text"})).await,
        10015,
        "toUser",
    );
    assert_error(&send(json!({"toUser": ["1000"]})).await, 11017, "msgType");
    assert_error(
        &send(json!({"toUser": ["1000"], "msgType": "video"})).await,
        12003,
        "video",
    );
    assert_error(
        &send(json!({"toUser": ["1000"], "msgType": "text", "text": {"content": ""}})).await,
        12005,
        "text.content",
    );
    assert_error(
        &send(json!({"toUser": ["1000"], "msgType": "composite", "composite": {"head": {"title": "h"}, "link": {"title": "l"}}})).await,
        15002,
        "composite.link.url",
    );
}

#[tokio::test]
async fn unknown_and_stopped_recipients_are_listed_not_delivered() {
    let server = TestServer::start().await;
    let stopped = server.employee(1).clone();
    server
        .admin
        .set_employee_status(
            &stopped.corp_id,
            &stopped.open_user_id,
            EmployeeStatus::Stopped,
        )
        .await
        .unwrap();
    let client = server.client(AuthStyle::Bearer);
    let to = vec![
        server.employee(0).open_user_id.clone(),
        stopped.user_id.clone(),
        "ghost".into(),
    ];
    let sent = client.send(&SendMessage::text(to, "hi")).await.unwrap();
    assert_eq!(
        sent.invalid_users,
        [stopped.user_id.clone(), "ghost".into()]
    );
    let detail = server.admin.get_message(&sent.message_id).await.unwrap();
    assert_eq!(
        detail.message.recipients,
        [server.employee(0).open_user_id.clone()]
    );
    let none_valid = client
        .send(&SendMessage::text(["ghost", &stopped.user_id], "hi"))
        .await
        .unwrap_err();
    assert_eq!(none_valid.code(), Some(ErrorCode::InvalidToUser));
}

#[tokio::test]
async fn covers_must_be_live_images_of_the_same_corp() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Legacy);
    let image = client
        .upload_bytes(MediaKind::MessageImage, "c.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let doc = client
        .upload_bytes(
            MediaKind::Document,
            "d.pdf",
            Bytes::from_static(b"%PDF-1.4"),
        )
        .await
        .unwrap();
    let articles = |covers: &[&str]| {
        let items: Vec<Value> = covers
            .iter()
            .map(|c| json!({"title": "t", "coverImage": c, "type": "TEXT", "content": "c"}))
            .collect();
        json!({"toUser": ["1000"], "msgType": "articles", "articles": items})
    };
    assert_error(
        &server
            .post_legacy("/cgi/message/send", articles(&[&image, "nope"]))
            .await,
        15002,
        "articles[1].coverImage",
    );
    assert_error(
        &server
            .post_legacy("/cgi/message/send", articles(&[&doc]))
            .await,
        15002,
        "document, not an image",
    );
    client.delete_media(&image).await.unwrap();
    assert_error(
        &server
            .post_legacy("/cgi/message/send", articles(&[&image]))
            .await,
        15002,
        "articles[0].coverImage",
    );
    assert_eq!(server.message_count().await, 0);
}

#[tokio::test]
async fn service_account_sends_need_a_service_of_the_corp() {
    let server = TestServer::start().await;
    let text = |service: Value| json!({"serviceId": service, "toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    assert_error(
        &server
            .post_legacy("/cgi/app/message/send", text(Value::Null))
            .await,
        15002,
        "serviceId",
    );
    assert_error(
        &server
            .post_legacy("/cgi/app/message/send", text(json!("FSAID_none")))
            .await,
        15002,
        "serviceId",
    );
    let r = server
        .post_legacy("/cgi/app/message/send", text(json!(server.service_id())))
        .await;
    assert_success(&r);
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        detail.message.service_id.as_deref(),
        Some(server.service_id())
    );
}

#[tokio::test]
async fn revoking_marks_every_inbox_row_and_repeating_is_harmless() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let sent = client
        .send(&SendMessage::text(["1000", "1001"], "oops"))
        .await
        .unwrap();
    client
        .revoke(server.service_id(), &sent.message_id)
        .await
        .unwrap();
    client
        .revoke(server.service_id(), &sent.message_id)
        .await
        .unwrap();
    let detail = server.admin.get_message(&sent.message_id).await.unwrap();
    assert!(detail.message.revoked_at.is_some());
    assert!(detail.deliveries.iter().all(|d| d.state == "revoked"));
    let inbox = server
        .admin
        .inbox(&server.demo.corp.corp_id, "1001", None)
        .await
        .unwrap();
    assert_eq!(inbox.items[0].state, "revoked");
    let unknown = client
        .revoke(server.service_id(), "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some(ErrorCode::InvalidParameter));
    let missing = server
        .post_legacy(
            "/cgi/app/message/revoke",
            json!({"serviceId": server.service_id()}),
        )
        .await;
    assert_error(&missing, 15002, "messageId");
}

#[tokio::test]
async fn a_retry_with_the_same_third_trace_id_is_delivered_once() {
    let server = TestServer::start().await;
    let body = text_to(vec!["1000".into()]);
    let first = server
        .post_legacy("/cgi/message/send?thirdTraceId=retry-1", body.clone())
        .await;
    // The retry carries a fresh token, as a real client's would after renewal.
    server.clock.advance_secs(6600);
    let second = server
        .post_legacy("/cgi/message/send?thirdTraceId=retry-1", body.clone())
        .await;
    assert_eq!(first, second, "the first response is replayed verbatim");
    assert_eq!(server.message_count().await, 1);
    let inbox = server
        .admin
        .inbox(&server.demo.corp.corp_id, "1000", None)
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1);

    let other = server
        .post_legacy(
            "/cgi/message/send?thirdTraceId=retry-1",
            text_to(vec!["1001".into()]),
        )
        .await;
    assert_error(&other, 15002, "thirdTraceId");
    let as_service = server
        .post_legacy("/cgi/app/message/send?thirdTraceId=retry-1", {
            let mut b = body.clone();
            b["serviceId"] = json!(server.service_id());
            b
        })
        .await;
    assert_error(&as_service, 15002, "thirdTraceId");

    server.clock.advance_secs(24 * 3600);
    let later = server
        .post_legacy("/cgi/message/send?thirdTraceId=retry-1", body)
        .await;
    assert_success(&later);
    assert_ne!(
        later["messageId"], first["messageId"],
        "after 24 h the key is fresh"
    );
    assert_eq!(server.message_count().await, 2);
}

/// Rows in the server's idempotency-key table, read straight from its database.
async fn stored_keys(server: &TestServer) -> i64 {
    crate::storage::Stored::of(server)
        .count("SELECT count(*) FROM idempotency_keys", &[])
        .await
}

#[tokio::test]
async fn keys_past_their_24_h_window_are_deleted_from_storage() {
    let server = TestServer::start_with(|c| c.key_prune_secs = 0).await;
    for n in 0..3 {
        let sent = server
            .post_legacy(
                &format!("/cgi/message/send?thirdTraceId=old-{n}"),
                text_to(vec!["1000".into()]),
            )
            .await;
        assert_success(&sent);
    }
    assert_eq!(
        stored_keys(&server).await,
        3,
        "keys inside the window are kept"
    );
    server.clock.advance_secs(24 * 3600 + 1);
    let fresh = server
        .post_legacy(
            "/cgi/message/send?thirdTraceId=fresh",
            text_to(vec!["1000".into()]),
        )
        .await;
    assert_success(&fresh);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stored_keys(&server).await != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "expired keys still stored: {}",
            stored_keys(&server).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The messages themselves stay; only their dedupe keys expire.
    assert_eq!(server.message_count().await, 4);
}

#[tokio::test]
async fn concurrent_identical_retries_deliver_once() {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let mut body = text_to(vec!["1000".into()]);
    body["corpAccessToken"] = json!(token);
    body["corpId"] = json!(corp_id);
    let answers =
        join_all((0..8).map(|_| server.post("/cgi/message/send?thirdTraceId=burst", &body))).await;
    assert!(
        answers
            .iter()
            .all(|a| a["messageId"] == answers[0]["messageId"]),
        "{answers:?}"
    );
    assert_eq!(server.message_count().await, 1);
}

#[tokio::test]
async fn the_sdk_refuses_invalid_messages_before_sending() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let too_many: Vec<String> = (0..501).map(|i| i.to_string()).collect();
    let err = client
        .send(&SendMessage::text(too_many, "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, fxmsg_client::Error::Invalid(ref e) if e.field == "toUser"),
        "{err}"
    );
    assert_eq!(server.message_count().await, 0);
}

#[tokio::test]
async fn third_trace_ids_are_limited_to_128_characters() {
    let server = TestServer::start().await;
    let body = text_to(vec!["1000".into()]);
    let at = server
        .post_legacy(
            &format!("/cgi/message/send?thirdTraceId={}", "k".repeat(128)),
            body.clone(),
        )
        .await;
    assert_success(&at);
    let past = server
        .post_legacy(
            &format!("/cgi/message/send?thirdTraceId={}", "k".repeat(129)),
            body,
        )
        .await;
    assert_error(&past, 15002, "thirdTraceId: at most 128 characters");
    assert_eq!(server.message_count().await, 1);
}

#[tokio::test]
async fn an_employee_named_by_number_and_by_open_id_gets_one_inbox_row() {
    let server = TestServer::start().await;
    let e = server.employee(0).clone();
    let r = server
        .post_legacy(
            "/cgi/message/send",
            text_to(vec![e.user_id.clone(), e.open_user_id.clone()]),
        )
        .await;
    assert_success(&r);
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(detail.deliveries.len(), 1);
    assert_eq!(detail.message.recipients, [e.open_user_id]);
}
