//! The load generator: a real HTTP client (reqwest over hyper) in a closed loop at fixed
//! concurrency for throughput, and in an open loop at a fixed rate for latency. Open-loop latency
//! is measured from each request's intended start, so a stalled server is charged for the requests
//! it delayed (coordinated omission corrected).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The CPU seconds process `server` uses between `from` and `end` (`None` without a process), read
/// by a task that waits for both.
fn cpu_during(
    server: Option<u32>,
    from: Instant,
    end: Instant,
) -> tokio::task::JoinHandle<Option<f64>> {
    tokio::spawn(async move {
        let pid = server?;
        tokio::time::sleep_until(from.into()).await;
        let before = crate::procs::cpu_secs(pid);
        tokio::time::sleep_until(end.into()).await;
        Some(crate::procs::cpu_secs(pid) - before)
    })
}

/// Closed loop: `concurrency` tasks send back to back; completions in the window after `warmup`
/// count. With `server`, also measures the CPU time that process used in the window.
pub async fn closed(
    make: MakeRequest,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    server: Option<u32>,
) -> Outcome {
    let client = client(concurrency);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + measure);
    let cpu = cpu_during(server, measure_from, end);
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
    };
    for task in tasks {
        let (ok, errors, latency) = task.await.expect("a load task");
        total.ok += ok;
        total.errors += errors;
        total.latency.add(latency).expect("same bounds");
    }
    total.server_cpu = cpu.await.ok().flatten();
    total
}

/// Open loop at `rate` requests per second. A scheduler thread releases each request at its
/// intended time (OS sleep, ~0.1 ms precision); latency is measured from that intended time.
pub async fn open(
    make: MakeRequest,
    rate: f64,
    warmup: Duration,
    measure: Duration,
    server: Option<u32>,
) -> Outcome {
    let workers = 256;
    let client = client(workers);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let start = Instant::now() + Duration::from_millis(50);
    let (measure_from, end) = (start + warmup, start + warmup + measure);
    let cpu = cpu_during(server, measure_from, end);
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
    Outcome {
        ok,
        errors,
        secs: measure.as_secs_f64(),
        latency,
        server_cpu: cpu.await.ok().flatten(),
    }
}
