//! `cargo run --release -p fxmsg-bench`: starts fxmsg, an HTTP baseline and a storage baseline on
//! loopback (each pinned to core 0), drives them from core 1 with a real HTTP client, and prints one
//! table of absolute figures and ratios to the baselines of the same run. The table also goes into
//! BENCHMARKS.md. `--smoke` runs every scenario for a moment and checks the numbers are sane.
#![forbid(unsafe_code)]

mod callgrind;
mod events;
mod helpers;
mod hostile;
mod load;
mod peers;
mod procs;
mod report;
mod scenarios;
mod sse;
mod wrk;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};

use load::{closed, open, MakeRequest, Outcome, ServerActivity, Watch};
use procs::Helper;
use report::Row;

/// jemalloc: a server allocates and frees per request on every thread, where glibc's malloc
/// took a tenth of a send's CPU in the benchmark's profile (its instructions per send fell by
/// 12%); unlike mimalloc it keeps idle memory near glibc's (24 MB after the benchmark's setup,
/// against 47 MB).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(about = "fxmsg benchmark")]
struct Args {
    /// Seconds of warm-up before each measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds each scenario is measured.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Closed-loop concurrency for sends.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// A quick run for CI: checks every scenario works and its numbers are sane; writes no report.
    #[arg(long)]
    smoke: bool,
    /// Do not pin the server and the load generator to separate cores (a deployment-like run).
    #[arg(long)]
    no_pin: bool,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
    /// Run only these scenario groups (the baselines always run) and write no report; for
    /// iterating on one figure.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Group>,
    /// Run the open loop at this many requests per second instead of half the measured send-1
    /// maximum, to compare builds or settings at equal load (needs `--only`).
    #[arg(long, requires = "only")]
    rate: Option<f64>,
    /// Event streams open during the send → event latency run.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Sends per second during the send → event latency run (each one a copy to every stream).
    #[arg(long, default_value_t = 20.0)]
    event_rate: f64,
    #[command(subcommand)]
    helper: Option<HelperCommand>,
}

/// Scenario groups `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Group {
    /// Cold start to ready.
    Cold,
    /// The token endpoint.
    Token,
    /// send-1 throughput and RSS.
    Send1,
    /// send-1 latency in the open loop (measures send-1 throughput first for its rate).
    Latency,
    /// 500-recipient sends.
    Send500,
    /// Articles with a cover.
    Articles,
    /// Listing under send load.
    List,
    /// Sends, uploads and reads together.
    Mixed,
    /// 5 MB uploads.
    Upload,
    /// Send → event latency with many event streams open.
    Events,
    /// send-1 and send-500 on PostgreSQL, against raw PostgreSQL inserts of the same rows.
    Postgres,
    /// Memory with clients stalled inside JSON bodies and many uploads at the limit at once.
    Hostile,
    /// send-1 and the HTTP baseline under callgrind: instructions per request (needs valgrind).
    Instructions,
    /// The same send against Prism and WireMock, beside send-1 (installed from npm on demand).
    Peers,
}

/// Modes the benchmark re-executes itself in, on the server core.
#[derive(Debug, Subcommand)]
enum HelperCommand {
    #[command(hide = true)]
    ServeFxmsg {
        #[arg(long)]
        data_dir: PathBuf,
        /// The server's `--database` (default: SQLite in the data directory).
        #[arg(long)]
        database: Option<String>,
    },
    #[command(hide = true)]
    ServeBaseline,
    #[command(hide = true)]
    StorageBaseline {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        secs: f64,
    },
    #[command(hide = true)]
    PostgresBaseline {
        #[arg(long)]
        database: String,
        #[arg(long)]
        secs: f64,
        /// Inbox rows per transaction.
        #[arg(long)]
        batch: usize,
        /// Connections committing at once.
        #[arg(long)]
        concurrency: usize,
    },
    #[command(hide = true)]
    StallProbe {
        #[arg(long)]
        secs: f64,
    },
}

fn main() {
    let args = Args::parse();
    if let Some(helper) = args.helper {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        return rt.block_on(async move {
            match helper {
                HelperCommand::ServeFxmsg { data_dir, database } => {
                    helpers::serve_fxmsg(&data_dir, database.as_deref()).await
                }
                HelperCommand::PostgresBaseline {
                    database,
                    secs,
                    batch,
                    concurrency,
                } => helpers::postgres_baseline(&database, secs, batch, concurrency).await,
                HelperCommand::ServeBaseline => helpers::serve_baseline().await,
                HelperCommand::StorageBaseline { data_dir, secs } => {
                    helpers::storage_baseline(&data_dir, secs, scenarios::EMPLOYEES).await
                }
                HelperCommand::StallProbe { secs } => {
                    let stalls = helpers::Stalls::probe(Duration::from_secs_f64(secs));
                    println!("ready {}", stalls.to_line());
                }
            }
        });
    }
    if args.no_pin {
        std::env::set_var(procs::NO_PIN_ENV, "1");
    }
    if let Some(code) = procs::pin_self() {
        std::process::exit(code);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ok = rt.block_on(run(args));
    std::process::exit(if ok { 0 } else { 1 });
}

/// Seconds the stall probe spins on the server core before the open loops.
const STALL_PROBE_SECS: f64 = 3.0;
/// Open-loop latency runs per figure; the median run is reported.
const LATENCY_RUNS: usize = 3;

/// Rounds of send-1 throughput, each right after a round of the HTTP baseline. This VM's speed
/// drifts within a run (identical runs differ by 15–25%), so each ratio is taken between two
/// measurements made at the same speed, and the round with the median ratio is reported.
const THROUGHPUT_ROUNDS: usize = 3;

/// One round of send-1 and the HTTP baseline measured just before it.
struct Pair {
    send1: Outcome,
    http: Outcome,
    /// How busy the cores were in the baseline's run and in send-1's, with wrk.
    busy: [Option<wrk::CoreBusy>; 2],
}

impl Pair {
    fn ratio(&self) -> f64 {
        self.send1.per_sec() / self.http.per_sec()
    }

    /// Each round's send-1 ÷ baseline, in the order run.
    fn ratios(pairs: &[Pair]) -> Vec<f64> {
        pairs.iter().map(Pair::ratio).collect()
    }

    /// The round whose ratio is the median.
    fn median(pairs: Vec<Pair>) -> Pair {
        median_by(pairs, Pair::ratio)
    }
}

/// The run whose p99 is the median of `runs`.
fn median_by_p99(runs: Vec<Outcome>) -> Outcome {
    median_by(runs, |r| r.ms(0.99))
}

/// The item whose `key` is the median (the upper one of an even count).
fn median_by<T>(mut items: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    items.sort_by(|a, b| key(a).total_cmp(&key(b)));
    items.swap_remove(items.len() / 2)
}

/// send-1 and send-500 with the server on a new PostgreSQL database, each against raw
/// PostgreSQL committing the same rows the same way: one message row and one inbox row per
/// transaction from as many connections as the load has clients, and 500 inbox rows per
/// transaction from one connection per send-500 client.
async fn postgres(
    window: &Window,
    c: usize,
    dir: &dyn Fn(&str) -> PathBuf,
    rows: &mut Vec<Row>,
    check: &dyn Fn(&str, &Outcome),
) {
    let secs = window.measure.as_secs_f64().to_string();
    let raw = |batch: usize, concurrency: usize| {
        let secs = secs.clone();
        async move {
            let db = fxmsg_store_postgres::testing::TempDatabase::new().await;
            let helper = Helper::spawn(
                &[
                    "postgres-baseline",
                    "--database",
                    db.url(),
                    "--secs",
                    &secs,
                    "--batch",
                    &batch.to_string(),
                    "--concurrency",
                    &concurrency.to_string(),
                ],
                None,
            );
            helper.url.parse::<f64>().expect("rows per second")
        }
    };
    let database = fxmsg_store_postgres::testing::TempDatabase::new().await;
    let server = Helper::spawn(
        &["serve-fxmsg", "--database", database.url()],
        Some(&dir("postgres")),
    );
    let setup = scenarios::set_up(&server.url, scenarios::EMPLOYEES).await;
    let send1 = window
        .closed_on(
            &server,
            scenarios::send_text(&server.url, Some(&setup), 1),
            c,
        )
        .await;
    check("postgres send-1", &send1);
    let one_row = raw(1, c).await;
    rows.push(
        Row::plain(
            "postgres send-1 throughput (closed loop)",
            send1.per_sec(),
            "req/s",
        )
        .against("raw postgres 1-row commits", one_row),
    );
    let clients = c.min(16);
    let send500 = window
        .closed_on(
            &server,
            scenarios::send_text(&server.url, Some(&setup), scenarios::EMPLOYEES),
            clients,
        )
        .await;
    check("postgres send-500", &send500);
    let batched = raw(scenarios::EMPLOYEES, clients).await;
    rows.push(
        Row::plain(
            "postgres send-500 deliveries",
            send500.per_sec() * scenarios::EMPLOYEES as f64,
            "rows/s",
        )
        .against("raw postgres rows", batched),
    );
}

/// Every figure of one run, with the checks of a smoke run.
async fn run(args: Args) -> bool {
    let (warmup, measure) = if args.smoke {
        (Duration::from_millis(200), Duration::from_millis(700))
    } else {
        (
            Duration::from_secs_f64(args.warmup),
            Duration::from_secs_f64(args.seconds),
        )
    };
    let wrk = wrk::installed();
    if wrk.is_none() {
        eprintln!("wrk is missing and could not be installed: the closed loop is reqwest's");
    }
    let window = Window {
        warmup,
        measure,
        wrk: wrk.clone(),
    };
    let c = args.concurrency;
    let wants = |g: Group| args.only.is_empty() || args.only.contains(&g);
    let mut rows = Vec::new();
    // Whether every scenario ran without errors; a Cell so `check` and direct checks can share it.
    let sane = std::cell::Cell::new(true);
    let check = |name: &str, o: &Outcome| {
        let fine = o.ok > 0 && o.errors == 0;
        if !fine {
            eprintln!("scenario {name}: {} ok, {} errors", o.ok, o.errors);
        }
        sane.set(sane.get() && fine);
    };
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let dir = |name: &str| {
        let d = scratch.path().join(name);
        std::fs::create_dir_all(&d).expect("a data directory");
        d
    };
    eprintln!(
        "machine: {}; pinned: {}",
        procs::machine(),
        procs::can_pin()
    );

    // Baselines.
    let baseline = Helper::spawn(&["serve-baseline"], None);
    let (http, _) = window
        .closed_target(
            &baseline.watch(),
            &scenarios::send_text_target(&baseline.url, None, 1),
            c,
        )
        .await;
    check("http baseline", &http);
    drop(baseline);
    let secs = measure.as_secs_f64().to_string();
    let storage = Helper::spawn(
        &["storage-baseline", "--secs", &secs],
        Some(&dir("storage")),
    );
    let storage_rows: f64 = storage.url.parse().expect("rows per second");
    drop(storage);
    sane.set(sane.get() && storage_rows > 0.0);

    if wants(Group::Cold) {
        let cold = cold_start(&dir).await;
        sane.set(sane.get() && cold.is_some());
        let cold = cold.unwrap_or(f64::NAN);
        rows.push(
            Row::plain(
                "cold start to ready (empty data dir, median of 3)",
                cold,
                "ms",
            )
            .target("≤ 200 ms", cold <= 200.0),
        );
    }

    // The main server.
    let server = Helper::spawn(&["serve-fxmsg"], Some(&dir("main")));
    let setup = scenarios::set_up(&server.url, scenarios::EMPLOYEES).await;
    let idle = server.rss() as f64 / 1e6;
    rows.push(Row::plain("idle RSS (after setup)", idle, "MB").target("≤ 30 MB", idle <= 30.0));

    if wants(Group::Token) {
        let credentials = scenarios::app_credentials(&server.url).await;
        let token = window
            .closed(scenarios::token_request(&server.url, &credentials), c)
            .await;
        check("token", &token);
        rows.push(
            Row::plain("token endpoint", token.per_sec(), "req/s").against("http", http.per_sec()),
        );
    }

    if wants(Group::Send1) || wants(Group::Latency) || wants(Group::Peers) {
        let (sampler, stop) = scenarios::sample_rss(&server);
        let baseline = Helper::spawn(&["serve-baseline"], None);
        let mut pairs = Vec::new();
        for _ in 0..THROUGHPUT_ROUNDS {
            let (http, http_busy) = window
                .closed_target(
                    &baseline.watch(),
                    &scenarios::send_text_target(&baseline.url, None, 1),
                    c,
                )
                .await;
            check("http baseline", &http);
            let (send1, send1_busy) = window
                .closed_target(
                    &server.watch(),
                    &scenarios::send_text_target(&server.url, Some(&setup), 1),
                    c,
                )
                .await;
            check("send-1", &send1);
            pairs.push(Pair {
                send1,
                http,
                busy: [http_busy, send1_busy],
            });
        }
        drop(baseline);
        stop.store(1, Ordering::Relaxed);
        let loaded = sampler.await.unwrap_or(0) as f64 / 1e6;
        let ratios = Pair::ratios(&pairs);
        let median = Pair::median(pairs);
        let ratio = median.ratio();
        let Pair { send1, http, busy } = median;
        for (what, busy) in ["HTTP baseline", "send-1"].into_iter().zip(busy) {
            let Some(busy) = busy else { continue };
            // The generator has room to spare when the server's core is full and its own is not.
            let bound = busy.server >= 90.0 && busy.client < busy.server;
            rows.push(
                Row::plain(
                    format!("{what}: server core busy (median round)"),
                    busy.server,
                    "%",
                )
                .against("load generator core", busy.client)
                .target("server-bound: ≥ 90%, above the generator's", bound),
            );
        }
        rows.push(Row::plain(
            format!(
                "send-1 ÷ http in each of the {THROUGHPUT_ROUNDS} rounds: {}",
                ratios
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ratio,
            "(median)",
        ));
        rows.push(
            Row::plain(
                "send-1 throughput (closed loop, median round)",
                send1.per_sec(),
                "req/s",
            )
            .against("http", http.per_sec())
            .target("ratio ≥ 0.40", ratio >= 0.40),
        );
        if let (Some(fx), Some(base)) = (send1.cpu_us_per_request(), http.cpu_us_per_request()) {
            rows.push(Row::plain("send-1 server CPU per request", fx, "µs").against("http", base));
        }
        // Against the open loop's figure below: how much a commit's fixed cost is shared.
        if let Some(activity) = send1.activity {
            rows.push(Row::plain(
                "send-1 writes per commit (closed loop, median round)",
                activity.writes_per_commit(),
                "",
            ));
        }
        rows.push(
            Row::plain("RSS under send-1 load (max)", loaded, "MB")
                .target("≤ 100 MB", loaded <= 100.0),
        );
        if wants(Group::Peers) {
            let fine = peers(&window, &setup, &send1, c, &mut rows).await;
            sane.set(sane.get() && fine);
        }
        if wants(Group::Latency) {
            let rate = args.rate.unwrap_or((send1.per_sec() / 2.0).max(10.0));
            let (latency, floor) = send1_latency(&window, &server, &setup, rate, &mut rows).await;
            check("send-1 open loop", &latency);
            check("http baseline open loop", &floor);
            // fxmsg's /metrics was read at both ends of the window and saw the sends commit.
            let counted = latency
                .activity
                .is_some_and(|a| a.commits > 0.0 && a.writes >= a.commits && a.sends > 0.0);
            if !counted {
                eprintln!("send-1 open loop: no activity in /metrics");
            }
            sane.set(sane.get() && counted);
        }
    }

    if wants(Group::Events) {
        let (streams, rate) = if args.smoke {
            (20, 20.0)
        } else {
            (args.streams, args.event_rate)
        };
        match events::send_to_event(&setup, streams, rate, warmup, measure).await {
            Ok(run) => {
                if run.sends == 0 || run.missing > 0 {
                    eprintln!(
                        "send → event: {} sends, {} copies missing",
                        run.sends, run.missing
                    );
                    sane.set(false);
                }
                let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| {
                    h.value_at_quantile(q) as f64 / 1000.0
                };
                let label = format!("{streams} streams on one corp, {rate} sends/s");
                rows.push(
                    Row::plain(
                        format!("send → event p50, {label}"),
                        ms(&run.to_event, 0.5),
                        "ms",
                    )
                    .against("answer p50", ms(&run.to_answer, 0.5)),
                );
                let p99 = ms(&run.to_event, 0.99);
                rows.push(
                    Row::plain(format!("send → event p99, {label}"), p99, "ms")
                        .against("answer p99", ms(&run.to_answer, 0.99))
                        .target("≤ 10 ms", p99 <= 10.0),
                );
                rows.push(Row::plain(
                    format!("event copies delivered, {label} ({} missing)", run.missing),
                    run.deliveries as f64 / run.secs,
                    "events/s",
                ));
            }
            Err(e) => {
                eprintln!("send → event: {e}");
                sane.set(false);
            }
        }
    }

    if wants(Group::Send500) {
        let send500 = window
            .closed(
                scenarios::send_text(&server.url, Some(&setup), scenarios::EMPLOYEES),
                c.min(16),
            )
            .await;
        check("send-500", &send500);
        let deliveries = send500.per_sec() * scenarios::EMPLOYEES as f64;
        rows.push(
            Row::plain("send-500 deliveries", deliveries, "rows/s")
                .against("sqlite rows", storage_rows)
                .target("ratio ≥ 0.50", deliveries / storage_rows >= 0.50),
        );
    }

    // Every machine of this project runs PostgreSQL on loopback (FXMSG_TEST_POSTGRES elsewhere).
    if wants(Group::Postgres) {
        postgres(&window, c, &dir, &mut rows, &check).await;
    }

    if wants(Group::Articles) {
        let articles = window.closed(scenarios::send_articles(&setup), c).await;
        check("articles", &articles);
        rows.push(
            Row::plain("articles send with cover", articles.per_sec(), "req/s")
                .against("http", http.per_sec()),
        );
    }

    if wants(Group::List) {
        // Reads while sends keep the writer busy.
        let background = tokio::spawn(closed(
            scenarios::send_text(&server.url, Some(&setup), 1),
            8,
            warmup,
            measure,
            None,
        ));
        let list = window
            .closed(scenarios::list_messages(&server.url), 8)
            .await;
        let background = background.await.expect("background sends");
        check("list", &list);
        check("list background sends", &background);
        rows.push(Row::plain(
            "list messages under send load",
            list.per_sec(),
            "req/s",
        ));
        rows.push(Row::plain(
            "list messages under send load, p99",
            list.ms(0.99),
            "ms",
        ));
    }

    if wants(Group::Mixed) {
        // Sends, small uploads and reads together.
        let small = Bytes::from(scenarios::png(100_000));
        let (sends, uploads, reads) = tokio::join!(
            window.closed(scenarios::send_text(&server.url, Some(&setup), 1), 16),
            window.closed(scenarios::upload(&setup, small), 2),
            window.closed(scenarios::list_messages(&server.url), 4),
        );
        for (name, o) in [
            ("mixed sends", &sends),
            ("mixed uploads", &uploads),
            ("mixed reads", &reads),
        ] {
            check(name, o);
        }
        rows.push(Row::plain(
            "mixed: sends + 100 KB uploads + reads",
            sends.per_sec() + uploads.per_sec() + reads.per_sec(),
            "ops/s",
        ));
    }
    drop(server);

    if wants(Group::Upload) {
        let uploads = uploads_5mb(&window, &dir, &mut rows).await;
        check("upload 5 MB", &uploads);
    }

    if wants(Group::Hostile) {
        let plan = if args.smoke {
            &hostile::SMOKE_PLAN
        } else {
            &hostile::PLAN
        };
        sane.set(hostile::memory(plan, &dir, &mut rows).await && sane.get());
    }

    if wants(Group::Instructions) {
        let plan = if args.smoke {
            SMOKE_INSTRUCTION_PLAN
        } else {
            INSTRUCTION_PLAN
        };
        match instructions(plan, &dir).await {
            Some(Ok(row)) => rows.push(row),
            Some(Err(e)) => {
                eprintln!("instructions per request: {e}");
                sane.set(false);
            }
            None => eprintln!("instructions per request: skipped, valgrind is not installed"),
        }
    }

    let table = report::table(&rows);
    println!("{table}");
    if args.smoke || !args.only.is_empty() {
        let sane = sane.get();
        println!(
            "{}: {}",
            if args.smoke {
                "smoke run"
            } else {
                "partial run (--only), no report written"
            },
            if sane {
                "every scenario ran and produced sane numbers"
            } else {
                "FAILED"
            }
        );
        return sane;
    }
    let run = format!(
        "Run of {}s per scenario after {}s warm-up, send concurrency {c}, on {}.\nServer, baselines and peers pinned to core {}, load generator to core {} ({}).\nClosed loops: {}; open loops: reqwest.\n\n{table}",
        measure.as_secs_f64(),
        warmup.as_secs_f64(),
        procs::machine(),
        procs::SERVER_CORE,
        procs::CLIENT_CORE,
        if procs::can_pin() { "taskset" } else { "not pinned: taskset or a second core missing" },
        if wrk.is_some() { "wrk (one thread, every request numbered by its Lua script) for the HTTP baseline, send-1 and the peers, reqwest for the rest" } else { "reqwest (wrk missing)" },
    );
    if let Err(e) = report::write_markdown(&args.output, &run) {
        eprintln!("could not write {}: {e}", args.output.display());
    }
    sane.get()
}

/// Prism and WireMock on the send-1 request, each against fxmsg's send-1 of the same run. A peer
/// that cannot run here (npm or java missing) is skipped with a note. False if one that ran
/// failed requests.
async fn peers(
    window: &Window,
    setup: &scenarios::Setup,
    send1: &Outcome,
    c: usize,
    rows: &mut Vec<Row>,
) -> bool {
    let mut sane = true;
    let openapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let http = load::client(1);
    for (peer, target) in [(peers::Peer::Prism, 20.0), (peers::Peer::WireMock, 10.0)] {
        let at = |base: &str| scenarios::send_text_target(base, Some(setup), 1);
        let probe = |base: &str| at(base).make()(&http, 0);
        let running = match peers::start(peer, &openapi, probe).await {
            Ok(running) => running,
            Err(why) => {
                eprintln!("{}: skipped, {why}", peer.name());
                rows.push(Row::plain(
                    format!("{} — skipped: {why}", peer.name()),
                    f64::NAN,
                    "",
                ));
                continue;
            }
        };
        let watch = Watch {
            pid: running.pid(),
            metrics: None,
        };
        // A JVM compiles its hot path in the first seconds: give every peer a longer warm-up.
        let warmup = window.warmup.max(Duration::from_secs(5));
        let (outcome, _) = window
            .closed_target_for(&watch, &at(&running.url), c, warmup)
            .await;
        if outcome.ok == 0 || outcome.errors > 0 {
            sane = false;
            eprintln!(
                "{}: {} ok, {} errors",
                peer.name(),
                outcome.ok,
                outcome.errors
            );
        }
        let ratio = send1.per_sec() / outcome.per_sec();
        rows.push(
            Row::plain(
                format!("send-1 against {}", peer.name()),
                send1.per_sec(),
                "req/s",
            )
            .against(peer.name(), outcome.per_sec())
            .target(format!("ratio ≥ {target}"), ratio >= target),
        );
    }
    sane
}

/// The warm-up and measured time every scenario gets, and the closed loop's generator.
struct Window {
    warmup: Duration,
    measure: Duration,
    /// wrk, when it is installed (or could be); else the closed loop is reqwest's.
    wrk: Option<PathBuf>,
}

impl Window {
    /// A closed loop on `target` with wrk (reqwest without it), measuring what `server` spent
    /// and did, and how busy both cores were (with wrk).
    async fn closed_target(
        &self,
        server: &Watch,
        target: &wrk::Target,
        concurrency: usize,
    ) -> (Outcome, Option<wrk::CoreBusy>) {
        self.closed_target_for(server, target, concurrency, self.warmup)
            .await
    }

    /// [`Window::closed_target`] with a warm-up of its own.
    async fn closed_target_for(
        &self,
        server: &Watch,
        target: &wrk::Target,
        concurrency: usize,
        warmup: Duration,
    ) -> (Outcome, Option<wrk::CoreBusy>) {
        match &self.wrk {
            Some(wrk) => {
                wrk::closed(wrk, target, concurrency, warmup, self.measure, Some(server)).await
            }
            None => {
                let make = target.make();
                let outcome = closed(make, concurrency, warmup, self.measure, Some(server)).await;
                (outcome, None)
            }
        }
    }

    async fn closed(&self, make: MakeRequest, concurrency: usize) -> Outcome {
        closed(make, concurrency, self.warmup, self.measure, None).await
    }

    /// A closed loop that also measures what `server` spent and did.
    async fn closed_on(&self, server: &Helper, make: MakeRequest, concurrency: usize) -> Outcome {
        let watch = server.watch();
        closed(make, concurrency, self.warmup, self.measure, Some(&watch)).await
    }

    /// An open loop at `rate` that also measures what `server` spent and did.
    async fn open_on(&self, server: &Helper, make: MakeRequest, rate: f64) -> Outcome {
        let watch = server.watch();
        open(make, rate, self.warmup, self.measure, Some(&watch)).await
    }
}

/// Requests counted under callgrind in a full run: enough for the count to repeat within ~0.5%.
const INSTRUCTION_PLAN: callgrind::Plan = callgrind::Plan {
    warm: 400,
    count: 2000,
    concurrency: 16,
};
/// In a smoke run: enough to show the counting works.
const SMOKE_INSTRUCTION_PLAN: callgrind::Plan = callgrind::Plan {
    warm: 10,
    count: 30,
    concurrency: 4,
};

/// send-1 and the HTTP baseline, each under callgrind: user-space instructions per request.
/// `None` when valgrind is not installed.
async fn instructions(
    plan: callgrind::Plan,
    dir: &impl Fn(&str) -> PathBuf,
) -> Option<Result<Row, String>> {
    if !callgrind::available() {
        return None;
    }
    let out = dir("callgrind");
    let counted = async {
        let baseline = callgrind::Counting::start(&["serve-baseline"], None, &out);
        let http = baseline
            .per_request(scenarios::send_text(baseline.url(), None, 1), plan)
            .await?;
        drop(baseline);
        let server =
            callgrind::Counting::start(&["serve-fxmsg"], Some(&dir("callgrind-fxmsg")), &out);
        // One employee: setting up 500 under valgrind would take longer than the count itself.
        let setup = scenarios::set_up(server.url(), 1).await;
        let send1 = server
            .per_request(scenarios::send_text(server.url(), Some(&setup), 1), plan)
            .await?;
        Ok(Row::plain(
            format!(
                "send-1 user-space instructions per request (callgrind, {} requests at {} clients)",
                plan.count, plan.concurrency
            ),
            send1 / 1000.0,
            "k",
        )
        .against("http", http / 1000.0))
    };
    Some(counted.await)
}

/// Milliseconds from spawning a server on an empty data directory to `/readyz` answering, the
/// median of three; `None` if one never became ready.
async fn cold_start(dir: &impl Fn(&str) -> PathBuf) -> Option<f64> {
    let mut starts = Vec::new();
    for i in 0..3 {
        let begun = Instant::now();
        let server = Helper::spawn(&["serve-fxmsg"], Some(&dir(&format!("cold{i}"))));
        let ready = reqwest::get(format!("{}/readyz", server.url))
            .await
            .is_ok_and(|r| r.status().is_success());
        if !ready {
            return None;
        }
        starts.push(begun.elapsed().as_secs_f64() * 1000.0);
    }
    starts.sort_by(f64::total_cmp);
    Some(starts[1])
}

/// send-1 latency in the open loop at `rate`, with the HTTP baseline at the same rate. Latency is
/// the noisiest figure on a shared VM: the open loop runs three times, alternating fxmsg and the
/// baseline, and each one's median run (by p99) is reported.
async fn send1_latency(
    window: &Window,
    server: &Helper,
    setup: &scenarios::Setup,
    rate: f64,
    rows: &mut Vec<Row>,
) -> (Outcome, Outcome) {
    // How much the server's core loses to the machine itself (other tasks, the hypervisor), with
    // nothing of the benchmark running on it: the floor under any tail latency there.
    let probe = Helper::spawn(
        &["stall-probe", "--secs", &STALL_PROBE_SECS.to_string()],
        None,
    );
    if let Some(stalls) = helpers::Stalls::from_line(&probe.url) {
        rows.push(Row::plain(
            format!(
                "server core stalls with nothing running ({STALL_PROBE_SECS} s probe): {} of ≥ {} ms, largest {:.1} ms",
                stalls.count,
                helpers::Stalls::THRESHOLD.as_secs_f64() * 1e3,
                stalls.largest_ms,
            ),
            stalls.lost_ms / STALL_PROBE_SECS,
            "ms lost per s",
        ));
    }
    drop(probe);
    let baseline = Helper::spawn(&["serve-baseline"], None);
    let (mut runs, mut floors) = (Vec::new(), Vec::new());
    for _ in 0..LATENCY_RUNS {
        runs.push(
            window
                .open_on(
                    server,
                    scenarios::send_text(&server.url, Some(setup), 1),
                    rate,
                )
                .await,
        );
        floors.push(
            window
                .open_on(
                    &baseline,
                    scenarios::send_text(&baseline.url, None, 1),
                    rate,
                )
                .await,
        );
    }
    drop(baseline);
    let p99s: Vec<f64> = runs.iter().map(|r| r.ms(0.99)).collect();
    let (latency, floor) = (median_by_p99(runs), median_by_p99(floors));
    rows.push(Row::plain(
        format!(
            "send-1 p99 of each of the {LATENCY_RUNS} open-loop runs: {}",
            p99s.iter()
                .map(|p| format!("{p:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        latency.ms(0.99),
        "ms (median)",
    ));
    for (q, label) in [(0.50, "p50"), (0.99, "p99"), (0.999, "p99.9")] {
        let row = Row::plain(
            format!("send-1 {label} at {rate:.0} req/s (open loop)"),
            latency.ms(q),
            "ms",
        )
        .against(format!("http {label}"), floor.ms(q));
        rows.push(if label == "p99" {
            row.target("≤ 5 ms", latency.ms(q) <= 5.0)
        } else {
            row
        });
    }
    // How busy the server's core was explains the tail: queues drain at the core's spare capacity.
    if let (Some(fx), Some(base), Some(busy), Some(http_busy)) = (
        latency.cpu_us_per_request(),
        floor.cpu_us_per_request(),
        latency.server_busy_percent(),
        floor.server_busy_percent(),
    ) {
        rows.push(
            Row::plain(
                format!(
                    "send-1 server CPU per request in the open loop (core {busy:.0}% busy; http {http_busy:.0}%)"
                ),
                fx,
                "µs",
            )
            .against("http", base),
        );
    }
    // Where the reported run's slow requests were slow: inside the server's handlers (and there,
    // waiting for or inside a writer batch), or outside them.
    if let Some(activity) = latency.activity {
        rows.push(Row::plain(
            "send-1 writes per commit in the open loop (reported run)",
            activity.writes_per_commit(),
            "",
        ));
        let slow_ms = ServerActivity::SLOW_SECS * 1e3;
        let client_share = latency.share_over(ServerActivity::SLOW_SECS) * 100.0;
        let server_share = activity.slow_sends / activity.sends.max(1.0) * 100.0;
        rows.push(Row::plain(
            format!(
                "sends over {slow_ms:.0} ms in that run, as the client saw them (the server's handlers: {server_share:.2}%)"
            ),
            client_share,
            "%",
        ));
        rows.push(Row::plain(
            format!(
                "writer in that run: {:.0} batches waited over {slow_ms:.0} ms for it, {:.0} took over {slow_ms:.0} ms; {:.0} WAL catch-ups, {:.2} ms each on average",
                activity.slow_waits,
                activity.slow_batches,
                activity.catch_ups,
                activity.catch_up_secs * 1e3 / activity.catch_ups.max(1.0),
            ),
            activity.catch_up_secs * 1e3,
            "ms in catch-ups",
        ));
    }
    (latency, floor)
}

/// 5 MB uploads, two at once, on a fresh server so its peak RSS belongs to this scenario.
async fn uploads_5mb(
    window: &Window,
    dir: &impl Fn(&str) -> PathBuf,
    rows: &mut Vec<Row>,
) -> Outcome {
    let uploader = Helper::spawn(&["serve-fxmsg"], Some(&dir("upload")));
    let upload_setup = scenarios::set_up(&uploader.url, 1).await;
    let before = uploader.rss();
    let file = Bytes::from(scenarios::png(5 * 1024 * 1024));
    let parallel = 2;
    let uploads = window
        .closed(scenarios::upload(&upload_setup, file.clone()), parallel)
        .await;
    let mb_s = uploads.per_sec() * file.len() as f64 / 1e6;
    let growth = uploader.peak_rss().saturating_sub(before) as f64 / parallel as f64;
    rows.push(
        Row::plain("5 MB upload throughput", mb_s, "MB/s").target("≥ 200 MB/s", mb_s >= 200.0),
    );
    rows.push(
        Row::plain(
            format!("peak RSS growth per concurrent upload ({parallel} at once)"),
            growth / 1e6,
            "MB",
        )
        .target("≤ 2 × 5 MB", growth <= 2.0 * file.len() as f64),
    );
    uploads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(ok: u64) -> Outcome {
        Outcome {
            ok,
            errors: 0,
            secs: 1.0,
            latency: hdrhistogram::Histogram::new(3).expect("a histogram"),
            server_cpu: None,
            activity: None,
        }
    }

    fn pair(send1: u64, http: u64) -> Pair {
        Pair {
            send1: outcome(send1),
            http: outcome(http),
            busy: [None, None],
        }
    }

    /// CPU figures come from the server's CPU time over the measured window, and are absent when
    /// it was not measured.
    #[test]
    fn cpu_figures_follow_the_measured_window() {
        let mut o = outcome(1000);
        assert_eq!(
            (o.cpu_us_per_request(), o.server_busy_percent()),
            (None, None)
        );
        o.secs = 2.0;
        o.server_cpu = Some(0.5);
        assert_eq!(o.cpu_us_per_request(), Some(500.0));
        assert_eq!(o.server_busy_percent(), Some(25.0));
    }

    /// A fixed open-loop rate is only for partial runs, whose report is not written: the p99
    /// target is defined at half the maximum.
    #[test]
    fn a_fixed_rate_needs_a_partial_run() {
        assert!(Args::try_parse_from(["fxmsg-bench", "--rate", "8000"]).is_err());
        let args =
            Args::try_parse_from(["fxmsg-bench", "--only", "latency", "--rate", "8000"]).unwrap();
        assert_eq!((args.only, args.rate), (vec![Group::Latency], Some(8000.0)));
    }

    /// The reported round is the one with the median ratio, not the one with the median send-1
    /// or baseline figure on its own.
    #[test]
    fn the_round_with_the_median_ratio_is_reported() {
        let pairs = vec![pair(500, 1000), pair(450, 1500), pair(200, 500)];
        assert_eq!(Pair::ratios(&pairs), [0.5, 0.3, 0.4]);
        let median = Pair::median(pairs);
        assert_eq!((median.send1.ok, median.http.ok), (200, 500));
    }
}
