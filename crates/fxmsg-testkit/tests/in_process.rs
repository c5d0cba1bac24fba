use fxmsg_testkit::fxmsg_client::native::{Cut, NewFault};
use fxmsg_testkit::fxmsg_client::SendMessage;
use fxmsg_testkit::TestServer;

#[tokio::test]
async fn my_integration_delivers_once_when_an_answer_is_lost() {
    // A real fxmsg on 127.0.0.1:0 with its own data directory, stopped when dropped.
    let server = TestServer::start().await;
    // A tenant of this test's own: a corp, an app, a service account and three employees.
    let (sandbox, client) = server.sandbox(3).await;
    // The next send is committed, then its answer is cut off.
    let fault = NewFault {
        path: "/cgi/message/send".into(),
        cut: Some(Cut::AfterCommit),
        ..Default::default()
    };
    server.admin().add_fault(&fault).await.unwrap();

    // The code under test: here the SDK, which retries with the same thirdTraceId.
    let sent = client
        .send(&SendMessage::text(["1000", "1001"], "Build 512 passed"))
        .await
        .unwrap();

    // Delivered once, to both.
    let inbox = server
        .admin()
        .inbox(&sandbox.corp.corp_id, "1001", None)
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.items[0].message.message_id, sent.message_id);
    // Tokens and idempotency windows follow the server's clock.
    server.clock().advance_secs(7200);
    client
        .send(&SendMessage::text(["1000"], "two hours later"))
        .await
        .unwrap();
}
