//! A test server and helpers shared by every end-to-end test.

use std::path::PathBuf;

use fxmsg_client::admin::AdminClient;
use fxmsg_client::native::{AppCredentials, Corp, Employee};
use fxmsg_client::{AuthStyle, Client, Credentials, RetryPolicy};
use fxmsg_server::{Config, Demo, ManualClock};
use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A 1×1 PNG.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
/// The start of a JPEG.
pub const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9";

/// The testkit's server, with the fields the tests read directly.
pub struct TestServer {
    pub url: String,
    pub clock: ManualClock,
    pub demo: Demo,
    pub admin: AdminClient,
    pub data_dir: PathBuf,
    http: reqwest::Client,
    inner: fxmsg_testkit::TestServer,
    /// The server's PostgreSQL database, when the suite runs on one; dropped after the server.
    _database: Option<fxmsg_store_postgres::testing::TempDatabase>,
}

/// Whether the suite runs its servers on PostgreSQL (`FXMSG_E2E_DATABASE=postgres`), each on a
/// new database, instead of SQLite in their data directories.
pub fn on_postgres() -> bool {
    std::env::var("FXMSG_E2E_DATABASE").is_ok_and(|d| d == "postgres")
}

/// Another corp with its own app and one employee.
pub struct OtherCorp {
    pub corp: Corp,
    pub app: AppCredentials,
    pub employee: Employee,
}

impl OtherCorp {
    /// An SDK client for this corp's app on `server`; retries off.
    pub fn client(&self, server: &TestServer) -> Client {
        Client::builder(&server.url)
            .credentials(Credentials::new(
                &self.app.app.app_id,
                &self.app.app_secret,
                &self.app.permanent_code,
            ))
            .retry(RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            })
            .build()
            .unwrap()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// The testkit's server after `adjust`; the admin token is [`ADMIN_TOKEN`], the test clock
    /// endpoint is off unless `adjust` turns it on.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let database = match on_postgres() {
            true => Some(fxmsg_store_postgres::testing::TempDatabase::new().await),
            false => None,
        };
        let inner = fxmsg_testkit::TestServer::start_with(|config| {
            config.admin_token = Some(ADMIN_TOKEN.into());
            config.test_clock = false;
            if let Some(database) = &database {
                config.database = Some(database.url().parse().unwrap());
            }
            adjust(config);
        })
        .await;
        TestServer {
            url: inner.url().to_owned(),
            clock: inner.clock().clone(),
            demo: inner.demo().clone(),
            admin: inner.admin().clone(),
            data_dir: inner.data_dir().to_owned(),
            http: reqwest::Client::new(),
            inner,
            _database: database,
        }
    }

    /// The PostgreSQL database the server runs on, if it does.
    pub fn database_url(&self) -> Option<&str> {
        self._database.as_ref().map(|d| d.url())
    }

    /// Asks the server to shut down gracefully and waits for it.
    pub async fn stop(self) {
        self.inner.stop().await;
    }

    pub fn credentials(&self) -> Credentials {
        let app = &self.demo.app;
        Credentials::new(&app.app.app_id, &app.app_secret, &app.permanent_code)
    }

    /// An SDK client for the demo app; retries off so a test sees the first answer.
    pub fn client(&self, style: AuthStyle) -> Client {
        self.client_with(self.credentials(), style)
    }

    /// An SDK client for any app's credentials; retries off.
    pub fn client_with(&self, credentials: Credentials, style: AuthStyle) -> Client {
        Client::builder(&self.url)
            .credentials(credentials)
            .auth_style(style)
            .retry(RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            })
            .build()
            .unwrap()
    }

    pub fn employee(&self, i: usize) -> &Employee {
        &self.demo.employees[i]
    }

    pub fn service_id(&self) -> &str {
        &self.demo.service_account.service_id
    }

    pub async fn other_corp(&self, ea: &str) -> OtherCorp {
        let corp = self.admin.create_corp("Other", ea).await.unwrap();
        let app = self
            .admin
            .create_app(&corp.corp_id, "Other App")
            .await
            .unwrap();
        let employee = self
            .admin
            .create_employee(&corp.corp_id, "Olly", None)
            .await
            .unwrap();
        OtherCorp {
            corp,
            app,
            employee,
        }
    }

    /// POSTs a raw JSON body and returns the raw JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        self.post_bytes(path, body.to_string().into_bytes()).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "compat routes answer 200");
        response.json().await.unwrap()
    }

    /// A legacy corp token for `app` (defaults to the demo app): (token, corpId).
    pub async fn legacy_token_for(&self, app: &AppCredentials) -> (String, String) {
        let r = self
            .post(
                "/cgi/corpAccessToken/get/V2",
                &json!({"appId": app.app.app_id, "appSecret": app.app_secret, "permanentCode": app.permanent_code}),
            )
            .await;
        assert_eq!(r["errorCode"], 0, "{r}");
        (
            r["corpAccessToken"].as_str().unwrap().into(),
            r["corpId"].as_str().unwrap().into(),
        )
    }

    /// POSTs `body` with the demo app's legacy credentials added to it.
    pub async fn post_legacy(&self, path: &str, body: Value) -> Value {
        let app = self.demo.app.clone();
        self.post_legacy_as(&app, path, body).await
    }

    pub async fn post_legacy_as(&self, app: &AppCredentials, path: &str, mut body: Value) -> Value {
        let (token, corp_id) = self.legacy_token_for(app).await;
        body["corpAccessToken"] = json!(token);
        body["corpId"] = json!(corp_id);
        self.post(path, &body).await
    }

    /// Uploads `bytes` as multipart field `media` with legacy query-string auth, like the manual's curl.
    pub async fn upload_raw(
        &self,
        path_and_query: &str,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Value {
        let app = self.demo.app.clone();
        self.upload_raw_as(&app, path_and_query, file_name, mime, bytes)
            .await
    }

    /// [`TestServer::upload_raw`] as `app`.
    pub async fn upload_raw_as(
        &self,
        app: &AppCredentials,
        path_and_query: &str,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Value {
        let (token, corp_id) = self.legacy_token_for(app).await;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap();
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let response = self
            .http
            .post(format!(
                "{}{path_and_query}{sep}corpAccessToken={token}&corpId={corp_id}",
                self.url
            ))
            .multipart(reqwest::multipart::Form::new().part("media", part))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// POSTs `body` with the new auth style: a bearer token and, when given, `x-fs-ea`.
    pub async fn post_bearer(
        &self,
        path: &str,
        token: &str,
        ea: Option<&str>,
        body: &Value,
    ) -> Value {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body);
        if let Some(ea) = ea {
            request = request.header("x-fs-ea", ea);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Uploads the test JPEG as a message image, the way the manual's curl example does.
    pub async fn upload_jpeg(&self) -> Value {
        self.upload_raw(
            "/media/upload/message",
            "test.jpg",
            "image/jpeg",
            JPEG.to_vec(),
        )
        .await
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET path`, with `token` as a bearer token when given; the raw response.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Files under the media directory (finished or staged).
    pub fn media_files(&self) -> usize {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
        }
        count(&self.data_dir.join("media"))
    }

    /// Total messages stored, across corps.
    pub async fn message_count(&self) -> usize {
        count_messages(&self.admin).await
    }

    /// `POST /media/download` with legacy credentials in the body; the raw response.
    pub async fn download_legacy(
        &self,
        token: &str,
        corp_id: &str,
        media_id: &Value,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/media/download", self.url))
            .json(&json!({"corpAccessToken": token, "corpId": corp_id, "mediaId": media_id}))
            .send()
            .await
            .unwrap()
    }
}

/// Total messages a server stores, across corps, page by page.
pub async fn count_messages(admin: &AdminClient) -> usize {
    let mut total = 0;
    let mut cursor = None;
    loop {
        let query = fxmsg_client::admin::MessageQuery {
            cursor,
            limit: Some(500),
            ..Default::default()
        };
        let page = admin.list_messages(&query).await.unwrap();
        total += page.items.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return total,
        }
    }
}

/// Asserts the documented success envelope.
pub fn assert_success(r: &Value) {
    assert_eq!(r["errorCode"], 0, "{r}");
    assert_eq!(r["errorMessage"], "OK", "{r}");
    assert_eq!(r["errorDescription"], "success", "{r}");
    assert!(
        r["traceId"].as_str().is_some_and(|t| t.starts_with("E-O.")),
        "{r}"
    );
}

/// Asserts an error envelope with `code` whose description mentions `needle`.
pub fn assert_error(r: &Value, code: i64, needle: &str) {
    assert_eq!(r["errorCode"], code, "{r}");
    let description = r["errorDescription"].as_str().unwrap_or_default();
    assert!(description.contains(needle), "expected {needle:?} in {r}");
    assert!(r["traceId"].as_str().is_some_and(|t| !t.is_empty()), "{r}");
}

/// Starts the real binary, `fxmsg serve --data-dir DATA_DIR ARGS` with `ENV` added (and the admin
/// token), and reads its banner: (child, base URL, banner lines). Its log goes to
/// `DATA_DIR/serve.stderr`.
pub fn serve_process(
    data_dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // So that a start that fails can say why.
    std::fs::create_dir_all(data_dir).unwrap();
    let log = data_dir.join("serve.stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxmsg"))
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env("FXMSG_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(Ok(first)) = lines.next() else {
        let _ = child.wait();
        panic!(
            "fxmsg serve did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let url = first.split_whitespace().nth(3).unwrap().to_owned();
    // The banner ends with the curl snippet when a demo was created, else right after the first line.
    let mut banner = vec![first];
    if data_dir.join(".seen").exists() {
        return (child, url, banner);
    }
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("curl ");
        banner.push(line);
        if done {
            break;
        }
    }
    std::fs::write(data_dir.join(".seen"), "").unwrap();
    (child, url, banner)
}

/// The demo app's credentials, as the first start's banner prints them.
pub fn demo_credentials(banner: &[String]) -> Credentials {
    Credentials::new(
        banner_field(banner, "appId: "),
        banner_field(banner, "appSecret: "),
        banner_field(banner, "permanentCode: "),
    )
}

fn banner_field<'a>(banner: &'a [String], key: &str) -> &'a str {
    banner
        .iter()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("{key} in {banner:?}"))
}
