//! Durability: SIGKILL the real binary while sends are being acknowledged, restart it on the same
//! data directory, and find every acknowledged message with all its inbox rows.

use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use fxmsg_client::admin::AdminClient;
use fxmsg_client::events::{EventsQuery, StreamItem};
use fxmsg_client::{AuthStyle, Client, RetryPolicy, SendMessage};

use crate::support::{count_messages, demo_credentials, serve_process, ADMIN_TOKEN};

/// Starts `fxmsg serve` on port 0 and reads the banner: (child, base URL, banner lines).
fn spawn(data_dir: &std::path::Path) -> (Child, String, Vec<String>) {
    spawn_on(data_dir, "127.0.0.1:0")
}

/// [`spawn`] listening on `listen`.
fn spawn_on(data_dir: &std::path::Path, listen: &str) -> (Child, String, Vec<String>) {
    serve_process(data_dir, &["--listen", listen], &[])
}

#[tokio::test]
async fn every_acknowledged_send_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, banner) = spawn(dir.path());
    let credentials = demo_credentials(&banner);
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

/// SIGKILL while sends commit, whatever moment a commit and its publication are at: the event is
/// in the log, so an SDK stream that was following reconnects to the restarted server, resumes
/// from its last id, and has every committed event exactly once, every acknowledged send among
/// them.
#[tokio::test]
async fn a_resuming_stream_loses_no_event_across_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, banner) = spawn(dir.path());
    // The restart listens where this one does, for the stream to reconnect to.
    let listen = url.trim_start_matches("http://").to_owned();
    let client = Client::builder(&url)
        .credentials(demo_credentials(&banner))
        .retry(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    let admin = AdminClient::new(&url, ADMIN_TOKEN);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (opened, open) = tokio::sync::oneshot::channel();
    let follower = tokio::spawn({
        let (admin, seen) = (admin.clone(), seen.clone());
        async move {
            let mut opened = Some(opened);
            let mut stream = Box::pin(admin.events(EventsQuery::default()));
            while let Some(item) = stream.next().await {
                match item.expect("the stream resumes across the restart") {
                    StreamItem::Open(_) => {
                        if let Some(opened) = opened.take() {
                            let _ = opened.send(());
                        }
                    }
                    StreamItem::Event(e) => seen.lock().unwrap().push(*e),
                    StreamItem::Reset(head) => panic!("reset {head:?}"),
                }
            }
        }
    });
    open.await.unwrap();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (client, acked) = (client.clone(), acked.clone());
            tokio::spawn(async move {
                while let Ok(sent) = client.send(&SendMessage::text(["1000"], "followed")).await {
                    acked.lock().unwrap().push(sent.message_id);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 200 {
        assert!(
            Instant::now() < deadline,
            "sends were not acknowledged in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let (mut child, _, _) = spawn_on(dir.path(), &listen);
    let total = count_messages(&admin).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().len() < total {
        assert!(
            Instant::now() < deadline,
            "the stream has {} of {total} events",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    follower.abort();
    let seen = seen.lock().unwrap().clone();
    let positions: Vec<i64> = seen.iter().map(|e| e.global_seq).collect();
    assert_eq!(positions, (1..=total as i64).collect::<Vec<_>>());
    let streamed: std::collections::HashSet<&str> =
        seen.iter().map(|e| e.message_id.as_str()).collect();
    for id in &acked {
        assert!(
            streamed.contains(id.as_str()),
            "acknowledged {id} never streamed"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "{} events streamed across SIGKILL, {} acknowledged",
        total,
        acked.len()
    );
}

/// The crash loop: `FXMSG_CRASH_CYCLES` cycles (3 by default; RELIABILITY.md documents a run of
/// 20 or more) of start, send from eight clients recording every acknowledged messageId, SIGKILL
/// after a random number of acknowledgements, restart on the same data. Then every acknowledged
/// message must be there with all its inbox rows, and the event log must hold one event per
/// stored message in an unbroken sequence, every acknowledged one among them.
#[tokio::test]
async fn a_crash_loop_loses_no_acknowledged_message() {
    let cycles: usize = std::env::var("FXMSG_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let to = ["1000", "1001", "1002", "1003", "1004"];
    let mut credentials = None;
    let mut acked = Vec::<String>::new();
    for cycle in 0..cycles {
        let (mut child, url, banner) = spawn(dir.path());
        let credentials = credentials
            .get_or_insert_with(|| demo_credentials(&banner))
            .clone();
        let client = Client::builder(&url)
            .credentials(credentials)
            .retry(RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            })
            .build()
            .unwrap();
        let this_cycle = Arc::new(Mutex::new(Vec::<String>::new()));
        let senders: Vec<_> = (0..8)
            .map(|_| {
                let (client, acked) = (client.clone(), this_cycle.clone());
                tokio::spawn(async move {
                    let text = format!("cycle {cycle}");
                    while let Ok(sent) = client.send(&SendMessage::text(to, &text)).await {
                        acked.lock().unwrap().push(sent.message_id);
                    }
                })
            })
            .collect();
        // A random moment: after 10 to 300 acknowledgements, with sends in every stage.
        let kill_after = 10 + usize::from(uuid::Uuid::new_v4().as_bytes()[0]) * 290 / 255;
        let deadline = Instant::now() + Duration::from_secs(60);
        while this_cycle.lock().unwrap().len() < kill_after {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: sends were not acknowledged in time"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for sender in senders {
            sender.await.unwrap();
        }
        acked.extend(this_cycle.lock().unwrap().drain(..));
    }

    let (mut child, url, _) = spawn(dir.path());
    let admin = AdminClient::new(&url, ADMIN_TOKEN);
    let mut lost = Vec::new();
    for id in &acked {
        match admin.get_message(id).await {
            Ok(detail) if detail.deliveries.len() == to.len() => {}
            Ok(detail) => lost.push(format!("{id}: {} inbox rows", detail.deliveries.len())),
            Err(e) => lost.push(format!("{id}: {e}")),
        }
    }
    let stored = count_messages(&admin).await;
    let mut positions = Vec::new();
    let mut streamed = std::collections::HashSet::new();
    let mut events = Box::pin(admin.events(EventsQuery {
        since: Some(0),
        ..Default::default()
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while positions.len() < stored {
        let item = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {stored} events", positions.len()))
            .expect("the stream stays open")
            .unwrap();
        match item {
            StreamItem::Event(e) => {
                positions.push(e.global_seq);
                streamed.insert(e.message_id);
            }
            StreamItem::Open(_) => {}
            StreamItem::Reset(head) => panic!("reset {head:?}"),
        }
    }
    assert_eq!(positions, (1..=stored as i64).collect::<Vec<_>>());
    lost.extend(
        acked
            .iter()
            .filter(|id| !streamed.contains(*id))
            .map(|id| format!("{id}: no event")),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "crash loop: {cycles} SIGKILLs, {} acknowledged, {} found, {} lost, {stored} stored",
        acked.len(),
        acked.len() - lost.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
}

/// `fxmsg backup` while four clients send: the copy holds every message acknowledged before the
/// backup began (with its inbox rows) and every medium live then, passes SQLite's integrity
/// check, and a server started on it takes the old credentials.
#[tokio::test]
async fn a_backup_made_under_load_is_consistent_and_serves() {
    use fxmsg_client::media::MediaKind;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("live");
    let (mut child, url, banner) = spawn(&source);
    let credentials = demo_credentials(&banner);
    let client = Client::builder(&url)
        .credentials(credentials.clone())
        .build()
        .unwrap();
    let png = bytes::Bytes::from_static(crate::support::PNG);
    let mut kept = Vec::new();
    for i in 0..3 {
        let name = format!("{i}.png");
        kept.push(
            client
                .upload_bytes(MediaKind::Image, &name, png.clone())
                .await
                .unwrap(),
        );
    }
    let deleted = kept.pop().unwrap();
    client.delete_media(&deleted).await.unwrap();

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (client, acked, stop) = (client.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let to = ["1000", "1001", "1002", "1003", "1004"];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = client.send(&SendMessage::text(to, "backed up?")).await;
                    acked.lock().unwrap().push(sent.unwrap().message_id);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 100 {
        assert!(Instant::now() < deadline, "sends were not acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before_backup = acked.lock().unwrap().clone();
    let copy = dir.path().join("copy");
    let fxmsg = |args: Vec<std::ffi::OsString>| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fxmsg"))
            .args(args)
            .output()
            .await
            .unwrap()
    };
    let made = fxmsg(vec![
        "backup".into(),
        "--json".into(),
        "--data-dir".into(),
        source.clone().into(),
        copy.clone().into(),
    ])
    .await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let during = acked.lock().unwrap().len() - before_backup.len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let report: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(report["mediaFiles"], 2, "{report}");
    // A second backup into the same place is refused and leaves the first alone.
    let again = fxmsg(vec![
        "backup".into(),
        "--data-dir".into(),
        source.clone().into(),
        copy.clone().into(),
    ])
    .await;
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let nothing = fxmsg(vec![
        "backup".into(),
        "--data-dir".into(),
        dir.path().join("nowhere").into(),
        dir.path().join("x").into(),
    ])
    .await;
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("not an fxmsg data directory"));
    assert!(!dir.path().join("x").exists());
    child.kill().unwrap();
    child.wait().unwrap();

    let db = rusqlite::Connection::open(copy.join("fxmsg.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(db);
    std::fs::write(copy.join(".seen"), "").unwrap();
    let (mut restored, url, _) = spawn(&copy);
    let admin = AdminClient::new(&url, ADMIN_TOKEN);
    for id in &before_backup {
        let detail = admin
            .get_message(id)
            .await
            .unwrap_or_else(|e| panic!("{id}, acknowledged before the backup, is not in it: {e}"));
        assert_eq!(detail.deliveries.len(), 5, "{id}");
    }
    let client = Client::builder(&url)
        .credentials(credentials)
        .build()
        .unwrap();
    for id in &kept {
        let mut bytes = Vec::new();
        client.download(id, &mut bytes).await.unwrap();
        assert_eq!(bytes, crate::support::PNG);
    }
    let mut bytes = Vec::new();
    assert!(client.download(&deleted, &mut bytes).await.is_err());
    client
        .send(&SendMessage::text(["1000"], "on the copy"))
        .await
        .unwrap();
    restored.kill().unwrap();
    restored.wait().unwrap();
    println!(
        "backup under load: {} acknowledged before it, all in the copy; {during} more during it",
        before_backup.len()
    );
}

/// Planned faults are committed like everything else: one planned before a SIGKILL is listed
/// after the restart with the calls it has left, and goes on firing.
#[tokio::test]
async fn a_planned_fault_survives_sigkill_with_the_calls_it_has_left() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, banner) = spawn(dir.path());
    let credentials = demo_credentials(&banner);
    let planned = AdminClient::new(&url, ADMIN_TOKEN)
        .add_fault(&fxmsg_client::native::NewFault {
            path: "/cgi/message/send".into(),
            error_code: Some(-1),
            times: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let send = |url: &str| {
        let client = Client::builder(url)
            .credentials(credentials.clone())
            .retry(RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            })
            .build()
            .unwrap();
        async move { client.send(&SendMessage::text(["1000"], "faulty")).await }
    };
    let busy = Some(fxmsg_client::ErrorCode::SystemBusy);
    assert_eq!(send(&url).await.err().and_then(|e| e.code()), busy);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (mut child, url, _) = spawn(dir.path());
    let listed = AdminClient::new(&url, ADMIN_TOKEN)
        .list_faults()
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|f| (f.id, f.fired, f.remaining))
            .collect::<Vec<_>>(),
        [(planned.id, 1, Some(1))]
    );
    assert_eq!(send(&url).await.err().and_then(|e| e.code()), busy);
    assert!(send(&url).await.is_ok(), "used up");
    child.kill().unwrap();
    child.wait().unwrap();
}
