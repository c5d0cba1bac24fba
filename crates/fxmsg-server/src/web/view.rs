//! What a message looks like to the employee, as plain data for the templates: every string
//! stays text (the templates escape it), and a link is clickable only when it is http(s).

use fxmsg_api::message::{ArticleKind, Content};
use fxmsg_api::native::Message;

/// A link as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// `http://` or `https://`: a link that opens in a new tab.
    Web(String),
    /// `fs://…`: an address inside the Fxiaoke app, shown but not followed.
    Internal(String),
    /// Anything else (`javascript:`, `data:`, a typo): shown as text, never clickable.
    Inert(String),
}

impl Link {
    /// Sorts `url` by what may be done with it.
    pub fn of(url: &str) -> Link {
        let url = url.trim();
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https") if url.contains("://") => Link::Web(url.to_owned()),
            Some("fs") => Link::Internal(url.to_owned()),
            _ => Link::Inert(url.to_owned()),
        }
    }

    /// The address to put in `href`, for a web link only.
    pub fn href(&self) -> Option<&str> {
        match self {
            Link::Web(url) => Some(url),
            _ => None,
        }
    }

    /// The address as text.
    pub fn text(&self) -> &str {
        match self {
            Link::Web(url) | Link::Internal(url) | Link::Inert(url) => url,
        }
    }

    /// Whether it is an `fs://` link.
    pub fn is_internal(&self) -> bool {
        matches!(self, Link::Internal(_))
    }
}

/// One `form[]` row of a card.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub value: String,
}

/// One image-text entry.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub title: String,
    pub author: Option<String>,
    pub description: Option<String>,
    /// Where the page loads the cover from (this server's media route for the viewer).
    pub cover: String,
    /// A `TEXT` article's body.
    pub body: Option<String>,
    /// Show the cover inside the body too.
    pub cover_in_body: bool,
    /// A `URL` article's link.
    pub link: Option<Link>,
}

/// A message's content as the employee sees it.
#[derive(Debug, Clone)]
pub enum View {
    /// A chat bubble; line breaks are kept by the style sheet.
    Text(String),
    /// A composite card.
    Card {
        head: String,
        first: Option<String>,
        rows: Vec<Row>,
        remark: Option<String>,
        link_title: String,
        link: Link,
    },
    /// Image-text articles.
    Articles(Vec<ArticleView>),
    /// Content that no longer parses (never written by fxmsg; shown raw rather than lost).
    Raw(String),
}

impl View {
    /// The view of `message`; `cover` turns a cover's `mediaId` into the URL the viewer may load.
    pub fn of(message: &Message, cover: impl Fn(&str) -> String) -> View {
        match Content::parse(&message.msg_type, Some(&message.content)) {
            Ok(Content::Text { content }) => View::Text(content),
            Ok(Content::Composite(c)) => View::Card {
                head: c.head_title,
                first: c.first_content,
                rows: c
                    .form
                    .into_iter()
                    .map(|r| Row {
                        label: r.label.unwrap_or_default(),
                        value: r.value.unwrap_or_default(),
                    })
                    .collect(),
                remark: c.remark_content,
                link_title: c.link_title,
                link: Link::of(&c.link_url),
            },
            Ok(Content::Articles(items)) => View::Articles(
                items
                    .into_iter()
                    .map(|a| {
                        let (body, link) = match a.kind {
                            ArticleKind::Text => (Some(a.content), None),
                            ArticleKind::Url => (None, Some(Link::of(&a.content))),
                        };
                        ArticleView {
                            title: a.title,
                            author: a.author,
                            description: a.description,
                            cover: cover(&a.cover_image),
                            body,
                            cover_in_body: a.cover_image_in_content,
                            link,
                        }
                    })
                    .collect(),
            ),
            Err(_) => View::Raw(message.content.to_string()),
        }
    }

    /// One line for a listing.
    pub fn summary(&self) -> String {
        let text = match self {
            View::Text(t) => t.clone(),
            View::Card { head, .. } => head.clone(),
            View::Articles(items) => items.first().map(|a| a.title.clone()).unwrap_or_default(),
            View::Raw(raw) => raw.clone(),
        };
        let line = text.lines().next().unwrap_or_default();
        match line.char_indices().nth(80) {
            Some((at, _)) => format!("{}…", &line[..at]),
            None => line.to_owned(),
        }
    }
}

/// A time as the pages show it: UTC, to the second.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_clickable() {
        assert_eq!(
            Link::of("https://a.example/x").href(),
            Some("https://a.example/x")
        );
        assert_eq!(
            Link::of(" HTTP://a.example").href(),
            Some("HTTP://a.example")
        );
        for inert in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "//evil.example",
            "http:alert",
            "vbscript:x",
        ] {
            assert_eq!(Link::of(inert).href(), None, "{inert}");
        }
        let internal = Link::of("fs://crm/opportunity/1");
        assert!(internal.is_internal() && internal.href().is_none());
    }

    #[test]
    fn a_summary_is_the_first_line_cut_at_80_characters() {
        assert_eq!(View::Text("one\ntwo".into()).summary(), "one");
        let long = "字".repeat(100);
        assert_eq!(View::Text(long).summary().chars().count(), 81);
    }
}
