//! `fxmsg serve`: logging, the first-start banner, and the server until SIGINT/SIGTERM.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use fxmsg_server::{shutdown_signal, Bootstrap, Server, SystemClock};

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> ExitCode {
    fxmsg_server::init_logging(args.log_format);
    let (server, boot) = match Server::build(&args.config, Arc::new(SystemClock)).await {
        Ok(built) => built,
        Err(e) => {
            eprintln!("fxmsg: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", server.local_addr());
    let data_dir = args.config.data_dir.display().to_string();
    if args.json {
        // The build read the same file a moment ago.
        let configured = args.config.configured_admin_token().ok().flatten();
        let admin_token = boot.admin_token.as_ref().or(configured.as_ref());
        let started = serde_json::json!({
            "url": base,
            "listen": server.local_addr().to_string(),
            "dataDir": data_dir,
            "adminToken": admin_token,
            "demo": boot.demo,
        });
        print_out(&format!("{started}\n"));
    } else {
        let mut out = String::new();
        banner(&mut out, &base, &data_dir, &boot);
        print_out(&out);
    }
    tracing::info!(addr = %server.local_addr(), "listening");
    match server.run(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fxmsg: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the start's output to stdout at once (a harness reads it before the server stops).
fn print_out(out: &str) {
    // A closed stdout (`fxmsg serve | head`) must not take the server down: ignore write errors.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
}

/// What a newcomer needs, once: secrets created by this start are never shown again.
fn banner(out: &mut String, base: &str, data_dir: &str, boot: &Bootstrap) {
    let _ = writeln!(out, "fxmsg listening on {base} (data in {data_dir})");
    if let Some(token) = &boot.admin_token {
        let _ = writeln!(out, "\nadmin token (shown once; use with `fxmsg admin` or /api/v1):\n  admin_token: {token}");
    }
    let Some(demo) = &boot.demo else { return };
    let _ = writeln!(out, "\nDemo corp created (secrets shown once):");
    let _ = writeln!(out, "  ea: {}", demo.corp.ea);
    let _ = writeln!(out, "  corpId: {}", demo.corp.corp_id);
    let _ = writeln!(out, "  appId: {}", demo.app.app.app_id);
    let _ = writeln!(out, "  appSecret: {}", demo.app.app_secret);
    let _ = writeln!(out, "  permanentCode: {}", demo.app.permanent_code);
    let _ = writeln!(out, "  serviceId: {}", demo.service_account.service_id);
    for e in &demo.employees {
        let _ = writeln!(
            out,
            "  employee: {} {} {}",
            e.user_id, e.open_user_id, e.name
        );
    }
    // The names the CLI, the SDK quick start and the README's walk-throughs read.
    let _ = writeln!(
        out,
        "\nFor the README's walk-throughs, paste into the shell you follow them in:\n"
    );
    let _ = writeln!(out, "export FXMSG_URL={base}");
    if let Some(token) = &boot.admin_token {
        let _ = writeln!(out, "export FXMSG_ADMIN_TOKEN={token}");
    }
    let _ = writeln!(
        out,
        "export FXMSG_APP_ID={} FXMSG_APP_SECRET={} FXMSG_PERMANENT_CODE={}",
        demo.app.app.app_id, demo.app.app_secret, demo.app.permanent_code
    );
    let _ = writeln!(
        out,
        "export CORP_ID={} SERVICE_ID={}",
        demo.corp.corp_id, demo.service_account.service_id
    );
    let _ = writeln!(out,
        "\nSend a text message to employee 1000:\n\n\
TOKEN=$(curl -s -X POST {base}/cgi/corpAccessToken/get/V2 -H 'content-type: application/json' \\\n  \
-d '{{\"appId\":\"{app}\",\"appSecret\":\"{secret}\",\"permanentCode\":\"{code}\"}}' \\\n  \
| sed -E 's/.*\"corpAccessToken\":\"([^\"]+)\".*/\\1/')\n\
curl -s -X POST \"{base}/cgi/message/send?thirdTraceId=$(date +%s%N)\" -H 'content-type: application/json' \\\n  \
-d '{{\"corpAccessToken\":\"'$TOKEN'\",\"corpId\":\"{corp}\",\"toUser\":[\"1000\"],\"msgType\":\"text\",\"text\":{{\"content\":\"Hello from fxmsg\"}}}}'\n",
        app = demo.app.app.app_id,
        secret = demo.app.app_secret,
        code = demo.app.permanent_code,
        corp = demo.corp.corp_id,
    );
}

/// `fxmsg backup`: copies the data directory and says what it copied.
pub async fn backup(args: crate::cli::BackupArgs) -> ExitCode {
    match fxmsg_server::backup::backup(&args.data_dir, &args.dest).await {
        Ok(report) => {
            let out = if args.output.json {
                serde_json::json!({
                    "dest": args.dest.display().to_string(),
                    "databaseBytes": report.database_bytes,
                    "mediaFiles": report.media_files,
                    "mediaBytes": report.media_bytes,
                    "mediaDeletedMeanwhile": report.media_deleted_meanwhile,
                })
                .to_string()
            } else {
                format!(
                    "backed up {} into {}: database {} bytes, {} media files ({} bytes){}\nrestore: fxmsg serve --data-dir {}",
                    args.data_dir.display(),
                    args.dest.display(),
                    report.database_bytes,
                    report.media_files,
                    report.media_bytes,
                    match report.media_deleted_meanwhile {
                        0 => String::new(),
                        n => format!(", {n} deleted while copying"),
                    },
                    args.dest.display(),
                )
            };
            print_out(&format!("{out}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fxmsg: cannot back up: {e}");
            ExitCode::FAILURE
        }
    }
}
