//! With two corps, no endpoint lets one corp touch the other's data, and a foreign id gets exactly
//! the answer a missing id gets.

use bytes::Bytes;
use fxmsg_client::{AuthStyle, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::support::{TestServer, PNG};

/// Builds a request body around an id.
type BodyFor<'a> = Box<dyn Fn(&str) -> Value + 'a>;

/// The answer with the id replaced, so a foreign and a missing id can be compared.
fn normalized(mut r: Value, id: &str) -> Value {
    r["traceId"] = json!("-");
    let description = r["errorDescription"]
        .as_str()
        .unwrap_or_default()
        .replace(id, "ID");
    r["errorDescription"] = json!(description);
    r
}

#[tokio::test]
async fn a_foreign_id_behaves_exactly_like_a_missing_one() {
    let server = TestServer::start().await;
    let a = server.client(AuthStyle::Legacy);
    let media = a
        .upload_bytes(MediaKind::MessageImage, "a.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let message = a
        .send(&SendMessage::text(["1000"], "private"))
        .await
        .unwrap()
        .message_id;

    let b = server.other_corp("beta").await;
    let b_service = server
        .admin
        .create_service_account(&b.corp.corp_id, "B notices")
        .await
        .unwrap();
    let missing = "11111111-2222-3333-4444-555555555555";
    let server = &server;
    let as_b = |path: &'static str, body: Value| {
        let app = b.app.clone();
        async move { server.post_legacy_as(&app, path, body).await }
    };
    let probes: Vec<(&str, BodyFor)> = vec![
        ("/media/download", Box::new(|id| json!({"mediaId": id}))),
        ("/media/delete", Box::new(|id| json!({"mediaId": id}))),
        (
            "/cgi/app/message/revoke",
            Box::new(|id| json!({"serviceId": b_service.service_id, "messageId": id})),
        ),
        (
            "/cgi/message/send",
            Box::new(|id| {
                json!({"toUser": [b.employee.user_id], "msgType": "articles",
            "articles": [{"title": "t", "coverImage": id, "type": "TEXT", "content": "c"}]})
            }),
        ),
    ];
    for (path, body) in probes {
        let foreign_id = if path.contains("message/revoke") {
            &message
        } else {
            &media
        };
        let foreign = as_b(path, body(foreign_id)).await;
        let unknown = as_b(path, body(missing)).await;
        assert_ne!(foreign["errorCode"], 0, "{path}: {foreign}");
        assert_eq!(
            normalized(foreign, foreign_id),
            normalized(unknown, missing),
            "{path}"
        );
    }
    // A's service account is not B's either.
    let r = as_b(
        "/cgi/app/message/revoke",
        json!({"serviceId": server.service_id(), "messageId": message}),
    )
    .await;
    assert_eq!(r["errorCode"], 15002);
    // Corp A's employees are not recipients for corp B.
    let r = as_b("/cgi/message/send", json!({"toUser": [server.employee(0).open_user_id], "msgType": "text", "text": {"content": "x"}})).await;
    assert_eq!(r["errorCode"], 11016);

    // A's data is intact.
    let mut out = Vec::new();
    a.download(&media, &mut out).await.unwrap();
    assert_eq!(out, PNG);
    let detail = server.admin.get_message(&message).await.unwrap();
    assert!(detail.message.revoked_at.is_none());
}

#[tokio::test]
async fn a_token_of_one_corp_is_refused_for_the_other() {
    let server = TestServer::start().await;
    let b = server.other_corp("gamma").await;
    let (b_token, _) = server.legacy_token_for(&b.app).await;
    let body = json!({"corpAccessToken": b_token, "corpId": server.demo.corp.corp_id, "toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    assert_eq!(
        server.post("/cgi/message/send", &body).await["errorCode"],
        20016
    );
    let r = server
        .post_bearer("/cgi/message/send", &b_token, Some("demo"), &body)
        .await;
    assert_eq!(r["errorCode"], 20016);
}
