//! The README, run as written: every `sh` block in order, in one working directory, in a shell
//! holding the `export` lines that a fresh `fxmsg serve` prints, with the built `fxmsg` on PATH.
//! A block is skipped only where the README says so, in a comment just above it, with the reason.
//! The quick start's Rust source must be the compiled example's, character for character.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const README: &str = include_str!("../../../../README.md");
const QUICKSTART_MAIN: &str = include_str!("../../../../examples/quickstart/src/main.rs");
const QUICKSTART_TOML: &str = include_str!("../../../../examples/quickstart/Cargo.toml");
const CI: &str = include_str!("../../../../.ci/run");
const SKIP: &str = "<!-- README test: not run";

/// A fenced block of the README.
#[derive(Debug)]
struct Block {
    /// The `## ` heading it is under.
    heading: String,
    /// The fence's info string (`sh`, `rust`, …).
    lang: String,
    text: String,
    /// The reason given just above it for not running it, if any.
    skipped: Option<String>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let (mut heading, mut previous) = (String::new(), String::new());
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        if let Some(block) = &mut open {
            if line.trim_start().starts_with("```") {
                blocks.push(open.take().unwrap());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(lang) = line.strip_prefix("```") {
            open = Some(Block {
                heading: heading.clone(),
                lang: lang.trim().to_owned(),
                text: String::new(),
                skipped: previous
                    .strip_prefix(SKIP)
                    .map(|why| why.trim_end_matches("-->").trim().to_owned()),
            });
        } else if let Some(h) = line.strip_prefix("## ") {
            heading = h.to_owned();
        }
        if !line.trim().is_empty() {
            previous = line.trim().to_owned();
        }
    }
    assert!(open.is_none(), "an unclosed code block in the README");
    blocks
}

/// The server under test; killed when dropped, so a failing test leaves nothing running.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `fxmsg serve` on a fresh data directory as a newcomer would (no admin token chosen)
/// and returns it with its banner.
fn serve(data_dir: &Path) -> (Serving, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("FXMSG_ADMIN_TOKEN")
        .env_remove("FXMSG_LISTEN")
        .env_remove("FXMSG_DATA_DIR")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let serving = Serving(child);
    let mut banner = Vec::new();
    // The banner ends with the copy-paste send: a `curl ` command and its continuation lines.
    let mut sending = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        sending |= line.starts_with("curl ");
        let continued = line.ends_with('\\');
        banner.push(line);
        if sending && !continued {
            return (serving, banner);
        }
    }
    panic!("the banner ended early: {banner:?}");
}

/// Runs `script` in bash after the banner's exports, with `curl` failing on HTTP errors, and
/// fails the test with everything it printed if any command fails or any Fxiaoke answer is an
/// error.
fn run(name: &str, exports: &str, script: &str, work: &Path, path: &str) {
    let full = format!(
        "set -euo pipefail\ncurl() {{ command curl --fail-with-body --show-error \"$@\"; }}\n{exports}\n{script}"
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&full)
        .current_dir(work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", work)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    let shown = format!("--- {name} ---\n{script}\n--- stdout ---\n{out}\n--- stderr ---\n{err}");
    assert!(output.status.success(), "{}\n{shown}", output.status);
    // Fxiaoke answers HTTP 200 with an error in the envelope, whose errorMessage is "OK" only on
    // success. (A planned fault's errorCode is not an envelope and has no errorMessage.)
    let messages: Vec<&str> = out
        .split("\"errorMessage\":\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .collect();
    assert!(
        messages.iter().all(|m| *m == "OK"),
        "a Fxiaoke error: {messages:?}\n{shown}"
    );
}

#[test]
fn every_shell_block_of_the_readme_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let (_server, banner) = serve(&dir.path().join("data"));
    let exports: String = banner
        .iter()
        .filter(|l| l.starts_with("export "))
        .map(|l| format!("{l}\n"))
        .collect();
    for name in [
        "FXMSG_URL=",
        "FXMSG_ADMIN_TOKEN=",
        "FXMSG_APP_ID=",
        "CORP_ID=",
        "SERVICE_ID=",
    ] {
        assert!(exports.contains(name), "{name} in {banner:?}");
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_fxmsg"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // The banner's own copy-paste send first, as the README's set-up promises it works.
    let at = banner
        .iter()
        .position(|l| l.starts_with("Send a text message"))
        .unwrap();
    let snippet = banner[at + 1..].join("\n");
    run("the banner's send", &exports, &snippet, &work, &path);

    let mut ran = 0;
    for block in blocks(README).iter().filter(|b| b.lang == "sh") {
        if let Some(why) = &block.skipped {
            assert!(!why.is_empty(), "a skipped block without a reason");
            continue;
        }
        run(&block.heading, &exports, &block.text, &work, &path);
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} blocks ran");

    // The blocks did what they say: their messages are there, one of them revoked.
    let token = exports
        .lines()
        .find_map(|l| l.strip_prefix("export FXMSG_ADMIN_TOKEN="))
        .unwrap();
    let url = exports
        .lines()
        .find_map(|l| l.strip_prefix("export FXMSG_URL="))
        .unwrap();
    let listed = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-H"])
        .arg(format!("authorization: Bearer {token}"))
        .arg(format!("{url}/api/v1/messages?limit=100"))
        .output()
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(items.len() >= 8, "{} messages: {page}", items.len());
    let revoked = items.iter().filter(|m| !m["revokedAt"].is_null()).count();
    assert!(revoked >= 2, "{revoked} revoked: {page}");
}

#[test]
fn the_set_up_is_two_commands_and_ci_runs_the_second() {
    let setup = blocks(README)
        .into_iter()
        .find(|b| b.heading == "Set up" && b.lang == "sh")
        .expect("a set-up block");
    let commands: Vec<&str> = setup
        .text
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run --release -p fxmsg -- serve",
            "cargo test --workspace"
        ]
    );
    assert!(
        CI.lines().any(|l| l.trim() == "cargo test --workspace"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn the_sdk_quick_start_is_the_compiled_example() {
    let blocks = blocks(README);
    let quick: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.heading == "SDK quick start")
        .collect();
    let rust = quick.iter().find(|b| b.lang == "rust").expect("its source");
    assert_eq!(
        rust.text, QUICKSTART_MAIN,
        "README and examples/quickstart differ"
    );
    let toml = quick
        .iter()
        .find(|b| b.lang == "toml")
        .expect("its dependencies");
    let dependencies = QUICKSTART_TOML
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    for line in dependencies.lines().filter(|l| !l.trim().is_empty()) {
        let name = line.split('=').next().unwrap().trim();
        let shown = toml
            .text
            .lines()
            .find(|l| l.split('=').next().unwrap().trim() == name)
            .unwrap_or_else(|| panic!("the README does not show the dependency {name}"));
        // The path is the reader's checkout, not the workspace's; everything else is the same.
        if !line.contains("path =") {
            assert_eq!(shown, line);
        }
    }
}

#[test]
fn the_testkit_example_is_the_compiled_test() {
    const IN_PROCESS: &str = include_str!("../../../fxmsg-testkit/tests/in_process.rs");
    let blocks = blocks(README);
    let rust = blocks
        .iter()
        .find(|b| b.heading == "Testing your integration" && b.lang == "rust")
        .expect("the in-process example");
    assert_eq!(
        rust.text.trim_end(),
        IN_PROCESS.trim_end(),
        "README and crates/fxmsg-testkit/tests/in_process.rs differ"
    );
}
