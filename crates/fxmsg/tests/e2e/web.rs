//! The web UI over plain HTTP: sign-in, the CSP on every page, escaping of hostile content,
//! links, covers, and that an employee's pages show only their own messages. (What a browser
//! does with the pages, live updates included, is in `browser.rs`.)

use fxmsg_client::media::MediaKind;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::support::{TestServer, ADMIN_TOKEN, PNG};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in to the console; the `cookie` header value.
pub async fn console_cookie(server: &TestServer) -> String {
    let response = http()
        .post(format!("{}/console/login", server.url))
        .header("origin", &server.url)
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["fxmsg_console=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

/// Signs `employee` in through a login link; the `cookie` header value.
pub async fn inbox_cookie(server: &TestServer, employee: &str) -> String {
    let link = server
        .admin
        .login_link(&server.demo.corp.corp_id, employee)
        .await
        .unwrap();
    let response = http()
        .post(&link.url)
        .header("origin", &server.url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn page(server: &TestServer, path: &str, cookie: &str) -> (u16, String) {
    let response = http()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let csp = response
        .headers()
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {path}"))
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    (status, response.text().await.unwrap())
}

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

#[tokio::test]
async fn the_console_needs_the_admin_token_once_and_escapes_what_it_shows() {
    let server = TestServer::start().await;
    // Not signed in: every console page sends to the sign-in page.
    for path in ["/", "/console", "/console/directory", "/console/messages/x"] {
        let response = http()
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
    }
    let (status, login) = page(&server, "/console/login", "").await;
    assert_eq!(status, 200);
    assert!(login.contains("type=\"password\""));
    // A wrong token, and a right one from another site's form, are refused.
    let wrong = http()
        .post(format!("{}/console/login", server.url))
        .header("origin", &server.url)
        .form(&[("token", "fxa_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let forged = http()
        .post(format!("{}/console/login", server.url))
        .header("origin", "https://evil.example")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cookie = console_cookie(&server).await;
    // A forged cookie is no session.
    let (status, _) = page(&server, "/console", "fxmsg_console=99999999999999.00").await;
    assert_eq!(status, 303);

    let sent = server
        .post_legacy(
            "/cgi/message/send",
            json!({"toUser": ["1000"], "msgType": "composite", "composite": {
                "head": {"title": HOSTILE},
                "first": {"content": "first line"},
                "form": [{"label": "Amount", "value": "<b>42</b>"}],
                "remark": {"content": "remark text"},
                "link": {"title": "Open", "url": "fs://crm/opportunity/7"}}}),
        )
        .await;
    assert_eq!(sent["errorCode"], 0, "{sent}");
    let id = sent["messageId"].as_str().unwrap();
    let (status, list) = page(&server, "/console", &cookie).await;
    assert_eq!(status, 200);
    assert!(list.contains(id));
    let (status, detail) = page(&server, &format!("/console/messages/{id}"), &cookie).await;
    assert_eq!(status, 200);
    for html in [&list, &detail] {
        assert!(!html.contains("<script>alert"), "unescaped script");
        assert!(!html.contains("<img src=x"), "unescaped img");
        assert!(
            html.contains("alert(1)") && html.contains("onerror=alert(2)"),
            "shown as text"
        );
    }
    assert!(!detail.contains("<b>42") && detail.contains("remark text"));
    // An internal link is shown, not followed; a javascript: one never gets in (and would be
    // shown as inert text: see the view's unit test).
    assert!(
        !detail.contains("href=\"fs:"),
        "an fs:// link is not navigated"
    );
    assert!(detail.contains("internal link: <code>fs://crm/opportunity/7</code>"));
    let refused = server
        .post_legacy(
            "/cgi/message/send",
            json!({"toUser": ["1000"], "msgType": "composite", "composite": {
                "head": {"title": "t"}, "link": {"title": "x", "url": "javascript:alert(3)"}}}),
        )
        .await;
    assert_eq!(refused["errorCode"], 15002, "{refused}");
    // The request and fxmsg's answer are shown.
    assert!(detail.contains("msgType") && detail.contains("errorCode"));
    assert!(detail.contains(sent["traceId"].as_str().unwrap()));
    assert!(
        !detail.contains("corpAccessToken"),
        "credentials stay out of the page"
    );

    // Filters narrow the listing; a bad filter says why without losing the page.
    let (_, none) = page(&server, "/console?msgType=text", &cookie).await;
    assert!(!none.contains(id));
    let (_, by_type) = page(&server, "/console?msgType=composite&appId=&text=", &cookie).await;
    assert!(by_type.contains(id));
    let (status, bad) = page(&server, "/console?msgType=fax", &cookie).await;
    assert_eq!(status, 400);
    assert!(bad.contains("msgType: must be text, composite or articles"));
    let (status, missing) = page(&server, "/console/messages/no-such", &cookie).await;
    assert_eq!(status, 404);
    assert!(missing.contains("No such message"));

    let (status, directory) = page(&server, "/console/directory", &cookie).await;
    assert_eq!(status, 200);
    assert!(directory.contains(&server.demo.corp.corp_id) && directory.contains("1004"));
    // The address book: departments, and each employee's mobile, title and departments.
    assert!(
        directory.contains("<td>2</td><td>Sales East</td><td>1</td>"),
        "{directory}"
    );
    assert!(
        directory.contains(
            "<td>13800001003</td><td>Platform Engineer</td><td>Platform, Sales East</td>"
        ),
        "{directory}"
    );

    // The console's cookie also opens the admin API for its script; its writes need the Origin.
    let api = http()
        .get(format!("{}/api/v1/messages", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let write = http()
        .delete(format!("{}/api/v1/faults", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);

    // A console session lasts 12 hours.
    server.clock.advance_secs(12 * 3600 - 60);
    assert_eq!(page(&server, "/console", &cookie).await.0, 200);
    server.clock.advance_secs(120);
    assert_eq!(page(&server, "/console", &cookie).await.0, 303);
}

#[tokio::test]
async fn the_inbox_shows_only_the_employees_own_messages_with_covers_from_fxmsg() {
    let server = TestServer::start().await;
    let png = PNG.to_vec();
    let upload = server
        .upload_raw(
            "/media/upload/message",
            "cover.png",
            "image/png",
            png.clone(),
        )
        .await;
    let media = upload["mediaId"].as_str().unwrap().to_owned();
    let articles = server
        .post_legacy(
            "/cgi/message/send",
            json!({"toUser": ["1000"], "msgType": "articles", "articles": [
                {"title": "Release 1.2", "author": "ops", "description": "what changed",
                 "coverImage": media, "type": "URL", "content": "https://example.com/1.2"},
                {"title": "Notes", "coverImage": media, "type": "TEXT",
                 "content": "line one\nline two"}]}),
        )
        .await;
    assert_eq!(articles["errorCode"], 0, "{articles}");
    let mine = articles["messageId"].as_str().unwrap();
    let other = server
        .post_legacy(
            "/cgi/message/send",
            json!({"toUser": ["1001"], "msgType": "text", "text": {"content": "for 1001"}}),
        )
        .await;
    let theirs = other["messageId"].as_str().unwrap();

    let (status, signed_out) = page(&server, "/inbox", "").await;
    assert_eq!(status, 401);
    assert!(signed_out.contains("login link"));
    let cookie = inbox_cookie(&server, "1000").await;
    let (status, inbox) = page(&server, "/inbox", &cookie).await;
    assert_eq!(status, 200);
    assert!(inbox.contains(mine) && !inbox.contains(theirs));
    assert!(inbox.contains("1 unread"));
    let (status, message) = page(&server, &format!("/inbox/messages/{mine}"), &cookie).await;
    assert_eq!(status, 200);
    for part in ["Release 1.2", "ops", "what changed", "line one\nline two"] {
        assert!(message.contains(part), "{part}");
    }
    assert!(message.contains(
        "href=\"https://example.com/1.2\" target=\"_blank\" rel=\"noopener noreferrer\""
    ));
    let cover = format!("/inbox/media/{media}");
    assert!(message.contains(&format!("src=\"{cover}\"")));
    let image = http()
        .get(format!("{}{cover}", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.unwrap().to_vec(), png);
    // Another employee's message is as missing as one that does not exist.
    let (foreign_status, foreign) =
        page(&server, &format!("/inbox/messages/{theirs}"), &cookie).await;
    let (missing_status, missing) = page(&server, "/inbox/messages/nothing", &cookie).await;
    assert_eq!((foreign_status, missing_status), (404, 404));
    assert_eq!(
        foreign.replace(theirs, "ID"),
        missing.replace("nothing", "ID")
    );
    // Another corp's cover is as missing as one that does not exist.
    let other = server.other_corp("other").await;
    let foreign_media = other
        .client(&server)
        .upload_bytes(
            MediaKind::MessageImage,
            "cover.png",
            bytes::Bytes::from(png.clone()),
        )
        .await
        .unwrap();
    for media in [foreign_media.as_str(), "no-such-media"] {
        let (status, _) = page(&server, &format!("/inbox/media/{media}"), &cookie).await;
        assert_eq!(status, 404, "{media}");
    }
}
