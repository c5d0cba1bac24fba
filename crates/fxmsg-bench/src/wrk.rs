//! The closed loop's load generator: wrk (Debian's package, installed on first use when the
//! benchmark runs as root). A C event loop on the client core that costs a fraction of what the
//! servers spend per request, so throughput is bound by the server under test, and the report
//! shows it: how busy each core was over the measured window.
//!
//! A Lua script numbers every request's `thirdTraceId` (per wrk thread, under a prefix unique to
//! the run), as real clients' retries keys are unique. wrk counts transport errors and non-2xx
//! answers; a compat answer with a non-zero `errorCode` is HTTP 200, so for fxmsg the run also
//! reads `/metrics` and counts `fxmsg_api_errors_total` as failures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;

use crate::load::{MakeRequest, Outcome, ServerActivity, Watch};
use crate::procs;

/// One request, as every scenario describes it: for wrk's script and for reqwest alike. Every
/// request carries a unique `thirdTraceId`.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`.
    pub base: String,
    /// The path, without a query.
    pub path: String,
    /// `POST` or `GET`.
    pub method: &'static str,
    /// Headers besides `host`.
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: String,
}

/// Numbers runs and request builders, so that no two send the same `thirdTraceId` (a repeated
/// key with another body is, correctly, refused).
static RUNS: AtomicU64 = AtomicU64::new(0);

impl Target {
    /// Builds the requests for reqwest: request `n` carries `thirdTraceId=bench-<run>-<n>`.
    pub fn make(&self) -> MakeRequest {
        let target = self.clone();
        let body = bytes::Bytes::from(target.body.clone());
        let run = format!(
            "{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let url = format!("{}{}", target.base, target.path);
        Arc::new(move |client, n| {
            let mut request = match target.method {
                "GET" => client.get(&url),
                _ => client.post(&url).body(body.clone()),
            };
            request = request.query(&[("thirdTraceId", format!("bench-{run}-{n}"))]);
            for (name, value) in &target.headers {
                request = request.header(name, value);
            }
            request
        })
    }
}

/// Where wrk is, after installing it if it is missing and the benchmark may (`apt-get` as
/// root); `None` when it is neither installed nor installable.
pub fn installed() -> Option<PathBuf> {
    let found = || {
        Command::new("wrk")
            .arg("--version")
            .output()
            .ok()
            .map(|_| PathBuf::from("wrk"))
    };
    if let Some(wrk) = found() {
        return Some(wrk);
    }
    eprintln!("wrk is missing: installing Debian's package");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    installed.then(found).flatten()
}

/// How busy each CPU was between two readings of `/proc/stat`, percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoreBusy {
    /// The server core's.
    pub server: f64,
    /// The load generator's.
    pub client: f64,
}

/// Busy and total ticks per CPU, from `/proc/stat`.
fn cpu_ticks() -> Vec<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let ticks: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|t| t.parse().ok())
                .collect();
            let total: u64 = ticks.iter().take(8).sum();
            // idle and iowait
            let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

fn core_busy(before: &[(u64, u64)], after: &[(u64, u64)]) -> Option<CoreBusy> {
    let busy = |core: &str| {
        let i: usize = core.parse().ok()?;
        let ((b0, t0), (b1, t1)) = (before.get(i)?, after.get(i)?);
        let total = t1.saturating_sub(*t0).max(1);
        Some(b1.saturating_sub(*b0) as f64 * 100.0 / total as f64)
    };
    Some(CoreBusy {
        server: busy(procs::SERVER_CORE)?,
        client: busy(procs::CLIENT_CORE)?,
    })
}

/// The Lua script that makes `target`'s requests.
fn script(target: &Target, prefix: &str) -> String {
    let lua = |s: &str| format!("{s:?}");
    // The request's bytes are built once, split around the number: each request is then one
    // concatenation, not `wrk.format`'s walk over the headers, so the script costs the generator
    // little more than wrk's static request does.
    let host = target
        .base
        .split_once("://")
        .map_or(target.base.as_str(), |(_, rest)| rest);
    let mut tail = format!(" HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in &target.headers {
        tail.push_str(&format!("{name}: {value}\r\n"));
    }
    if !target.body.is_empty() {
        tail.push_str(&format!("Content-Length: {}\r\n", target.body.len()));
    }
    tail.push_str("\r\n");
    tail.push_str(&target.body);
    let head = format!("{} {}?thirdTraceId={prefix}-", target.method, target.path);
    let request = format!(
        "local head0, tail = {}, {}\n\
         local head, n = nil, 0\n\
         function init(args)\n  head = head0 .. id .. \"-\"\nend\n\
         function request()\n  n = n + 1\n  return head .. n .. tail\nend\n",
        lua(&head),
        lua(&tail)
    );
    let mut out = String::new();
    out.push_str(&format!(
        "local threads = 0\n\
         function setup(thread)\n  threads = threads + 1\n  thread:set(\"id\", threads)\nend\n\
         {request}\
         function done(summary, latency, requests)\n  \
         local e = summary.errors\n  \
         io.write(string.format('{{\"requests\":%d,\"micros\":%d,\"connect\":%d,\"read\":%d,\
         \"write\":%d,\"status\":%d,\"timeout\":%d,\"p50\":%d,\"p99\":%d}}\\n', \
         summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, \
         latency:percentile(50), latency:percentile(99)))\nend\n"
    ));
    out
}

/// What one wrk run printed from its `done` hook.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    requests: u64,
    errors: u64,
    secs: f64,
}

fn run_wrk(wrk: &Path, target: &Target, concurrency: usize, secs: Duration) -> Summary {
    let prefix = format!(
        "wrk-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let dir = tempfile::tempdir().expect("a scratch directory");
    let lua = dir.path().join("requests.lua");
    std::fs::write(&lua, script(target, &prefix)).expect("write the wrk script");
    let mut command = if procs::can_pin() {
        let mut c = Command::new("taskset");
        c.args(["-c", procs::CLIENT_CORE]).arg(wrk);
        c
    } else {
        Command::new(wrk)
    };
    let output = command
        .args(["-t1", &format!("-c{concurrency}")])
        // wrk takes whole seconds.
        .arg(format!("-d{}s", secs.as_secs_f64().ceil().max(1.0)))
        .args(["--timeout", "10s", "-s"])
        .arg(&lua)
        .arg(&target.base)
        .output()
        .expect("run wrk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with('{')) else {
        eprintln!(
            "wrk printed no summary: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return Summary::default();
    };
    let v: Value = serde_json::from_str(line).expect("wrk's summary is JSON");
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Summary {
        requests: n("requests"),
        errors: ["connect", "read", "write", "status", "timeout"]
            .iter()
            .map(|k| n(k))
            .sum(),
        secs: n("micros") as f64 / 1e6,
    }
}

/// Closed loop with wrk: `concurrency` connections back to back, a warm-up run then the measured
/// run. With `server`, also what the server spent and did, and how busy both cores were.
pub async fn closed(
    wrk: &Path,
    target: &Target,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    server: Option<&Watch>,
) -> (Outcome, Option<CoreBusy>) {
    let (wrk, target) = (wrk.to_path_buf(), target.clone());
    let server = server.cloned();
    let metrics = || async {
        match server.as_ref().and_then(|s| s.metrics.as_ref()) {
            Some(admin) => admin.metrics().await.ok(),
            None => None,
        }
    };
    {
        let (wrk, target) = (wrk.clone(), target.clone());
        tokio::task::spawn_blocking(move || run_wrk(&wrk, &target, concurrency, warmup))
            .await
            .expect("the warm-up run");
    }
    let before = metrics().await;
    let cpu = server.as_ref().map(|s| procs::cpu_secs(s.pid));
    let ticks = cpu_ticks();
    let started = Instant::now();
    let summary = tokio::task::spawn_blocking(move || run_wrk(&wrk, &target, concurrency, measure))
        .await
        .expect("the measured run");
    let elapsed = started.elapsed().as_secs_f64();
    let busy = core_busy(&ticks, &cpu_ticks());
    let server_cpu = server
        .as_ref()
        .zip(cpu)
        .map(|(s, cpu)| procs::cpu_secs(s.pid) - cpu);
    let after = metrics().await;
    let (activity, refused) = match before.zip(after) {
        Some((before, after)) => (
            Some(ServerActivity::between(&before, &after)),
            after.sum("fxmsg_api_errors_total", &[]) - before.sum("fxmsg_api_errors_total", &[]),
        ),
        None => (None, 0.0),
    };
    let errors = summary.errors + refused as u64;
    let outcome = Outcome {
        ok: summary.requests.saturating_sub(errors),
        errors,
        secs: if summary.secs > 0.0 {
            summary.secs
        } else {
            elapsed
        },
        latency: Histogram::new(3).expect("a histogram"),
        // CPU over the process's whole run, which is a little longer than wrk's own window.
        server_cpu: server_cpu.map(|cpu| cpu * summary.secs.max(1e-3) / elapsed.max(1e-3)),
        activity,
    };
    (outcome, busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_numbers_keys_per_thread_and_escapes_the_body() {
        let target = Target {
            base: "http://127.0.0.1:1".into(),
            path: "/cgi/message/send".into(),
            method: "POST",
            headers: vec![("authorization".into(), "Bearer t".into())],
            body: r#"{"text":{"content":"a \"quoted\" word"}}"#.into(),
        };
        let lua = script(&target, "p");
        let head = r#"local head0, tail = "POST /cgi/message/send?thirdTraceId=p-", " HTTP/1.1"#;
        assert!(lua.contains(head), "{lua}");
        let headers =
            r#"\r\nHost: 127.0.0.1:1\r\nauthorization: Bearer t\r\nContent-Length: 40\r\n\r\n"#;
        assert!(lua.contains(headers), "{lua}");
        let body = r#"{\"text\":{\"content\":\"a \\\"quoted\\\" word\"}}""#;
        assert!(lua.contains(body), "{lua}");
        assert!(lua.contains(r#"head = head0 .. id .. "-""#), "{lua}");
        assert!(lua.contains("return head .. n .. tail"), "{lua}");
    }

    #[test]
    fn busy_is_the_share_of_ticks_not_idle() {
        let before = [(100, 1000), (50, 1000)];
        let after = [(1090, 2000), (450, 2000)];
        let busy = core_busy(&before, &after).unwrap();
        assert!((busy.server - 99.0).abs() < 1e-9 && (busy.client - 40.0).abs() < 1e-9);
    }
}
