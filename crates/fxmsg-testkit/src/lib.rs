//! Start fxmsg inside your test process, as `wiremock::MockServer::start()` starts WireMock: a
//! real fxmsg on `127.0.0.1:0` with a temporary data directory, its demo corp's credentials, an
//! admin client and a ready SDK client. Every test gets its own server (or its own
//! [sandbox](TestServer::sandbox) on a shared one); dropping it stops the server and removes its
//! data.
//!
//! The server runs on a test clock that starts at the current time and moves only when the test
//! says so ([`TestServer::clock`], or `POST /api/v1/clock` from outside the process), so token
//! expiry and idempotency windows are tested without waiting.
//!
//! ```
//! use fxmsg_testkit::TestServer;
//! use fxmsg_testkit::fxmsg_client::SendMessage;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = TestServer::start().await;
//! // Point the code under test at `server.url()` with `server.credentials()`, or use the client:
//! let sent = server
//!     .client()
//!     .send(&SendMessage::text(["1000"], "Build 512 passed"))
//!     .await
//!     .unwrap();
//! // Then assert on what fxmsg received.
//! let stored = server.admin().get_message(&sent.message_id).await.unwrap();
//! assert_eq!(stored.message.content["content"], "Build 512 passed");
//! server.stop().await;
//! # }
//! ```
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use fxmsg_api::native::{NewSandbox, Sandbox, SandboxEmployees};
use fxmsg_client::admin::AdminClient;
use fxmsg_client::{Client, Credentials};
use fxmsg_server::{Config, ManualClock, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fxmsg_client;
pub use fxmsg_server;

/// The admin token every [`TestServer`] is started with, unless its config says otherwise.
pub const ADMIN_TOKEN: &str = "fxmsg-testkit-admin-token";

/// A running fxmsg, stopped when dropped.
pub struct TestServer {
    url: String,
    admin_token: String,
    clock: ManualClock,
    demo: Sandbox,
    admin: AdminClient,
    client: Client,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server with the defaults of `fxmsg serve --test-clock`.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` changed its [`Config`] (limits, `rate_limits`, …). The
    /// data directory and listen address are set before, and kept unless `adjust` changes them.
    ///
    /// # Panics
    /// If the server cannot start (no temporary directory, no free port): a test cannot go on.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut config = Config::new(dir.path(), "127.0.0.1:0".parse().expect("an address"));
        config.admin_token = Some(ADMIN_TOKEN.into());
        config.test_clock = true;
        adjust(&mut config);
        let clock = ManualClock::new();
        let (server, boot) = Server::build(&config, Arc::new(clock.clone()))
            .await
            .unwrap_or_else(|e| panic!("fxmsg could not start: {e}"));
        let url = format!("http://{}", server.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let demo = boot
            .demo
            .expect("a new data directory gets the demo corp (unless config.no_demo)");
        let admin_token = config.admin_token.unwrap_or_default();
        TestServer {
            admin: AdminClient::new(&url, &admin_token),
            client: client(&url, Credentials::from(&demo)),
            url,
            admin_token,
            clock,
            demo,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin token for `/api/v1` (and `fxmsg admin`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The demo corp: its app's credentials, service account and five employees (1000..1004).
    pub fn demo(&self) -> &Sandbox {
        &self.demo
    }

    /// The demo app's appId, appSecret and permanentCode.
    pub fn credentials(&self) -> Credentials {
        Credentials::from(&self.demo)
    }

    /// An SDK client for the demo app.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// An admin client: messages as received, waits, events, directory, faults, sandboxes.
    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    /// The server's clock: [`ManualClock::advance_secs`] moves every expiry and window.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The data directory (removed when the server is dropped).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new sandbox with `employees` generated employees, and an SDK client for its app: a
    /// tenant of its own for one test on a shared server.
    pub async fn sandbox(&self, employees: u32) -> (Sandbox, Client) {
        let new = NewSandbox {
            employees: Some(SandboxEmployees::Count(employees)),
            ..NewSandbox::default()
        };
        let sandbox = self
            .admin
            .create_sandbox(&new)
            .await
            .unwrap_or_else(|e| panic!("creating a sandbox: {e}"));
        let client = client(&self.url, Credentials::from(&sandbox));
        (sandbox, client)
    }

    /// Stops the server gracefully and waits until it has closed its database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if let Ok(Err(e)) = task.await {
                panic!("fxmsg stopped with an error: {e}");
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn client(url: &str, credentials: Credentials) -> Client {
    Client::builder(url)
        .credentials(credentials)
        .build()
        .expect("a client for a loopback URL")
}
