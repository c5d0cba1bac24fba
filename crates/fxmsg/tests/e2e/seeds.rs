//! Every request example of the five seed pages, sent verbatim.

use serde_json::{json, Value};

use crate::support::{assert_error, assert_success, TestServer, JPEG};

const SEED_000_ARTICLES: &str = r#"{
   "toUser":[
      "TOUSER1",
      "TOUSER2"
   ],
   "msgType":"articles",
   "articles":[
      {
         "title":"This is a title",
         "author":"Author",
         "description":"This is a sample article",
         "coverImage":"mediaId",
         "coverImageInContent":true,
         "type":"TEXT",
         "content":"This is the article content"
      },
      {
         "title":"This is a title",
         "author":"Author",
         "description":"This is a redirect sample",
         "coverImage":"mediaId",
         "type":"URL",
         "content":"www.aaa.com"
      }
   ]
}"#;

const SEED_001_COMPOSITE: &str = r#"{
   "toUser":[
    "TOUSER1",
    "TOUSER2"
   ],
   "msgType":"composite",
   "composite":{
      "head":{
         "title":"Operation Daily Report"
      },
      "first":{
         "content":"Red Packet Data"
      },
      "form":[
         {
            "label":"CRM (Daily Clicks)",
            "value":"100000"
         },
         {
            "label":"Meeting Assistant (Daily Clicks)",
            "value":"200000"
         },
         {
            "label":"CRM (Daily Clicks)",
            "value":"300000"
         },
         {
            "label":"PK Assistant (Daily Clicks)",
            "value":"400000"
         }
      ],
      "remark":{
         "content":"remark"
      },
      "link":{
         "title":"Details",
         "url":"http://www.fxiaoke.com"
      }
   }
}"#;

const SEED_002_TEXT: &str = r#"{
   "toUser":[
      "TOUSER1",
      "TOUSER2"
   ],
   "msgType":"text",
   "text":{
      "content":"This is a text message"
   }
}"#;

/// A server whose demo corp also has the employees the seed examples address.
async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    let corp = &server.demo.corp.corp_id;
    for id in ["TOUSER1", "TOUSER2"] {
        server
            .admin
            .create_employee(corp, id, Some(id))
            .await
            .unwrap();
    }
    server
}

async fn send_verbatim(server: &TestServer, text: &str) -> Value {
    let body: Value = serde_json::from_str(text).unwrap();
    let r = server
        .post_legacy("/cgi/message/send?thirdTraceId=seed", body)
        .await;
    assert_success(&r);
    assert!(r["invalidUsers"].as_array().unwrap().is_empty(), "{r}");
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        detail.deliveries.len(),
        2,
        "both seed recipients get the message"
    );
    r
}

#[tokio::test]
async fn seed_002_text_example_is_delivered_to_both_recipients() {
    let server = seeded().await;
    send_verbatim(&server, SEED_002_TEXT).await;
}

#[tokio::test]
async fn seed_001_composite_example_is_stored_as_sent() {
    let server = seeded().await;
    let r = send_verbatim(&server, SEED_001_COMPOSITE).await;
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    let sent: Value = serde_json::from_str(SEED_001_COMPOSITE).unwrap();
    assert_eq!(detail.message.content, sent["composite"]);
}

#[tokio::test]
async fn seed_000_articles_example_succeeds_with_a_real_media_id() {
    let server = seeded().await;
    let upload = server.upload_jpeg().await;
    let media_id = upload["mediaId"].as_str().unwrap();
    send_verbatim(
        &server,
        &SEED_000_ARTICLES.replace("\"mediaId\"", &format!("\"{media_id}\"")),
    )
    .await;
}

#[tokio::test]
async fn seed_004_upload_example_works_with_query_string_auth() {
    let server = TestServer::start().await;
    // curl -F "media=@test.jpg" "http://HOST/media/upload/message?corpAccessToken=xxx&corpId=xxx"
    let r = server.upload_jpeg().await;
    assert_success(&r);
    assert_eq!(r["mediaId"].as_str().unwrap().len(), 36, "{r}");
}

#[tokio::test]
async fn seed_003_body_revokes_when_sent_where_it_belongs() {
    // Seed 003 is a copy of the revoke page (a known manual error): its body {messageId, serviceId}
    // revokes. Sent to the service-account send endpoint it lacks toUser and is refused clearly.
    let server = TestServer::start().await;
    let sent = server
        .post_legacy(
            "/cgi/app/message/send",
            json!({"serviceId": server.service_id(), "toUser": ["1000"], "msgType": "text", "text": {"content": "hi"}}),
        )
        .await;
    assert_success(&sent);
    let seed = json!({"messageId": sent["messageId"], "serviceId": server.service_id()});
    assert_success(
        &server
            .post_legacy("/cgi/app/message/revoke", seed.clone())
            .await,
    );
    assert_error(
        &server.post_legacy("/cgi/app/message/send", seed).await,
        10015,
        "toUser",
    );
}

#[tokio::test]
async fn the_manuals_download_and_delete_examples_work() {
    let server = TestServer::start().await;
    let upload = server.upload_jpeg().await;
    let id = upload["mediaId"].as_str().unwrap();
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let body = json!({"corpAccessToken": token, "corpId": corp_id, "mediaTypeDesc": "IMAGE", "igonreMediaIdConvert": "true", "mediaId": id});
    let response = server
        .http()
        .post(format!("{}/media/download", server.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), JPEG);
    // The manual's delete example spells the key `media`.
    assert_success(
        &server
            .post_legacy("/media/delete", json!({"media": id}))
            .await,
    );
}
