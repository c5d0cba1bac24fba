//! The test kit's admin calls: throwaway tenants, resets, the test clock and planned faults.

use fxmsg_api::native::{ClockChange, ClockTime, Deleted, Fault, NewFault, NewSandbox, Sandbox};

use crate::admin::AdminClient;
use crate::Error;

impl AdminClient {
    /// Creates a sandbox: a corp with an app, a service account and employees, in one call, with
    /// every credential. Parallel tests each take their own and never see each other.
    ///
    /// ```no_run
    /// # async fn run(admin: fxmsg_client::admin::AdminClient) -> Result<(), fxmsg_client::Error> {
    /// use fxmsg_client::native::{NewSandbox, SandboxEmployees};
    /// let sandbox = admin
    ///     .create_sandbox(&NewSandbox { employees: Some(SandboxEmployees::Count(3)), ..Default::default() })
    ///     .await?;
    /// let client = fxmsg_client::Client::builder("http://127.0.0.1:8080")
    ///     .credentials(fxmsg_client::Credentials::from(&sandbox))
    ///     .build()?;
    /// # drop(client);
    /// admin.delete_sandbox(&sandbox.corp.corp_id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_sandbox(&self, new: &NewSandbox) -> Result<Sandbox, Error> {
        self.send(self.http().post(self.url("/sandboxes")).json(new))
            .await
    }

    /// Deletes a sandbox with all its messages, events, tokens and media files.
    pub async fn delete_sandbox(&self, corp_id: &str) -> Result<(), Error> {
        self.send_empty(
            self.http()
                .delete(self.url(&format!("/sandboxes/{corp_id}"))),
        )
        .await
    }

    /// Deletes the messages of one corp, or of every corp with `None`, with their inbox rows,
    /// events and idempotency keys: a test's reset.
    pub async fn delete_messages(&self, corp_id: Option<&str>) -> Result<Deleted, Error> {
        let mut request = self.http().delete(self.url("/messages"));
        if let Some(corp_id) = corp_id {
            request = request.query(&[("corpId", corp_id)]);
        }
        self.send(request).await
    }

    /// The server's clock (needs `fxmsg serve --test-clock`).
    pub async fn clock(&self) -> Result<ClockTime, Error> {
        self.send(self.http().get(self.url("/clock"))).await
    }

    /// Moves the test clock forward by `secs` seconds; the new time.
    pub async fn advance_clock(&self, secs: i64) -> Result<ClockTime, Error> {
        self.change_clock(&ClockChange {
            advance_secs: Some(secs),
            ..ClockChange::default()
        })
        .await
    }

    /// Sets the test clock to `ms` unix milliseconds; the new time.
    pub async fn set_clock(&self, ms: i64) -> Result<ClockTime, Error> {
        self.change_clock(&ClockChange {
            set: Some(ms.into()),
            ..ClockChange::default()
        })
        .await
    }

    /// Sets or moves the test clock as `change` says; the new time.
    pub async fn change_clock(&self, change: &ClockChange) -> Result<ClockTime, Error> {
        self.send(self.http().post(self.url("/clock")).json(change))
            .await
    }

    /// Plans a fault on a compat path (fxmsg's chaos API for testing client resilience).
    ///
    /// ```no_run
    /// # async fn run(admin: fxmsg_client::admin::AdminClient) -> Result<(), fxmsg_client::Error> {
    /// use fxmsg_client::native::{Cut, NewFault};
    /// // The next send is committed, but its response is lost on the way back.
    /// let fault = NewFault { path: "/cgi/message/send".into(), cut: Some(Cut::AfterCommit), ..Default::default() };
    /// admin.add_fault(&fault).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_fault(&self, fault: &NewFault) -> Result<Fault, Error> {
        self.send(self.http().post(self.url("/faults")).json(fault))
            .await
    }

    /// The planned faults, how often each fired and what each has left.
    pub async fn list_faults(&self) -> Result<Vec<Fault>, Error> {
        self.send(self.http().get(self.url("/faults"))).await
    }

    /// Removes every planned fault.
    pub async fn clear_faults(&self) -> Result<(), Error> {
        self.send_empty(self.http().delete(self.url("/faults")))
            .await
    }

    /// Removes one planned fault; `Native { status: 404, .. }` if there is none with `id`.
    pub async fn delete_fault(&self, id: u64) -> Result<(), Error> {
        self.send_empty(self.http().delete(self.url(&format!("/faults/{id}"))))
            .await
    }
}
