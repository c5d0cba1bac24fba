//! A full disk: sends and uploads answer a retryable error, nothing acknowledged is lost, and the
//! server takes writes again once space returns. Runs on a small tmpfs mounted for the test
//! (root only, as in CI; elsewhere it says so and passes without running).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::{assert_success, TestServer};

/// A tmpfs of `megabytes`, unmounted on drop.
struct Mount(PathBuf, tempfile::TempDir);

impl Mount {
    fn new(megabytes: u32) -> Option<Mount> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Mount(dir.path().to_owned(), dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = &self.1;
    }
}

/// Writes `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_data())
        .is_ok()
    {}
}

#[tokio::test]
async fn a_full_disk_answers_retryable_errors_loses_nothing_and_recovers() {
    let Some(mount) = Mount::new(32) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let data = mount.path().join("data");
    let server = TestServer::start_with(|c| {
        c.data_dir = data.clone();
        // The data directory's disk is the one that fills: its SQLite database too, whatever
        // backend the rest of the suite runs on.
        c.database = None;
    })
    .await;
    let to = server.employee(0).open_user_id.clone();
    let send = |content: String| {
        let to = to.clone();
        let server = &server;
        async move {
            server
                .post_legacy(
                    "/cgi/message/send",
                    json!({"toUser": [to], "msgType": "text", "text": {"content": content}}),
                )
                .await
        }
    };
    let mut acked = Vec::new();
    for i in 0..20 {
        let r = send(format!("before {i}")).await;
        assert_success(&r);
        acked.push(r["messageId"].as_str().unwrap().to_owned());
    }
    let filler = mount.path().join("filler");
    fill(&filler);
    // Large sends until one does not fit: whatever room the database had is used up first.
    let mut refused = None;
    for i in 0..64 {
        let r = send(format!("{i} {}", "x".repeat(1024 * 1024))).await;
        if r["errorCode"] == 0 {
            acked.push(r["messageId"].as_str().unwrap().to_owned());
        } else {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("a send on a full disk is refused");
    assert_eq!(refused["errorCode"], 50009, "{refused}");
    assert!(
        refused["errorDescription"]
            .as_str()
            .unwrap()
            .contains("disk is full"),
        "{refused}"
    );
    let upload = server
        .upload_raw(
            "/media/upload?type=document",
            "big.pdf",
            "application/pdf",
            vec![b'%'; 4 * 1024 * 1024],
        )
        .await;
    assert_eq!(upload["errorCode"], 50009, "{upload}");
    // The service stays up for reads.
    assert_eq!(server.get("/livez", None).await.status(), 200);

    std::fs::remove_file(&filler).unwrap();
    let r = send("after".into()).await;
    assert_success(&r);
    acked.push(r["messageId"].as_str().unwrap().to_owned());
    assert_success(
        &server
            .upload_raw(
                "/media/upload?type=document",
                "big.pdf",
                "application/pdf",
                vec![b'%'; 1024 * 1024],
            )
            .await,
    );
    for id in &acked {
        let detail = server.admin.get_message(id).await.unwrap();
        assert_eq!(detail.deliveries.len(), 1, "{id}");
    }
    server.stop().await;
    drop(mount);
}
