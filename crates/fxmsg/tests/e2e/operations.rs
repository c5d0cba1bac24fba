//! Health, request timeouts and graceful shutdown.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{assert_error, assert_success, TestServer, ADMIN_TOKEN};

fn host_of(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends the head of a JSON POST whose body is `length` bytes long.
async fn start_post(url: &str, path: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(host_of(url)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n",
        host_of(url)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn health_endpoints_answer() {
    let server = TestServer::start().await;
    for path in ["/livez", "/readyz"] {
        let r = server.get(path, None).await;
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_request_that_stalls_is_answered_with_408() {
    let server = TestServer::start_with(|c| c.request_timeout_secs = 1).await;
    let mut stream = start_post(&server.url, "/cgi/message/send", 100).await;
    stream.write_all(b"{\"toUser\":").await.unwrap();
    let started = Instant::now();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    // The envelope, retryable, so a platform client knows what happened.
    assert!(response.contains("\"errorCode\":-1"), "{response}");
    assert!(response.contains("request timeout"), "{response}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.message_count().await, 0);
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_stops() {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let body = json!({"corpAccessToken": token, "corpId": corp_id, "toUser": ["1000"], "msgType": "text", "text": {"content": "in flight"}})
        .to_string();
    let (first, rest) = body.as_bytes().split_at(20);
    let mut stream = start_post(&server.url, "/cgi/message/send", body.len()).await;
    stream.write_all(first).await.unwrap();
    // Let the server start handling the request before shutdown begins.
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = server.url.clone();
    let stopping = tokio::spawn(server.stop());
    // Shutdown has begun once new connections are refused.
    while TcpStream::connect(host_of(&url)).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server kept accepting connections"
        );
        tokio::task::yield_now().await;
    }
    stream.write_all(rest).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"errorCode\":0"), "{response}");
    stopping.await.unwrap();
}

/// `fxmsg serve` as a child process on a free port, with the given stdout and stderr.
fn spawn_serve(
    dir: &std::path::Path,
    stdout: std::process::Stdio,
    stderr: std::process::Stdio,
) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env_remove("RUST_LOG")
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

/// Waits until `/readyz` answers, failing if the child exits first.
async fn wait_ready(child: &mut tokio::process::Child, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("{base}/readyz");
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited before it was ready"
        );
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_server_keeps_running_when_its_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(
        dir.path(),
        std::process::Stdio::piped(),
        std::process::Stdio::null(),
    );
    drop(child.stdout.take()); // like `fxmsg serve | head -1`: nobody reads the banner
    wait_ready(&mut child, &base).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server exited after printing its banner"
    );
    child.kill().await.unwrap();
}

/// One plain line per request, carrying the trace id the client saw; never the query string
/// (it can hold `corpAccessToken`), and no colour codes when stderr is not a terminal.
#[tokio::test]
async fn each_request_logs_one_plain_line_with_its_trace_id_and_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(
        dir.path(),
        std::process::Stdio::null(),
        std::process::Stdio::piped(),
    );
    wait_ready(&mut child, &base).await;
    let secret = "SECRET-TOKEN-0123456789";
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/cgi/message/send?corpAccessToken={secret}&corpId=FSCID_1"
        ))
        .json(&json!({"msgType": "text"}))
        .send()
        .await
        .unwrap();
    let trace_id = response.headers()["x-fxmsg-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    child.kill().await.unwrap();
    let logs = read_stderr(&mut child).await;
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&trace_id)).collect();
    assert_eq!(lines.len(), 1, "one line for the request: {logs}");
    let line = lines[0];
    assert!(line.contains("handled"), "{line}");
    assert!(line.contains("path=/cgi/message/send"), "{line}");
    assert!(line.contains("status=200"), "{line}");
    assert!(
        !logs.contains(secret),
        "a credential reached the log: {logs}"
    );
    assert!(!logs.contains('\x1b'), "colour codes in a log file: {logs}");
}

/// `/metrics` counts messages and deliveries (not idempotent replays), each Fxiaoke error code
/// answered, requests by route pattern rather than raw path, and the store's group commits. Only
/// the admin token reads it.
#[tokio::test]
async fn metrics_count_sends_errors_requests_and_commits() {
    let server = TestServer::start().await;
    let before = server.admin.metrics().await.unwrap();
    let text =
        |users: &[&str]| json!({"toUser": users, "msgType": "text", "text": {"content": "hi"}});
    let send = "/cgi/message/send?thirdTraceId=metrics-1";
    assert_success(&server.post_legacy(send, text(&["1000", "1001"])).await);
    assert_success(&server.post_legacy(send, text(&["1000", "1001"])).await);
    assert_success(
        &server
            .post_legacy("/cgi/message/send", text(&["1000"]))
            .await,
    );
    let app = &server.demo.app;
    let bad = json!({"appId": app.app.app_id, "appSecret": "bad", "permanentCode": app.permanent_code, "grantType": "app_secret"});
    let refused = server.post("/oauth2.0/token", &bad).await;
    assert_error(&refused, 10006, "appSecret");
    assert_eq!(refused["error"], "invalid_client");
    let empty = json!({"toUser": ["1000"], "msgType": "text", "text": {"content": ""}});
    assert_error(
        &server.post_legacy("/cgi/message/send", empty).await,
        12005,
        "",
    );
    // A route whose path carries the corp id: counted under its pattern.
    let employees = server.admin.list_employees(&server.demo.corp.corp_id).await;
    assert_eq!(employees.unwrap().len(), 5);
    let missing = server.admin.get_message("no-such-message").await;
    assert!(matches!(
        missing,
        Err(fxmsg_client::Error::Native { status: 404, .. })
    ));

    // A batch's duration is recorded just after its callers are answered: read once it is.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let m = server.admin.metrics().await.unwrap();
        let commits = m.sum("fxmsg_store_commits_total", &[]);
        if m.sum("fxmsg_store_batch_duration_seconds_count", &[]) >= commits {
            break m;
        }
        assert!(Instant::now() < deadline, "batch durations never caught up");
        tokio::task::yield_now().await;
    };
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    assert_eq!(delta("fxmsg_messages_sent_total", &[]), 2.0);
    assert_eq!(delta("fxmsg_deliveries_total", &[]), 3.0);
    let sends = [
        ("route", "/cgi/message/send"),
        ("method", "POST"),
        ("status", "200"),
    ];
    assert_eq!(
        delta("fxmsg_http_request_duration_seconds_count", &sends),
        4.0
    );
    let errors = [("route", "/cgi/message/send"), ("code", "12005")];
    assert_eq!(delta("fxmsg_api_errors_total", &errors), 1.0);
    // The OAuth route's errors, with their extra fields, are counted like every other.
    let oauth = [("route", "/oauth2.0/token"), ("code", "10006")];
    assert_eq!(delta("fxmsg_api_errors_total", &oauth), 1.0);
    assert_eq!(delta("fxmsg_api_errors_total", &[]), 2.0);
    let lookup = [
        ("route", "/api/v1/messages/{message_id}"),
        ("status", "404"),
    ];
    assert_eq!(
        delta("fxmsg_http_request_duration_seconds_count", &lookup),
        1.0
    );
    if server.database_url().is_none() {
        // Every stored message was a write in a committed batch; the token the sends fetched
        // too.
        assert!(delta("fxmsg_store_writes_total", &[]) >= 3.0);
        assert!(delta("fxmsg_store_commits_total", &[]) >= 1.0);
    } else {
        assert!(after.sum("fxmsg_store_postgres_connections", &[]) >= 1.0);
    }
    let listing = [
        ("route", "/api/v1/corps/{corp_id}/employees"),
        ("status", "200"),
    ];
    assert_eq!(
        delta("fxmsg_http_request_duration_seconds_count", &listing),
        1.0
    );
    // No label names the tenant: its corp and app ids appear nowhere.
    let tenant = [&server.demo.corp.corp_id, &server.demo.app.app.app_id];
    for sample in &after.samples {
        for (_, value) in &sample.labels {
            assert!(!tenant.contains(&value), "{} names {value}", sample.name);
        }
    }

    // Prometheus reads the OpenMetrics text format by its media type and final `# EOF`.
    let scraped = server.get("/metrics", Some(ADMIN_TOKEN)).await;
    assert_eq!(scraped.status(), 200);
    let media_type = scraped.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        media_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{media_type}"
    );
    assert!(scraped.text().await.unwrap().ends_with("# EOF\n"));

    let anonymous = server.get("/metrics", None).await;
    assert_eq!(anonymous.status(), 401);
    let wrong = fxmsg_client::admin::AdminClient::new(&server.url, "not-the-token");
    assert!(matches!(
        wrong.metrics().await,
        Err(fxmsg_client::Error::Native { status: 401, .. })
    ));
}

/// SIGTERM: exit 0, not one warning in the log (the final checkpoint used to run inside a
/// transaction and fail with "database table is locked" on every stop), and the WAL, which the
/// first start's writes filled, copied back into the database.
#[tokio::test]
async fn a_graceful_stop_checkpoints_the_whole_wal_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(
        dir.path(),
        std::process::Stdio::null(),
        std::process::Stdio::piped(),
    );
    wait_ready(&mut child, &base).await;
    let wal = dir.path().join("fxmsg.db-wal");
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(wal_size() > 0, "the demo corp's writes are in the WAL");
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    let logs = read_stderr(&mut child).await;
    assert!(status.success(), "{status}: {logs}");
    assert!(!logs.contains("WARN") && !logs.contains("ERROR"), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");
    assert_eq!(wal_size(), 0, "{logs}");
}

/// Everything a child wrote to its piped stderr.
async fn read_stderr(child: &mut tokio::process::Child) -> String {
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    logs
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_made_owner_only_so_the_database_and_key_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.clone();
    let server = TestServer::start_with(move |config| config.data_dir = data_dir).await;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{mode:o}");
    if server.database_url().is_none() {
        assert!(dir.join("fxmsg.db").exists() && dir.join("token.key").exists());
    }
    server.stop().await;
}

#[tokio::test]
async fn the_admin_token_can_come_from_a_file_and_so_stays_out_of_process_lists() {
    let parent = tempfile::tempdir().unwrap();
    let file = parent.path().join("admin-token");
    std::fs::write(&file, "from-a-file\nthe first line only\n").unwrap();
    let path = file.clone();
    let server = TestServer::start_with(move |config| {
        config.admin_token = None;
        config.admin_token_file = Some(path);
    })
    .await;
    assert_eq!(
        server
            .get("/api/v1/corps", Some("from-a-file"))
            .await
            .status(),
        200
    );
    assert_eq!(
        server
            .get("/api/v1/corps", Some(ADMIN_TOKEN))
            .await
            .status(),
        401
    );
    server.stop().await;

    // Both at once, an empty file or a missing one: refused before anything starts.
    let empty = parent.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let data = parent.path().join("data");
    let run = |args: Vec<std::ffi::OsString>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .args(args)
            .env_remove("FXMSG_ADMIN_TOKEN")
            .output()
            .unwrap()
    };
    let both = run(vec![
        "--admin-token".into(),
        "x".into(),
        "--admin-token-file".into(),
        file.clone().into(),
    ]);
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{both:?}"
    );
    for bad in [empty, parent.path().join("missing")] {
        let refused = run(vec!["--admin-token-file".into(), bad.clone().into()]);
        assert!(!refused.status.success(), "{refused:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    }
}
