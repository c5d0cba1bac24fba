//! Both auth styles on every business endpoint, token errors, and token lifetimes on the test clock.

use bytes::Bytes;
use fxmsg_client::{Article, AuthStyle, ErrorCode, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_success, TestServer, PNG};

#[tokio::test]
async fn every_business_endpoint_takes_both_auth_styles() {
    let server = TestServer::start().await;
    for style in [AuthStyle::Bearer, AuthStyle::Legacy] {
        let client = server.client(style);
        let cover = client
            .upload_bytes(
                MediaKind::MessageImage,
                "cover.png",
                Bytes::from_static(PNG),
            )
            .await
            .unwrap();
        let doc = client
            .upload_bytes(
                MediaKind::Document,
                "notes.txt",
                Bytes::from_static(b"hello"),
            )
            .await
            .unwrap();
        client
            .upload_bytes(MediaKind::Image, "crm.png", Bytes::from_static(PNG))
            .await
            .unwrap();
        let to = [server.employee(0).user_id.clone()];
        let sent = client
            .send(&SendMessage::articles(
                to.clone(),
                vec![Article::text("t", &cover, "c")],
            ))
            .await
            .unwrap();
        let as_service = client
            .send(&SendMessage::text(to, "hi").as_service(server.service_id()))
            .await
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(client.download(&doc, &mut out).await.unwrap(), 5);
        assert_eq!(out, b"hello");
        client
            .revoke(server.service_id(), &as_service.message_id)
            .await
            .unwrap();
        client
            .revoke(server.service_id(), &sent.message_id)
            .await
            .unwrap();
        client.delete_media(&doc).await.unwrap();
    }
}

#[tokio::test]
async fn missing_and_wrong_credentials_get_the_live_gateway_codes() {
    let server = TestServer::start().await;
    let text = json!({"toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    assert_error(
        &server.post("/cgi/message/send", &text).await,
        20017,
        "no credentials",
    );
    let mut wrong = text.clone();
    wrong["corpAccessToken"] = json!("0123456789ABCDEF0123456789ABCDEF");
    wrong["corpId"] = json!(server.demo.corp.corp_id);
    assert_error(
        &server.post("/cgi/message/send", &wrong).await,
        20016,
        "token",
    );
    let (token, _) = server.legacy_token_for(&server.demo.app).await;
    let mut no_corp = text.clone();
    no_corp["corpAccessToken"] = json!(token);
    assert_error(
        &server.post("/cgi/message/send", &no_corp).await,
        10014,
        "corpId",
    );
    let mut only_corp = text.clone();
    only_corp["corpId"] = json!(server.demo.corp.corp_id);
    assert_error(
        &server.post("/cgi/message/send", &only_corp).await,
        20016,
        "corpAccessToken",
    );

    let bearer = |token: &str, ea: Option<&str>| {
        let token = token.to_owned();
        let ea = ea.map(str::to_owned);
        let (server, text) = (&server, &text);
        async move {
            server
                .post_bearer("/cgi/message/send", &token, ea.as_deref(), text)
                .await
        }
    };
    assert_error(&bearer("WRONG", Some("demo")).await, 20016, "token");
    assert_error(&bearer(&token, None).await, 10014, "x-fs-ea");
    assert_error(&bearer(&token, Some("someone-else")).await, 20016, "token");
    assert_success(&bearer(&token, Some("demo")).await);
}

#[tokio::test]
async fn the_header_wins_when_both_styles_are_present() {
    let server = TestServer::start().await;
    let (token, _) = server.legacy_token_for(&server.demo.app).await;
    let body = json!({"corpAccessToken": "BOGUS", "corpId": "FSCID_BOGUS", "toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    let r = server
        .post_bearer("/cgi/message/send", &token, Some("demo"), &body)
        .await;
    assert_success(&r);
}

#[tokio::test]
async fn token_endpoints_refuse_bad_app_credentials_with_documented_codes() {
    let server = TestServer::start().await;
    let app = &server.demo.app;
    let (id, secret, code) = (&app.app.app_id, &app.app_secret, &app.permanent_code);
    let legacy = "/cgi/corpAccessToken/get/V2";
    let cases = [
        (
            json!({"appSecret": secret, "permanentCode": code}),
            10001,
            "appId",
        ),
        (
            json!({"appId": "FSAID_nope", "appSecret": secret, "permanentCode": code}),
            20006,
            "appId",
        ),
        (
            json!({"appId": id, "permanentCode": code}),
            10006,
            "appSecret",
        ),
        (
            json!({"appId": id, "appSecret": "0".repeat(32), "permanentCode": code}),
            10006,
            "appSecret",
        ),
        (
            json!({"appId": id, "appSecret": secret}),
            10012,
            "permanentCode",
        ),
        (
            json!({"appId": id, "appSecret": secret, "permanentCode": "0".repeat(32)}),
            20015,
            "permanentCode",
        ),
    ];
    for (body, code, field) in cases {
        assert_error(&server.post(legacy, &body).await, code, field);
    }
    let oauth = server.post("/oauth2.0/token", &json!({"appId": id, "appSecret": "bad", "permanentCode": code, "grantType": "app_secret"})).await;
    assert_error(&oauth, 10006, "appSecret");
    assert_eq!(oauth["error"], "invalid_client");
    assert!(oauth["error_description"]
        .as_str()
        .unwrap()
        .contains("appSecret"));
    let grant = server.post("/oauth2.0/token", &json!({"appId": id, "appSecret": secret, "permanentCode": code, "grantType": "password"})).await;
    assert_error(&grant, 15002, "grantType");
}

#[tokio::test]
async fn a_disabled_app_gets_20021_everywhere() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    client.access_token().await.unwrap();
    let app = &server.demo.app.app;
    server
        .admin
        .set_app_enabled(&app.corp_id, &app.app_id, false)
        .await
        .unwrap();
    let err = client
        .send(&SendMessage::text(["1000"], "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AppDisabled));
    let token = server.post("/cgi/corpAccessToken/get/V2", &json!({"appId": app.app_id, "appSecret": server.demo.app.app_secret, "permanentCode": server.demo.app.permanent_code})).await;
    assert_error(&token, 20021, "disabled");
    server
        .admin
        .set_app_enabled(&app.corp_id, &app.app_id, true)
        .await
        .unwrap();
    client
        .send(&SendMessage::text(["1000"], "x"))
        .await
        .unwrap();
}

async fn token(server: &TestServer, path: &str, field: &str) -> (String, i64) {
    let app = &server.demo.app;
    let body = json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code, "grantType": "app_secret"});
    let r = server.post(path, &body).await;
    assert_success(&r);
    (
        r[field].as_str().unwrap().to_owned(),
        r["expiresIn"].as_i64().unwrap(),
    )
}

async fn send_with(server: &TestServer, token: &str) -> Value {
    let body = json!({"corpAccessToken": token, "corpId": server.demo.corp.corp_id, "toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    server.post("/cgi/message/send", &body).await
}

#[tokio::test]
async fn tokens_are_reused_until_6600_s_and_valid_until_7200_s() {
    for (path, field) in [
        ("/cgi/corpAccessToken/get/V2", "corpAccessToken"),
        ("/oauth2.0/token", "accessToken"),
    ] {
        let server = TestServer::start().await;
        let (first, expires_in) = token(&server, path, field).await;
        assert_eq!(expires_in, 7200);
        assert_eq!(first.len(), 32);
        server.clock.advance_secs(6599);
        assert_eq!(
            token(&server, path, field).await,
            (first.clone(), 601),
            "{path}: same token before 6600 s"
        );
        server.clock.advance_secs(1);
        let (second, expires_in) = token(&server, path, field).await;
        assert_ne!(second, first, "{path}: a new token from 6600 s");
        assert_eq!(expires_in, 7200);
        assert_success(&send_with(&server, &first).await);
        server.clock.advance_secs(599);
        assert_success(&send_with(&server, &first).await);
        server.clock.advance_secs(1);
        assert_error(&send_with(&server, &first).await, 20016, "token");
        assert_success(&send_with(&server, &second).await);
        server.clock.advance_secs(7200);
        assert_error(&send_with(&server, &second).await, 20016, "token");
    }
}

#[tokio::test]
async fn a_refresh_token_works_once() {
    let server = TestServer::start().await;
    let app = &server.demo.app;
    let body = json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code, "grantType": "app_secret"});
    let first = server.post("/oauth2.0/token", &body).await;
    assert_eq!(first["ea"], "demo");
    let refresh = json!({"grantType": "refresh_token", "refreshToken": first["refreshToken"]});
    let renewed = server.post("/oauth2.0/token", &refresh).await;
    assert_success(&renewed);
    assert_ne!(renewed["accessToken"], first["accessToken"]);
    assert_eq!(renewed["expiresIn"], 7200);
    assert_ne!(renewed["refreshToken"], first["refreshToken"]);
    let again = server.post("/oauth2.0/token", &refresh).await;
    assert_error(&again, 20016, "refreshToken");
    assert_eq!(again["error"], "invalid_grant");
    assert_success(&send_with(&server, renewed["accessToken"].as_str().unwrap()).await);
}

#[tokio::test]
async fn the_app_token_follows_the_same_lifetime_rule() {
    let server = TestServer::start().await;
    let app = &server.demo.app;
    let body = json!({"appId": app.app.app_id, "appSecret": app.app_secret});
    let first = server.post("/cgi/appAccessToken/get", &body).await;
    assert_success(&first);
    assert_eq!(first["expiresIn"], 7200);
    server.clock.advance_secs(100);
    let again = server.post("/cgi/appAccessToken/get", &body).await;
    assert_eq!(
        (&again["appAccessToken"], &again["expiresIn"]),
        (&first["appAccessToken"], &json!(7100))
    );
    let wrong = server
        .post(
            "/cgi/appAccessToken/get",
            &json!({"appId": app.app.app_id, "appSecret": "nope"}),
        )
        .await;
    assert_error(&wrong, 10006, "appSecret");
}

#[tokio::test]
async fn the_sdk_refetches_once_when_its_token_is_refused() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Legacy);
    let old = client.access_token().await.unwrap();
    // The server-side token expires while the SDK still holds it.
    server.clock.advance_secs(7200);
    client
        .send(&SendMessage::text(["1000"], "after expiry"))
        .await
        .unwrap();
    assert_ne!(client.access_token().await.unwrap(), old);
}

#[tokio::test]
async fn a_refresh_token_expires_after_30_days() {
    let server = TestServer::start().await;
    let app = &server.demo.app;
    let body = json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code});
    let issued = server.post("/oauth2.0/token", &body).await;
    let refresh = json!({"grantType": "refresh_token", "refreshToken": issued["refreshToken"]});
    server.clock.advance_secs(30 * 24 * 3600 - 1);
    let fresh = server.post("/oauth2.0/token", &refresh).await;
    assert_success(&fresh);
    let later = json!({"grantType": "refresh_token", "refreshToken": fresh["refreshToken"]});
    server.clock.advance_secs(30 * 24 * 3600);
    assert_error(
        &server.post("/oauth2.0/token", &later).await,
        20016,
        "refreshToken",
    );
}
