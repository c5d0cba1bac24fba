//! The `fxmsg` client commands run as a process against a test server: output and exit codes.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{TestServer, PNG};

/// Runs `fxmsg ARGS` with the demo app's credentials in the environment.
async fn fxmsg(server: &TestServer, args: &[&str]) -> Output {
    let app = &server.demo.app;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(args)
        .env("FXMSG_URL", &server.url)
        .env("FXMSG_APP_ID", &app.app.app_id)
        .env("FXMSG_APP_SECRET", &app.app_secret)
        .env("FXMSG_PERMANENT_CODE", &app.permanent_code)
        // No profile file: isolate from the developer's own ~/.config.
        .env("XDG_CONFIG_HOME", &server.data_dir)
        .env_remove("FXMSG_PROFILE_FILE")
        .env_remove("FXMSG_PROFILE")
        .output()
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_out(o: &Output) -> Value {
    assert!(o.status.success(), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Asserts clap's refusal of the command line: exit 2, and an error that names `needle` (the
/// argument to change) and the usage, with a pointer to `--help`.
fn assert_usage(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = stderr(o);
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{needle:?} in {err}"
    );
    assert!(
        err.contains("Usage: fxmsg") && err.contains("--help"),
        "{err}"
    );
}

/// Asserts a refusal before sending: exit 2 and a one-line message naming `needle`.
fn assert_refused(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
}

#[tokio::test]
async fn send_commands_deliver_every_message_type() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cover = dir.path().join("cover.png");
    std::fs::write(&cover, PNG).unwrap();

    let text = fxmsg(
        &server,
        &[
            "send",
            "text",
            "--to",
            "1000,1001",
            "--to",
            "ghost",
            "Deploy finished",
        ],
    )
    .await;
    assert!(text.status.success(), "{text:?}");
    assert!(
        stdout(&text).starts_with("sent ") && stdout(&text).contains("invalid users: ghost"),
        "{}",
        stdout(&text)
    );

    let card = fxmsg(
        &server,
        &[
            "send",
            "--json",
            "composite",
            "--to",
            "1000",
            "--title",
            "Daily",
            "--row",
            "CRM=100",
            "--row",
            "PK=4",
            "--link-title",
            "Details",
            "--link-url",
            "https://example.com",
            "--auth-style",
            "legacy",
        ],
    )
    .await;
    let id = json_out(&card)["messageId"].as_str().unwrap().to_owned();
    let detail = server.admin.get_message(&id).await.unwrap();
    assert_eq!(detail.message.content["form"][1]["label"], "PK");

    let article = format!(
        "title=Release,cover=@{},url=https://example.com/r",
        cover.display()
    );
    let articles = fxmsg(
        &server,
        &[
            "send",
            "--json",
            "articles",
            "--to",
            "1000",
            "--service",
            server.service_id(),
            "--article",
            &article,
        ],
    )
    .await;
    let id = json_out(&articles)["messageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = server.admin.get_message(&id).await.unwrap();
    assert_eq!(
        detail.message.service_id.as_deref(),
        Some(server.service_id())
    );
    assert_eq!(
        detail.message.content[0]["coverImage"]
            .as_str()
            .unwrap()
            .len(),
        36,
        "the cover was uploaded first"
    );

    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        r#"{"toUser":["1002"],"msgType":"text","text":{"content":"from a file"}}"#,
    )
    .unwrap();
    let from_file = fxmsg(
        &server,
        &["send", "text", "--json", "--file", body.to_str().unwrap()],
    )
    .await;
    let id = json_out(&from_file)["messageId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server.admin.get_message(&id).await.unwrap().message.content["content"],
        "from a file"
    );
    assert_eq!(server.message_count().await, 4);
}

#[tokio::test]
async fn media_revoke_and_token_commands_work_end_to_end() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("img{i}.png"));
            std::fs::write(&path, PNG).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let mut args = vec!["media", "--json", "upload"];
    args.extend(files.iter().map(String::as_str));
    let uploaded = json_out(&fxmsg(&server, &args).await);
    assert_eq!(uploaded.as_array().unwrap().len(), 3);
    let media_id = uploaded[0]["mediaId"].as_str().unwrap().to_owned();

    let out = dir.path().join("back.png");
    let download = fxmsg(
        &server,
        &["media", "download", &media_id, "-o", out.to_str().unwrap()],
    )
    .await;
    assert!(download.status.success(), "{download:?}");
    assert_eq!(std::fs::read(&out).unwrap(), PNG);
    assert!(fxmsg(&server, &["media", "delete", &media_id])
        .await
        .status
        .success());
    let gone = fxmsg(
        &server,
        &["media", "download", &media_id, "-o", out.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        gone.status.code(),
        Some(3),
        "an API refusal exits 3: {gone:?}"
    );

    let sent = json_out(&fxmsg(&server, &["send", "text", "--to", "1000", "--json", "bye"]).await);
    let id = sent["messageId"].as_str().unwrap();
    let revoke = fxmsg(&server, &["revoke", "--service", server.service_id(), id]).await;
    assert!(revoke.status.success(), "{revoke:?}");
    assert!(server
        .admin
        .get_message(id)
        .await
        .unwrap()
        .message
        .revoked_at
        .is_some());

    let token = fxmsg(&server, &["token"]).await;
    assert_eq!(stdout(&token).trim().len(), 32, "{token:?}");
}

#[tokio::test]
async fn bad_input_is_refused_in_one_line_before_anything_is_sent() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    let mut bytes = PNG.to_vec();
    bytes.resize(6 * 1024 * 1024, 0);
    std::fs::write(&big, bytes).unwrap();
    let html = dir.path().join("fake.png");
    std::fs::write(&html, "<html></html>").unwrap();
    let missing = dir.path().join("missing.png");

    assert_refused(
        &fxmsg(&server, &["media", "upload", missing.to_str().unwrap()]).await,
        "missing.png",
    );
    assert_refused(
        &fxmsg(&server, &["media", "upload", big.to_str().unwrap()]).await,
        "limited to 5242880 bytes",
    );
    assert_refused(
        &fxmsg(&server, &["media", "upload", html.to_str().unwrap()]).await,
        "not a JPG, PNG, GIF or BMP",
    );
    let eight: Vec<String> = (0..8)
        .flat_map(|i| {
            [
                "--article".to_string(),
                format!("title=T{i},cover=m,text=x"),
            ]
        })
        .collect();
    let mut args = vec!["send", "articles", "--to", "1000"];
    args.extend(eight.iter().map(String::as_str));
    assert_refused(
        &fxmsg(&server, &args).await,
        "articles: must hold 1..7 articles, got 8",
    );
    let cover = format!("title=T,cover=@{},text=x", big.display());
    assert_refused(
        &fxmsg(
            &server,
            &["send", "articles", "--to", "1000", "--article", &cover],
        )
        .await,
        "limited to 5242880",
    );
    assert_usage(
        &fxmsg(&server, &["send", "text", "hello"]).await,
        "--to <TO>",
    );
    assert_usage(
        &fxmsg(
            &server,
            &["send", "text", "--to", "1000", "--title", "x", "hello"],
        )
        .await,
        "--title",
    );
    assert_eq!(server.message_count().await, 0);
    assert_eq!(server.media_files(), 0);
}

#[tokio::test]
async fn credentials_come_from_a_profile_file_and_failures_have_distinct_exit_codes() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    let app = &server.demo.app;
    std::fs::write(
        &profiles,
        format!(
            "[ci]\nurl = \"{}\"\napp_id = \"{}\"\napp_secret = \"{}\"\npermanent_code = \"{}\"\nauth_style = \"legacy\"\n",
            server.url, app.app.app_id, app.app_secret, app.permanent_code
        ),
    )
    .unwrap();
    let run = |args: Vec<&str>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        async move { command.output().await.unwrap() }
    };
    let profile = profiles.to_str().unwrap();
    let sent = run(vec![
        "send",
        "text",
        "--profile-file",
        profile,
        "--profile",
        "ci",
        "--to",
        "1000",
        "hi",
    ])
    .await;
    assert!(sent.status.success(), "{sent:?}");
    let no_profile = run(vec![
        "send",
        "text",
        "--profile-file",
        profile,
        "--profile",
        "prod",
        "--to",
        "1000",
        "hi",
    ])
    .await;
    assert_refused(&no_profile, "no profile 'prod'");
    let no_credentials = run(vec!["token", "--url", &server.url]).await;
    assert_refused(&no_credentials, "--app-id");
    let wrong_secret = run(vec![
        "token",
        "--profile-file",
        profile,
        "--profile",
        "ci",
        "--app-secret",
        "nope",
    ])
    .await;
    assert_eq!(wrong_secret.status.code(), Some(3), "{wrong_secret:?}");
    assert!(stderr(&wrong_secret).contains("10006"));
    let unreachable = run(vec![
        "token",
        "--profile-file",
        profile,
        "--profile",
        "ci",
        "--url",
        "http://127.0.0.1:9",
    ])
    .await;
    assert_eq!(unreachable.status.code(), Some(4), "{unreachable:?}");
    let unknown_flag = run(vec!["send", "text", "--colour", "red"]).await;
    assert_eq!(unknown_flag.status.code(), Some(2));
    assert!(Path::new(profile).exists());
}

/// Runs `fxmsg ARGS` with the admin token and the server's URL in the environment.
pub(crate) fn admin_command(server: &TestServer, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"));
    command
        .args(args)
        .env("FXMSG_URL", &server.url)
        .env("FXMSG_ADMIN_TOKEN", crate::support::ADMIN_TOKEN)
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn events_and_wait_on_the_command_line() {
    let server = TestServer::start().await;
    let corp = server.demo.corp.corp_id.clone();
    let mut events = admin_command(
        &server,
        &["events", "--json", "--count", "2", "--corp", &corp],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // The stream is open once it says so on stderr.
    let mut status = tokio::io::BufReader::new(events.stderr.take().unwrap());
    let mut first = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut status, &mut first)
        .await
        .unwrap();
    assert!(
        first.starts_with("fxmsg: following events after 0"),
        "{first}"
    );
    let waiting = admin_command(
        &server,
        &[
            "wait", "--corp", &corp, "--to", "1001", "--text", "deployed", "--json",
        ],
    )
    .output();
    let waiting = tokio::spawn(waiting);
    for text in ["building", "deployed"] {
        assert!(fxmsg(&server, &["send", "text", "--to", "1001", text])
            .await
            .status
            .success());
    }
    let printed = events.wait_with_output().await.unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let lines: Vec<Value> = stdout(&printed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["seq"].as_i64(), lines[1]["seq"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(lines[1]["message"]["content"]["content"], "deployed");
    let found = waiting.await.unwrap().unwrap();
    assert!(found.status.success(), "{found:?}");
    assert_eq!(json_out(&found)["content"]["content"], "deployed");

    let timed_out = admin_command(&server, &["wait", "--text", "never", "--timeout", "1"])
        .output()
        .await
        .unwrap();
    assert_eq!(timed_out.status.code(), Some(5), "{timed_out:?}");
    assert!(stderr(&timed_out).contains("no matching message within 1 s"));
}

#[tokio::test]
async fn employee_tokens_and_login_links_on_the_command_line() {
    let server = TestServer::start().await;
    let corp = server.demo.corp.corp_id.clone();
    let run = |args: &[&str]| {
        let mut all = vec!["admin", "--json", "employee"];
        all.extend_from_slice(args);
        admin_command(&server, &all).output()
    };
    let issued = run(&["token", "--corp", &corp, "1000"]).await.unwrap();
    let issued = json_out(&issued);
    let token = issued["token"].as_str().unwrap();
    let me = fxmsg_client::employee::EmployeeClient::new(&server.url, token);
    assert!(me.inbox(None).await.is_ok());
    let link = json_out(&run(&["login-link", "--corp", &corp, "1000"]).await.unwrap());
    assert!(link["url"].as_str().unwrap().contains("/login/fxl_"));
    let listed = json_out(&run(&["tokens", "--corp", &corp, "1000"]).await.unwrap());
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let id = issued["credentialId"].as_str().unwrap();
    let revoked = run(&["revoke-token", "--corp", &corp, "1000", id])
        .await
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(me.inbox(None).await.is_err());
    let again = run(&["revoke-token", "--corp", &corp, "1000", id])
        .await
        .unwrap();
    assert_eq!(again.status.code(), Some(3));
    assert!(
        stderr(&again).contains(&format!("no live credential {id}")),
        "{again:?}"
    );
}

/// Runs `fxmsg ARGS` with the admin token in the environment.
async fn fxmsg_admin(server: &TestServer, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(args)
        .env("FXMSG_URL", &server.url)
        .env("FXMSG_ADMIN_TOKEN", crate::support::ADMIN_TOKEN)
        .env("XDG_CONFIG_HOME", &server.data_dir)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn users_departments_import_and_export_on_the_command_line() {
    let server = TestServer::start().await;
    let found = json_out(&fxmsg(&server, &["users", "--json", "--mobile", "13800001001"]).await);
    assert_eq!(found[0]["name"], "Bo Wang", "{found}");
    let nobody = json_out(&fxmsg(&server, &["users", "--json", "--mobile", "19900000000"]).await);
    assert_eq!(nobody, serde_json::json!([]));
    let below = fxmsg(&server, &["users", "--department", "3", "--fetch-child"]).await;
    assert!(below.status.success(), "{below:?}");
    let lines: Vec<_> = stdout(&below).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "Chen and Dan: {lines:?}");
    assert!(
        lines[0].contains("Chen Zhao") && lines[1].contains("Dan Liu"),
        "{lines:?}"
    );
    let tree = stdout(&fxmsg(&server, &["departments"]).await);
    assert!(
        tree.contains("   0  Demo Corp\n     1  Sales\n       2  Sales East\n"),
        "{tree}"
    );
    let missing = fxmsg(
        &server,
        &["users", "--user", "FSUID_00000000000000000000000000000000"],
    )
    .await;
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    assert!(stderr(&missing).contains("20012"), "{}", stderr(&missing));

    // Export to a file, import it into a new corp: the same directory; a second run changes nothing.
    let demo = server.demo.corp.corp_id.clone();
    for (name, csv) in [("directory.json", false), ("directory.csv", true)] {
        let mut args = vec!["admin", "export", "--corp", &demo];
        if csv {
            args.push("--csv");
        }
        let exported = fxmsg_admin(&server, &args).await;
        assert!(exported.status.success(), "{exported:?}");
        let path = server.data_dir.join(name);
        std::fs::write(&path, &exported.stdout).unwrap();
        let ea = name.replace('.', "-");
        let corp = server.admin.create_corp("Copy", &ea).await.unwrap().corp_id;
        let path = path.to_str().unwrap();
        let first = json_out(
            &fxmsg_admin(
                &server,
                &["admin", "--json", "import", "--corp", &corp, path],
            )
            .await,
        );
        assert_eq!(first["employees"]["created"], 5, "{first}");
        let second = json_out(
            &fxmsg_admin(
                &server,
                &["admin", "--json", "import", "--corp", &corp, path],
            )
            .await,
        );
        assert_eq!(second["employees"]["unchanged"], 5, "{second}");
        assert_eq!(
            server.admin.export_directory(&corp).await.unwrap(),
            server.admin.export_directory(&demo).await.unwrap()
        );
    }
    let bad = server.data_dir.join("bad.csv");
    std::fs::write(
        &bad,
        "type,id,name,parentId\ndepartment,1,Sales,0\ndepartment,2,East,9\n",
    )
    .unwrap();
    let corp = server
        .admin
        .create_corp("Bad", "bad")
        .await
        .unwrap()
        .corp_id;
    let refused = fxmsg_admin(
        &server,
        &["admin", "import", "--corp", &corp, bad.to_str().unwrap()],
    )
    .await;
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    assert!(
        stderr(&refused).contains("line 3 (departments[1]): parentId: no department 9"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        server.admin.list_departments(&corp).await.unwrap().len(),
        1,
        "only 0"
    );
    let created = json_out(
        &fxmsg_admin(
            &server,
            &[
                "admin",
                "--json",
                "department",
                "create",
                "--corp",
                &corp,
                "--name",
                "Sales",
            ],
        )
        .await,
    );
    assert_eq!(created["id"], 1, "{created}");
    let hired = json_out(
        &fxmsg_admin(
            &server,
            &[
                "admin",
                "--json",
                "employee",
                "create",
                "--corp",
                &corp,
                "--name",
                "Han",
                "--mobile",
                "13900000001",
                "--department",
                "1",
            ],
        )
        .await,
    );
    assert_eq!(hired["departmentIds"], serde_json::json!([1]), "{hired}");
    let moved = json_out(
        &fxmsg_admin(
            &server,
            &[
                "admin",
                "--json",
                "employee",
                "update",
                "--corp",
                &corp,
                "1000",
                "--position",
                "Lead",
                "--mobile",
                "",
                "--department",
                "0",
            ],
        )
        .await,
    );
    assert_eq!(moved["position"], "Lead", "{moved}");
    assert!(moved.get("mobile").is_none(), "cleared: {moved}");
    assert_eq!(moved["mainDepartmentId"], 0, "{moved}");
    server.stop().await;
}
