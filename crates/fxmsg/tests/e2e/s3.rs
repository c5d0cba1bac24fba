//! Media on an S3-compatible bucket (`--media s3://…`), against moto's S3 server on loopback:
//! uploads past the multipart part size, an over-limit upload that leaves no object and no
//! unfinished multipart upload behind, downloads, deletes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fxmsg_client::{AuthStyle, Client, MediaKind, RetryPolicy};

use crate::support::{demo_credentials, serve_process};

/// moto's S3 server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    http: reqwest::Client,
}

/// The `moto_server` program: on `PATH`, else in a virtualenv the tests make once (moto is
/// on PyPI).
fn moto_server() -> std::path::PathBuf {
    if let Ok(found) = which("moto_server") {
        return found;
    }
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let bin = venv.join("bin/moto_server");
    if !bin.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3, to install moto for the S3 tests");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "moto[server]"])
            .status()
            .unwrap();
        assert!(installed.success(), "pip install moto[server]");
    }
    bin
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}

impl Moto {
    /// Starts the server and waits (with a deadline) until it answers.
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.http.get(&moto.endpoint).send().await.is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        moto
    }

    /// Creates a bucket.
    pub async fn bucket(&self, name: &str) {
        let made = self
            .http
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "{made:?}");
    }

    /// The keys of the bucket's objects (under `prefix`).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listing = self
            .get(&format!("{bucket}?list-type=2&prefix={prefix}"))
            .await;
        tags(&listing, "Key")
    }

    /// The multipart uploads begun and neither completed nor aborted.
    pub async fn unfinished_uploads(&self, bucket: &str) -> Vec<String> {
        tags(&self.get(&format!("{bucket}?uploads")).await, "UploadId")
    }

    async fn get(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}/{path}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
        response.text().await.unwrap()
    }

    /// The environment a server needs to use this moto.
    pub fn env(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", "fxmsg-test"),
            ("AWS_SECRET_ACCESS_KEY", "fxmsg-test-secret"),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of every `<tag>…</tag>` in `xml`.
fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|part| part.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}

/// A server process on `moto`'s bucket `bucket` under `prefix`; (child, client for the demo app).
fn server_on(moto: &Moto, dir: &std::path::Path, media: &str) -> (Child, Client) {
    let (child, url, banner) = serve_process(
        dir,
        &[
            "--listen",
            "127.0.0.1:0",
            "--media",
            media,
            "--s3-endpoint",
            &moto.endpoint,
            "--s3-region",
            "us-east-1",
        ],
        &moto.env(),
    );
    let client = Client::builder(&url)
        .credentials(demo_credentials(&banner))
        .auth_style(AuthStyle::Bearer)
        .retry(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    (child, client)
}

/// Bytes that are not all alike, so a part out of order would show.
fn document(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251 % 256) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn media_on_s3_stream_in_parts_download_whole_and_delete() {
    let moto = Moto::start().await;
    moto.bucket("fxmsg-media").await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, client) = server_on(&moto, dir.path(), "s3://fxmsg-media/node");

    // 12 MB: three parts of at least the 5 MiB S3 takes (moto refuses smaller ones but the last).
    let big = document(12_000_000);
    let media_id = client
        .upload_bytes(MediaKind::Document, "report.pdf", big.clone())
        .await
        .unwrap();
    let keys = moto.keys("fxmsg-media", "node/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("node/media/"), "{keys:?}");
    assert!(
        !dir.path().join("media").exists(),
        "nothing is kept on the local disk"
    );
    let mut out = Vec::new();
    assert_eq!(
        client.download(&media_id, &mut out).await.unwrap(),
        12_000_000
    );
    assert!(out == big[..], "the download is the upload, byte for byte");

    // Past the 20 MB limit: refused while streaming, with its multipart upload aborted.
    let refused = client
        .upload_bytes(MediaKind::Document, "huge.pdf", document(21 * 1024 * 1024))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(moto.keys("fxmsg-media", "").await.len(), 1);
    assert!(moto.unfinished_uploads("fxmsg-media").await.is_empty());

    // Deleted: its object goes, and a download is refused.
    client.delete_media(&media_id).await.unwrap();
    assert!(moto.keys("fxmsg-media", "").await.is_empty());
    let mut out = Vec::new();
    assert!(client.download(&media_id, &mut out).await.is_err());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_refused_at_start_by_name() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.stderr");
    std::fs::create_dir_all(dir.path()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--media", "s3://no-such-bucket/x", "--s3-endpoint"])
        .arg(&moto.endpoint)
        .envs(moto.env())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fxmsg started on a bucket that does not exist");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("media s3://no-such-bucket/x"), "{said}");
}
