//! The load generator: a real HTTP client (reqwest over hyper) in a closed loop at fixed
//! concurrency for throughput, and in an open loop at a fixed rate for latency. Open-loop latency
//! is measured from each request's intended start, so a stalled server is charged for the requests
//! it delayed (coordinated omission corrected).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxmsg_client::admin::{AdminClient, Metrics};
use hdrhistogram::Histogram;

/// Builds request number `n`.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Successful requests in the measured window.
    pub ok: u64,
    /// Failed requests (transport error, non-2xx, or a non-zero errorCode).
    pub errors: u64,
    /// Measured seconds.
    pub secs: f64,
    /// Latency, microseconds.
    pub latency: Histogram<u64>,
    /// CPU seconds the server used in the measured window, when its process was given.
    pub server_cpu: Option<f64>,
    /// What fxmsg did in the measured window, when its `/metrics` could be read.
    pub activity: Option<ServerActivity>,
}

/// The server a run measures besides its answers: its process, and fxmsg's `/metrics`.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The server's process.
    pub pid: u32,
    /// Reads fxmsg's `/metrics`; `None` for the baselines.
    pub metrics: Option<AdminClient>,
}

/// What fxmsg did in a measured window, from its `/metrics` at both ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerActivity {
    /// Writes taken into batches.
    pub writes: f64,
    /// Transactions committed.
    pub commits: f64,
    /// Times the writer copied the WAL's last stretch back, commits waiting.
    pub catch_ups: f64,
    /// Seconds those copies took in all.
    pub catch_up_secs: f64,
    /// Batches that took longer than [`ServerActivity::SLOW_SECS`], catch-ups included.
    pub slow_batches: f64,
    /// Batches whose oldest write had waited longer than that for the writer.
    pub slow_waits: f64,
    /// Requests to the send endpoint, and those the server took longer than that to answer
    /// (from routing to the response; not the time a request waited to be read).
    pub sends: f64,
    /// See `sends`.
    pub slow_sends: f64,
}

impl ServerActivity {
    /// What counts as slow: four times the commit interval, most of the p99 target.
    pub const SLOW_SECS: f64 = 0.004;

    /// The activity between two readings of `/metrics`.
    pub fn between(before: &Metrics, after: &Metrics) -> ServerActivity {
        let delta = |name: &str, labels: &[(&str, &str)]| {
            after.sum(name, labels) - before.sum(name, labels)
        };
        let over = |name: &str, labels: &[(&str, &str)]| {
            let slow = |m: &Metrics| {
                m.sum(&format!("{name}_count"), labels)
                    - within(m, name, labels, ServerActivity::SLOW_SECS)
            };
            slow(after) - slow(before)
        };
        let send = [("route", "/cgi/message/send")];
        let requests = "fxmsg_http_request_duration_seconds";
        ServerActivity {
            writes: delta("fxmsg_store_writes_total", &[]),
            commits: delta("fxmsg_store_commits_total", &[]),
            catch_ups: delta("fxmsg_store_wal_catch_up_duration_seconds_count", &[]),
            catch_up_secs: delta("fxmsg_store_wal_catch_up_duration_seconds_sum", &[]),
            slow_batches: over("fxmsg_store_batch_duration_seconds", &[]),
            slow_waits: over("fxmsg_store_queue_wait_seconds", &[]),
            sends: delta(&format!("{requests}_count"), &send),
            slow_sends: over(requests, &send),
        }
    }

    /// Writes per committed transaction.
    pub fn writes_per_commit(&self) -> f64 {
        self.writes / self.commits.max(1.0)
    }
}

/// Observations of histogram `name` (with `labels`) no longer than `limit`: the count of its
/// largest bucket bound at or below `limit`, summed over label sets; 0 if no bound is.
fn within(m: &Metrics, name: &str, labels: &[(&str, &str)], limit: f64) -> f64 {
    let bucket = format!("{name}_bucket");
    let buckets: Vec<(f64, f64)> = m
        .matching(&bucket, labels)
        .filter_map(|s| {
            let (_, le) = s.labels.iter().find(|(k, _)| k == "le")?;
            Some((le.parse::<f64>().ok()?, s.value))
        })
        .filter(|(le, _)| *le <= limit)
        .collect();
    let Some(bound) = buckets.iter().map(|(le, _)| *le).max_by(f64::total_cmp) else {
        return 0.0;
    };
    buckets
        .iter()
        .filter(|(le, _)| *le == bound)
        .map(|(_, count)| count)
        .sum()
}

impl Outcome {
    /// Successful requests per second.
    pub fn per_sec(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    /// Server CPU microseconds per successful request, when measured.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        self.server_cpu
            .filter(|_| self.ok > 0)
            .map(|cpu| cpu * 1e6 / self.ok as f64)
    }

    /// How busy the server's core was, percent of the measured window, when measured.
    pub fn server_busy_percent(&self) -> Option<f64> {
        self.server_cpu.map(|cpu| cpu / self.secs * 100.0)
    }

    /// The share of successful requests slower than `secs`, 0 to 1.
    pub fn share_over(&self, secs: f64) -> f64 {
        if self.latency.is_empty() {
            return 0.0;
        }
        1.0 - self.latency.quantile_below((secs * 1e6) as u64)
    }

    /// A latency quantile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Sends one request and says whether it succeeded.
async fn attempt(client: &reqwest::Client, make: &MakeRequest, n: u64) -> bool {
    match make(client, n).send().await {
        Ok(response) if response.status().is_success() => match response.bytes().await {
            // Compat answers are HTTP 200 with errorCode; files and native answers have none.
            Ok(body) => !body.starts_with(b"{\"traceId\"") || reports_success(&body),
            Err(_) => false,
        },
        _ => false,
    }
}

/// Whether a compat envelope carries `"errorCode":0`.
fn reports_success(body: &[u8]) -> bool {
    body.windows(14).any(|w| w == b"\"errorCode\":0,") || body.ends_with(b"\"errorCode\":0}")
}

/// A client whose connection pool fits `concurrency`.
pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client")
}

/// What `server` did between `from` and `end`: the CPU seconds its process used and, for fxmsg,
/// its activity from `/metrics`; read by a task that waits for both instants.
fn usage_during(
    server: Option<&Watch>,
    from: Instant,
    end: Instant,
) -> tokio::task::JoinHandle<(Option<f64>, Option<ServerActivity>)> {
    let server = server.cloned();
    tokio::spawn(async move {
        let Some(Watch { pid, metrics }) = server else {
            return (None, None);
        };
        let read = || async {
            match &metrics {
                Some(admin) => admin.metrics().await.ok(),
                None => None,
            }
        };
        tokio::time::sleep_until(from.into()).await;
        let (cpu, before) = (crate::procs::cpu_secs(pid), read().await);
        tokio::time::sleep_until(end.into()).await;
        let (cpu, after) = (crate::procs::cpu_secs(pid) - cpu, read().await);
        let activity = before
            .zip(after)
            .map(|(before, after)| ServerActivity::between(&before, &after));
        (Some(cpu), activity)
    })
}

/// Closed loop: `concurrency` tasks send back to back; completions in the window after `warmup`
/// count. With `server`, also measures the CPU time that process used in the window.
pub async fn closed(
    make: MakeRequest,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    server: Option<&Watch>,
) -> Outcome {
    let client = client(concurrency);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + measure);
    let usage = usage_during(server, measure_from, end);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, make, counter) = (client.clone(), make.clone(), counter.clone());
            tokio::spawn(async move {
                let (mut ok, mut errors, mut latency) = (0u64, 0u64, histogram());
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let success =
                        attempt(&client, &make, counter.fetch_add(1, Ordering::Relaxed)).await;
                    // Completions inside the window count, whenever they were sent.
                    let done = Instant::now();
                    if done >= measure_from && done <= end {
                        if success {
                            ok += 1;
                            let _ = latency.record(sent.elapsed().as_micros() as u64);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (ok, errors, latency)
            })
        })
        .collect();
    let mut total = Outcome {
        ok: 0,
        errors: 0,
        secs: measure.as_secs_f64(),
        latency: histogram(),
        server_cpu: None,
        activity: None,
    };
    for task in tasks {
        let (ok, errors, latency) = task.await.expect("a load task");
        total.ok += ok;
        total.errors += errors;
        total.latency.add(latency).expect("same bounds");
    }
    (total.server_cpu, total.activity) = usage.await.unwrap_or_default();
    total
}

/// Exactly `count` requests, numbered from `first`, sent by `concurrency` tasks back to back; no
/// request is in flight when it returns. Returns the successes and the failures.
pub async fn counted(make: MakeRequest, first: u64, count: u64, concurrency: usize) -> (u64, u64) {
    let client = client(concurrency);
    let next = Arc::new(AtomicU64::new(first));
    let end = first + count;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, make, next) = (client.clone(), make.clone(), next.clone());
            tokio::spawn(async move {
                let (mut ok, mut errors) = (0, 0);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= end {
                        break;
                    }
                    if attempt(&client, &make, n).await {
                        ok += 1;
                    } else {
                        errors += 1;
                    }
                }
                (ok, errors)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (ok, errors) = task.await.expect("a load task");
        total = (total.0 + ok, total.1 + errors);
    }
    total
}

/// Open loop at `rate` requests per second. A scheduler thread releases each request at its
/// intended time (OS sleep, ~0.1 ms precision); latency is measured from that intended time.
pub async fn open(
    make: MakeRequest,
    rate: f64,
    warmup: Duration,
    measure: Duration,
    server: Option<&Watch>,
) -> Outcome {
    let workers = 256;
    let client = client(workers);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let start = Instant::now() + Duration::from_millis(50);
    let (measure_from, end) = (start + warmup, start + warmup + measure);
    let usage = usage_during(server, measure_from, end);
    let scheduler = std::thread::spawn(move || {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut n = 0u64;
        loop {
            let intended = start + interval.mul_f64(n as f64);
            if intended >= end {
                break;
            }
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            if tx.send((n, intended)).is_err() {
                break;
            }
            n += 1;
        }
    });
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let results = Arc::new(Mutex::new((0u64, 0u64, histogram())));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (client, make, rx, results) =
                (client.clone(), make.clone(), rx.clone(), results.clone());
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((n, intended)) = next else { break };
                    let success = attempt(&client, &make, n).await;
                    if intended >= measure_from {
                        let mut r = results.lock().expect("results lock");
                        if success {
                            r.0 += 1;
                            let _ = r.2.record(intended.elapsed().as_micros() as u64);
                        } else {
                            r.1 += 1;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a load task");
    }
    scheduler.join().expect("the scheduler");
    let (ok, errors, latency) = std::mem::replace(
        &mut *results.lock().expect("results lock"),
        (0, 0, histogram()),
    );
    let (server_cpu, activity) = usage.await.unwrap_or_default();
    Outcome {
        ok,
        errors,
        secs: measure.as_secs_f64(),
        latency,
        server_cpu,
        activity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts over the slow threshold come from the histogram buckets at both ends of the window,
    /// for the send route only.
    #[test]
    fn activity_is_the_difference_between_two_readings() {
        let reading = |fast: u32, all: u32, commits: u32| {
            let text = format!(
                "fxmsg_store_writes_total {all}\n\
                 fxmsg_store_commits_total {commits}\n\
                 fxmsg_http_request_duration_seconds_bucket{{method=\"POST\",route=\"/cgi/message/send\",status=\"200\",le=\"0.002\"}} {fast}\n\
                 fxmsg_http_request_duration_seconds_bucket{{method=\"POST\",route=\"/cgi/message/send\",status=\"200\",le=\"0.004\"}} {fast}\n\
                 fxmsg_http_request_duration_seconds_bucket{{method=\"POST\",route=\"/cgi/message/send\",status=\"200\",le=\"0.008\"}} {all}\n\
                 fxmsg_http_request_duration_seconds_count{{method=\"POST\",route=\"/cgi/message/send\",status=\"200\"}} {all}\n\
                 fxmsg_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/metrics\",status=\"200\",le=\"0.004\"}} 0\n\
                 fxmsg_http_request_duration_seconds_count{{method=\"GET\",route=\"/metrics\",status=\"200\"}} 9\n"
            );
            Metrics::parse(&text).unwrap()
        };
        let a = ServerActivity::between(&reading(10, 12, 3), &reading(100, 112, 13));
        assert_eq!(
            (a.writes, a.commits, a.writes_per_commit()),
            (100.0, 10.0, 10.0)
        );
        assert_eq!((a.sends, a.slow_sends), (100.0, 10.0));
        assert_eq!((a.slow_batches, a.catch_ups), (0.0, 0.0));
    }

    #[test]
    fn the_share_over_a_threshold_counts_only_slower_requests() {
        let mut latency = histogram();
        for us in [1_000, 2_000, 3_000, 5_000] {
            latency.record(us).unwrap();
        }
        let o = Outcome {
            ok: 4,
            errors: 0,
            secs: 1.0,
            latency,
            server_cpu: None,
            activity: None,
        };
        assert_eq!(o.share_over(0.004), 0.25);
        assert_eq!(o.share_over(0.010), 0.0);
    }
}
