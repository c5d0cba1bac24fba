//! The quick start as a newcomer runs it: the built binary, the server's `export` values in its
//! environment, against a fresh server on loopback.

use std::process::Output;
use std::sync::Arc;

use fxmsg_client::admin::AdminClient;
use fxmsg_server::{Config, Server, SystemClock};

const ADMIN_TOKEN: &str = "quickstart-admin";

async fn quickstart(env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg-quickstart"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_quick_start_sends_a_message_and_says_why_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    config.admin_token = Some(ADMIN_TOKEN.into());
    let (server, boot) = Server::build(&config, Arc::new(SystemClock)).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));
    let demo = boot.demo.unwrap();
    let app = &demo.app;
    let mut env = vec![
        ("FXMSG_URL", url.as_str()),
        ("FXMSG_APP_ID", app.app.app_id.as_str()),
        ("FXMSG_APP_SECRET", app.app_secret.as_str()),
        ("FXMSG_PERMANENT_CODE", app.permanent_code.as_str()),
    ];

    let sent = quickstart(&env).await;
    assert!(sent.status.success(), "{sent:?}");
    let stdout = String::from_utf8(sent.stdout).unwrap();
    let message_id = stdout.trim().strip_prefix("sent ").unwrap();
    let detail = AdminClient::new(&url, ADMIN_TOKEN)
        .get_message(message_id)
        .await
        .unwrap();
    assert_eq!(detail.message.content["content"], "Build 512 passed");

    // A wrong secret: main's Result prints the error as a sentence with its code.
    env[2].1 = "0123456789abcdef0123456789abcdef";
    let refused = quickstart(&env).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.starts_with("Error: Fxiaoke error 10006"), "{stderr}");

    // No server settings at all: the base URL is named.
    let unset = quickstart(&[]).await;
    let stderr = String::from_utf8_lossy(&unset.stderr);
    assert!(
        stderr.starts_with("Error: base URL \"\" is not a URL"),
        "{stderr}"
    );
}
