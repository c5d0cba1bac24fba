//! `fxmsg`: the single binary. `serve` runs the server; `admin` manages the directory through the
//! native API; `send`, `media`, `revoke` and `token` call the Fxiaoke API through `fxmsg-client`. Glue only: parsing happens in `cli`, work in the library crates.
#![forbid(unsafe_code)]

mod admin;
mod calls;
mod cli;
mod connection;
mod send;
mod serve;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use cli::{Cli, Command};

/// Exit codes: scripts can tell a usage mistake from an API refusal from a network failure.
pub mod exit {
    /// Bad flags or input (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// The server refused the call.
    pub const API: u8 = 3;
    /// The server could not be reached, or its answer not read.
    pub const TRANSPORT: u8 = 4;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
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
            Command::Admin(args) => admin::run(args, cli.json).await,
            Command::Send(args) => send::run(args, cli.json).await,
            Command::Media(args) => calls::media(args, cli.json).await,
            Command::Revoke(args) => calls::revoke(args, cli.json).await,
            Command::Token(args) => calls::token(args, cli.json).await,
        }
    })
}

/// Help and version print as clap renders them; a usage mistake becomes one line that says what is
/// wrong and where to look, with exit code 2.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    eprintln!("fxmsg: {first}; see --help");
    ExitCode::from(exit::USAGE)
}
