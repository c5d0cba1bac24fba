//! User-space instructions per request, counted by valgrind's callgrind: the one figure of the send
//! path that this VM's noise does not blur. Throughput and CPU time move by 15–25% between
//! identical runs here; the instruction count of the same binary and requests repeats within ~0.5%.
//!
//! The server runs under `valgrind --tool=callgrind` with instrumentation off. After a warm-up
//! (connections open, caches filled, statements prepared) `callgrind_control` switches it on for
//! exactly the counted requests, dumps the counts and switches it off again; the dump's total over
//! the number of requests is the figure.
//!
//! What it leaves out: the kernel (TCP over loopback, the WAL's writes and fsync are not counted),
//! and valgrind runs the threads one at a time, so the writer's batches are not those of a native
//! run. Valgrind also lacks the SHA extensions, so SHA-256 runs in software under it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::load::{counted, MakeRequest};
use crate::procs::Helper;

/// How many requests warm the server up, how many are counted, and how many are in flight.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warm: u64,
    pub count: u64,
    pub concurrency: usize,
}

/// Whether `valgrind` and `callgrind_control` can be run here.
pub fn available() -> bool {
    [
        ("valgrind", "--version"),
        ("callgrind_control", "--version"),
    ]
    .iter()
    .all(|(program, arg)| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A helper running under callgrind, instrumentation off.
pub struct Counting {
    helper: Helper,
    out: PathBuf,
}

impl Counting {
    /// Starts the helper `args` (as [`Helper::spawn`] takes them) under callgrind; its dumps go
    /// to `out_dir`.
    pub fn start(args: &[&str], data_dir: Option<&Path>, out_dir: &Path) -> Counting {
        let out = out_dir.join(format!("callgrind.{}", args[0]));
        let out_arg = format!("--callgrind-out-file={}", out.display());
        let helper = Helper::spawn_under(
            &[
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                &out_arg,
            ],
            args,
            data_dir,
        );
        Counting { helper, out }
    }

    /// The helper's `http://…` address.
    pub fn url(&self) -> &str {
        &self.helper.url
    }

    /// Sends `plan.warm` requests uncounted, then `plan.count` counted ones, and returns the
    /// user-space instructions per counted request.
    pub async fn per_request(&self, make: MakeRequest, plan: Plan) -> Result<f64, String> {
        let failed = |what: &str, (ok, errors): (u64, u64)| {
            (errors > 0).then(|| format!("{errors} of {} {what} requests failed", ok + errors))
        };
        let warm = counted(make.clone(), 0, plan.warm, plan.concurrency).await;
        if let Some(e) = failed("warm-up", warm) {
            return Err(e);
        }
        let pid = self.helper.pid().to_string();
        control(&["--instr=on", &pid])?;
        let measured = counted(make, plan.warm, plan.count, plan.concurrency).await;
        control(&["--dump", &pid])?;
        control(&["--instr=off", &pid])?;
        if let Some(e) = failed("counted", measured) {
            return Err(e);
        }
        // The first dump of this process is written as `<out>.1`.
        let dump = PathBuf::from(format!("{}.1", self.out.display()));
        let total = wait_for_total(&dump, Duration::from_secs(30)).await?;
        keep(&dump)?;
        Ok(total as f64 / plan.count as f64)
    }
}

/// Copies a complete dump into `$FXMSG_BENCH_CALLGRIND_DIR` when it is set, to read with
/// `callgrind_annotate` after the run (the scratch directory goes away with it).
fn keep(dump: &Path) -> Result<(), String> {
    let Some(dir) = std::env::var_os("FXMSG_BENCH_CALLGRIND_DIR") else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    let name = dump.file_name().expect("a dump has a file name");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::copy(dump, dir.join(name)))
        .map(drop)
        .map_err(|e| format!("keeping {} in {}: {e}", dump.display(), dir.display()))
}

/// Runs `callgrind_control` with `args`.
fn control(args: &[&str]) -> Result<(), String> {
    let output = Command::new("callgrind_control")
        .args(args)
        .output()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "callgrind_control {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The instruction total of the dump at `path`, once it is completely written.
async fn wait_for_total(path: &Path, patience: Duration) -> Result<u64, String> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(total) = std::fs::read_to_string(path)
            .ok()
            .as_deref()
            .and_then(total)
        {
            return Ok(total);
        }
        if Instant::now() > deadline {
            return Err(format!("no complete callgrind dump at {}", path.display()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `totals:` line callgrind writes last in a dump, which only a complete dump has.
fn total(dump: &str) -> Option<u64> {
    dump.lines()
        .rev()
        .find_map(|l| l.strip_prefix("totals:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_only_from_a_complete_dump() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 1234\n\nfn=(1) main\n5 1234\n\ntotals: 1234\n";
        assert_eq!(total(dump), Some(1234));
        // Cut off before the end: not read as a total.
        assert_eq!(total(&dump[..dump.find("totals").unwrap()]), None);
        assert_eq!(total("totals: many\n"), None);
    }
}
