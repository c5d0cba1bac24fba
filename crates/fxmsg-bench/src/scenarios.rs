//! The scenarios, each against a server set up the way an integrator would: a corp, an app, a
//! service account, 500 employees and an uploaded cover image.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fxmsg_client::admin::AdminClient;
use fxmsg_client::{Client, Credentials, MediaKind};
use serde_json::json;

use crate::helpers::ADMIN_TOKEN;
use crate::load::MakeRequest;
use crate::procs::Helper;
use crate::wrk::Target;

/// Employees of the benchmark corp: employee numbers 1000..1500.
pub const EMPLOYEES: usize = 500;

/// What the scenarios need to build requests.
pub struct Setup {
    pub url: String,
    pub corp_id: String,
    pub token: String,
    pub ea: String,
    pub cover: String,
    pub service_id: String,
}

/// A 1×1 PNG padded to `size` bytes.
pub fn png(size: usize) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.resize(size, 0x42);
    bytes
}

/// Creates the directory the scenarios use, through the native API.
pub async fn set_up(url: &str, employees: usize) -> Setup {
    let admin = AdminClient::new(url, ADMIN_TOKEN);
    let corp = admin
        .create_corp("Bench Corp", "bench")
        .await
        .expect("create corp");
    let app = admin
        .create_app(&corp.corp_id, "Bench App")
        .await
        .expect("create app");
    let service = admin
        .create_service_account(&corp.corp_id, "Bench Notices")
        .await
        .expect("create service");
    let ids: Vec<String> = (0..employees).map(|i| (1000 + i).to_string()).collect();
    for chunk in ids.chunks(50) {
        let created = futures_util::future::join_all(
            chunk
                .iter()
                .map(|id| admin.create_employee(&corp.corp_id, id, Some(id))),
        )
        .await;
        created
            .into_iter()
            .for_each(|r| drop(r.expect("create employee")));
    }
    let client = Client::builder(url)
        .credentials(Credentials::new(
            &app.app.app_id,
            &app.app_secret,
            &app.permanent_code,
        ))
        .build()
        .expect("a client");
    let cover = client
        .upload_bytes(
            MediaKind::MessageImage,
            "cover.png",
            Bytes::from(png(20_000)),
        )
        .await
        .expect("upload cover");
    Setup {
        url: url.into(),
        corp_id: corp.corp_id.clone(),
        token: client.access_token().await.expect("a token"),
        ea: corp.ea,
        cover,
        service_id: service.service_id,
    }
}

/// A text send to the first `recipients` employees, with a unique thirdTraceId per request.
pub fn send_text(url: &str, setup: Option<&Setup>, recipients: usize) -> MakeRequest {
    send_text_target(url, setup, recipients).make()
}

/// [`send_text`] as a [`Target`], for wrk.
pub fn send_text_target(url: &str, setup: Option<&Setup>, recipients: usize) -> Target {
    let to: Vec<String> = (0..recipients).map(|i| (1000 + i).to_string()).collect();
    let body = json!({"toUser": to, "msgType": "text", "text": {"content": "Build 512 passed"}})
        .to_string();
    compat(url, setup, "/cgi/message/send", body)
}

/// An articles send with the uploaded cover, as the service account.
pub fn send_articles(setup: &Setup) -> MakeRequest {
    let body = json!({"toUser": ["1000"], "msgType": "articles", "serviceId": setup.service_id, "articles": [
        {"title": "Release 1.2", "author": "Ops", "description": "What changed", "coverImage": setup.cover,
         "type": "URL", "content": "https://example.com/1.2"}]});
    compat(
        &setup.url,
        Some(setup),
        "/cgi/app/message/send",
        body.to_string(),
    )
    .make()
}

/// A compat call with the setup's token and ea, if any, and a unique thirdTraceId.
fn compat(url: &str, setup: Option<&Setup>, path: &str, body: String) -> Target {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(s) = setup {
        headers.push(("authorization".into(), format!("Bearer {}", s.token)));
        headers.push(("x-fs-ea".into(), s.ea.clone()));
    }
    Target {
        base: url.to_owned(),
        path: path.to_owned(),
        method: "POST",
        headers,
        body,
    }
}

/// The legacy token endpoint with the benchmark app's credentials.
pub fn token_request(url: &str, credentials: &Credentials) -> MakeRequest {
    let body = Bytes::from(
        json!({"appId": credentials.app_id, "appSecret": credentials.app_secret, "permanentCode": credentials.permanent_code}).to_string(),
    );
    let url = format!("{url}/cgi/corpAccessToken/get/V2");
    Arc::new(move |client, _| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
    })
}

/// The newest 50 messages through the native API.
pub fn list_messages(url: &str) -> MakeRequest {
    let url = format!("{url}/api/v1/messages?limit=50");
    Arc::new(move |client, _| client.get(&url).bearer_auth(ADMIN_TOKEN))
}

/// A multipart upload of `bytes` as a message image.
pub fn upload(setup: &Setup, bytes: Bytes) -> MakeRequest {
    let url = format!("{}/media/upload/message", setup.url);
    let (token, ea) = (format!("Bearer {}", setup.token), setup.ea.clone());
    Arc::new(move |client, _| {
        let part = reqwest::multipart::Part::stream_with_length(bytes.clone(), bytes.len() as u64)
            .file_name("load.png");
        client
            .post(&url)
            .header("authorization", &token)
            .header("x-fs-ea", &ea)
            .multipart(reqwest::multipart::Form::new().part("media", part))
    })
}

/// Credentials of a fresh app on `url` (for the token scenario).
pub async fn app_credentials(url: &str) -> Credentials {
    let admin = AdminClient::new(url, ADMIN_TOKEN);
    let corp = admin
        .create_corp("Token Corp", "tokens")
        .await
        .expect("create corp");
    let app = admin
        .create_app(&corp.corp_id, "Token App")
        .await
        .expect("create app");
    Credentials::new(app.app.app_id, app.app_secret, app.permanent_code)
}

/// Samples a helper's resident memory every 20 ms until stopped; returns the largest reading.
pub fn sample_rss(helper: &Helper) -> (tokio::task::JoinHandle<u64>, Arc<AtomicU64>) {
    let stop = Arc::new(AtomicU64::new(0));
    let pid = helper.pid();
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let mut max = 0;
        while flag.load(Ordering::Relaxed) == 0 {
            max = max.max(crate::procs::rss_of(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        max
    });
    (task, stop)
}
