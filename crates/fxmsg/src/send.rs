//! `fxmsg send text|composite|articles`: flags or a JSON file in, one validated send out.

use std::process::ExitCode;

use fxmsg_client::{Article, Client, Composite, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::calls::check_file;
use crate::cli::{Common, SendArgs, SendKind};
use crate::connection::{finish, Failure};

pub async fn run(args: SendArgs) -> ExitCode {
    let json = args.output.json;
    finish(send(args).await, json)
}

async fn send(args: SendArgs) -> Result<(Value, String), Failure> {
    // Everything that can be checked locally is checked before the client (and any request) exists.
    let (message, covers) = build(args.kind)?;
    for (_, path) in &covers {
        check_file(MediaKind::MessageImage, path).await?;
    }
    let client = args.connection.client()?;
    let message = upload_covers(&client, message, covers).await?;
    let sent = client.send(&message).await?;
    let invalid = if sent.invalid_users.is_empty() {
        "none".into()
    } else {
        sent.invalid_users.join(", ")
    };
    let text = format!("sent {}\ninvalid users: {invalid}", sent.message_id);
    Ok((
        json!({"messageId": sent.message_id, "invalidUsers": sent.invalid_users}),
        text,
    ))
}

/// Covers given as `cover=@path`: (article index, path), uploaded after local validation.
type Covers = Vec<(usize, std::path::PathBuf)>;

fn build(kind: SendKind) -> Result<(SendMessage, Covers), Failure> {
    let mut covers = Vec::new();
    let (common, message) = match kind {
        SendKind::Text { common, content } => {
            let message = match (&common.file, content) {
                (Some(_), _) => None,
                (None, Some(content)) => Some(SendMessage::text(Vec::<String>::new(), content)),
                (None, None) => {
                    return Err(Failure::usage(
                        "text: give the content as an argument, or --file",
                    ))
                }
            };
            (common, message)
        }
        SendKind::Composite {
            common,
            title,
            first,
            rows,
            remark,
            link_title,
            link_url,
        } => {
            let message = if common.file.is_some() {
                None
            } else {
                let need = |v: Option<String>, flag: &str| {
                    v.ok_or_else(|| Failure::usage(format!("composite: --{flag} is required")))
                };
                let mut card = Composite::new(
                    need(title, "title")?,
                    need(link_title, "link-title")?,
                    need(link_url, "link-url")?,
                );
                card.first_content = first;
                card.remark_content = remark;
                for row in rows {
                    let (label, value) = row.split_once('=').ok_or_else(|| {
                        Failure::usage(format!("--row {row:?}: write LABEL=VALUE"))
                    })?;
                    card = card.row(label, value);
                }
                Some(SendMessage::composite(Vec::<String>::new(), card))
            };
            (common, message)
        }
        SendKind::Articles { common, articles } => {
            let message = if common.file.is_some() {
                None
            } else {
                if articles.is_empty() {
                    return Err(Failure::usage(
                        "articles: give at least one --article, or --file",
                    ));
                }
                let mut items = Vec::new();
                for (i, spec) in articles.iter().enumerate() {
                    let (article, cover_file) = parse_article(spec)?;
                    if let Some(path) = cover_file {
                        covers.push((i, path));
                    }
                    items.push(article);
                }
                Some(SendMessage::articles(Vec::<String>::new(), items))
            };
            (common, message)
        }
    };
    let message = match message {
        Some(message) => message,
        None => from_file(&common)?,
    };
    let message = apply_common(message, &common)?;
    // The server's own validation, with covers still unresolved replaced by a placeholder.
    let mut probe = message.clone();
    if let fxmsg_client::Content::Articles(items) = &mut probe.content {
        for (i, _) in &covers {
            items[*i].cover_image = "pending-upload".into();
        }
    }
    SendMessage::parse(&probe.to_json())
        .map_err(|e| Failure::usage(format!("invalid request, not sent: {e}")))?;
    Ok((message, covers))
}

fn from_file(common: &Common) -> Result<SendMessage, Failure> {
    let path = common.file.as_ref().expect("checked by the caller");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut body: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", path.display())))?;
    if body.get("toUser").is_none() && !common.to.is_empty() {
        body["toUser"] = json!(common.to);
    }
    SendMessage::parse(&body).map_err(|e| {
        Failure::usage(format!(
            "invalid request in {}, not sent: {e}",
            path.display()
        ))
    })
}

fn apply_common(mut message: SendMessage, common: &Common) -> Result<SendMessage, Failure> {
    if !common.to.is_empty() {
        message.to_user = common
            .to
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
    }
    if message.to_user.is_empty() {
        return Err(Failure::usage("give at least one recipient with --to"));
    }
    if let Some(service) = &common.service {
        message.service_id = Some(service.clone());
    }
    Ok(message)
}

/// Parses `title=…,cover=…,url=…|text=…[,author=…][,description=…][,cover-in-content=true]`.
fn parse_article(spec: &str) -> Result<(Article, Option<std::path::PathBuf>), Failure> {
    let bad = |why: String| Failure::usage(format!("--article {spec:?}: {why}"));
    let mut fields = std::collections::BTreeMap::new();
    for part in spec.split(',') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} is not key=value")))?;
        fields.insert(key.trim().to_owned(), value.to_owned());
    }
    let mut take = |key: &str| fields.remove(key);
    let title = take("title").ok_or_else(|| bad("title=… is required".into()))?;
    let cover =
        take("cover").ok_or_else(|| bad("cover=MEDIA_ID or cover=@file is required".into()))?;
    let (cover_id, cover_file) = match cover.strip_prefix('@') {
        Some(path) => (String::new(), Some(path.into())),
        None => (cover, None),
    };
    let mut article = match (take("url"), take("text")) {
        (Some(url), None) => Article::url(title, cover_id, url),
        (None, Some(text)) => Article::text(title, cover_id, text),
        _ => return Err(bad("give exactly one of url=… and text=…".into())),
    };
    article.author = take("author");
    article.description = take("description");
    if let Some(show) = take("cover-in-content") {
        article.cover_image_in_content = show
            .parse()
            .map_err(|_| bad("cover-in-content is true or false".into()))?;
    }
    if let Some(unknown) = fields.keys().next() {
        return Err(bad(format!("unknown key {unknown:?}")));
    }
    Ok((article, cover_file))
}

async fn upload_covers(
    client: &Client,
    mut message: SendMessage,
    covers: Covers,
) -> Result<SendMessage, Failure> {
    if let fxmsg_client::Content::Articles(items) = &mut message.content {
        for (i, path) in covers {
            items[i].cover_image = client
                .upload_path(MediaKind::MessageImage, &path, None)
                .await?;
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_specs_parse_into_articles() {
        let (a, cover) = parse_article("title=Release,cover=m1,url=https://x,author=Li").unwrap();
        assert_eq!(
            (
                a.title.as_str(),
                a.cover_image.as_str(),
                a.author.as_deref()
            ),
            ("Release", "m1", Some("Li"))
        );
        assert!(cover.is_none());
        let (a, cover) =
            parse_article("title=T,cover=@c.png,text=body,cover-in-content=true").unwrap();
        assert!(a.cover_image_in_content);
        assert_eq!(cover.unwrap(), std::path::PathBuf::from("c.png"));
        assert!(parse_article("title=T,cover=m,url=a,text=b").is_err());
        assert!(parse_article("title=T,cover=m,url=a,colour=red").is_err());
        assert!(parse_article("cover=m,url=a").is_err());
    }
}
