//! Memory under hostile load: many clients stalled inside 2 MB JSON bodies, many uploads at the
//! document limit at once. Each phase runs on a fresh server, so its peak resident memory
//! (`VmHWM`) is the phase's own, and is compared with the same server's memory at rest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::procs::Helper;
use crate::report::Row;
use crate::scenarios;

/// Bytes of a JSON body at the platform's limit (2 MiB), less a little.
const STALLED_BODY: usize = 2_000_000;
/// The document size limit.
const DOCUMENT: usize = 20 * 1024 * 1024;

/// How many clients each phase runs.
pub struct Plan {
    pub stalled: usize,
    pub uploads: usize,
}

pub const PLAN: Plan = Plan {
    stalled: 600,
    uploads: 100,
};

pub const SMOKE_PLAN: Plan = Plan {
    stalled: 60,
    uploads: 10,
};

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Runs both phases, adds their rows, and says whether every upload succeeded.
pub async fn memory(plan: &Plan, dir: &impl Fn(&str) -> PathBuf, rows: &mut Vec<Row>) -> bool {
    let stalled = stalled_bodies(plan.stalled, &dir("hostile-json")).await;
    let (uploaded, at_rest, peak) = uploads(plan.uploads, &dir("hostile-upload")).await;
    rows.push(
        Row::plain(
            format!(
                "peak RSS, {} clients stalled inside 2 MB JSON bodies",
                plan.stalled
            ),
            mb(stalled.1),
            "MB",
        )
        .against("at rest", mb(stalled.0))
        .target("≤ at rest + 128 MB", stalled.1 <= stalled.0 + 128_000_000),
    );
    rows.push(
        Row::plain(
            format!("peak RSS, {} concurrent 20 MB uploads", plan.uploads),
            mb(peak),
            "MB",
        )
        .against("at rest", mb(at_rest))
        .target("≤ at rest + 128 MB", peak <= at_rest + 128_000_000),
    );
    if uploaded < plan.uploads {
        eprintln!(
            "hostile memory: {uploaded} of {} uploads succeeded",
            plan.uploads
        );
    }
    uploaded == plan.uploads
}

/// (RSS at rest, peak RSS) while `clients` connections each declare a 2 MB JSON body, send
/// nearly all of it and stall, unauthenticated.
async fn stalled_bodies(clients: usize, dir: &Path) -> (u64, u64) {
    let server = Helper::spawn(&["serve-fxmsg"], Some(dir));
    let addr = server.url.trim_start_matches("http://").to_owned();
    let at_rest = server.rss();
    let head = format!(
        "POST /cgi/message/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{\"text\":\"",
        STALLED_BODY
    );
    let body = Bytes::from(vec![b'x'; STALLED_BODY - 100]);
    let (done, _) = tokio::sync::watch::channel(());
    let mut tasks = tokio::task::JoinSet::new();
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel(clients);
    for _ in 0..clients {
        let (addr, head, body, sent) = (addr.clone(), head.clone(), body.clone(), sent_tx.clone());
        let mut done = done.subscribe();
        tasks.spawn(async move {
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                let _ = sent.send(()).await;
                return;
            };
            // A server that takes no more simply stops reading: the kernel's buffers fill and
            // the write waits. Either way the client then holds the connection.
            let _ = tokio::time::timeout(Duration::from_secs(3), async {
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await
            })
            .await;
            let _ = sent.send(()).await;
            drop(sent);
            let _ = done.changed().await;
        });
    }
    for _ in 0..clients {
        sent_rx.recv().await;
    }
    let peak = server.peak_rss();
    drop(done);
    while tasks.join_next().await.is_some() {}
    (at_rest, peak)
}

/// (successful uploads, RSS at rest, peak RSS) for `count` 20 MB documents uploaded at once.
async fn uploads(count: usize, dir: &Path) -> (usize, u64, u64) {
    let server = Helper::spawn(&["serve-fxmsg"], Some(dir));
    let setup = scenarios::set_up(&server.url, 1).await;
    let at_rest = server.rss();
    let file = Bytes::from(vec![b'%'; DOCUMENT]);
    let client = reqwest::Client::new();
    let url = format!("{}/media/upload?type=document", setup.url);
    let sends = (0..count).map(|_| {
        let part = reqwest::multipart::Part::stream_with_length(file.clone(), file.len() as u64)
            .file_name("big.pdf")
            .mime_str("application/pdf")
            .expect("a mime type");
        client
            .post(&url)
            .bearer_auth(&setup.token)
            .header("x-fs-ea", &setup.ea)
            .multipart(reqwest::multipart::Form::new().part("media", part))
            .send()
    });
    let mut ok = 0;
    for answer in futures_util::future::join_all(sends).await {
        let Ok(answer) = answer else { continue };
        let Ok(body) = answer.json::<serde_json::Value>().await else {
            continue;
        };
        if body["errorCode"] == 0 {
            ok += 1;
        } else {
            eprintln!("upload: {body}");
        }
    }
    (ok, at_rest, server.peak_rss())
}
