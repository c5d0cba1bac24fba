use serde_json::json;

use super::*;

fn articles_with(article: Value) -> Value {
    json!({"toUser": ["u1"], "msgType": "articles", "articles": [article]})
}

fn article() -> Value {
    json!({"title": "t", "coverImage": "m", "type": "TEXT", "content": "c"})
}

fn err(body: Value) -> FieldError {
    SendMessage::parse(&body).expect_err("should be refused")
}

#[test]
fn the_seed_text_example_parses() {
    let body = json!({"toUser":["TOUSER1","TOUSER2"],"msgType":"text","text":{"content":"This is a text message"}});
    let msg = SendMessage::parse(&body).unwrap();
    assert_eq!(msg.to_user, ["TOUSER1", "TOUSER2"]);
    assert_eq!(
        msg.content,
        Content::Text {
            content: "This is a text message".into()
        }
    );
    assert_eq!(SendMessage::parse(&msg.to_json()).unwrap(), msg);
}

#[test]
fn recipients_are_limited_to_1_through_500() {
    let users = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    let body = |n| json!({"toUser": users(n), "msgType": "text", "text": {"content": "x"}});
    assert_eq!(SendMessage::parse(&body(500)).unwrap().to_user.len(), 500);
    let e = err(body(501));
    assert_eq!(
        (e.code, e.field.as_str()),
        (ErrorCode::InvalidToUser, "toUser")
    );
    assert!(e.reason.contains("501"), "{e}");
    assert_eq!(err(body(0)).code, ErrorCode::MissingToUser);
    assert_eq!(
        err(json!({"msgType": "text", "text": {"content": "x"}})).code,
        ErrorCode::MissingToUser
    );
    assert_eq!(SendMessage::parse(&body(1)).unwrap().to_user.len(), 1);
}

#[test]
fn non_string_recipients_are_named_by_index() {
    let e = err(json!({"toUser": ["a", 7], "msgType": "text", "text": {"content": "x"}}));
    assert_eq!(
        (e.code, e.field.as_str()),
        (ErrorCode::InvalidToUser, "toUser[1]")
    );
    assert_eq!(
        err(json!({"toUser": "a", "msgType": "text"})).code,
        ErrorCode::InvalidToUser
    );
}

#[test]
fn duplicate_recipients_are_delivered_once() {
    let body = json!({"toUser": ["a", "b", "a"], "msgType": "text", "text": {"content": "x"}});
    assert_eq!(SendMessage::parse(&body).unwrap().to_user, ["a", "b"]);
}

#[test]
fn msg_type_must_be_one_of_the_three() {
    assert_eq!(
        err(json!({"toUser": ["a"]})).code,
        ErrorCode::InvalidMsgType
    );
    assert_eq!(
        err(json!({"toUser": ["a"], "msgType": 3})).code,
        ErrorCode::InvalidMsgType
    );
    let e = err(json!({"toUser": ["a"], "msgType": "image"}));
    assert_eq!(e.code, ErrorCode::UnsupportedMsgType);
    assert!(e.reason.contains("image"));
}

#[test]
fn text_content_must_be_present_and_non_empty() {
    let base = |text: Value| json!({"toUser": ["a"], "msgType": "text", "text": text});
    assert_eq!(
        err(base(json!({"content": ""}))).code,
        ErrorCode::EmptyTextContent
    );
    assert_eq!(
        err(base(json!({"content": "  "}))).code,
        ErrorCode::EmptyTextContent
    );
    assert_eq!(err(base(json!({}))).code, ErrorCode::EmptyTextContent);
    assert_eq!(
        err(json!({"toUser": ["a"], "msgType": "text"})).code,
        ErrorCode::EmptyTextContent
    );
    assert_eq!(err(base(json!({"content": 5}))).field, "text.content");
}

#[test]
fn articles_are_limited_to_1_through_7() {
    let body =
        |n: usize| json!({"toUser": ["a"], "msgType": "articles", "articles": vec![article(); n]});
    assert_eq!(
        SendMessage::parse(&body(7))
            .unwrap()
            .content
            .media_ids()
            .len(),
        7
    );
    assert!(SendMessage::parse(&body(1)).is_ok());
    for n in [0, 8] {
        let e = err(body(n));
        assert_eq!(
            (e.code, e.field.as_str()),
            (ErrorCode::InvalidParameter, "articles")
        );
    }
}

#[test]
fn article_lengths_count_unicode_characters_not_bytes() {
    for (field, max) in [
        ("title", MAX_TITLE_CHARS),
        ("author", MAX_AUTHOR_CHARS),
        ("description", MAX_DESCRIPTION_CHARS),
    ] {
        let mut at_limit = article();
        at_limit[field] = json!("消".repeat(max));
        assert!(
            SendMessage::parse(&articles_with(at_limit)).is_ok(),
            "{field} at {max}"
        );
        let mut past = article();
        past[field] = json!("a".repeat(max + 1));
        let e = err(articles_with(past));
        assert_eq!(e.field, format!("articles[0].{field}"));
        assert!(e.reason.contains(&format!("at most {max}")), "{e}");
    }
}

#[test]
fn article_required_fields_and_enums_are_checked() {
    for field in ["title", "coverImage", "type", "content"] {
        let mut a = article();
        a.as_object_mut().unwrap().remove(field);
        assert_eq!(err(articles_with(a)).field, format!("articles[0].{field}"));
    }
    let mut a = article();
    a["type"] = json!("VIDEO");
    assert_eq!(err(articles_with(a)).field, "articles[0].type");
    let mut a = article();
    a["coverImageInContent"] = json!(3);
    assert_eq!(
        err(articles_with(a)).field,
        "articles[0].coverImageInContent"
    );
}

#[test]
fn composite_requires_head_title_and_link() {
    let ok = json!({"head": {"title": "h"}, "link": {"title": "l", "url": "fs://CRM/udobj?{}"}});
    let body = |c: Value| json!({"toUser": ["a"], "msgType": "composite", "composite": c});
    assert!(SendMessage::parse(&body(ok.clone())).is_ok());
    let mut c = ok.clone();
    c["head"] = json!({});
    assert_eq!(err(body(c)).field, "composite.head.title");
    let mut c = ok.clone();
    c.as_object_mut().unwrap().remove("link");
    assert_eq!(err(body(c)).field, "composite.link");
    let mut c = ok.clone();
    c["link"]["url"] = json!("javascript:alert(1)");
    assert_eq!(err(body(c)).field, "composite.link.url");
    let mut c = ok;
    c["form"] = json!([{"label": 1}]);
    assert_eq!(err(body(c)).field, "composite.form[0].label");
}

#[test]
fn composite_round_trips_through_its_wire_form() {
    let body = json!({"toUser":["a"],"msgType":"composite","composite":{
        "head":{"title":"Operation Daily Report"},"first":{"content":"Red Packet Data"},
        "form":[{"label":"CRM","value":"1"}],"remark":{"content":"remark"},
        "link":{"title":"Details","url":"http://www.fxiaoke.com"}}});
    let msg = SendMessage::parse(&body).unwrap();
    assert_eq!(msg.to_json(), body);
}

#[test]
fn a_non_object_body_is_refused() {
    assert_eq!(err(json!([1, 2])).field, "body");
}
