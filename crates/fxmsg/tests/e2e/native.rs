//! The native `/api/v1`: admin auth, directory errors, message filters and paging, inbox, and the
//! `fxmsg admin` CLI over it.

use fxmsg_client::admin::{AdminClient, MessageQuery};
use fxmsg_client::{AuthStyle, Error, SendMessage};

use crate::support::{TestServer, ADMIN_TOKEN};

#[tokio::test]
async fn the_admin_api_requires_the_admin_token() {
    let server = TestServer::start().await;
    let wrong = AdminClient::new(&server.url, "not-the-token");
    assert!(matches!(
        wrong.list_corps().await,
        Err(Error::Native { status: 401, .. })
    ));
    let none = server.get("/api/v1/corps", None).await;
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn directory_mistakes_get_4xx_with_a_stable_code() {
    let server = TestServer::start().await;
    let dup = server.admin.create_corp("Again", "demo").await.unwrap_err();
    assert!(
        matches!(dup, Error::Native { status: 409, ref code, .. } if code == "conflict"),
        "{dup}"
    );
    let bad = server
        .admin
        .create_corp("Bad", "has space")
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Native { status: 400, .. }), "{bad}");
    let ghost = server
        .admin
        .create_app("FSCID_NOPE", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(ghost, Error::Native { status: 404, .. }),
        "{ghost}"
    );
    let corp = &server.demo.corp.corp_id;
    let taken = server
        .admin
        .create_employee(corp, "Dup", Some("1000"))
        .await
        .unwrap_err();
    assert!(
        matches!(taken, Error::Native { status: 409, .. }),
        "{taken}"
    );
    let next = server
        .admin
        .create_employee(corp, "Next", None)
        .await
        .unwrap();
    assert_eq!(next.user_id, "1005");
    let malformed = server
        .http()
        .post(format!("{}/api/v1/corps", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
}

#[tokio::test]
async fn apps_show_their_secrets_only_at_creation() {
    let server = TestServer::start().await;
    let corp = &server.demo.corp.corp_id;
    let created = server.admin.create_app(corp, "Second").await.unwrap();
    assert_eq!(created.app_secret.len(), 32);
    let listed = server
        .get(&format!("/api/v1/corps/{corp}/apps"), Some(ADMIN_TOKEN))
        .await;
    let text = listed.text().await.unwrap();
    assert!(
        text.contains(&created.app.app_id)
            && !text.contains(&created.app_secret)
            && !text.contains(&created.permanent_code)
    );
}

#[tokio::test]
async fn messages_can_be_filtered_and_paged_newest_first() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let corp = server.demo.corp.corp_id.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let to = if i % 2 == 0 { "1000" } else { "1001" };
        ids.push(
            client
                .send(&SendMessage::text([to], format!("m{i}")))
                .await
                .unwrap()
                .message_id,
        );
        server.clock.advance_secs(10);
    }
    client.revoke(server.service_id(), &ids[4]).await.unwrap();
    let admin = &server.admin;
    let list = |q: MessageQuery| async move { admin.list_messages(&q).await.unwrap() };

    let page1 = list(MessageQuery {
        corp_id: Some(corp.clone()),
        limit: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        page1
            .items
            .iter()
            .map(|m| &m.message_id)
            .collect::<Vec<_>>(),
        [&ids[4], &ids[3]]
    );
    let page2 = list(MessageQuery {
        corp_id: Some(corp.clone()),
        limit: Some(2),
        cursor: page1.next_cursor,
        ..Default::default()
    })
    .await;
    assert_eq!(
        page2
            .items
            .iter()
            .map(|m| &m.message_id)
            .collect::<Vec<_>>(),
        [&ids[2], &ids[1]]
    );

    let to_1001 = list(MessageQuery {
        corp_id: Some(corp.clone()),
        recipient: Some("1001".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(to_1001.items.len(), 2);
    let revoked = list(MessageQuery {
        revoked: Some(true),
        ..Default::default()
    })
    .await;
    assert_eq!(revoked.items.len(), 1);
    let since = ids_of(
        list(MessageQuery {
            since: Some(page1.items[1].created_at),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(since, [ids[4].clone(), ids[3].clone()]);
    let until = list(MessageQuery {
        until: Some(page1.items[1].created_at),
        ..Default::default()
    })
    .await;
    assert_eq!(until.items.len(), 3);
    assert_eq!(
        list(MessageQuery {
            msg_type: Some("articles".into()),
            ..Default::default()
        })
        .await
        .items
        .len(),
        0
    );
    let other_app = list(MessageQuery {
        app_id: Some("FSAID_other".into()),
        ..Default::default()
    })
    .await;
    assert!(other_app.items.is_empty());

    let bad = server
        .admin
        .list_messages(&MessageQuery {
            limit: Some(501),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Native { status: 400, .. }));
    let bad = server
        .admin
        .list_messages(&MessageQuery {
            cursor: Some("abc".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Native { status: 400, .. }));
}

fn ids_of(page: fxmsg_client::native::Page<fxmsg_client::native::Message>) -> Vec<String> {
    page.items.into_iter().map(|m| m.message_id).collect()
}

#[tokio::test]
async fn a_message_shows_its_raw_request_without_credentials() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Legacy);
    let sent = client
        .send(&SendMessage::text(["1000", "ghost"], "raw"))
        .await
        .unwrap();
    let detail = server.admin.get_message(&sent.message_id).await.unwrap();
    assert_eq!(detail.raw_request["text"]["content"], "raw");
    assert!(
        detail.raw_request.get("corpAccessToken").is_none()
            && detail.raw_request.get("corpId").is_none()
    );
    assert_eq!(detail.message.invalid_users, ["ghost"]);
    assert_eq!(detail.deliveries.len(), 1);
    assert_eq!(detail.deliveries[0].state, "delivered");
    let missing = server.admin.get_message("nope").await.unwrap_err();
    assert!(matches!(missing, Error::Native { status: 404, .. }));
}

#[tokio::test]
async fn the_admin_cli_creates_and_lists_over_the_api() {
    let server = TestServer::start().await;
    // Async process handling: the server under test runs on this same runtime.
    let url = server.url.clone();
    let run = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"));
        command
            .args(["admin", "--url", &url])
            .args(args)
            .env("FXMSG_ADMIN_TOKEN", ADMIN_TOKEN);
        async move { command.output().await.unwrap() }
    };
    let created = run(&["corp", "create", "--name", "Acme", "--ea", "acme"]).await;
    assert!(created.status.success(), "{created:?}");
    let text = String::from_utf8(created.stdout).unwrap();
    let corp_id = text
        .lines()
        .find_map(|l| l.strip_prefix("corpId: "))
        .unwrap()
        .to_owned();
    let listed = run(&["--json", "corp", "list"]).await;
    let corps: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(corps
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["corpId"] == corp_id.as_str()));
    let dup = run(&["corp", "create", "--name", "Acme", "--ea", "acme"]).await;
    assert_eq!(dup.status.code(), Some(3), "API refusals exit 3");
    let usage = run(&["corp", "create", "--name", "NoEa"]).await;
    assert_eq!(usage.status.code(), Some(2), "usage errors exit 2");
    let down = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args([
            "admin",
            "--url",
            "http://127.0.0.1:9",
            "--admin-token",
            "x",
            "corp",
            "list",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(down.status.code(), Some(4), "transport failures exit 4");

    let (corp, app) = (&server.demo.corp.corp_id, &server.demo.app.app.app_id);
    let employee = &server.employee(1).open_user_id;
    let number = &server.employee(2).user_id;
    assert!(run(&["app", "disable", "--corp", corp, app])
        .await
        .status
        .success());
    assert!(!server.admin.list_apps(corp).await.unwrap()[0].enabled);
    assert!(run(&["app", "enable", "--corp", corp, app])
        .await
        .status
        .success());
    assert!(server.admin.list_apps(corp).await.unwrap()[0].enabled);
    let stopped = run(&["--json", "employee", "stop", "--corp", corp, employee]).await;
    let shown: serde_json::Value = serde_json::from_slice(&stopped.stdout).unwrap();
    assert_eq!(shown["status"], "stopped");
    assert!(run(&["employee", "activate", "--corp", corp, employee])
        .await
        .status
        .success());
    // An employee number works wherever an FSUID_ does.
    let by_number = run(&["--json", "employee", "stop", "--corp", corp, number]).await;
    let shown: serde_json::Value = serde_json::from_slice(&by_number.stdout).unwrap();
    assert_eq!(shown["status"], "stopped", "{by_number:?}");
    assert_eq!(shown["userId"], number.as_str());
    let ghost = run(&["employee", "stop", "--corp", corp, "9999"]).await;
    assert_eq!(ghost.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&ghost.stderr).contains("no employee 9999"),
        "{ghost:?}"
    );
    assert!(run(&["employee", "activate", "--corp", corp, number])
        .await
        .status
        .success());
    let employees = server.admin.list_employees(corp).await.unwrap();
    assert!(employees
        .iter()
        .all(|e| e.status == fxmsg_client::native::EmployeeStatus::Active));
}

#[tokio::test]
async fn page_sizes_are_limited_to_1_through_500() {
    let server = TestServer::start().await;
    let page = |limit| MessageQuery {
        limit: Some(limit),
        ..Default::default()
    };
    assert!(server.admin.list_messages(&page(500)).await.is_ok());
    assert!(server.admin.list_messages(&page(1)).await.is_ok());
    for limit in [0, 501] {
        let err = server.admin.list_messages(&page(limit)).await.unwrap_err();
        assert!(
            matches!(err, Error::Native { status: 400, .. }),
            "{limit}: {err}"
        );
    }
}

fn bad_request<T>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::Native { status: 400, .. }))
}

#[tokio::test]
async fn directory_fields_are_checked_at_and_past_their_limits() {
    let server = TestServer::start().await;
    assert!(server
        .admin
        .create_corp(&"n".repeat(100), &"e".repeat(64))
        .await
        .is_ok());
    assert!(bad_request(
        server.admin.create_corp(&"n".repeat(101), "e101").await
    ));
    assert!(bad_request(
        server.admin.create_corp("Name", &"e".repeat(65)).await
    ));
    assert!(bad_request(server.admin.create_corp("   ", "blank").await));
    let corp = &server.demo.corp.corp_id;
    assert!(server
        .admin
        .create_employee(corp, "Long Id", Some(&"u".repeat(64)))
        .await
        .is_ok());
    assert!(bad_request(
        server
            .admin
            .create_employee(corp, "Too Long", Some(&"u".repeat(65)))
            .await
    ));
    assert!(bad_request(
        server
            .admin
            .create_employee(corp, "Spoof", Some("FSUID_X"))
            .await
    ));
    assert!(bad_request(
        server.admin.create_app(corp, &"a".repeat(101)).await
    ));
}

/// Native request bodies are read up to 64 KiB: one of exactly that size is parsed (and refused
/// for what it says), one byte more is refused unread, and neither creates anything.
#[tokio::test]
async fn native_bodies_are_limited_to_64_kib() {
    let server = TestServer::start().await;
    let corps_before = server.admin.list_corps().await.unwrap().len();
    let body_of = |len: usize| {
        let frame = r#"{"ea":"big","name":""}"#.len();
        format!(r#"{{"ea":"big","name":"{}"}}"#, "x".repeat(len - frame))
    };
    let post = |body: String| {
        server
            .http()
            .post(format!("{}/api/v1/corps", server.url))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let at = post(body_of(64 * 1024)).await.unwrap();
    assert_eq!(at.status(), 400);
    let text = at.text().await.unwrap();
    assert!(text.contains("name: must be 1..100 characters"), "{text}");
    let past = post(body_of(64 * 1024 + 1)).await.unwrap();
    assert_eq!(past.status(), 400);
    let text = past.text().await.unwrap();
    assert!(text.contains("length limit exceeded"), "{text}");
    assert_eq!(server.admin.list_corps().await.unwrap().len(), corps_before);
}
