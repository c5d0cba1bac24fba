//! Child processes of the benchmark: the fxmsg server, the HTTP baseline and the storage baseline,
//! each a re-execution of this binary pinned to its own core, plus their memory readings.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use fxmsg_client::admin::AdminClient;

use crate::helpers::ADMIN_TOKEN;
use crate::load::Watch;

/// Core for servers and storage work; the load generator takes the other one.
pub const SERVER_CORE: &str = "0";
/// Core for the load generator.
pub const CLIENT_CORE: &str = "1";
/// Set on the re-executed benchmark so it does not pin itself twice.
const PINNED_ENV: &str = "FXMSG_BENCH_PINNED";

/// CPUs of the machine, whatever this process's own affinity is (the pinned benchmark sees one).
pub fn machine_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo").map_or(1, |s| {
        s.lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1)
    })
}

/// Set to disable pinning (`--no-pin`); inherited by the re-executed benchmark.
pub const NO_PIN_ENV: &str = "FXMSG_BENCH_NO_PIN";

/// Whether cores can be pinned: not disabled, `taskset` exists and the machine has two cores.
pub fn can_pin() -> bool {
    std::env::var_os(NO_PIN_ENV).is_none()
        && machine_cores() >= 2
        && Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Re-executes the benchmark on the client core, once. Returns the child's exit code if it did.
pub fn pin_self() -> Option<i32> {
    if std::env::var_os(PINNED_ENV).is_some() || !can_pin() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let status = Command::new("taskset")
        .args(["-c", CLIENT_CORE])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(PINNED_ENV, "1")
        .status()
        .ok()?;
    Some(status.code().unwrap_or(1))
}

/// A helper process started by the benchmark.
pub struct Helper {
    child: Child,
    /// `http://…` address it listens on, if it serves HTTP.
    pub url: String,
    /// Whether it is the fxmsg server (`serve-fxmsg`), which has `/metrics`.
    fxmsg: bool,
}

impl Helper {
    /// Spawns `fxmsg-bench <args>` pinned to the server core and waits for its `ready <addr>` line.
    pub fn spawn(args: &[&str], data_dir: Option<&Path>) -> Helper {
        Helper::spawn_under(&[], args, data_dir)
    }

    /// [`Helper::spawn`], run by `wrapper` (a program and its arguments, e.g. valgrind) when it is
    /// not empty.
    pub fn spawn_under(wrapper: &[&str], args: &[&str], data_dir: Option<&Path>) -> Helper {
        let exe = std::env::current_exe().expect("the benchmark knows its own path");
        let mut program = wrapper
            .iter()
            .map(std::ffi::OsStr::new)
            .chain([exe.as_os_str()]);
        let mut command = if can_pin() {
            let mut c = Command::new("taskset");
            c.args(["-c", SERVER_CORE]);
            c
        } else {
            Command::new(program.next().expect("a program"))
        };
        command.args(program).args(args);
        if let Some(dir) = data_dir {
            command.arg("--data-dir").arg(dir);
        }
        // The server's logs are discarded unless FXMSG_BENCH_STDERR is set (to debug a failing
        // scenario): at full load they are thousands of lines a second.
        let stderr = if std::env::var_os("FXMSG_BENCH_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn a helper");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("helper output");
        let url = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("helper said {line:?}"))
            .to_owned();
        Helper {
            child,
            url,
            fxmsg: args.first() == Some(&"serve-fxmsg"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What a load run should measure of this helper besides its answers.
    pub fn watch(&self) -> Watch {
        Watch {
            pid: self.pid(),
            metrics: self.fxmsg.then(|| AdminClient::new(&self.url, ADMIN_TOKEN)),
        }
    }

    /// Current resident memory, bytes.
    pub fn rss(&self) -> u64 {
        rss_of(self.child.id())
    }

    /// Peak resident memory since start, bytes.
    pub fn peak_rss(&self) -> u64 {
        status_kb(self.child.id(), "VmHWM:") * 1024
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system, every thread) process `pid` has used, seconds; 0 if it cannot be read.
/// `/proc/<pid>/stat` counts in USER_HZ ticks, 100 per second on Linux.
pub fn cpu_secs(pid: u32) -> f64 {
    const USER_HZ: f64 = 100.0;
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            let rest = &s[s.rfind(')')? + 2..];
            let mut fields = rest.split_whitespace().skip(11);
            let utime: u64 = fields.next()?.parse().ok()?;
            let stime: u64 = fields.next()?.parse().ok()?;
            Some((utime + stime) as f64 / USER_HZ)
        })
        .unwrap_or(0.0)
}

/// Resident memory of process `pid`, bytes (0 if it cannot be read).
pub fn rss_of(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:") * 1024
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// One line describing the machine, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = machine_cores();
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem_gib:.0} GiB, Linux {}",
        kernel.trim()
    )
}
