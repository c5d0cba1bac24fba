//! [`EmployeeClient`]: one employee's own view, with an employee token (`fxe_…`) from
//! [`AdminClient::issue_employee_token`]: their inbox, read receipts and event stream.

use futures_util::Stream;
use fxmsg_api::native::{InboxItem, InboxPage, ReadReceipt};

use crate::admin::AdminClient;
use crate::events::{EventsQuery, StreamItem};
use crate::Error;

/// A client for `/api/v1/inbox`, authenticated as one employee.
///
/// ```no_run
/// # async fn run() -> Result<(), fxmsg_client::Error> {
/// use fxmsg_client::employee::EmployeeClient;
/// let me = EmployeeClient::new("http://127.0.0.1:8080", "fxe_…");
/// let inbox = me.inbox(None).await?;
/// println!("{} unread", inbox.unread);
/// if let Some(newest) = inbox.items.first() {
///     me.mark_read(&newest.message.message_id).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EmployeeClient {
    api: AdminClient,
}

impl EmployeeClient {
    /// A client for the fxmsg at `base_url` with an employee token.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        // The same bearer-token client; the server tells the two kinds of token apart.
        EmployeeClient {
            api: AdminClient::new(base_url, token),
        }
    }

    /// The employee's inbox, newest first, with their unread count.
    pub async fn inbox(&self, cursor: Option<&str>) -> Result<InboxPage, Error> {
        let mut request = self.api.http().get(self.api.url("/inbox"));
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        self.api.send(request).await
    }

    /// One message of the inbox; `Native { status: 404, .. }` for anyone else's.
    pub async fn message(&self, message_id: &str) -> Result<InboxItem, Error> {
        self.api
            .send(
                self.api
                    .http()
                    .get(self.api.url(&format!("/inbox/messages/{message_id}"))),
            )
            .await
    }

    /// Marks a message read (once; repeating answers the first read's time).
    pub async fn mark_read(&self, message_id: &str) -> Result<ReadReceipt, Error> {
        self.api
            .send(
                self.api
                    .http()
                    .post(self.api.url(&format!("/inbox/messages/{message_id}/read"))),
            )
            .await
    }

    /// The employee's events (their messages, those messages' revokes, their own reads), live,
    /// resuming after a dropped connection as [`AdminClient::events`] does; `since` resumes
    /// after a corp sequence number.
    pub fn events(
        &self,
        since: Option<i64>,
    ) -> impl Stream<Item = Result<StreamItem, Error>> + Send {
        self.api.follow(
            "/inbox/events",
            EventsQuery {
                corp_id: None,
                since,
            },
        )
    }
}
