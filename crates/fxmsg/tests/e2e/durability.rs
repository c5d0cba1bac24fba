//! Durability: SIGKILL the real binary while sends are being acknowledged, restart it on the same
//! data directory, and find every acknowledged message with all its inbox rows.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxmsg_client::admin::AdminClient;
use fxmsg_client::{AuthStyle, Client, Credentials, RetryPolicy, SendMessage};

use crate::support::ADMIN_TOKEN;

/// Starts `fxmsg serve` on port 0 and reads the banner: (child, base URL, banner lines).
fn spawn(data_dir: &std::path::Path) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("FXMSG_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().nth(3).unwrap().to_owned();
    // The banner ends with the curl snippet when a demo was created, else right after the first line.
    let mut banner = vec![first];
    if data_dir.join(".seen").exists() {
        return (child, url, banner);
    }
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("curl ");
        banner.push(line);
        if done {
            break;
        }
    }
    std::fs::write(data_dir.join(".seen"), "").unwrap();
    (child, url, banner)
}

fn field<'a>(banner: &'a [String], key: &str) -> &'a str {
    banner
        .iter()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("{key} in {banner:?}"))
}

#[tokio::test]
async fn every_acknowledged_send_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, banner) = spawn(dir.path());
    let credentials = Credentials::new(
        field(&banner, "appId: "),
        field(&banner, "appSecret: "),
        field(&banner, "permanentCode: "),
    );
    let client = Client::builder(&url)
        .credentials(credentials.clone())
        .auth_style(AuthStyle::Legacy)
        .retry(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (client, acked) = (client.clone(), acked.clone());
            tokio::spawn(async move {
                let to = ["1000", "1001", "1002", "1003", "1004"];
                loop {
                    match client.send(&SendMessage::text(to, "durable?")).await {
                        Ok(sent) => acked.lock().unwrap().push(sent.message_id),
                        // What stopped this sender, and when: only the kill may.
                        Err(e) => return (Instant::now(), e.to_string()),
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 100 {
        if let Some(stopped) = senders.iter().position(|s| s.is_finished()) {
            let (_, why) = senders.into_iter().nth(stopped).unwrap().await.unwrap();
            panic!("a sender stopped before the kill: {why}");
        }
        assert!(
            Instant::now() < deadline,
            "sends were not acknowledged in time"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = Instant::now();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for sender in senders {
        let (at, why) = sender.await.unwrap();
        assert!(at >= killed_at, "a sender stopped before the kill: {why}");
    }
    let acked = acked.lock().unwrap().clone();

    let (mut child, url, banner) = spawn(dir.path());
    assert_eq!(
        banner.len(),
        1,
        "a restart creates no second demo: {banner:?}"
    );
    let admin = AdminClient::new(&url, ADMIN_TOKEN);
    for id in &acked {
        let detail = admin
            .get_message(id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged {id} lost: {e}"));
        assert_eq!(detail.deliveries.len(), 5, "{id} kept all its inbox rows");
    }
    // Restarting keeps the directory and the credentials too.
    let again = Client::builder(&url)
        .credentials(credentials)
        .build()
        .unwrap();
    again
        .send(&SendMessage::text(["1000"], "after restart"))
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    println!("{} acknowledged sends survived SIGKILL", acked.len());
}
