//! The send request: parsed once from JSON into typed content, with every limit of the spec.
//!
//! [`SendMessage::parse`] is the single validator. The server runs it on every send; the SDK runs it
//! on what it is about to send, so both refuse the same input with the same code and field name.

use serde_json::{json, Map, Value};

use crate::ErrorCode;

/// At most this many recipients per call.
pub const MAX_RECIPIENTS: usize = 500;
/// At most this many articles per call.
pub const MAX_ARTICLES: usize = 7;
/// Article title limit, in Unicode scalar values.
pub const MAX_TITLE_CHARS: usize = 45;
/// Article author limit, in Unicode scalar values.
pub const MAX_AUTHOR_CHARS: usize = 8;
/// Article description limit, in Unicode scalar values.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// A request field that breaks the contract: which field, why, and the Fxiaoke code for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The most specific Fxiaoke code for the violation.
    pub code: ErrorCode,
    /// JSON path of the field, e.g. `articles[2].title`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub reason: String,
}

impl FieldError {
    /// A violation of `field` answered with `code`.
    pub fn new(code: ErrorCode, field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            code,
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, field, reason)
    }
}

/// A validated message send: recipients plus exactly one kind of content.
#[derive(Debug, Clone, PartialEq)]
pub struct SendMessage {
    /// Recipients, de-duplicated, in request order (1..=500).
    pub to_user: Vec<String>,
    /// The content, whose variant is the `msgType`.
    pub content: Content,
    /// Service account to send as (`/cgi/app/message/send` only).
    pub service_id: Option<String>,
}

/// What a message carries; the variant decides `msgType`.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// `msgType: text`.
    Text {
        /// Non-empty text.
        content: String,
    },
    /// `msgType: composite`.
    Composite(Composite),
    /// `msgType: articles`, 1..=7 items.
    Articles(Vec<Article>),
}

/// A composite card.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Composite {
    /// `head.title`, required.
    pub head_title: String,
    /// `first.content`.
    pub first_content: Option<String>,
    /// `form[]` rows.
    pub form: Vec<FormRow>,
    /// `remark.content`.
    pub remark_content: Option<String>,
    /// `link.title`, required.
    pub link_title: String,
    /// `link.url`, required: `http://`, `https://` or an internal `fs://` link.
    pub link_url: String,
}

/// One `composite.form[]` row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormRow {
    /// Row label.
    pub label: Option<String>,
    /// Row value.
    pub value: Option<String>,
}

/// One image-text entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// ≤ 45 characters, required.
    pub title: String,
    /// ≤ 8 characters.
    pub author: Option<String>,
    /// ≤ 140 characters.
    pub description: Option<String>,
    /// A `mediaId` of the same corp.
    pub cover_image: String,
    /// Show the cover inside a `TEXT` article.
    pub cover_image_in_content: bool,
    /// `TEXT` or `URL`.
    pub kind: ArticleKind,
    /// Body text, or the link for `URL`.
    pub content: String,
}

/// `articles[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleKind {
    /// The article body is `content`.
    Text,
    /// `content` is a link.
    Url,
}

impl ArticleKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleKind::Text => "TEXT",
            ArticleKind::Url => "URL",
        }
    }
}

fn users<I, S>(to: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    to.into_iter().map(Into::into).collect()
}

impl SendMessage {
    /// A text message to `to` (`FSUID_…` ids or employee numbers).
    pub fn text<I: IntoIterator<Item = S>, S: Into<String>>(
        to: I,
        content: impl Into<String>,
    ) -> Self {
        SendMessage {
            to_user: users(to),
            content: Content::Text {
                content: content.into(),
            },
            service_id: None,
        }
    }

    /// A composite card to `to`.
    pub fn composite<I: IntoIterator<Item = S>, S: Into<String>>(to: I, card: Composite) -> Self {
        SendMessage {
            to_user: users(to),
            content: Content::Composite(card),
            service_id: None,
        }
    }

    /// 1..7 image-text articles to `to`.
    pub fn articles<I: IntoIterator<Item = S>, S: Into<String>>(
        to: I,
        articles: Vec<Article>,
    ) -> Self {
        SendMessage {
            to_user: users(to),
            content: Content::Articles(articles),
            service_id: None,
        }
    }

    /// Sends as the service account `service_id` (`/cgi/app/message/send`).
    pub fn as_service(mut self, service_id: impl Into<String>) -> Self {
        self.service_id = Some(service_id.into());
        self
    }
}

impl Composite {
    /// A card with its required head title and click-through link.
    pub fn new(
        head_title: impl Into<String>,
        link_title: impl Into<String>,
        link_url: impl Into<String>,
    ) -> Self {
        Composite {
            head_title: head_title.into(),
            link_title: link_title.into(),
            link_url: link_url.into(),
            ..Composite::default()
        }
    }

    /// Sets `first.content`.
    pub fn first(mut self, content: impl Into<String>) -> Self {
        self.first_content = Some(content.into());
        self
    }

    /// Adds a `form` row.
    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.form.push(FormRow {
            label: Some(label.into()),
            value: Some(value.into()),
        });
        self
    }

    /// Sets `remark.content`.
    pub fn remark(mut self, content: impl Into<String>) -> Self {
        self.remark_content = Some(content.into());
        self
    }
}

impl Article {
    /// An article whose body is `content` (type `TEXT`).
    pub fn text(
        title: impl Into<String>,
        cover_media_id: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Article {
            title: title.into(),
            author: None,
            description: None,
            cover_image: cover_media_id.into(),
            cover_image_in_content: false,
            kind: ArticleKind::Text,
            content: content.into(),
        }
    }

    /// An article that links to `url` (type `URL`).
    pub fn url(
        title: impl Into<String>,
        cover_media_id: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Article {
            kind: ArticleKind::Url,
            ..Article::text(title, cover_media_id, url)
        }
    }

    /// Sets the author (≤ 8 characters).
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Sets the summary (≤ 140 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Shows the cover inside a `TEXT` article.
    pub fn cover_in_content(mut self, show: bool) -> Self {
        self.cover_image_in_content = show;
        self
    }
}

impl Content {
    /// The `msgType` value.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Composite(_) => "composite",
            Content::Articles(_) => "articles",
        }
    }

    /// The `mediaId`s this content refers to.
    pub fn media_ids(&self) -> Vec<&str> {
        match self {
            Content::Articles(items) => items.iter().map(|a| a.cover_image.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

impl SendMessage {
    /// Parses and validates a send request body. Unknown fields are ignored.
    pub fn parse(body: &Value) -> Result<SendMessage, FieldError> {
        let obj = body
            .as_object()
            .ok_or_else(|| FieldError::invalid("body", "must be a JSON object"))?;
        let to_user = parse_to_user(obj.get("toUser"))?;
        let msg_type = match obj.get("msgType") {
            None | Some(Value::Null) => {
                return Err(FieldError::new(
                    ErrorCode::InvalidMsgType,
                    "msgType",
                    "is required: text, composite or articles",
                ))
            }
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                return Err(FieldError::new(
                    ErrorCode::InvalidMsgType,
                    "msgType",
                    "must be a string",
                ))
            }
        };
        let content = Content::parse(msg_type, obj.get(msg_type))?;
        let service_id = optional_str(obj, "serviceId", "serviceId")?;
        Ok(SendMessage {
            to_user,
            content,
            service_id,
        })
    }

    /// The wire form of this message, as `/cgi/message/send` takes it.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("toUser".into(), json!(self.to_user));
        obj.insert("msgType".into(), json!(self.content.msg_type()));
        obj.insert(self.content.msg_type().into(), self.content.to_json());
        if let Some(service_id) = &self.service_id {
            obj.insert("serviceId".into(), json!(service_id));
        }
        Value::Object(obj)
    }
}

impl Content {
    /// Parses and validates the content object of `msg_type` (the value under `text`,
    /// `composite` or `articles`): a request's, or a stored message's normalized content.
    pub fn parse(msg_type: &str, value: Option<&Value>) -> Result<Content, FieldError> {
        match msg_type {
            "text" => parse_text(value),
            "composite" => parse_composite(value).map(Content::Composite),
            "articles" => parse_articles(value).map(Content::Articles),
            other => Err(FieldError::new(
                ErrorCode::UnsupportedMsgType,
                "msgType",
                format!("unsupported value {other:?}: use text, composite or articles"),
            )),
        }
    }

    /// The wire form of the content object (the value under `text`, `composite` or `articles`).
    pub fn to_json(&self) -> Value {
        match self {
            Content::Text { content } => json!({ "content": content }),
            Content::Composite(c) => {
                let mut obj = Map::new();
                obj.insert("head".into(), json!({ "title": c.head_title }));
                if let Some(first) = &c.first_content {
                    obj.insert("first".into(), json!({ "content": first }));
                }
                if !c.form.is_empty() {
                    let rows: Vec<Value> = c
                        .form
                        .iter()
                        .map(|r| {
                            let mut row = Map::new();
                            if let Some(l) = &r.label {
                                row.insert("label".into(), json!(l));
                            }
                            if let Some(v) = &r.value {
                                row.insert("value".into(), json!(v));
                            }
                            Value::Object(row)
                        })
                        .collect();
                    obj.insert("form".into(), Value::Array(rows));
                }
                if let Some(remark) = &c.remark_content {
                    obj.insert("remark".into(), json!({ "content": remark }));
                }
                obj.insert(
                    "link".into(),
                    json!({ "title": c.link_title, "url": c.link_url }),
                );
                Value::Object(obj)
            }
            Content::Articles(items) => Value::Array(items.iter().map(Article::to_json).collect()),
        }
    }
}

impl Article {
    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("title".into(), json!(self.title));
        if let Some(a) = &self.author {
            obj.insert("author".into(), json!(a));
        }
        if let Some(d) = &self.description {
            obj.insert("description".into(), json!(d));
        }
        obj.insert("coverImage".into(), json!(self.cover_image));
        obj.insert(
            "coverImageInContent".into(),
            json!(self.cover_image_in_content),
        );
        obj.insert("type".into(), json!(self.kind.as_str()));
        obj.insert("content".into(), json!(self.content));
        Value::Object(obj)
    }
}

fn parse_to_user(value: Option<&Value>) -> Result<Vec<String>, FieldError> {
    let items = match value {
        None | Some(Value::Null) => {
            return Err(FieldError::new(
                ErrorCode::MissingToUser,
                "toUser",
                "is required: a list of 1..500 employee ids",
            ))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(FieldError::new(
                ErrorCode::InvalidToUser,
                "toUser",
                "must be a list of strings",
            ))
        }
    };
    if items.is_empty() {
        return Err(FieldError::new(
            ErrorCode::MissingToUser,
            "toUser",
            "must name at least 1 recipient",
        ));
    }
    if items.len() > MAX_RECIPIENTS {
        return Err(FieldError::new(
            ErrorCode::InvalidToUser,
            "toUser",
            format!("at most {MAX_RECIPIENTS} recipients, got {}", items.len()),
        ));
    }
    let mut users: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(str::trim) {
            Some(id) if !id.is_empty() => {
                if !users.iter().any(|u| u == id) {
                    users.push(id.to_owned());
                }
            }
            _ => {
                return Err(FieldError::new(
                    ErrorCode::InvalidToUser,
                    format!("toUser[{i}]"),
                    "must be a non-empty string",
                ))
            }
        }
    }
    Ok(users)
}

fn parse_text(value: Option<&Value>) -> Result<Content, FieldError> {
    let obj = match value {
        None | Some(Value::Null) => {
            return Err(FieldError::new(
                ErrorCode::EmptyTextContent,
                "text",
                "is required for msgType text",
            ))
        }
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            return Err(FieldError::invalid(
                "text",
                "must be an object with a content string",
            ))
        }
    };
    match obj.get("content") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Content::Text { content: s.clone() }),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(FieldError::new(
            ErrorCode::EmptyTextContent,
            "text.content",
            "must not be empty",
        )),
        Some(_) => Err(FieldError::invalid("text.content", "must be a string")),
    }
}

fn parse_composite(value: Option<&Value>) -> Result<Composite, FieldError> {
    let obj = object(value, "composite", true)?.expect("required object");
    let head = object(obj.get("head"), "composite.head", true)?.expect("required object");
    let head_title = required_str(head, "title", "composite.head.title")?;
    let first_content = match object(obj.get("first"), "composite.first", false)? {
        Some(first) => optional_str(first, "content", "composite.first.content")?,
        None => None,
    };
    let remark_content = match object(obj.get("remark"), "composite.remark", false)? {
        Some(remark) => optional_str(remark, "content", "composite.remark.content")?,
        None => None,
    };
    let form = match obj.get("form") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let field = format!("composite.form[{i}]");
                let row = object(Some(row), &field, true)?.expect("required object");
                Ok(FormRow {
                    label: optional_str(row, "label", &format!("{field}.label"))?,
                    value: optional_str(row, "value", &format!("{field}.value"))?,
                })
            })
            .collect::<Result<_, FieldError>>()?,
        Some(_) => {
            return Err(FieldError::invalid(
                "composite.form",
                "must be a list of {label, value} rows",
            ))
        }
    };
    let link = object(obj.get("link"), "composite.link", true)?.expect("required object");
    let link_title = required_str(link, "title", "composite.link.title")?;
    let link_url = required_str(link, "url", "composite.link.url")?;
    if !["http://", "https://", "fs://"]
        .iter()
        .any(|p| link_url.starts_with(p))
    {
        return Err(FieldError::invalid(
            "composite.link.url",
            "must start with http://, https:// or fs:// (an internal Fxiaoke link)",
        ));
    }
    Ok(Composite {
        head_title,
        first_content,
        form,
        remark_content,
        link_title,
        link_url,
    })
}

fn parse_articles(value: Option<&Value>) -> Result<Vec<Article>, FieldError> {
    let items = match value {
        None | Some(Value::Null) => {
            return Err(FieldError::invalid(
                "articles",
                "is required for msgType articles",
            ))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(FieldError::invalid(
                "articles",
                "must be a list of 1..7 articles",
            ))
        }
    };
    if items.is_empty() || items.len() > MAX_ARTICLES {
        return Err(FieldError::invalid(
            "articles",
            format!("must hold 1..{MAX_ARTICLES} articles, got {}", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_article(i, item))
        .collect()
}

fn parse_article(i: usize, item: &Value) -> Result<Article, FieldError> {
    let at = |name: &str| format!("articles[{i}].{name}");
    let obj = object(Some(item), &format!("articles[{i}]"), true)?.expect("required object");
    let title = required_str(obj, "title", &at("title"))?;
    check_chars(&title, MAX_TITLE_CHARS, &at("title"))?;
    let author = optional_str(obj, "author", &at("author"))?;
    if let Some(a) = &author {
        check_chars(a, MAX_AUTHOR_CHARS, &at("author"))?;
    }
    let description = optional_str(obj, "description", &at("description"))?;
    if let Some(d) = &description {
        check_chars(d, MAX_DESCRIPTION_CHARS, &at("description"))?;
    }
    let cover_image = required_str(obj, "coverImage", &at("coverImage"))?;
    let cover_image_in_content = match obj.get("coverImageInContent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // The manual's own examples send booleans as strings elsewhere; accept that spelling too.
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => {
            return Err(FieldError::invalid(
                at("coverImageInContent"),
                "must be true or false",
            ))
        }
    };
    let kind = match required_str(obj, "type", &at("type"))?.as_str() {
        "TEXT" => ArticleKind::Text,
        "URL" => ArticleKind::Url,
        other => {
            return Err(FieldError::invalid(
                at("type"),
                format!("must be TEXT or URL, got {other:?}"),
            ))
        }
    };
    let content = required_str(obj, "content", &at("content"))?;
    Ok(Article {
        title,
        author,
        description,
        cover_image,
        cover_image_in_content,
        kind,
        content,
    })
}

fn check_chars(value: &str, max: usize, field: &str) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n > max {
        return Err(FieldError::invalid(
            field,
            format!("at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

fn object<'a>(
    value: Option<&'a Value>,
    field: &str,
    required: bool,
) -> Result<Option<&'a Map<String, Value>>, FieldError> {
    match value {
        Some(Value::Object(obj)) => Ok(Some(obj)),
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(FieldError::invalid(field, "is required")),
        Some(_) => Err(FieldError::invalid(field, "must be an object")),
    }
}

fn required_str(obj: &Map<String, Value>, key: &str, field: &str) -> Result<String, FieldError> {
    match optional_str(obj, key, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(FieldError::invalid(
            field,
            "is required and must not be empty",
        )),
    }
}

fn optional_str(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FieldError::invalid(field, "must be a string")),
    }
}

#[cfg(test)]
mod tests;
