//! What integrators would run instead of fxmsg as a stand-in for the gateway, measured on the
//! same send: Prism (`@stoplight/prism-cli`, a mock server that validates each request against
//! fxmsg's OpenAPI document) and WireMock (the standalone jar, with a stub of the send). Both come
//! from the npm registry, installed on first use under `target/bench-peers`, and run pinned to
//! the server core like fxmsg. A peer whose toolchain (npm, java) is missing is skipped with a
//! note.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::procs;

const PRISM: &str = "@stoplight/prism-cli@5.16.0";
const WIREMOCK: &str = "wiremock@3.13.2";
const WIREMOCK_JAR: &str = "node_modules/wiremock/build/wiremock-standalone-3.13.2.jar";

/// A peer server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Prism,
    WireMock,
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Peer::Prism => "Prism 5.16 (validating)",
            Peer::WireMock => "WireMock 3.13 (stub)",
        }
    }
}

/// A running peer; killed when dropped.
pub struct Running {
    child: Child,
    pub url: String,
    _scratch: tempfile::TempDir,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the peers are installed: beside the benchmark's own build.
fn home() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    // target/<profile>/fxmsg-bench → target/bench-peers
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."))
        .join("bench-peers")
}

fn works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the peers' npm packages once; the reason when it cannot.
fn install(home: &Path) -> Result<(), String> {
    if home.join(WIREMOCK_JAR).exists() && home.join("node_modules/.bin/prism").exists() {
        return Ok(());
    }
    if !works("npm", "--version") {
        return Err("npm is missing".into());
    }
    std::fs::create_dir_all(home).map_err(|e| e.to_string())?;
    eprintln!("installing {PRISM} and {WIREMOCK} into {}", home.display());
    let installed = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(home)
        .args([PRISM, WIREMOCK])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if installed.success() {
        Ok(())
    } else {
        Err(format!("npm install failed: {installed}"))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `peer` pinned to the server core, serving the send, and waits until it answers
/// `probe` (the send, built for the peer's base URL) with a success; the reason when it cannot
/// run here.
pub async fn start(
    peer: Peer,
    openapi: &Path,
    probe: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Result<Running, String> {
    let home = home();
    install(&home)?;
    if peer == Peer::WireMock && !works("java", "-version") {
        return Err("java is missing".into());
    }
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port();
    let mut command = if procs::can_pin() {
        let mut c = Command::new("taskset");
        c.args(["-c", procs::SERVER_CORE]);
        c
    } else {
        Command::new("env")
    };
    match peer {
        Peer::Prism => {
            command
                .arg(home.join("node_modules/.bin/prism"))
                .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
                .arg(openapi);
        }
        Peer::WireMock => {
            let mappings = scratch.path().join("mappings");
            std::fs::create_dir_all(&mappings).map_err(|e| e.to_string())?;
            let stub = json!({
                "request": {"method": "POST", "urlPath": "/cgi/message/send",
                            "bodyPatterns": [{"matchesJsonPath": "$.toUser"}]},
                "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                             "jsonBody": {"errorCode": 0, "errorMessage": "success",
                                          "traceId": "wiremock", "messageId": "stub"}}
            });
            std::fs::write(mappings.join("send.json"), stub.to_string())
                .map_err(|e| e.to_string())?;
            command
                .args(["java", "-jar"])
                .arg(home.join(WIREMOCK_JAR))
                .args(["--port", &port.to_string(), "--bind-address", "127.0.0.1"])
                .args(["--disable-banner", "--root-dir"])
                .arg(scratch.path());
        }
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", peer.name()))?;
    let running = Running {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _scratch: scratch,
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let answer = probe(&running.url).send().await;
        match answer {
            Ok(r) if r.status().is_success() => return Ok(running),
            Ok(r) if Instant::now() > deadline => {
                return Err(format!(
                    "{} answers the send with {}",
                    peer.name(),
                    r.status()
                ))
            }
            _ if Instant::now() > deadline => {
                return Err(format!("{} did not start in 90 s", peer.name()))
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
