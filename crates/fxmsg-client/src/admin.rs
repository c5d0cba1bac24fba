//! fxmsg's native `/api/v1`: directory administration and inspection of what was sent.
//! Only fxmsg serves these; the real Fxiaoke gateway does not.

use fxmsg_api::native::{
    ApiError, App, AppCredentials, AppPatch, Corp, Employee, EmployeePatch, EmployeeStatus, Fault,
    InboxItem, Message, MessageDetail, NewApp, NewCorp, NewEmployee, NewFault, NewServiceAccount,
    Page, ServiceAccount,
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
    token: String,
}

impl AdminClient {
    /// A client for the fxmsg at `base_url`.
    pub fn new(base_url: impl Into<String>, admin_token: impl Into<String>) -> Self {
        AdminClient {
            http: reqwest::Client::new(),
            base: base_url.into().trim_end_matches('/').to_owned(),
            token: admin_token.into(),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()));
        }
        let err: ApiError = serde_json::from_slice(&bytes).unwrap_or(ApiError {
            code: "http".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        });
        Err(Error::Native {
            status: status.as_u16(),
            code: err.code,
            message: err.message,
        })
    }

    fn url(&self, path: &str) -> String {
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
        self.send(self.http.patch(url).json(&EmployeePatch { status }))
            .await
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

    /// An employee's inbox, newest first.
    pub async fn inbox(
        &self,
        corp_id: &str,
        employee: &str,
        cursor: Option<&str>,
    ) -> Result<Page<InboxItem>, Error> {
        let mut request = self
            .http
            .get(self.url(&format!("/corps/{corp_id}/employees/{employee}/inbox")));
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        self.send(request).await
    }

    /// Plans a fault on a compat path (fxmsg's chaos API for testing client resilience).
    ///
    /// ```no_run
    /// # async fn run(admin: fxmsg_client::admin::AdminClient) -> Result<(), fxmsg_client::Error> {
    /// use fxmsg_client::native::NewFault;
    /// // The next send is processed, but its response is lost on the way back.
    /// let fault = NewFault { path: "/cgi/message/send".into(), error_code: None, drop_response: true, times: 1 };
    /// admin.add_fault(&fault).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_fault(&self, fault: &NewFault) -> Result<Fault, Error> {
        self.send(self.http.post(self.url("/faults")).json(fault))
            .await
    }

    /// The planned faults and their remaining uses.
    pub async fn list_faults(&self) -> Result<Vec<Fault>, Error> {
        self.send(self.http.get(self.url("/faults"))).await
    }

    /// Removes every planned fault.
    pub async fn clear_faults(&self) -> Result<(), Error> {
        let _: serde_json::Value = self
            .send(self.http.delete(self.url("/faults")))
            .await
            .or_else(|e| match e {
                Error::Decode(_) => Ok(serde_json::Value::Null),
                other => Err(other),
            })?;
        Ok(())
    }
}
