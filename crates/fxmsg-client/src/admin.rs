//! fxmsg's native `/api/v1`: directory administration and inspection of what was sent.
//! Only fxmsg serves these; the real Fxiaoke gateway does not.

use fxmsg_api::native::{
    ApiError, App, AppCredentials, AppPatch, Corp, Credential, Employee, EmployeePatch,
    EmployeeStatus, InboxPage, IssuedToken, LoginLink, Message, MessageDetail, NewApp, NewCorp,
    NewEmployee, NewServiceAccount, Page, ServiceAccount,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// Filters for [`AdminClient::list_messages`]; `None` fields do not filter.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQuery {
    /// Sending corp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corp_id: Option<String>,
    /// Sending app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Sent as this service account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// A recipient (`FSUID_…`, or an employee number together with `corp_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// `text`, `composite` or `articles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<String>,
    /// Created at or after, unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Created before, unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Only revoked or only live messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    /// Text any string of the content contains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1..500 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A client for `/api/v1`, authenticated with the admin token.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    /// Why `base` is not a usable base URL, reported by every call.
    bad_base: Option<String>,
    token: String,
}

impl AdminClient {
    /// A client for the fxmsg at `base_url`.
    pub fn new(base_url: impl Into<String>, admin_token: impl Into<String>) -> Self {
        let base_url = base_url.into();
        let (base, bad_base) = match crate::error::base_url(&base_url) {
            Ok(base) => (base, None),
            Err(e) => (base_url, Some(e.to_string())),
        };
        AdminClient {
            http: reqwest::Client::new(),
            base,
            bad_base,
            token: admin_token.into(),
        }
    }

    /// `request` with the admin token, or why the client cannot send anything.
    pub(crate) fn authorized(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, Error> {
        if let Some(bad) = &self.bad_base {
            return Err(Error::Config(bad.clone()));
        }
        Ok(request.bearer_auth(&self.token))
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` with the admin token; the raw status and body.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, reqwest::Url, bytes::Bytes), Error> {
        let response = self.authorized(request)?.send().await?;
        let (status, url) = (response.status(), response.url().clone());
        Ok((status, url, response.bytes().await?))
    }

    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let (status, url, bytes) = self.exchange(request).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Error::Decode(format!("{url} answered HTTP {status}, not with what fxmsg's /api/v1 answers ({e}); is the URL an fxmsg server?"))
            });
        }
        Self::refusal(status, &bytes)
    }

    /// Like `send`, for calls answered with an empty success (204).
    pub(crate) async fn send_empty(&self, request: reqwest::RequestBuilder) -> Result<(), Error> {
        let (status, _, bytes) = self.exchange(request).await?;
        if status.is_success() {
            return Ok(());
        }
        Self::refusal(status, &bytes)
    }

    pub(crate) fn refusal<T>(status: reqwest::StatusCode, bytes: &[u8]) -> Result<T, Error> {
        let err: ApiError = serde_json::from_slice(bytes).unwrap_or(ApiError {
            code: "http".into(),
            message: String::from_utf8_lossy(bytes).into_owned(),
        });
        Err(Error::Native {
            status: status.as_u16(),
            code: err.code,
            message: err.message,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Creates a corp.
    pub async fn create_corp(&self, name: &str, ea: &str) -> Result<Corp, Error> {
        self.send(self.http.post(self.url("/corps")).json(&NewCorp {
            name: name.into(),
            ea: ea.into(),
        }))
        .await
    }

    /// All corps.
    pub async fn list_corps(&self) -> Result<Vec<Corp>, Error> {
        self.send(self.http.get(self.url("/corps"))).await
    }

    /// Creates an app; the returned secrets are never shown again.
    pub async fn create_app(&self, corp_id: &str, name: &str) -> Result<AppCredentials, Error> {
        self.send(
            self.http
                .post(self.url(&format!("/corps/{corp_id}/apps")))
                .json(&NewApp { name: name.into() }),
        )
        .await
    }

    /// A corp's apps.
    pub async fn list_apps(&self, corp_id: &str) -> Result<Vec<App>, Error> {
        self.send(self.http.get(self.url(&format!("/corps/{corp_id}/apps"))))
            .await
    }

    /// Enables or disables an app.
    pub async fn set_app_enabled(
        &self,
        corp_id: &str,
        app_id: &str,
        enabled: bool,
    ) -> Result<App, Error> {
        let url = self.url(&format!("/corps/{corp_id}/apps/{app_id}"));
        self.send(self.http.patch(url).json(&AppPatch { enabled }))
            .await
    }

    /// Creates an employee (next free employee number when `user_id` is `None`).
    pub async fn create_employee(
        &self,
        corp_id: &str,
        name: &str,
        user_id: Option<&str>,
    ) -> Result<Employee, Error> {
        let body = NewEmployee {
            name: name.into(),
            user_id: user_id.map(Into::into),
            ..NewEmployee::default()
        };
        self.send(
            self.http
                .post(self.url(&format!("/corps/{corp_id}/employees")))
                .json(&body),
        )
        .await
    }

    /// A corp's employees.
    pub async fn list_employees(&self, corp_id: &str) -> Result<Vec<Employee>, Error> {
        self.send(
            self.http
                .get(self.url(&format!("/corps/{corp_id}/employees"))),
        )
        .await
    }

    /// Activates or stops an employee.
    pub async fn set_employee_status(
        &self,
        corp_id: &str,
        open_user_id: &str,
        status: EmployeeStatus,
    ) -> Result<Employee, Error> {
        let url = self.url(&format!("/corps/{corp_id}/employees/{open_user_id}"));
        let patch = EmployeePatch {
            status: Some(status),
            ..EmployeePatch::default()
        };
        self.send(self.http.patch(url).json(&patch)).await
    }

    /// Creates a service account.
    pub async fn create_service_account(
        &self,
        corp_id: &str,
        name: &str,
    ) -> Result<ServiceAccount, Error> {
        let url = self.url(&format!("/corps/{corp_id}/service-accounts"));
        self.send(
            self.http
                .post(url)
                .json(&NewServiceAccount { name: name.into() }),
        )
        .await
    }

    /// A corp's service accounts.
    pub async fn list_service_accounts(&self, corp_id: &str) -> Result<Vec<ServiceAccount>, Error> {
        self.send(
            self.http
                .get(self.url(&format!("/corps/{corp_id}/service-accounts"))),
        )
        .await
    }

    /// Messages, newest first.
    pub async fn list_messages(&self, query: &MessageQuery) -> Result<Page<Message>, Error> {
        self.send(self.http.get(self.url("/messages")).query(query))
            .await
    }

    /// One message with raw request and deliveries.
    pub async fn get_message(&self, message_id: &str) -> Result<MessageDetail, Error> {
        self.send(self.http.get(self.url(&format!("/messages/{message_id}"))))
            .await
    }

    /// An employee's inbox, newest first, with their unread count.
    pub async fn inbox(
        &self,
        corp_id: &str,
        employee: &str,
        cursor: Option<&str>,
    ) -> Result<InboxPage, Error> {
        let mut request = self
            .http
            .get(self.url(&format!("/corps/{corp_id}/employees/{employee}/inbox")));
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        self.send(request).await
    }

    /// Issues an API token for an employee (`FSUID_…` or number): their inbox, read receipts
    /// and stream, nothing else. The token is in this answer only.
    pub async fn issue_employee_token(
        &self,
        corp_id: &str,
        employee: &str,
    ) -> Result<IssuedToken, Error> {
        self.send(
            self.http
                .post(self.url(&format!("/corps/{corp_id}/employees/{employee}/tokens"))),
        )
        .await
    }

    /// An employee's tokens, login links and sessions, newest first, without secrets.
    pub async fn employee_credentials(
        &self,
        corp_id: &str,
        employee: &str,
    ) -> Result<Vec<Credential>, Error> {
        self.send(
            self.http
                .get(self.url(&format!("/corps/{corp_id}/employees/{employee}/tokens"))),
        )
        .await
    }

    /// Revokes an employee's token, login link or session (`fxc_…`) at once.
    pub async fn revoke_employee_credential(
        &self,
        corp_id: &str,
        employee: &str,
        credential_id: &str,
    ) -> Result<(), Error> {
        self.send_empty(self.http.delete(self.url(&format!(
            "/corps/{corp_id}/employees/{employee}/tokens/{credential_id}"
        ))))
        .await
    }

    /// A one-time login link for an employee's web inbox, valid for 15 minutes.
    pub async fn login_link(&self, corp_id: &str, employee: &str) -> Result<LoginLink, Error> {
        self.send(self.http.post(self.url(&format!(
            "/corps/{corp_id}/employees/{employee}/login-links"
        ))))
        .await
    }

    /// The server's `/metrics` (request counts and durations, messages sent, error codes
    /// answered, group commits), parsed.
    pub async fn metrics(&self) -> Result<Metrics, Error> {
        let (status, _, bytes) = self
            .exchange(self.http.get(format!("{}/metrics", self.base)))
            .await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !status.is_success() {
            return Err(Error::Native {
                status: status.as_u16(),
                code: "http".into(),
                message: text,
            });
        }
        Metrics::parse(&text)
    }
}

/// One sample of a [`Metrics`] exposition: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name, with its suffix (`_total`, `_count`, `_bucket`, ...).
    pub name: String,
    /// Label names and values, in the order the server wrote them.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A parsed `/metrics` exposition (the Prometheus / OpenMetrics text format).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Every sample, in the order the server wrote them.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Parses the text format's sample lines; comment lines (`# HELP`, `# TYPE`, `# EOF`) are
    /// skipped.
    pub fn parse(text: &str) -> Result<Metrics, Error> {
        let bad = |line: &str| Error::Decode(format!("not a metrics sample: {line:?}"));
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, mut rest) = match line.find(['{', ' ']) {
                Some(at) => line.split_at(at),
                None => return Err(bad(line)),
            };
            let mut labels = Vec::new();
            if let Some(inner) = rest.strip_prefix('{') {
                rest = inner;
                while !rest.starts_with('}') {
                    let (label, after) = rest.split_once("=\"").ok_or_else(|| bad(line))?;
                    let (value, after) = quoted(after).ok_or_else(|| bad(line))?;
                    labels.push((label.trim_start_matches(',').to_owned(), value));
                    rest = after;
                }
                rest = rest.strip_prefix('}').ok_or_else(|| bad(line))?;
            }
            // A timestamp or exemplar may follow the value.
            let value = rest.split_whitespace().next().ok_or_else(|| bad(line))?;
            let value = value.parse().map_err(|_| bad(line))?;
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Ok(Metrics { samples })
    }

    /// The sum of the samples named `name` that carry every label in `labels` (other labels may
    /// differ); 0 if none does, as for a counter that has not counted yet.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// The samples named `name` that carry every label in `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
    }
}

/// A label value up to its closing quote, unescaped, and what follows the quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exposition_parses_into_samples() {
        let text = "# HELP fxmsg_deliveries Inbox rows.\n# TYPE fxmsg_deliveries counter\n\
                    fxmsg_deliveries_total 7\n\
                    fxmsg_http_request_duration_seconds_count{method=\"POST\",route=\"/cgi/message/send\",status=\"200\"} 3\n\
                    fxmsg_http_request_duration_seconds_count{method=\"GET\",route=\"/a \\\"b\\\" {c},d\",status=\"200\"} 2 1700000000\n\
                    fxmsg_store_batch_duration_seconds_bucket{le=\"+Inf\"} 5 # {trace_id=\"x\"} 1\n\
                    # EOF\n";
        let m = Metrics::parse(text).unwrap();
        assert_eq!(m.samples.len(), 4);
        assert_eq!(m.sum("fxmsg_deliveries_total", &[]), 7.0);
        let count = "fxmsg_http_request_duration_seconds_count";
        assert_eq!(m.sum(count, &[]), 5.0);
        assert_eq!(m.sum(count, &[("method", "POST"), ("status", "200")]), 3.0);
        assert_eq!(m.sum(count, &[("route", "/a \"b\" {c},d")]), 2.0);
        assert_eq!(m.sum(count, &[("method", "PUT")]), 0.0);
        assert_eq!(
            m.sum(
                "fxmsg_store_batch_duration_seconds_bucket",
                &[("le", "+Inf")]
            ),
            5.0
        );
    }

    #[test]
    fn a_line_that_is_not_a_sample_is_an_error() {
        for text in [
            "fxmsg_x",
            "fxmsg_x{a=\"1\" 2",
            "fxmsg_x{a=\"1} 2",
            "fxmsg_x one",
        ] {
            assert!(
                matches!(Metrics::parse(text), Err(Error::Decode(_))),
                "{text:?} parsed"
            );
        }
    }
}
