//! `fxmsg media …`, `fxmsg revoke`, `fxmsg token`, `fxmsg users` and `fxmsg departments`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use fxmsg_client::{Client, MediaKind};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::cli::{
    DepartmentsArgs, MediaArgs, MediaCommand, RevokeArgs, TokenArgs, UploadKind, UsersArgs,
};
use crate::connection::{finish, Failure};

/// Uploads running at once.
const PARALLEL_UPLOADS: usize = 4;

pub async fn media(args: MediaArgs) -> ExitCode {
    let json = args.output.json;
    let result = async {
        match args.command {
            MediaCommand::Upload { kind, files } => {
                let kind = match kind {
                    UploadKind::Message => MediaKind::MessageImage,
                    UploadKind::Image => MediaKind::Image,
                    UploadKind::Document => MediaKind::Document,
                };
                let sizes = check_files(kind, &files).await?;
                upload(&args.connection.client()?, kind, files, sizes).await
            }
            MediaCommand::Download { media_id, output } => {
                let client = args.connection.client()?;
                let path = output.unwrap_or_else(|| PathBuf::from(&media_id));
                let mut file = tokio::fs::File::create(&path).await.map_err(|e| {
                    Failure::usage(format!("cannot create {}: {e}", path.display()))
                })?;
                let written = client.download(&media_id, &mut file).await;
                if written.is_err() {
                    let _ = tokio::fs::remove_file(&path).await;
                }
                let written = written?;
                let text = format!("wrote {written} bytes to {}", path.display());
                Ok((
                    json!({"mediaId": media_id, "path": path, "bytes": written}),
                    text,
                ))
            }
            MediaCommand::Delete { media_id } => {
                args.connection.client()?.delete_media(&media_id).await?;
                Ok((
                    json!({"mediaId": media_id, "deleted": true}),
                    format!("deleted {media_id}"),
                ))
            }
        }
    }
    .await;
    finish(result, json)
}

/// Every file must exist and pass the upload checks before the first byte is sent.
async fn check_files(kind: MediaKind, files: &[PathBuf]) -> Result<Vec<u64>, Failure> {
    let mut sizes = Vec::with_capacity(files.len());
    for path in files {
        sizes.push(check_file(kind, path).await?);
    }
    Ok(sizes)
}

/// One file checked as the upload would be; the error names the file.
pub async fn check_file(kind: MediaKind, path: &std::path::Path) -> Result<u64, Failure> {
    kind.check_path(path)
        .await
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// Uploads with one progress bar per file and one for the total (drawn only on a terminal).
async fn upload(
    client: &Client,
    kind: MediaKind,
    files: Vec<PathBuf>,
    sizes: Vec<u64>,
) -> Result<(Value, String), Failure> {
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec}",
    )
    .expect("a valid template");
    let total = bars.add(
        ProgressBar::new(sizes.iter().sum())
            .with_style(style.clone())
            .with_message("total"),
    );
    let results: Vec<Result<(PathBuf, String), Failure>> =
        stream::iter(files.into_iter().zip(sizes))
            .map(|(path, size)| {
                let bar =
                    bars.insert_before(&total, ProgressBar::new(size).with_style(style.clone()));
                bar.set_message(path.display().to_string());
                let (total, client) = (total.clone(), client.clone());
                async move {
                    let last = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let file_bar = bar.clone();
                    let progress: fxmsg_client::media::Progress = Arc::new(move |sent, _| {
                        let before = last.swap(sent, std::sync::atomic::Ordering::Relaxed);
                        file_bar.set_position(sent);
                        total.inc(sent.saturating_sub(before));
                    });
                    let id = client.upload_path(kind, &path, Some(progress)).await;
                    bar.finish();
                    Ok((path, id?))
                }
            })
            .buffered(PARALLEL_UPLOADS)
            .collect()
            .await;
    total.finish();
    let uploaded: Vec<(PathBuf, String)> = results.into_iter().collect::<Result<_, _>>()?;
    let text = uploaded
        .iter()
        .map(|(p, id)| format!("{id}  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n");
    let value = uploaded
        .iter()
        .map(|(p, id)| json!({"path": p, "mediaId": id}))
        .collect();
    Ok((Value::Array(value), text))
}

pub async fn revoke(args: RevokeArgs) -> ExitCode {
    let json = args.output.json;
    let result = async {
        args.connection
            .client()?
            .revoke(&args.service, &args.message_id)
            .await?;
        Ok((
            json!({"messageId": args.message_id, "revoked": true}),
            format!("revoked {}", args.message_id),
        ))
    }
    .await;
    finish(result, json)
}

pub async fn token(args: TokenArgs) -> ExitCode {
    let json = args.output.json;
    let result = async {
        let token = args.connection.client()?.access_token().await?;
        Ok((json!({"accessToken": token}), token))
    }
    .await;
    finish(result, json)
}

/// `fxmsg users`: the address book's employees, one line each (`--json`: the platform's
/// fields, as a list).
pub async fn users(args: UsersArgs) -> ExitCode {
    let json = args.output.json;
    let result = async {
        let client = args.connection.client()?;
        let users = match (&args.mobile, &args.user) {
            (Some(mobile), _) => client.users_by_mobile(mobile).await?,
            (None, Some(user)) => vec![client.user(user).await?],
            (None, None) => match args.department {
                Some(department) => {
                    client
                        .department_users(department, args.fetch_child)
                        .await?
                }
                None => client.department_users(0, true).await?,
            },
        };
        let text = users
            .iter()
            .map(|u| {
                let departments = u
                    .department_ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                let stopped = if u.is_stop { "  (stopped)" } else { "" };
                format!(
                    "{}  {:>6}  {}  [{departments}]{}{stopped}",
                    u.open_user_id,
                    u.employee_number,
                    u.name,
                    u.mobile
                        .as_deref()
                        .map(|m| format!("  {m}"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        Ok((json!(users), text))
    }
    .await;
    finish(result, json)
}

/// `fxmsg departments`: the tree, each department under its parent.
pub async fn departments(args: DepartmentsArgs) -> ExitCode {
    let json = args.output.json;
    let result = async {
        let departments = args.connection.client()?.departments().await?;
        let mut lines = Vec::new();
        tree(&departments, 0, 0, &mut lines);
        Ok((json!(departments), lines.join("\n")))
    }
    .await;
    finish(result, json)
}

/// Lines for `id` and, indented, everything below it, siblings by order.
fn tree(
    all: &[fxmsg_client::addressbook::DepartmentInfo],
    id: i64,
    depth: usize,
    lines: &mut Vec<String>,
) {
    let Some(d) = all.iter().find(|d| d.id == id) else {
        return;
    };
    let stopped = if d.is_stop { "  (stopped)" } else { "" };
    lines.push(format!(
        "{}{:>4}  {}{stopped}",
        "  ".repeat(depth),
        d.id,
        d.name
    ));
    let mut children: Vec<_> = all
        .iter()
        .filter(|c| c.parent_id == id && c.id != id)
        .collect();
    children.sort_by_key(|c| (c.order, c.id));
    for child in children {
        tree(all, child.id, depth + 1, lines);
    }
}
