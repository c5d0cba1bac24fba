//! The integrator's test kit: sandboxes and resets, the test clock, faults, rate limits and
//! `serve --json`, each through the public API.

use std::time::{Duration, Instant};

use fxmsg_client::admin::MessageQuery;
use fxmsg_client::native::{Cut, Delay, NewFault, NewSandbox, Sandbox, SandboxEmployees};
use fxmsg_client::{AuthStyle, Client, Credentials, Error, RetryPolicy, SendMessage};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_success, TestServer, PNG};

/// A send body for the legacy style, with its token.
fn text(token: &str, corp: &str, to: &[&str], content: &str) -> Value {
    json!({
        "corpAccessToken": token, "corpId": corp, "toUser": to,
        "msgType": "text", "text": {"content": content}
    })
}

/// An SDK client for `sandbox` on `server` without retries.
fn no_retries(server: &TestServer, sandbox: &Sandbox) -> Client {
    Client::builder(&server.url)
        .credentials(Credentials::from(sandbox))
        .retry(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap()
}

async fn messages_of(server: &TestServer, corp: &str) -> Vec<fxmsg_client::native::Message> {
    let query = MessageQuery {
        corp_id: Some(corp.into()),
        limit: Some(500),
        ..Default::default()
    };
    server.admin.list_messages(&query).await.unwrap().items
}

/// Rows anywhere in the database that belong to `corp` (or its apps).
async fn rows_of(server: &TestServer, corp: &Sandbox) -> Vec<(String, i64)> {
    let stored = crate::storage::Stored::of(server);
    let mut rows = Vec::new();
    for (table, columns) in stored.tables().await {
        for (column, id) in [
            ("corp_id", &corp.corp.corp_id),
            ("app_id", &corp.app.app.app_id),
        ] {
            if columns.iter().any(|c| c == column) {
                let sql = format!("SELECT count(*) FROM {table} WHERE {column} = ?1");
                rows.push((format!("{table}.{column}"), stored.count(&sql, &[id]).await));
            }
        }
    }
    rows
}

#[tokio::test]
async fn two_sandboxes_used_at_once_see_nothing_of_each_other_and_deletion_leaves_nothing() {
    let server = TestServer::start().await;
    let new = NewSandbox {
        employees: Some(SandboxEmployees::Count(2)),
        ..NewSandbox::default()
    };
    let (a, b) = tokio::join!(
        server.admin.create_sandbox(&new),
        server.admin.create_sandbox(&new)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.corp.corp_id, b.corp.corp_id);
    assert!(a.corp.sandbox && a.app.app_secret.len() == 32);
    assert_eq!(a.employees.len(), 2);
    assert_eq!(a.employees[0].user_id, "1000");
    assert_eq!(a.employees[1].mobile.as_deref(), Some("13800001001"));

    let (client_a, client_b) = (no_retries(&server, &a), no_retries(&server, &b));
    // Each tenant works at once, with the same employee numbers, and only on its own.
    let (for_a, for_b) = (
        SendMessage::text(["1000", "1001"], "for a"),
        SendMessage::text(["1000"], "for b"),
    );
    let (sent_a, sent_b) = tokio::join!(client_a.send(&for_a), client_b.send(&for_b));
    let (sent_a, sent_b) = (sent_a.unwrap(), sent_b.unwrap());
    let media_a = client_a
        .upload_bytes(fxmsg_client::MediaKind::Image, "a.png", PNG.into())
        .await
        .unwrap();
    let media_b = client_b
        .upload_bytes(fxmsg_client::MediaKind::Image, "b.png", PNG.into())
        .await
        .unwrap();
    let listed = messages_of(&server, &a.corp.corp_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message_id, sent_a.message_id);
    assert_eq!(listed[0].recipients.len(), 2);
    // B's ids are A's missing ones: its recipients, its message, its media.
    let foreign = client_a
        .send(&SendMessage::text(
            [b.employees[0].open_user_id.as_str()],
            "x",
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code().map(|c| c.as_i64()), Some(11016), "{foreign}");
    let revoke = client_a
        .revoke(&a.service_account.service_id, &sent_b.message_id)
        .await
        .unwrap_err();
    assert!(revoke.code().is_some(), "{revoke}");
    let delete = client_a.delete_media(&media_b).await.unwrap_err();
    assert!(delete.code().is_some(), "{delete}");
    client_a.delete_media(&media_a).await.unwrap();
    let media_a = client_a
        .upload_bytes(fxmsg_client::MediaKind::Image, "a.png", PNG.into())
        .await
        .unwrap();

    let files_before = server.media_files();
    server.admin.delete_sandbox(&a.corp.corp_id).await.unwrap();
    for (table, rows) in rows_of(&server, &a).await {
        assert_eq!(rows, 0, "{table} keeps rows of the deleted sandbox");
    }
    assert_eq!(
        server.media_files(),
        files_before - 1,
        "A's file is deleted"
    );
    assert!(rows_of(&server, &b).await.iter().any(|(_, rows)| *rows > 0));
    // A's credentials are dead at once; B goes on as before.
    let dead = client_a
        .send(&SendMessage::text(["1000"], "gone"))
        .await
        .unwrap_err();
    assert!(
        matches!(dead.code().map(|c| c.as_i64()), Some(20016 | 20006)),
        "{dead}"
    );
    client_b
        .send(&SendMessage::text(["1000"], "still here"))
        .await
        .unwrap();
    assert_eq!(messages_of(&server, &b.corp.corp_id).await.len(), 2);
    let gone = client_b.delete_media(&media_a).await.unwrap_err();
    assert!(gone.code().is_some(), "{gone}");
    // Deleting it again, or a corp that is not a sandbox, is a missing sandbox.
    for corp in [&a.corp.corp_id, &server.demo.corp.corp_id] {
        let e = server.admin.delete_sandbox(corp).await.unwrap_err();
        assert!(matches!(e, Error::Native { status: 404, .. }), "{e}");
    }
}

#[tokio::test]
async fn sandbox_requests_are_checked_at_their_limits_and_create_nothing_when_refused() {
    let server = TestServer::start().await;
    let with = |employees| NewSandbox {
        employees: Some(employees),
        ..NewSandbox::default()
    };
    let most = server
        .admin
        .create_sandbox(&with(SandboxEmployees::Count(500)))
        .await
        .unwrap();
    assert_eq!(most.employees.len(), 500);
    assert_eq!(most.employees[499].user_id, "1499");
    let corps_before = server.admin.list_corps().await.unwrap().len();
    let refusals = [
        (with(SandboxEmployees::Count(501)), "employees: at most 500"),
        (
            NewSandbox {
                ea: Some("demo".into()),
                ..NewSandbox::default()
            },
            "ea: a corp with ea \"demo\" already exists",
        ),
        (
            NewSandbox {
                ea: Some("no spaces".into()),
                ..NewSandbox::default()
            },
            "ea: must be",
        ),
        (
            with(SandboxEmployees::List(vec![
                fxmsg_client::native::NewEmployee {
                    name: "Ann".into(),
                    user_id: Some("7".into()),
                    mobile: None,
                    ..Default::default()
                },
                fxmsg_client::native::NewEmployee {
                    name: "Bo".into(),
                    user_id: Some("7".into()),
                    mobile: None,
                    ..Default::default()
                },
            ])),
            "employees[1].userId: employee number 7 is given twice",
        ),
        (
            with(SandboxEmployees::List(vec![
                fxmsg_client::native::NewEmployee {
                    name: "Ann".into(),
                    user_id: None,
                    mobile: Some("call me".into()),
                    ..Default::default()
                },
            ])),
            "employees[0].mobile: must be",
        ),
    ];
    for (new, needle) in refusals {
        let e = server.admin.create_sandbox(&new).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Native {
                    status: 400 | 409,
                    ..
                }
            ) && e.to_string().contains(needle),
            "{needle}: {e}"
        );
    }
    assert_eq!(server.admin.list_corps().await.unwrap().len(), corps_before);
    // Given employees keep their numbers and mobiles; the others get the next ones.
    let given = server
        .admin
        .create_sandbox(&with(SandboxEmployees::List(vec![
            fxmsg_client::native::NewEmployee {
                name: "Ann".into(),
                user_id: Some("2001".into()),
                mobile: Some("+86 138".replace(' ', "-")),
                ..Default::default()
            },
            fxmsg_client::native::NewEmployee {
                name: "Bo".into(),
                ..Default::default()
            },
        ])))
        .await
        .unwrap();
    let numbers: Vec<_> = given.employees.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(numbers, ["2001", "2002"]);
    assert_eq!(given.employees[0].mobile.as_deref(), Some("+86-138"));
}

#[tokio::test]
async fn a_reset_forgets_one_corps_messages_and_keeps_its_directory() {
    let server = TestServer::start().await;
    let (a, b) = (
        server
            .admin
            .create_sandbox(&NewSandbox::default())
            .await
            .unwrap(),
        server
            .admin
            .create_sandbox(&NewSandbox::default())
            .await
            .unwrap(),
    );
    let (token, corp) = server.legacy_token_for(&a.app).await;
    let keyed = text(&token, &corp, &["1000"], "keyed");
    let path = "/cgi/message/send?thirdTraceId=reset-1";
    let first = server.post(path, &keyed).await;
    assert_success(&first);
    no_retries(&server, &b)
        .send(&SendMessage::text(["1000"], "b"))
        .await
        .unwrap();

    let deleted = server
        .admin
        .delete_messages(Some(&a.corp.corp_id))
        .await
        .unwrap();
    assert_eq!(deleted.messages, 1);
    assert!(messages_of(&server, &a.corp.corp_id).await.is_empty());
    assert_eq!(messages_of(&server, &b.corp.corp_id).await.len(), 1);
    let inbox = server
        .admin
        .inbox(&a.corp.corp_id, "1000", None)
        .await
        .unwrap();
    assert!(inbox.items.is_empty());
    // The idempotency key went with it: the same thirdTraceId is a new send.
    let again = server.post(path, &keyed).await;
    assert_success(&again);
    assert_ne!(again["messageId"], first["messageId"]);
    let e = server
        .admin
        .delete_messages(Some("FSCID_NONE"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Native { status: 404, .. }), "{e}");
    assert_eq!(
        server.admin.delete_messages(None).await.unwrap().messages,
        2
    );
}

#[tokio::test]
async fn the_test_clock_crosses_token_and_idempotency_boundaries_through_the_api() {
    let server = TestServer::start_with(|c| c.test_clock = true).await;
    let clock = |body: Value| {
        let http = server.http().clone();
        let url = format!("{}/api/v1/clock", server.url);
        async move {
            let r = http
                .post(url)
                .bearer_auth(crate::support::ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let app = server.demo.app.clone();
    let (first, corp) = server.legacy_token_for(&app).await;
    let send = |token: String, key: &'static str| {
        let body = text(&token, &corp, &["1000"], "clocked");
        let path = format!("/cgi/message/send?thirdTraceId={key}");
        let server = &server;
        async move { server.post(&path, &body).await }
    };
    let original = send(first.clone(), "k1").await;
    assert_success(&original);

    // Reused until 6600 s, renewed after; the old token lives until 7200 s.
    assert_eq!(clock(json!({"advanceSecs": 6599})).await.0, 200);
    assert_eq!(server.legacy_token_for(&app).await.0, first);
    clock(json!({"advanceSecs": 1})).await;
    let second = server.legacy_token_for(&app).await.0;
    assert_ne!(second, first);
    clock(json!({"advanceSecs": 599})).await;
    assert_success(&send(first.clone(), "k2").await);
    clock(json!({"advanceSecs": 1})).await;
    assert_error(&send(first.clone(), "k3").await, 20016, "expired");

    // The key of the first send still answers with its message until 24 h have passed.
    let (_, now) = clock(json!({"advanceSecs": 86_400 - 7_200 - 1})).await;
    assert!(now["nowMs"].as_i64().is_some(), "{now}");
    let token = server.legacy_token_for(&app).await.0;
    let replay = send(token.clone(), "k1").await;
    assert_eq!(replay["messageId"], original["messageId"], "{replay}");
    clock(json!({"advanceSecs": 2})).await;
    let fresh = send(token, "k1").await;
    assert_success(&fresh);
    assert_ne!(fresh["messageId"], original["messageId"]);

    // Setting the time; bad changes are refused with the field named.
    let (status, set) = clock(json!({"set": "2030-01-01T00:00:00Z"})).await;
    assert_eq!(
        (status, set["nowMs"].as_i64()),
        (200, Some(1_893_456_000_000))
    );
    let got = server.admin.clock().await.unwrap();
    assert_eq!(got.now_ms, 1_893_456_000_000);
    for (bad, needle) in [
        (json!({}), "exactly one of set"),
        (json!({"set": 1, "advanceSecs": 1}), "exactly one of set"),
        (json!({"advanceSecs": -1}), "advanceSecs: must be 0.."),
        (
            json!({"advanceSecs": 315_360_001}),
            "advanceSecs: must be 0..",
        ),
        (json!({"set": "soon"}), "set: \"soon\" is not a time"),
    ] {
        let (status, body) = clock(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{bad}: {body}"
        );
    }
    assert_eq!(
        server
            .admin
            .advance_clock(315_360_000)
            .await
            .unwrap()
            .now_ms,
        1_893_456_000_000 + 315_360_000_000
    );
}

#[tokio::test]
async fn without_the_flag_there_is_no_clock_endpoint() {
    let server = TestServer::start().await;
    let e = server.admin.clock().await.unwrap_err();
    assert!(matches!(e, Error::Native { status: 404, .. }), "{e}");
    let e = server.admin.advance_clock(10).await.unwrap_err();
    assert!(matches!(e, Error::Native { status: 404, .. }), "{e}");
}

/// Which of `n` sends fail under a fault with probability 0.5 and `seed`, on a new server.
async fn firing_pattern(seed: u64, n: usize) -> (Vec<bool>, u64) {
    let server = TestServer::start().await;
    let fault = NewFault {
        path: "/cgi/message/send".into(),
        error_code: Some(-1),
        probability: Some(0.5),
        seed: Some(seed),
        until_deleted: true,
        ..NewFault::default()
    };
    let planned = server.admin.add_fault(&fault).await.unwrap();
    assert_eq!(planned.remaining, None);
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let mut pattern = Vec::new();
    for i in 0..n {
        let r = server
            .post(
                "/cgi/message/send",
                &text(&token, &corp, &["1000"], &format!("#{i}")),
            )
            .await;
        pattern.push(r["errorCode"] != 0);
    }
    let fired = server.admin.list_faults().await.unwrap()[0].fired;
    (pattern, fired)
}

#[tokio::test]
async fn a_seeded_probabilistic_fault_fires_on_the_same_calls_in_two_runs() {
    let (first, fired) = firing_pattern(42, 40).await;
    let (second, _) = firing_pattern(42, 40).await;
    assert_eq!(first, second);
    let failed = first.iter().filter(|f| **f).count();
    assert_eq!(failed as u64, fired, "each firing is counted");
    assert!((5..=35).contains(&failed), "{failed} of 40 at p = 0.5");
    assert_ne!(
        first,
        firing_pattern(43, 40).await.0,
        "another seed, other calls"
    );
}

#[tokio::test]
async fn delays_proxy_statuses_and_cuts_act_as_a_failing_gateway_does() {
    let server = TestServer::start().await;
    let send = NewFault {
        path: "/cgi/message/send".into(),
        ..NewFault::default()
    };
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let body = text(&token, &corp, &["1000"], "faulted");
    let raw = |body: &Value| {
        server
            .http()
            .post(format!("{}/cgi/message/send", server.url))
            .json(body)
            .send()
    };

    // A delay only delays.
    server
        .admin
        .add_fault(&NewFault {
            delay_ms: Some(Delay::Fixed(300)),
            ..send.clone()
        })
        .await
        .unwrap();
    let started = Instant::now();
    assert_success(&raw(&body).await.unwrap().json().await.unwrap());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    // A proxy's 502: its HTML page, and nothing is stored.
    server
        .admin
        .add_fault(&NewFault {
            http_status: Some(502),
            ..send.clone()
        })
        .await
        .unwrap();
    let bad_gateway = raw(&body).await.unwrap();
    assert_eq!(bad_gateway.status(), 502);
    assert_eq!(bad_gateway.headers()["content-type"], "text/html");
    assert!(bad_gateway
        .text()
        .await
        .unwrap()
        .contains("502 Bad Gateway"));

    // Cut before the handler: the client gets no answer, and nothing is stored.
    server
        .admin
        .add_fault(&NewFault {
            cut: Some(Cut::BeforeHandler),
            ..send.clone()
        })
        .await
        .unwrap();
    let cut = async { raw(&body).await?.bytes().await }.await;
    assert!(cut.is_err(), "{cut:?}");
    assert_eq!(server.message_count().await, 1, "only the delayed send");

    // Every fault reports how often it fired; a fault on a path fxmsg does not serve is refused.
    let faults = server.admin.list_faults().await.unwrap();
    assert!(
        faults
            .iter()
            .all(|f| f.fired == 1 && f.remaining == Some(0)),
        "{faults:?}"
    );
    let e = server
        .admin
        .add_fault(&NewFault {
            path: "/cgi/crm/v2/data/query".into(),
            ..send.clone()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a Fxiaoke path"), "{e}");
}

#[tokio::test]
async fn a_cut_after_commit_keeps_the_message_and_the_sdks_retry_delivers_it_once() {
    let server = TestServer::start().await;
    server
        .admin
        .add_fault(&NewFault {
            path: "/cgi/message/send".into(),
            cut: Some(Cut::AfterCommit),
            ..NewFault::default()
        })
        .await
        .unwrap();
    // The SDK retries a lost answer with the same thirdTraceId.
    let client = Client::builder(&server.url)
        .credentials(server.credentials())
        .auth_style(AuthStyle::Legacy)
        .build()
        .unwrap();
    let sent = client
        .send(&SendMessage::text(["1000"], "exactly once"))
        .await
        .unwrap();
    assert_eq!(server.admin.list_faults().await.unwrap()[0].fired, 1);
    let stored = messages_of(&server, &server.demo.corp.corp_id).await;
    assert_eq!(
        stored.len(),
        1,
        "one message, though the first answer was lost"
    );
    assert_eq!(stored[0].message_id, sent.message_id);
    let inbox = server
        .admin
        .inbox(&server.demo.corp.corp_id, "1000", None)
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1);
}

#[tokio::test]
async fn faults_can_target_a_corp_an_app_a_recipient_or_a_message_type() {
    let server = TestServer::start().await;
    let (a, b) = (
        server
            .admin
            .create_sandbox(&NewSandbox::default())
            .await
            .unwrap(),
        server
            .admin
            .create_sandbox(&NewSandbox::default())
            .await
            .unwrap(),
    );
    let (client_a, client_b) = (no_retries(&server, &a), no_retries(&server, &b));
    let by_corp = server
        .admin
        .add_fault(&NewFault {
            path: "/cgi/message/send".into(),
            error_code: Some(50009),
            corp_id: Some(a.corp.corp_id.clone()),
            until_deleted: true,
            ..NewFault::default()
        })
        .await
        .unwrap();
    let hit = client_a
        .send(&SendMessage::text(["1000"], "a"))
        .await
        .unwrap_err();
    assert_eq!(hit.code().map(|c| c.as_i64()), Some(50009), "{hit}");
    client_b
        .send(&SendMessage::text(["1000"], "b"))
        .await
        .unwrap();
    // Token calls of A's app are not sends: untouched.
    client_a.access_token().await.unwrap();
    server.admin.delete_fault(by_corp.id).await.unwrap();

    server
        .admin
        .add_fault(&NewFault {
            path: "/cgi/message/send".into(),
            error_code: Some(-1),
            app_id: Some(b.app.app.app_id.clone()),
            recipient: Some("1001".into()),
            msg_type: Some("text".into()),
            until_deleted: true,
            ..NewFault::default()
        })
        .await
        .unwrap();
    client_b
        .send(&SendMessage::text(["1000"], "not 1001"))
        .await
        .unwrap();
    client_a
        .send(&SendMessage::text(["1001"], "other app"))
        .await
        .unwrap();
    let card = fxmsg_client::Composite::new("Card", "x", "https://example.com");
    client_b
        .send(&SendMessage::composite(["1001"], card))
        .await
        .unwrap();
    let hit = client_b
        .send(&SendMessage::text(["1000", "1001"], "hit"))
        .await
        .unwrap_err();
    assert_eq!(hit.code(), Some(fxmsg_client::ErrorCode::SystemBusy));
    assert_eq!(server.admin.list_faults().await.unwrap()[0].fired, 1);
    // Recipient and type filters fit sends only.
    let e = server
        .admin
        .add_fault(&NewFault {
            path: "/media/upload".into(),
            error_code: Some(-1),
            msg_type: Some("text".into()),
            ..NewFault::default()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("match sends only"), "{e}");
}

#[tokio::test]
async fn the_101st_call_in_20_s_is_refused_and_the_next_window_opens() {
    let server = TestServer::start_with(|c| {
        c.test_clock = true;
        c.rate_limits = true;
    })
    .await;
    // A window's first millisecond: 1.8e12 is a multiple of 20,000.
    server.admin.set_clock(1_800_000_000_000).await.unwrap();
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let body = text(&token, &corp, &["1000"], "limited");
    for _ in 0..100 {
        assert_success(&server.post("/cgi/message/send", &body).await);
    }
    server.clock.advance_secs(19);
    let refused = server.post("/cgi/message/send", &body).await;
    assert_error(
        &refused,
        30004,
        "100 calls per 20 s to /cgi/message/send per corp",
    );
    // Another path has its own window.
    let revoke = server
        .post(
            "/cgi/app/message/revoke",
            &json!({"corpAccessToken": token, "corpId": corp, "serviceId": "FSAID_x", "messageId": "m"}),
        )
        .await;
    assert_ne!(revoke["errorCode"], 30004, "{revoke}");
    server.clock.advance_secs(1);
    assert_success(&server.post("/cgi/message/send", &body).await);

    // Token calls: ten a minute per app.
    let app = &server.demo.app;
    let token_body = json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code});
    for _ in 0..9 {
        assert_success(
            &server
                .post("/cgi/corpAccessToken/get/V2", &token_body)
                .await,
        );
    }
    let refused = server
        .post("/cgi/corpAccessToken/get/V2", &token_body)
        .await;
    assert_error(&refused, 30004, "10 token calls a minute per app");
    server.clock.advance_secs(60);
    assert_success(
        &server
            .post("/cgi/corpAccessToken/get/V2", &token_body)
            .await,
    );
}

#[tokio::test]
async fn the_daily_quota_answers_30002_until_the_next_day() {
    let server = TestServer::start_with(|c| {
        c.test_clock = true;
        c.rate_limits = true;
        c.daily_quota = 3;
    })
    .await;
    server
        .admin
        .set_clock(1_800_000_000_000 - 1_800_000_000_000 % 86_400_000)
        .await
        .unwrap();
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let body = text(&token, &corp, &["1000"], "quota");
    assert_success(&server.post("/cgi/message/send", &body).await);
    assert_success(&server.post("/cgi/message/send", &body).await);
    assert_error(
        &server.post("/cgi/message/send", &body).await,
        30002,
        "daily call quota",
    );
    // The next UTC day: a token (its own call) and a send pass again.
    server.clock.advance_secs(86_400);
    let (token, corp) = server.legacy_token_for(&server.demo.app).await;
    let body = text(&token, &corp, &["1000"], "quota");
    assert_success(&server.post("/cgi/message/send", &body).await);
}

#[tokio::test]
async fn serve_json_on_port_0_prints_one_line_a_harness_can_parse() {
    let dir = tempfile::tempdir().unwrap();
    for listen in ["127.0.0.1:0", "localhost:0"] {
        let data = dir.path().join(listen.replace(':', "_"));
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
            .args(["serve", "--json", "--listen", listen, "--data-dir"])
            .arg(&data)
            .env_remove("FXMSG_ADMIN_TOKEN")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a start line in time")
            .unwrap()
            .expect("a line");
        let started: Value = serde_json::from_str(&line).unwrap();
        let url = started["url"].as_str().unwrap();
        assert!(!url.ends_with(":0"), "the bound port: {url}");
        let admin_token = started["adminToken"].as_str().unwrap();
        let demo: Sandbox = serde_json::from_value(started["demo"].clone()).unwrap();
        assert_eq!(demo.corp.ea, "demo");
        // What it printed works.
        let client = Client::builder(url)
            .credentials(Credentials::from(&demo))
            .build()
            .unwrap();
        client
            .send(&SendMessage::text(["1000"], "from the harness"))
            .await
            .unwrap();
        let admin = fxmsg_client::admin::AdminClient::new(url, admin_token);
        assert_eq!(admin.list_corps().await.unwrap().len(), 1);
        child.kill().await.unwrap();
    }
}

#[tokio::test]
async fn sandboxes_clock_and_faults_on_the_command_line() {
    let server = TestServer::start().await;
    let run = |args: &[&str]| {
        let mut command = crate::cli::admin_command(&server, args);
        async move { command.output().await.unwrap() }
    };
    let created = run(&["admin", "sandbox", "create", "--json", "--employees", "2"]).await;
    assert!(created.status.success(), "{created:?}");
    let sandbox: Sandbox = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(sandbox.employees.len(), 2);
    no_retries(&server, &sandbox)
        .send(&SendMessage::text(["1001"], "cli sandbox"))
        .await
        .unwrap();
    let reset = run(&["admin", "reset", "--json", "--corp", &sandbox.corp.corp_id]).await;
    assert!(reset.status.success(), "{reset:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&reset.stdout).unwrap()["messages"],
        1
    );
    let fault = run(&[
        "admin",
        "fault",
        "add",
        r#"{"path":"/media/delete","httpStatus":504}"#,
    ])
    .await;
    assert!(fault.status.success(), "{fault:?}");
    let listed = run(&["admin", "fault", "list", "--json"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["httpStatus"], 504);
    let bad = run(&["admin", "fault", "add", "{not json"]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let deleted = run(&["admin", "sandbox", "delete", &sandbox.corp.corp_id]).await;
    assert!(deleted.status.success(), "{deleted:?}");
    let again = run(&["admin", "sandbox", "delete", &sandbox.corp.corp_id]).await;
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no sandbox"),
        "{again:?}"
    );
    let clock = run(&["admin", "clock", "show"]).await;
    assert!(
        String::from_utf8_lossy(&clock.stderr).contains("404"),
        "{clock:?}"
    );
}

/// The committed copy of the document, for readers and tools that do not run fxmsg.
const OPENAPI_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[tokio::test]
async fn the_openapi_document_is_served_made_from_the_routes_and_committed() {
    let server = TestServer::start_with(|c| c.test_clock = true).await;
    // Served without credentials, so tools can fetch it.
    let response = server.get("/api/v1/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    // Every Fxiaoke path faults accept is documented, and every documented operation answers
    // something other than "no such route".
    for path in [
        "/cgi/corpAccessToken/get/V2",
        "/oauth2.0/token",
        "/cgi/appAccessToken/get",
        "/cgi/message/send",
        "/cgi/app/message/send",
        "/cgi/app/message/revoke",
        "/media/upload/message",
        "/media/upload",
        "/media/download",
        "/media/delete",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if path.ends_with("/events") || path.ends_with("/wait") {
                continue;
            }
            let concrete = path.replace(['{', '}'], "");
            let request = server.http().request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{concrete}", server.url),
            );
            let answer = request.send().await.unwrap();
            let body = answer.text().await.unwrap();
            assert!(
                !body.contains("no such route"),
                "{method} {path} is not routed"
            );
        }
    }
    if std::env::var_os("FXMSG_UPDATE_OPENAPI").is_some() {
        std::fs::write(OPENAPI_FILE, &served).unwrap();
    }
    let committed = std::fs::read_to_string(OPENAPI_FILE).unwrap_or_default();
    assert!(
        committed == served,
        "docs/openapi.json is not what the server serves; refresh it with \
         FXMSG_UPDATE_OPENAPI=1 cargo test -p fxmsg --test e2e openapi"
    );
    // Without --test-clock the clock is neither routed nor documented.
    let plain = TestServer::start().await;
    let document: Value = plain
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(document["paths"].get("/api/v1/clock").is_none());
    assert!(document["paths"].get("/api/v1/sandboxes").is_some());
}

#[tokio::test]
async fn an_apps_token_calls_are_taken_one_at_a_time_with_rate_limits() {
    let server = TestServer::start_with(|c| c.rate_limits = true).await;
    let app = &server.demo.app;
    // The first call is held for a while inside the server.
    server
        .admin
        .add_fault(&NewFault {
            path: "/cgi/corpAccessToken/get/V2".into(),
            app_id: Some(app.app.app_id.clone()),
            delay_ms: Some(Delay::Fixed(1000)),
            ..NewFault::default()
        })
        .await
        .unwrap();
    let body = json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code});
    let (first, second) = tokio::join!(server.post("/cgi/corpAccessToken/get/V2", &body), async {
        // Once the first is in progress (its fault fired), the second comes in.
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.admin.list_faults().await.unwrap()[0].fired == 0 {
            assert!(Instant::now() < deadline, "the first call never started");
            tokio::task::yield_now().await;
        }
        server.post("/cgi/corpAccessToken/get/V2", &body).await
    });
    assert_success(&first);
    assert_error(&second, 30004, "one at a time");
    assert_success(&server.post("/cgi/corpAccessToken/get/V2", &body).await);
}

#[tokio::test]
async fn a_refresh_token_expires_with_the_test_clock() {
    let server = TestServer::start_with(|c| c.test_clock = true).await;
    let app = &server.demo.app;
    let grant = |refresh: Option<&str>| match refresh {
        None => {
            json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code})
        }
        Some(token) => json!({"grantType": "refresh_token", "refreshToken": token}),
    };
    let first = server.post("/oauth2.0/token", &grant(None)).await;
    assert_success(&first);
    let kept = first["refreshToken"].as_str().unwrap().to_owned();
    // Valid to the last second of its 30 days, refused after.
    server.admin.advance_clock(30 * 86_400 - 1).await.unwrap();
    let renewed = server.post("/oauth2.0/token", &grant(Some(&kept))).await;
    assert_success(&renewed);
    let late = renewed["refreshToken"].as_str().unwrap().to_owned();
    server.admin.advance_clock(30 * 86_400 + 1).await.unwrap();
    assert_error(
        &server.post("/oauth2.0/token", &grant(Some(&late))).await,
        20016,
        "expired",
    );
}
