//! Malformed input gets a clear error, never a 5xx or a panic, and leaves nothing behind.

use serde_json::json;

use crate::support::{assert_error, TestServer};

#[tokio::test]
async fn broken_bodies_get_clear_errors_and_store_nothing() {
    let server = TestServer::start().await;
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let with_auth = |rest: &str| {
        format!(r#"{{"corpAccessToken":"{token}","corpId":"{corp}",{rest}}}"#).into_bytes()
    };
    let cases: Vec<(Vec<u8>, i64, &str)> = vec![
        (b"".to_vec(), 12004, "empty"),
        (b"   \n".to_vec(), 12004, "empty"),
        (b"not json".to_vec(), 15002, "not valid JSON"),
        (b"{\"toUser\": [".to_vec(), 15002, "not valid JSON"),
        (b"[1,2,3]".to_vec(), 15002, "JSON object"),
        (b"\xff\xfe{}".to_vec(), 15002, "not valid JSON"),
        (
            with_auth(r#""toUser":"1000","msgType":"text","text":{"content":"x"}"#),
            11016,
            "toUser",
        ),
        (
            with_auth(r#""toUser":["1000"],"msgType":"text","text":5"#),
            15002,
            "text",
        ),
        (
            with_auth(r#""toUser":["1000"],"msgType":"articles","articles":{"title":"t"}"#),
            15002,
            "articles",
        ),
        (
            with_auth(r#""toUser":[null],"msgType":"text","text":{"content":"x"}"#),
            11016,
            "toUser[0]",
        ),
        (
            with_auth(r#""corpAccessToken":5,"toUser":["1000"]"#),
            15002,
            "",
        ),
    ];
    for (body, code, needle) in cases {
        let r = server.post_bytes("/cgi/message/send", body.clone()).await;
        assert_error(&r, code, needle);
    }
    assert_eq!(server.message_count().await, 0);
}

#[tokio::test]
async fn a_10_mb_json_body_is_refused_without_a_5xx() {
    let server = TestServer::start().await;
    let huge = json!({"toUser": ["1000"], "msgType": "text", "text": {"content": "x".repeat(10 * 1024 * 1024)}});
    let r = server.post_legacy("/cgi/message/send", huge).await;
    assert_error(&r, 15002, "larger than 2097152 bytes");
    // Just under the limit is fine.
    let fits = json!({"toUser": ["1000"], "msgType": "text", "text": {"content": "x".repeat(2 * 1024 * 1024 - 400)}});
    assert_eq!(
        server.post_legacy("/cgi/message/send", fits).await["errorCode"],
        0
    );
    assert_eq!(server.message_count().await, 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_client_errors_with_a_trace_id() {
    let server = TestServer::start().await;
    let get = server.get("/cgi/message/send", None).await;
    assert_eq!(get.status(), 405);
    let get_trace = get.headers()["x-fxmsg-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(get_trace.starts_with("E-O."), "{get_trace}");
    // With a body in the platform's envelope, not an empty one.
    let body: serde_json::Value = get.json().await.unwrap();
    assert_eq!(body["errorCode"], 15002, "{body}");
    assert!(
        body["errorDescription"]
            .as_str()
            .unwrap()
            .contains("use POST"),
        "{body}"
    );
    assert!(!body["traceId"].as_str().unwrap().is_empty(), "{body}");
    let native = server
        .http()
        .delete(format!("{}/api/v1/corps", server.url))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(native.status(), 405);
    let body: serde_json::Value = native.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("DELETE is not allowed"),
        "{body}"
    );
    let missing = server
        .http()
        .post(format!("{}/cgi/nothing", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The trace layer wraps the whole route table, so answers no route produced carry one too.
    let trace_id = missing.headers()["x-fxmsg-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(trace_id.starts_with("E-O."), "{trace_id}");
    // On the platform's paths, in the envelope.
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["errorCode"], 15002, "{body}");
    assert_eq!(body["traceId"], trace_id.as_str());
    assert!(body["errorDescription"]
        .as_str()
        .unwrap()
        .contains("not an API"));
    let native = server.get("/api/v1/nothing", None).await;
    assert_eq!(native.status(), 404);
    let body: serde_json::Value = native.json().await.unwrap();
    assert_eq!(body["code"], "not_found", "{body}");
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf_8_is_a_400_naming_it() {
    let server = TestServer::start().await;
    for (path, parameter) in [
        ("/api/v1/messages/%FF", "message_id"),
        ("/api/v1/corps/%C3%28/apps", "corp_id"),
    ] {
        let r = server.get(path, Some(crate::support::ADMIN_TOKEN)).await;
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "bad_request", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(parameter) && message.contains("UTF-8"),
            "{message}"
        );
    }
}
