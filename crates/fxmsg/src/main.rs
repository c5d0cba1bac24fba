//! `fxmsg`: the single binary. `serve` runs the server; `admin` manages the directory through the
//! native API; `send`, `media`, `revoke` and `token` call the Fxiaoke API through `fxmsg-client`. Glue only: parsing happens in `cli`, work in the library crates.
#![forbid(unsafe_code)]

mod admin;
mod calls;
mod cli;
mod connection;
mod send;
mod serve;
mod watch;

use std::process::ExitCode;

use cli::{Cli, Command};

/// jemalloc: a server allocates and frees per request on every thread, where glibc's malloc
/// took a tenth of a send's CPU in the benchmark's profile (its instructions per send fell by
/// 12%); unlike mimalloc it keeps idle memory near glibc's (24 MB after the benchmark's setup,
/// against 47 MB).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit codes: scripts can tell a usage mistake from an API refusal from a network failure.
pub mod exit {
    /// Bad flags or input (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// The server refused the call.
    pub const API: u8 = 3;
    /// The server could not be reached, or its answer not read.
    pub const TRANSPORT: u8 = 4;
    /// `fxmsg wait` gave up: nothing matching was committed in time.
    pub const TIMED_OUT: u8 = 5;
}

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut cli::command(), "fxmsg", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fxmsg: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Send(args) => send::run(args).await,
            Command::Media(args) => calls::media(args).await,
            Command::Revoke(args) => calls::revoke(args).await,
            Command::Token(args) => calls::token(args).await,
            Command::Users(args) => calls::users(args).await,
            Command::Departments(args) => calls::departments(args).await,
            Command::Events(args) => watch::events(args).await,
            Command::Wait(args) => watch::wait(args).await,
            Command::Backup(args) => serve::backup(args).await,
            Command::Completions { .. } => unreachable!("handled before the runtime starts"),
        }
    })
}
