//! Every error a user can see names the thing to change: the path, the address, the field, the
//! argument. One test per place a newcomer met an error that did not.

use std::process::Output;
use std::sync::Arc;

use fxmsg_client::admin::{AdminClient, MessageQuery};
use fxmsg_client::native::NewFault;
use fxmsg_client::{AuthStyle, Client, Credentials, Error, SendMessage};
use fxmsg_server::{Config, Server, SystemClock};

use crate::support::{TestServer, ADMIN_TOKEN};

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir, "127.0.0.1:0".parse().unwrap());
    config.admin_token = Some(ADMIN_TOKEN.into());
    config
}

async fn start_error(config: &Config) -> String {
    match Server::build(config, Arc::new(SystemClock)).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Server::build(&config(dir.path()), Arc::new(SystemClock))
        .await
        .unwrap();
    let refused = start_error(&config(dir.path())).await;
    assert!(
        refused.contains(&dir.path().display().to_string())
            && refused.contains("in use by another fxmsg")
            && refused.contains(&format!("pid {}", std::process::id()))
            && refused.contains("--data-dir"),
        "{refused}"
    );
    // Once the first is gone, the directory is free again. Not always at the very instant: its
    // store's threads and pooled connections close in the background, and a process the test
    // binary is spawning at that moment holds a copy of every descriptor, the lock's included,
    // until it execs (they are close-on-exec). So: retry, with a deadline.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Server::build(&config(dir.path()), Arc::new(SystemClock)).await {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the directory stayed unusable: {e}"
                );
                tokio::task::yield_now().await;
            }
        }
    }
}

#[tokio::test]
async fn start_errors_name_the_address_and_the_path() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut busy = config(dir.path());
    busy.listen = addr.into();
    let e = start_error(&busy).await;
    assert!(
        e.starts_with(&format!("cannot listen on {addr}: ")) && e.contains("--listen"),
        "{e}"
    );

    // A data directory below a regular file cannot be created.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let e = start_error(&config(&file.join("data"))).await;
    assert!(
        e.starts_with(&file.join("data").display().to_string()),
        "{e}"
    );

    // A token key that is not one names its file.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("token.key"), "not hex").unwrap();
    let e = start_error(&config(other.path())).await;
    assert!(e.contains("token.key"), "{e}");
}

#[tokio::test]
async fn the_database_setting_puts_the_state_where_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let db = elsewhere.path().join("state.db");
    let mut config = config(dir.path());
    config.database = Some(format!("sqlite:{}", db.display()).parse().unwrap());
    let (server, boot) = Server::build(&config, Arc::new(SystemClock)).await.unwrap();
    assert!(boot.demo.is_some());
    assert!(db.is_file(), "the database is at the setting's path");
    assert!(!dir.path().join("fxmsg.db").exists());
    drop(server);
    // A database that cannot be opened names the setting.
    let mut unusable = config.clone();
    unusable.database = Some(
        format!("sqlite:{}", dir.path().join("no/such/dir/x.db").display())
            .parse()
            .unwrap(),
    );
    let e = start_error(&unusable).await;
    assert!(e.starts_with("database sqlite:"), "{e}");
}

#[tokio::test]
async fn a_host_name_and_a_bare_port_are_listen_addresses() {
    for listen in ["localhost:0", ":0"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.listen = listen.parse().unwrap();
        let (server, _) = Server::build(&config, Arc::new(SystemClock)).await.unwrap();
        let port = server.local_addr().port();
        assert_ne!(port, 0, "{listen}");
        let url = format!("http://127.0.0.1:{port}/livez");
        let task = tokio::spawn(server.run(std::future::pending()));
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200, "{listen}");
        task.abort();
    }
}

/// A token chosen with FXMSG_ADMIN_TOKEN replaces the stored one and stays in force after a
/// restart without it, as a changed password would.
#[tokio::test]
async fn a_configured_admin_token_is_kept_for_later_starts() {
    let dir = tempfile::tempdir().unwrap();
    let start = |token: Option<&str>| {
        let mut config = config(dir.path());
        config.admin_token = token.map(Into::into);
        async move {
            let (server, boot) = Server::build(&config, Arc::new(SystemClock)).await.unwrap();
            let url = format!("http://{}", server.local_addr());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(server.run(async move {
                let _ = stopped.await;
            }));
            (url, boot, stop, task)
        }
    };
    let corps = |url: &str, token: &str| {
        let admin = AdminClient::new(url, token);
        async move { admin.list_corps().await.map(|c| c.len()) }
    };

    let (url, boot, stop, task) = start(None).await;
    let generated = boot.admin_token.expect("the first start generates a token");
    assert_eq!(corps(&url, &generated).await.unwrap(), 1);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();

    let (url, boot, stop, task) = start(Some("chosen-secret")).await;
    assert!(
        boot.admin_token.is_none(),
        "a configured token is not printed"
    );
    assert!(corps(&url, "chosen-secret").await.is_ok());
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();

    let (url, boot, stop, task) = start(None).await;
    assert!(boot.admin_token.is_none());
    assert!(corps(&url, "chosen-secret").await.is_ok());
    let old = corps(&url, &generated).await.unwrap_err();
    assert!(
        matches!(&old, Error::Native { status: 401, message, .. } if message.starts_with("wrong admin token")),
        "{old}"
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_missing_admin_token_and_a_wrong_one_get_different_answers() {
    let server = TestServer::start().await;
    let body = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 401);
        r.json::<serde_json::Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let none = body(server.get("/api/v1/corps", None).await).await;
    assert!(
        none.starts_with("no admin token") && none.contains("FXMSG_ADMIN_TOKEN"),
        "{none}"
    );
    let wrong = body(server.get("/api/v1/corps", Some("nope")).await).await;
    assert!(wrong.starts_with("wrong admin token"), "{wrong}");
    let basic = server
        .http()
        .get(format!("{}/api/v1/corps", server.url))
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .unwrap();
    assert!(body(basic)
        .await
        .contains("expected `Bearer <admin token>`"));
}

#[tokio::test]
async fn conflicts_name_the_field_not_the_database_constraint() {
    let server = TestServer::start().await;
    let corp = server.admin.create_corp("Again", "demo").await.unwrap_err();
    let shown = corp.to_string();
    assert!(
        shown.contains(r#"ea: a corp with ea "demo" already exists"#) && !shown.contains("UNIQUE"),
        "{shown}"
    );
    let employee = server
        .admin
        .create_employee(&server.demo.corp.corp_id, "Dup", Some("1000"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        employee.contains("userId: employee number 1000 is taken") && !employee.contains("UNIQUE"),
        "{employee}"
    );
}

#[tokio::test]
async fn message_filters_take_employee_numbers_with_a_corp_and_readable_times() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    server.clock.set_ms(1_764_547_200_000 + 3_600_000); // 2025-12-01T01:00:00Z
    let sent = client
        .send(&SendMessage::text(["1000"], "dated"))
        .await
        .unwrap();
    let corp = server.demo.corp.corp_id.clone();
    let admin = &server.admin;
    let list = |q: MessageQuery| async move { admin.list_messages(&q).await };

    let by_number = list(MessageQuery {
        corp_id: Some(corp.clone()),
        recipient: Some("1000".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(by_number.items[0].message_id, sent.message_id);
    let no_corp = list(MessageQuery {
        recipient: Some("1000".into()),
        ..Default::default()
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        no_corp.contains("HTTP 400") && no_corp.contains("recipient") && no_corp.contains("corpId"),
        "{no_corp}"
    );
    let by_open_id = list(MessageQuery {
        recipient: Some(server.employee(0).open_user_id.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(by_open_id.items.len(), 1);

    let server = &server;
    let count = |query: &str| {
        let path = format!("/api/v1/messages?{query}");
        async move {
            let r = server.get(&path, Some(ADMIN_TOKEN)).await;
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }
    };
    let (status, day) = count("since=2025-12-01&until=2025-12-02").await;
    assert_eq!(
        (status, day["items"].as_array().unwrap().len()),
        (200, 1),
        "{day}"
    );
    let (_, before) = count("since=2025-11-30&until=2025-12-01T00:59:59%2B00:00").await;
    assert!(before["items"].as_array().unwrap().is_empty(), "{before}");
    let (_, local) = count("since=2025-12-01T08:59:59%2B08:00").await;
    assert_eq!(local["items"].as_array().unwrap().len(), 1, "{local}");
    let (status, bad) = count("since=yesterday").await;
    let message = bad["message"].as_str().unwrap();
    assert!(
        status == 400
            && message.contains("since: \"yesterday\" is not a time")
            && message.contains("2026-12-01"),
        "{bad}"
    );
}

#[tokio::test]
async fn a_fault_on_a_path_that_does_not_exist_is_refused_and_one_fault_can_be_removed() {
    let server = TestServer::start().await;
    let fault = |path: &str| NewFault {
        path: path.into(),
        error_code: Some(-1),
        ..NewFault::default()
    };
    let typo = server
        .admin
        .add_fault(&fault("/cgi/mesage/send"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        typo.contains("HTTP 400")
            && typo.contains("\"/cgi/mesage/send\" is not a Fxiaoke path")
            && typo.contains("/cgi/message/send"),
        "{typo}"
    );
    let first = server
        .admin
        .add_fault(&fault("/cgi/message/send"))
        .await
        .unwrap();
    let second = server
        .admin
        .add_fault(&fault("/media/delete"))
        .await
        .unwrap();
    server.admin.delete_fault(first.id).await.unwrap();
    let again = server.admin.delete_fault(first.id).await.unwrap_err();
    assert!(
        matches!(again, Error::Native { status: 404, .. }),
        "{again}"
    );
    assert_eq!(server.admin.list_faults().await.unwrap(), vec![second]);
    // The removed fault no longer fires.
    let sent = server
        .client(AuthStyle::Bearer)
        .send(&SendMessage::text(["1000"], "no fault"))
        .await;
    assert!(sent.is_ok(), "{sent:?}");
}

#[tokio::test]
async fn sdk_errors_say_what_is_wrong_with_the_url() {
    let server = TestServer::start().await;
    let credentials = server.credentials();
    let built = |url: &str| {
        Client::builder(url)
            .credentials(credentials.clone())
            .build()
    };
    let bad = built("127.0.0.1:8080").unwrap_err();
    assert!(
        matches!(bad, Error::Config(_))
            && bad.to_string().contains("\"127.0.0.1:8080\" is not a URL"),
        "{bad}"
    );
    assert!(Client::builder(&server.url).build().is_err());

    // A base URL with a path the gateway does not have: the 404 is named, not "missing field".
    let wrong_path = built(&format!("{}/api", server.url)).unwrap();
    let e = wrong_path.access_token().await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}/api/oauth2.0/token", server.url))
            && e.contains("HTTP 404")
            && e.contains("base URL"),
        "{e}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Client::builder(format!("http://127.0.0.1:{port}"))
        .credentials(Credentials::new("FSAID_x", "s", "c"))
        .retry(fxmsg_client::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    let e = down.access_token().await.unwrap_err();
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(
            shown.starts_with(&format!("could not connect to http://127.0.0.1:{port}/"))
                && shown.to_lowercase().contains("connection refused"),
            "{shown}"
        );
    }
    let admin = AdminClient::new("localhost", ADMIN_TOKEN);
    let e = admin.list_corps().await.unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

/// Runs `fxmsg ARGS` with no FXMSG_* settings from the environment.
async fn bare(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.output().await.unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn command_line_mistakes_name_the_argument_and_exit_2() {
    for (args, needle) in [
        (&["revoke", "3278896a"][..], "--service <SERVICE>"),
        (&["media", "download"][..], "<MEDIA_ID>"),
        (&["admin", "corp", "create", "--name", "x"][..], "--ea <EA>"),
        (&["sned"][..], "a similar subcommand exists: 'send'"),
        (
            &["send", "text", "--too", "1000"][..],
            "a similar argument exists: '--to'",
        ),
        (
            &["serve", "--app-id", "x"][..],
            "unexpected argument '--app-id'",
        ),
        (&["serve", "--listen", "8080"][..], "HOST:PORT"),
        (
            &["serve", "--database", "mysql://db/fxmsg"][..],
            "unsupported database \"mysql://db/fxmsg\": use sqlite:PATH",
        ),
    ] {
        let o = bare(args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {needle:?} in {err}"
        );
    }
    let no_token = bare(&["admin", "corp", "list"]).await;
    assert_eq!(no_token.status.code(), Some(2));
    assert!(
        stderr(&no_token).contains("missing --admin-token")
            && stderr(&no_token).contains("FXMSG_ADMIN_TOKEN"),
        "{no_token:?}"
    );
    let bad_url = bare(&[
        "admin",
        "--url",
        "localhost:8080",
        "--admin-token",
        "x",
        "corp",
        "list",
    ])
    .await;
    assert_eq!(bad_url.status.code(), Some(2), "{bad_url:?}");
    assert!(
        stderr(&bad_url).contains("base URL \"localhost:8080\""),
        "{bad_url:?}"
    );
    // Bare `fxmsg` is a usage mistake: help on stderr, exit 2.
    let nothing = bare(&[]).await;
    assert_eq!(nothing.status.code(), Some(2));
    assert!(stderr(&nothing).contains("Usage: fxmsg <COMMAND>"));
    let help = bare(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let o = bare(&["completions", shell]).await;
        assert!(o.status.success(), "{shell}: {o:?}");
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(
            script.contains("fxmsg") && script.contains("revoke") && script.contains("--service"),
            "{shell}"
        );
    }
}
