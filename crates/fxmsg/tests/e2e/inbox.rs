//! Employees' own access: tokens, login links and sessions; their inbox, read receipts and
//! stream, and that none of it reaches another employee or another corp.

use fxmsg_client::employee::EmployeeClient;
use fxmsg_client::events::StreamItem;
use fxmsg_client::native::{CredentialKind, EmployeeStatus, EventKind};
use fxmsg_client::{AuthStyle, Error, SendMessage};

use crate::events::{next_events, next_item};
use crate::support::{TestServer, ADMIN_TOKEN};

async fn employee_client(server: &TestServer, employee: &str) -> (EmployeeClient, String) {
    let corp = &server.demo.corp.corp_id;
    let issued = server
        .admin
        .issue_employee_token(corp, employee)
        .await
        .unwrap();
    assert!(issued.token.starts_with("fxe_"));
    (
        EmployeeClient::new(&server.url, &issued.token),
        issued.token,
    )
}

fn status(e: &Error) -> u16 {
    match e {
        Error::Native { status, .. } => *status,
        other => panic!("not a native refusal: {other}"),
    }
}

#[tokio::test]
async fn an_employee_sees_only_their_own_inbox_and_marks_reads_once() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let both = client
        .send(&SendMessage::text(["1000", "1001"], "to both"))
        .await
        .unwrap();
    let theirs = client
        .send(&SendMessage::text(["1001"], "to 1001 only"))
        .await
        .unwrap();
    let other = server.other_corp("other").await;
    let foreign = other
        .client(&server)
        .send(&SendMessage::text(
            [other.employee.user_id.as_str()],
            "elsewhere",
        ))
        .await
        .unwrap();
    let (me, _) = employee_client(&server, "1000").await;

    let inbox = me.inbox(None).await.unwrap();
    let ids: Vec<&str> = inbox
        .items
        .iter()
        .map(|i| i.message.message_id.as_str())
        .collect();
    assert_eq!(ids, [both.message_id.as_str()]);
    assert_eq!(inbox.unread, 1);
    assert_eq!(inbox.items[0].state, "delivered");

    // Someone else's message, another corp's and one that does not exist: the same answer.
    let mut answers = Vec::new();
    for id in [&theirs.message_id, &foreign.message_id, &"nope".to_owned()] {
        let e = me.message(id).await.unwrap_err();
        let read = me.mark_read(id).await.unwrap_err();
        assert_eq!((status(&e), status(&read)), (404, 404), "{id}");
        answers.push(e.to_string().replace(id.as_str(), "ID"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    server.clock.advance_secs(5);
    let first = me.mark_read(&both.message_id).await.unwrap();
    server.clock.advance_secs(5);
    let again = me.mark_read(&both.message_id).await.unwrap();
    assert_eq!(first, again, "repeating a read changes nothing");
    let inbox = me.inbox(None).await.unwrap();
    assert_eq!((inbox.unread, inbox.items[0].state.as_str()), (0, "read"));
    assert_eq!(inbox.items[0].read_at, Some(first.read_at));

    let detail = server.admin.get_message(&both.message_id).await.unwrap();
    let mine = &server.employee(0).open_user_id;
    for delivery in &detail.deliveries {
        if &delivery.open_user_id == mine {
            assert_eq!(
                (delivery.state.as_str(), delivery.read_at),
                ("read", Some(first.read_at))
            );
        } else {
            assert_eq!(
                (delivery.state.as_str(), delivery.read_at),
                ("delivered", None)
            );
        }
    }
    // The admin's view of an inbox counts unread messages too.
    let theirs_inbox = server
        .admin
        .inbox(&server.demo.corp.corp_id, "1001", None)
        .await
        .unwrap();
    assert_eq!(theirs_inbox.unread, 2);

    client
        .revoke(server.service_id(), &both.message_id)
        .await
        .unwrap();
    let item = me.message(&both.message_id).await.unwrap();
    assert_eq!(item.state, "revoked");
}

#[tokio::test]
async fn an_employee_stream_never_carries_another_employees_or_corps_event() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let (me, _) = employee_client(&server, "1000").await;
    let (them, _) = employee_client(&server, "1001").await;
    let mut mine = Box::pin(me.events(None));
    assert!(matches!(next_item(&mut mine).await, StreamItem::Open(_)));

    let not_mine = client
        .send(&SendMessage::text(["1001"], "not for 1000"))
        .await
        .unwrap();
    let other = server.other_corp("other").await;
    other
        .client(&server)
        .send(&SendMessage::text(
            [other.employee.user_id.as_str()],
            "other corp",
        ))
        .await
        .unwrap();
    let shared = client
        .send(&SendMessage::text(["1000", "1001"], "for both"))
        .await
        .unwrap();
    them.mark_read(&not_mine.message_id).await.unwrap();
    them.mark_read(&shared.message_id).await.unwrap();
    me.mark_read(&shared.message_id).await.unwrap();
    client
        .revoke(server.service_id(), &shared.message_id)
        .await
        .unwrap();

    let events = next_events(&mut mine, 3).await;
    let seen: Vec<(i64, EventKind, &str)> = events
        .iter()
        .map(|e| (e.seq, e.kind, e.message_id.as_str()))
        .collect();
    // The corp's log: 1 not_mine, 2 shared, 3 their read, 4 their read, 5 my read, 6 revoke.
    let shared = shared.message_id.as_str();
    assert_eq!(
        seen,
        [
            (2, EventKind::Message, shared),
            (5, EventKind::Read, shared),
            (6, EventKind::Revoke, shared)
        ]
    );
    let me_id = &server.employee(0).open_user_id;
    assert_eq!(events[1].open_user_id.as_ref(), Some(me_id));
    // Resuming replays the same, and only the same.
    let mut replay = Box::pin(me.events(Some(0)));
    let again = next_events(&mut replay, 3).await;
    assert_eq!(again, events);
    // The other corp's stream never hears of this corp.
    let admin_other = server.admin.events(fxmsg_client::events::EventsQuery {
        corp_id: Some(other.corp.corp_id.clone()),
        since: Some(0),
    });
    let mut admin_other = Box::pin(admin_other);
    let theirs = next_events(&mut admin_other, 1).await;
    assert_eq!(theirs[0].corp_id, other.corp.corp_id);
}

#[tokio::test]
async fn employee_credentials_are_refused_where_they_do_not_belong_and_when_revoked() {
    let server = TestServer::start().await;
    let corp = server.demo.corp.corp_id.clone();
    let (me, token) = employee_client(&server, "1000").await;
    let get = |path: String, token: Option<String>| {
        let server = &server;
        async move { server.get(&path, token.as_deref()).await.status().as_u16() }
    };
    assert_eq!(get("/api/v1/inbox".into(), Some(token.clone())).await, 200);
    // Never in a URL.
    for name in ["token", "access_token", "fxmsg_session"] {
        let path = format!("/api/v1/inbox?{name}={token}");
        assert_eq!(get(path, None).await, 401, "{name}");
    }
    // The admin token is not an employee's, nor an employee token the admin's.
    assert_eq!(
        get("/api/v1/inbox".into(), Some(ADMIN_TOKEN.into())).await,
        401
    );
    assert_eq!(get("/api/v1/corps".into(), Some(token.clone())).await, 401);
    assert_eq!(get("/metrics".into(), Some(token.clone())).await, 401);
    // Stored as a hash only.
    let stored = crate::storage::Stored::of(&server).everything().await;
    let needle = token.as_bytes();
    assert!(!stored.windows(needle.len()).any(|w| w == needle));

    // A stopped employee's token stops working, and works again when they are back.
    server
        .admin
        .set_employee_status(&corp, "1000", EmployeeStatus::Stopped)
        .await
        .unwrap();
    let stopped = me.inbox(None).await.unwrap_err();
    assert!(stopped.to_string().contains("stopped"), "{stopped}");
    server
        .admin
        .set_employee_status(&corp, "1000", EmployeeStatus::Active)
        .await
        .unwrap();
    assert!(me.inbox(None).await.is_ok());

    let listed = server
        .admin
        .employee_credentials(&corp, "1000")
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, CredentialKind::Token);
    let id = listed[0].credential_id.clone();
    server
        .admin
        .revoke_employee_credential(&corp, "1000", &id)
        .await
        .unwrap();
    assert_eq!(status(&me.inbox(None).await.unwrap_err()), 401);
    let again = server
        .admin
        .revoke_employee_credential(&corp, "1000", &id)
        .await
        .unwrap_err();
    assert_eq!(status(&again), 404);
    // Another employee cannot revoke it by naming it (the id is scoped to its employee).
    let (_, second) = employee_client(&server, "1000").await;
    let second_id = server
        .admin
        .employee_credentials(&corp, "1000")
        .await
        .unwrap()[0]
        .credential_id
        .clone();
    let foreign = server
        .admin
        .revoke_employee_credential(&corp, "1001", &second_id)
        .await
        .unwrap_err();
    assert_eq!(status(&foreign), 404);
    assert_eq!(get("/api/v1/inbox".into(), Some(second)).await, 200);
}

#[tokio::test]
async fn a_login_link_is_exchanged_once_for_a_strict_http_only_session_cookie() {
    let server = TestServer::start().await;
    let corp = server.demo.corp.corp_id.clone();
    let link = server.admin.login_link(&corp, "1001").await.unwrap();
    assert!(link.path.starts_with("/login/fxl_"));
    assert_eq!(link.url, format!("{}{}", server.url, link.path));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Following the link shows a page and uses nothing up (link previews fetch links).
    for _ in 0..2 {
        let page = http.get(&link.url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("method=\"post\"") && html.contains(&link.path),
            "{html}"
        );
    }
    // Another site's form cannot use the link (login CSRF); this server's can.
    let forged = http
        .post(&link.url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let signed_in = http
        .post(&link.url)
        .header("origin", &server.url)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/inbox");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "fxmsg_session=fxs_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let inbox = http
        .get(format!("{}/api/v1/inbox", server.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    // A write signed in by the cookie must come from this server's pages.
    let read = format!("{}/api/v1/inbox/messages/no-such-message/read", server.url);
    for (origin, status) in [
        (None, 403),
        (Some("https://evil.example"), 403),
        (Some(server.url.as_str()), 404),
    ] {
        let mut request = http.post(&read).header("cookie", &session);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        assert_eq!(request.send().await.unwrap().status(), status, "{origin:?}");
    }

    let used = http.post(&link.url).send().await.unwrap();
    assert_eq!(used.status(), 401);
    assert!(used.text().await.unwrap().contains("used already"));
    // A login code is not a credential for the API.
    let code = link.path.trim_start_matches("/login/");
    assert_eq!(server.get("/api/v1/inbox", Some(code)).await.status(), 401);

    // A link lasts 15 minutes: used at 14 it signs in, at 16 it is refused.
    let in_time = server.admin.login_link(&corp, "1001").await.unwrap();
    let late = server.admin.login_link(&corp, "1001").await.unwrap();
    server.clock.advance_secs(14 * 60);
    assert_eq!(http.post(&in_time.url).send().await.unwrap().status(), 303);
    server.clock.advance_secs(2 * 60);
    assert_eq!(http.post(&late.url).send().await.unwrap().status(), 401);

    // A session lasts 30 days from sign-in.
    let inbox_with = |cookie: String| {
        let (http, url) = (http.clone(), format!("{}/api/v1/inbox", server.url));
        async move {
            http.get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    server.clock.advance_secs(30 * 86_400 - 16 * 60 - 1);
    assert_eq!(inbox_with(session.clone()).await, 200);
    server.clock.advance_secs(2);
    assert_eq!(inbox_with(session.clone()).await, 401);

    let kinds: Vec<(CredentialKind, bool)> = server
        .admin
        .employee_credentials(&corp, "1001")
        .await
        .unwrap()
        .iter()
        .map(|c| (c.kind, c.revoked_at.is_some()))
        .collect();
    assert!(
        kinds.contains(&(CredentialKind::Session, false)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(CredentialKind::Login, true)),
        "used: {kinds:?}"
    );
}
