//! Retention (`--retain-messages-days`): old messages go with their inbox rows, and media goes
//! once it is old and no remaining message refers to it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{assert_success, TestServer};

const DAY: i64 = 86_400;

#[tokio::test]
async fn old_messages_go_with_their_inbox_rows_and_the_media_only_they_needed() {
    let server = TestServer::start_with(|c| {
        c.key_prune_secs = 0;
        c.retain_messages_days = 1;
    })
    .await;
    let server = &server;
    let corp_id = server.demo.corp.corp_id.clone();
    let to = server.employee(0).clone();
    let upload = || async { server.upload_jpeg().await["mediaId"].clone() };
    let article = |cover: &Value| {
        json!({"toUser": [to.open_user_id], "msgType": "articles",
            "articles": [{"title": "t", "coverImage": cover, "type": "TEXT", "content": "c"}]})
    };
    let send = |body: Value| async move {
        let r = server.post_legacy("/cgi/message/send", body).await;
        assert_success(&r);
        r["messageId"].as_str().unwrap().to_owned()
    };
    // A token of its own each time: the clock moves past a token's lifetime.
    let downloads = |id: Value| async move {
        let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
        let r = server.download_legacy(&token, &corp_id, &id).await;
        r.headers()["content-type"] == "image/jpeg"
    };
    let (shared, only_old, unused) = (upload().await, upload().await, upload().await);
    assert!(downloads(shared.clone()).await, "a fresh upload downloads");
    let old = send(article(&only_old)).await;
    server.clock.advance_secs(DAY * 6 / 10);
    let kept = send(article(&shared)).await;
    // Now the first message is past a day; the second is not.
    server.clock.advance_secs(DAY * 6 / 10);
    let fresh = upload().await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while server.admin.get_message(&old).await.is_ok() || downloads(only_old.clone()).await {
        assert!(
            Instant::now() < deadline,
            "the old message was never pruned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while downloads(unused.clone()).await {
        assert!(
            Instant::now() < deadline,
            "the unused medium was never pruned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The newer message stays with its inbox row, and so does the cover it needs, however old;
    // a new medium stays though nothing uses it.
    let detail = server.admin.get_message(&kept).await.unwrap();
    assert_eq!(detail.deliveries.len(), 1);
    assert!(downloads(shared.clone()).await);
    assert!(downloads(fresh.clone()).await);
    let inbox = server
        .admin
        .inbox(&corp_id, &to.open_user_id, None)
        .await
        .unwrap();
    let ids: Vec<&str> = inbox
        .items
        .iter()
        .map(|m| m.message.message_id.as_str())
        .collect();
    assert_eq!(ids, [kept.as_str()]);
    // Only the two live media's bytes remain.
    assert_eq!(server.media_files(), 2);
    // A pruned cover is refused like any missing medium.
    let r = server
        .post_legacy("/cgi/message/send", article(&only_old))
        .await;
    crate::support::assert_error(&r, 15002, "coverImage");
}
