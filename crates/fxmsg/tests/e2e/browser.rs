//! The web UI in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! driven over WebDriver against the real server on 127.0.0.1:0.
//!
//! Without a chromedriver on PATH these tests say so and pass, so that `cargo test` works on a
//! machine without a browser; `.ci/run` installs Chromium and sets `FXMSG_REQUIRE_BROWSER=1`, and
//! then a missing browser fails them. Screenshots go to `target/screenshots/`, and to
//! `docs/screenshots/` with `FXMSG_UPDATE_SCREENSHOTS=1`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use fxmsg_client::{AuthStyle, SendMessage};
use serde_json::json;

use crate::support::{TestServer, ADMIN_TOKEN, PNG};

/// Chromium's flags on these machines (see DEVELOPERS.md).
const FLAGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
];

/// How long any page condition may take.
const DEADLINE: Duration = Duration::from_secs(15);

/// One chromedriver with its browsers; each browser has its own profile (its own cookies).
struct Driver {
    _process: tokio::process::Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|p| p.is_file())
    })
}

impl Driver {
    /// A running chromedriver, or `None` (after saying so) where there is none and none is
    /// required.
    async fn start() -> Option<Driver> {
        let Some(program) = chromedriver() else {
            assert!(
                std::env::var_os("FXMSG_REQUIRE_BROWSER").is_none(),
                "FXMSG_REQUIRE_BROWSER is set but no chromedriver is on PATH \
                 (apt-get install -y chromium chromium-driver)"
            );
            eprintln!("browser test skipped: no chromedriver on PATH");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = reqwest::get(format!("{url}/status"))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(ready) = ready {
                let status: serde_json::Value = ready.json().await.unwrap();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(started.elapsed() < DEADLINE, "chromedriver never got ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Driver {
            _process: process,
            url,
            profiles: Vec::new(),
        })
    }

    /// A new browser with a fresh profile.
    async fn browser(&mut self) -> Client {
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        self.profiles.push(profile);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "args": args }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// Waits until `css` matches an element.
async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// Waits until the page's event stream is open.
async fn wait_live(browser: &Client) {
    wait_for(browser, "body[data-live=on]").await;
}

/// The text of the element `css` matches. A live region may replace it between the lookup and
/// the read; then it is looked up again.
async fn text(browser: &Client, css: &str) -> String {
    let started = Instant::now();
    loop {
        match wait_for(browser, css).await.text().await {
            Ok(text) => return text,
            Err(e) if started.elapsed() < DEADLINE => {
                assert!(e.to_string().contains("stale element"), "{css}: {e}");
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

/// An attribute of the element `css` matches, looked up again like [`text`] when a live region
/// replaced the element meanwhile.
async fn attr(browser: &Client, css: &str, name: &str) -> Option<String> {
    let started = Instant::now();
    loop {
        match wait_for(browser, css).await.attr(name).await {
            Ok(value) => return value,
            Err(e) if started.elapsed() < DEADLINE => {
                assert!(e.to_string().contains("stale element"), "{css}: {e}");
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

/// Signs in to the console through its form.
async fn console_sign_in(server: &TestServer, browser: &Client) {
    browser
        .goto(&format!("{}/console", server.url))
        .await
        .unwrap();
    let token = wait_for(browser, "#token").await;
    token.send_keys(ADMIN_TOKEN).await.unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "table.messages").await;
    wait_live(browser).await;
}

/// Signs `employee` in to the inbox through a login link.
async fn inbox_sign_in(server: &TestServer, browser: &Client, employee: &str) {
    let link = server
        .admin
        .login_link(&server.demo.corp.corp_id, employee)
        .await
        .unwrap();
    browser.goto(&link.url).await.unwrap();
    wait_for(browser, "form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_for(browser, "ul.inbox").await;
    wait_live(browser).await;
}

/// Saves a screenshot of what `browser` shows at `width` pixels.
async fn screenshot(browser: &Client, name: &str, width: u32) {
    browser.set_window_size(width, 900).await.unwrap();
    let png = browser.screenshot().await.unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join(format!("{name}.png")), &png).unwrap();
    if std::env::var_os("FXMSG_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
    }
    browser.set_window_size(1280, 900).await.unwrap();
}

#[tokio::test]
async fn a_send_and_its_revoke_reach_the_open_console_and_inbox_without_a_reload() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let console = driver.browser().await;
    let inbox = driver.browser().await;
    console_sign_in(&server, &console).await;
    inbox_sign_in(&server, &inbox, "1000").await;

    let client = server.client(AuthStyle::Bearer);
    let sent = client
        .send(&SendMessage::text(
            ["1000", "1001"],
            "Build 512 is green\nsecond line",
        ))
        .await
        .unwrap();
    let id = &sent.message_id;
    let row = format!("tr[data-message='{id}']");
    let item = format!("li[data-message='{id}']");
    assert!(text(&console, &row).await.contains("Build 512 is green"));
    assert!(text(&inbox, &item).await.contains("Build 512 is green"));
    assert!(text(&inbox, "#unread").await.contains("1 unread"));

    client.revoke(server.service_id(), id).await.unwrap();
    wait_for(&console, &format!("tr.revoked[data-message='{id}']")).await;
    assert!(text(&inbox, &format!("li.revoked[data-message='{id}']"))
        .await
        .contains("Message revoked"));

    console.close().await.unwrap();
    inbox.close().await.unwrap();
}

#[tokio::test]
async fn opening_a_message_marks_it_read_and_every_field_renders_as_text() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let upload = server
        .upload_raw(
            "/media/upload/message",
            "cover.png",
            "image/png",
            PNG.to_vec(),
        )
        .await;
    let media = upload["mediaId"].as_str().unwrap().to_owned();
    let send = |body: serde_json::Value| {
        let server = &server;
        async move {
            let r = server.post_legacy("/cgi/message/send", body).await;
            assert_eq!(r["errorCode"], 0, "{r}");
            r["messageId"].as_str().unwrap().to_owned()
        }
    };
    let card = send(
        json!({"toUser": ["1000"], "msgType": "composite", "composite": {
        "head": {"title": "Daily sales 2026-12-02"},
        "first": {"content": "Region East"},
        "form": [{"label": "Orders", "value": "42"}, {"label": "Revenue", "value": "¥ 9,300"}],
        "remark": {"content": "Numbers at 18:00"},
        "link": {"title": "Open in CRM", "url": "fs://crm/report/7"}}}),
    )
    .await;
    let articles = send(
        json!({"toUser": ["1000"], "msgType": "articles", "articles": [
        {"title": "Release 1.2", "author": "ops", "description": "What changed",
         "coverImage": media, "type": "URL", "content": "https://example.com/1.2"},
        {"title": "Notes", "coverImage": media, "type": "TEXT", "content": "line one\nline two"}]}),
    )
    .await;
    let hostile_text = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let hostile = send(json!({"toUser": ["1000"], "msgType": "text",
                              "text": {"content": hostile_text}}))
    .await;
    let theirs = send(json!({"toUser": ["1001"], "msgType": "text",
                             "text": {"content": "for 1001 only"}}))
    .await;

    let console = driver.browser().await;
    let inbox = driver.browser().await;
    console_sign_in(&server, &console).await;
    screenshot(&console, "console", 1280).await;
    screenshot(&console, "console-phone", 390).await;
    inbox_sign_in(&server, &inbox, "1000").await;
    screenshot(&inbox, "inbox", 1280).await;
    screenshot(&inbox, "inbox-phone", 390).await;

    // The console's message page is open while the employee opens the card.
    console
        .goto(&format!("{}/console/messages/{card}", server.url))
        .await
        .unwrap();
    wait_live(&console).await;
    let reader = &server.employee(0).open_user_id;
    let read_cell = format!("tr[data-recipient='{reader}'] td.read");
    assert_eq!(text(&console, &read_cell).await, "—");
    inbox
        .goto(&format!("{}/inbox/messages/{card}", server.url))
        .await
        .unwrap();
    assert_eq!(text(&inbox, ".card-head").await, "Daily sales 2026-12-02");
    assert_eq!(text(&inbox, ".card-first").await, "Region East");
    let form = text(&inbox, ".card-form").await;
    assert!(form.contains("Orders") && form.contains("42") && form.contains("¥ 9,300"));
    assert_eq!(text(&inbox, ".card-remark").await, "Numbers at 18:00");
    assert!(text(&inbox, ".internal-link")
        .await
        .contains("fs://crm/report/7"));
    assert!(
        inbox.find(Locator::Css(".card a")).await.is_err(),
        "fs:// is not a link"
    );
    wait_for(
        &console,
        &format!("tr[data-recipient='{reader}'] .badge.read"),
    )
    .await;
    assert!(text(&console, &read_cell).await.ends_with("UTC"));
    screenshot(&console, "message", 1280).await;

    // Articles: every field, and the cover loads from fxmsg.
    inbox
        .goto(&format!("{}/inbox/messages/{articles}", server.url))
        .await
        .unwrap();
    let page = text(&inbox, ".articles").await;
    for part in [
        "Release 1.2",
        "ops",
        "What changed",
        "Notes",
        "line one\nline two",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    let link = ".article a[href]";
    assert_eq!(
        attr(&inbox, link, "href").await.as_deref(),
        Some("https://example.com/1.2")
    );
    assert_eq!(
        attr(&inbox, link, "rel").await.as_deref(),
        Some("noopener noreferrer")
    );
    let started = Instant::now();
    loop {
        let width = inbox
            .execute(
                "const i = document.querySelector('img.cover'); \
                 return i && i.complete ? i.naturalWidth : 0;",
                vec![],
            )
            .await
            .unwrap();
        if width == 1 {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the cover never loaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    screenshot(&inbox, "inbox-message-phone", 390).await;

    // Hostile content is text: nothing runs, nothing is injected.
    inbox
        .goto(&format!("{}/inbox/messages/{hostile}", server.url))
        .await
        .unwrap();
    assert_eq!(text(&inbox, ".bubble").await, hostile_text);
    assert!(inbox
        .find(Locator::Css(".phone script, .phone img"))
        .await
        .is_err());
    assert!(inbox.get_alert_text().await.is_err(), "an alert opened");

    // Another employee's message, by URL, is missing.
    inbox
        .goto(&format!("{}/inbox/messages/{theirs}", server.url))
        .await
        .unwrap();
    assert_eq!(text(&inbox, "h1").await, "No such message");
    assert!(!inbox.source().await.unwrap().contains("for 1001 only"));

    console.close().await.unwrap();
    inbox.close().await.unwrap();
}
