//! [`Client`]: auth styles, the token cache and the retry loop every call goes through.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxmsg_api::envelope::{CorpAccessToken, Empty, OAuthToken, SendResult};
use fxmsg_api::{Envelope, ErrorCode, SendMessage};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::Error;

/// Renew a cached token this long before it expires: inside the 6600–7200 s window, where the
/// server issues a new token instead of repeating the current one.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(600);

/// The app's credentials. `Debug` never shows the secrets.
#[derive(Clone)]
pub struct Credentials {
    /// `FSAID_…`.
    pub app_id: String,
    /// 32 lower hex.
    pub app_secret: String,
    /// 32 upper hex.
    pub permanent_code: String,
}

impl Credentials {
    /// Credentials from their three parts.
    pub fn new(
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
        permanent_code: impl Into<String>,
    ) -> Self {
        Credentials {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            permanent_code: permanent_code.into(),
        }
    }
}

impl From<&fxmsg_api::native::AppCredentials> for Credentials {
    /// The app's credentials as `POST /api/v1/corps/{corpId}/apps` returned them.
    fn from(app: &fxmsg_api::native::AppCredentials) -> Self {
        Credentials::new(&app.app.app_id, &app.app_secret, &app.permanent_code)
    }
}

impl From<&fxmsg_api::native::Sandbox> for Credentials {
    /// The credentials of a sandbox's (or the demo's) app.
    fn from(sandbox: &fxmsg_api::native::Sandbox) -> Self {
        Credentials::from(&sandbox.app)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("permanent_code", &"<redacted>")
            .finish()
    }
}

/// Monotonic time for the token cache, injectable so renewal can be tested without waiting.
pub trait TimeSource: Send + Sync + 'static {
    /// Time elapsed since an arbitrary fixed origin; must never go backwards.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock.
#[derive(Debug)]
struct Monotonic(Instant);

impl TimeSource for Monotonic {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// How calls authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStyle {
    /// `/oauth2.0/token`, then `authorization: Bearer` and `x-fs-ea` headers (the manual's default).
    #[default]
    Bearer,
    /// `/cgi/corpAccessToken/get/V2`, then `corpAccessToken` and `corpId` in the body (or query).
    Legacy,
}

/// Retries of transient failures: exponential backoff with full jitter, bounded by count and time.
///
/// ```
/// use std::time::Duration;
/// let patient = fxmsg_client::RetryPolicy { max_attempts: 6, max_elapsed: Duration::from_secs(60), ..Default::default() };
/// assert!(patient.delay(3) <= patient.max_delay);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// Largest delay between attempts.
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based): a random point in `[0, base·2^retry]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let fraction = (uuid::Uuid::new_v4().as_u128() % 10_000) as f64 / 10_000.0;
        ceiling.mul_f64(fraction)
    }
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    style: AuthStyle,
    retry: RetryPolicy,
    timeout: Duration,
    time: Option<Arc<dyn TimeSource>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("style", &self.style)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ClientBuilder {
    /// The clock the token cache uses (default: the process's monotonic clock).
    pub fn time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = Some(time);
        self
    }

    /// The app's credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Bearer headers (default) or the legacy body fields.
    pub fn auth_style(mut self, style: AuthStyle) -> Self {
        self.style = style;
        self
    }

    /// Retry policy for transient failures.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Timeout of each HTTP request (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client; fails for a base URL that is not an http(s) URL, without credentials,
    /// or if the HTTP stack cannot be set up.
    pub fn build(self) -> Result<Client, Error> {
        let base = crate::error::base_url(&self.base_url)?;
        let credentials = self.credentials.ok_or_else(|| {
            Error::Config("credentials are required: call ClientBuilder::credentials".into())
        })?;
        let http = reqwest::Client::builder().timeout(self.timeout).build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credentials,
                style: self.style,
                retry: self.retry,
                time: self
                    .time
                    .unwrap_or_else(|| Arc::new(Monotonic(Instant::now()))),
                token: Mutex::new(None),
            }),
        })
    }
}

/// A cached token and whom it acts for.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) token: String,
    /// `corpId` (legacy) or `ea` (bearer).
    pub(crate) tenant: String,
    renew_at: Duration,
    expires_at: Duration,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    style: AuthStyle,
    retry: RetryPolicy,
    time: Arc<dyn TimeSource>,
    token: Mutex<Option<Token>>,
}

/// A Fxiaoke message API client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("style", &self.inner.style)
            .finish()
    }
}

impl Client {
    /// Starts configuring a client for `base_url` (`https://open.fxiaoke.com` or an fxmsg address).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: None,
            style: AuthStyle::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            time: None,
        }
    }

    /// Sends a message: validated locally, then posted once with a fresh `thirdTraceId` that every
    /// retry reuses, so a retried send is delivered once. A message with `service_id` goes to
    /// `/cgi/app/message/send`.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// use fxmsg_client::{Article, Composite, SendMessage};
    /// client.send(&SendMessage::text(["1000", "FSUID_0C2A…"], "Build 512 passed")).await?;
    /// let card = Composite::new("Daily report", "Details", "https://example.com").row("Sales", "42");
    /// client.send(&SendMessage::composite(["1000"], card)).await?;
    /// let article = Article::url("Release 1.2", "07e9312c-253a-4c5c-8915-b7e384ae6534", "https://example.com");
    /// let sent = client.send(&SendMessage::articles(["1000"], vec![article]).as_service("FSAID_13145a7")).await?;
    /// println!("{} ({} not delivered)", sent.message_id, sent.invalid_users.len());
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, message: &SendMessage) -> Result<SendResult, Error> {
        let body = message.to_json();
        SendMessage::parse(&body)?;
        let path = if message.service_id.is_some() {
            "/cgi/app/message/send"
        } else {
            "/cgi/message/send"
        };
        self.call(path, body).await
    }

    /// Revokes a message sent earlier, as the service account `service_id`.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// client.revoke("FSAID_13145a7", "3278896a-024f-43b8-947f-eafa59784b72").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, service_id: &str, message_id: &str) -> Result<(), Error> {
        let _: Empty = self
            .call(
                "/cgi/app/message/revoke",
                json!({"serviceId": service_id, "messageId": message_id}),
            )
            .await?;
        Ok(())
    }

    /// A current access token, fetched or renewed if needed.
    pub async fn access_token(&self) -> Result<String, Error> {
        Ok(self.token().await?.token)
    }

    /// Posts any JSON body to `path` with auth and retries, and decodes the success fields.
    /// The escape hatch for endpoints without a typed method.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// let fields: serde_json::Value = client.call("/cgi/some/endpoint", serde_json::json!({"key": 1})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, Error> {
        let trace = uuid::Uuid::new_v4().to_string();
        self.with_auth(|token| {
            let body = body.clone();
            let request = self.authorized(self.post(path, &trace), &token, Some(body));
            async move { decode(request.send().await?).await }
        })
        .await
    }

    pub(crate) fn post(&self, path: &str, trace: &str) -> reqwest::RequestBuilder {
        self.inner
            .http
            .post(format!("{}{path}", self.inner.base))
            .query(&[("thirdTraceId", trace)])
    }

    /// Adds credentials in the configured style: headers, or body fields, or (without a body) the
    /// query string, which is where legacy multipart uploads carry them.
    pub(crate) fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        token: &Token,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        match (self.inner.style, body) {
            (AuthStyle::Bearer, body) => {
                let request = request
                    .bearer_auth(&token.token)
                    .header("x-fs-ea", &token.tenant);
                match body {
                    Some(body) => request.json(&body),
                    None => request,
                }
            }
            (AuthStyle::Legacy, Some(mut body)) => {
                if let Value::Object(obj) = &mut body {
                    obj.insert("corpAccessToken".into(), json!(token.token));
                    obj.insert("corpId".into(), json!(token.tenant));
                }
                request.json(&body)
            }
            (AuthStyle::Legacy, None) => {
                request.query(&[("corpAccessToken", &token.token), ("corpId", &token.tenant)])
            }
        }
    }

    /// Runs `attempt` with a token: on 20016 the token is dropped and refetched once; transient
    /// failures are retried per the policy.
    pub(crate) async fn with_auth<T, F, Fut>(&self, attempt: F) -> Result<T, Error>
    where
        F: Fn(Token) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let refetched = AtomicBool::new(false);
        self.with_retry(|| async {
            loop {
                let token = self.token().await?;
                match attempt(token.clone()).await {
                    Err(Error::Api {
                        code: ErrorCode::CorpTokenInvalid,
                        ..
                    }) if !refetched.swap(true, Ordering::SeqCst) => {
                        self.forget(&token).await;
                    }
                    other => return other,
                }
            }
        })
        .await
    }

    async fn with_retry<T, F, Fut>(&self, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = self.inner.retry;
        let started = Instant::now();
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(e) if e.is_retryable() && retry + 1 < policy.max_attempts => {
                    let delay = policy.delay(retry);
                    if started.elapsed() + delay > policy.max_elapsed {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }

    /// The cached token, or a new one. The lock is held across the fetch so concurrent callers
    /// wait for one fetch instead of starting their own.
    pub(crate) async fn token(&self) -> Result<Token, Error> {
        let mut cached = self.inner.token.lock().await;
        let now = self.inner.time.now();
        if let Some(token) = cached.as_ref().filter(|t| now < t.renew_at) {
            return Ok(token.clone());
        }
        match self.with_retry(|| self.fetch_token()).await {
            Ok(token) => {
                *cached = Some(token.clone());
                Ok(token)
            }
            // Renewal failed but the old token is still valid: keep using it.
            Err(e) => cached
                .as_ref()
                .filter(|t| now < t.expires_at)
                .cloned()
                .ok_or(e),
        }
    }

    async fn forget(&self, token: &Token) {
        let mut cached = self.inner.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.token == token.token) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<Token, Error> {
        let c = &self.inner.credentials;
        let body = json!({"appId": c.app_id, "appSecret": c.app_secret, "permanentCode": c.permanent_code});
        let trace = uuid::Uuid::new_v4().to_string();
        let (token, tenant, expires_in) = match self.inner.style {
            AuthStyle::Legacy => {
                let response = self
                    .post("/cgi/corpAccessToken/get/V2", &trace)
                    .json(&body)
                    .send()
                    .await?;
                let t: CorpAccessToken = decode(response).await?;
                (t.corp_access_token, t.corp_id, t.expires_in)
            }
            AuthStyle::Bearer => {
                let mut body = body;
                body["grantType"] = json!("app_secret");
                let response = self
                    .post("/oauth2.0/token", &trace)
                    .json(&body)
                    .send()
                    .await?;
                let t: OAuthToken = decode(response).await?;
                (t.access_token, t.ea, t.expires_in)
            }
        };
        let now = self.inner.time.now();
        let lifetime = Duration::from_secs(expires_in.max(0) as u64);
        Ok(Token {
            token,
            tenant,
            renew_at: now + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
            expires_at: now + lifetime,
        })
    }
}

/// Decodes an envelope: `Error::Api` for a non-zero `errorCode`, else the success fields.
/// Anything that is not an envelope (a wrong base URL's 404 page, a proxy's error) is a
/// `Decode` error naming the URL, the status and the start of the body.
pub(crate) async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status();
    let url = response.url().clone();
    let bytes = response.bytes().await?;
    let not_an_envelope = |why: String| {
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
        Error::Decode(format!(
            "{url} answered HTTP {status} with {body:?}, which is not a Fxiaoke response \
             ({why}); is the base URL right?"
        ))
    };
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| not_an_envelope(e.to_string()))?;
    if value.get("errorCode").is_none() {
        return Err(not_an_envelope("no errorCode".into()));
    }
    decode_value(value)
}

pub(crate) fn decode_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    let envelope: Envelope<Value> = serde_json::from_value(value)
        .map_err(|e| Error::Decode(format!("not a Fxiaoke envelope: {e}")))?;
    if envelope.error_code != ErrorCode::Ok {
        return Err(Error::Api {
            code: envelope.error_code,
            message: envelope.error_message,
            description: envelope.error_description,
            trace_id: envelope.trace_id,
        });
    }
    serde_json::from_value(envelope.data).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        for retry in 0..20 {
            assert!(policy.delay(retry) <= Duration::from_secs(1));
        }
        assert!(policy.delay(0) <= Duration::from_millis(100));
    }

    #[test]
    fn credentials_never_show_their_secrets() {
        let shown = format!("{:?}", Credentials::new("FSAID_1", "topsecret", "PERMCODE"));
        assert!(!shown.contains("topsecret") && !shown.contains("PERMCODE"));
    }

    #[test]
    fn a_non_zero_error_code_becomes_an_api_error() {
        let err = decode_value::<Empty>(json!({"errorCode": 20016, "errorMessage": "m", "errorDescription": "d", "traceId": "t"}))
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::CorpTokenInvalid));
    }
}
