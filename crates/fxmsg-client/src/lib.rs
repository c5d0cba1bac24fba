//! A typed Rust SDK for the Fxiaoke Open Platform message API.
//!
//! It talks to the real `https://open.fxiaoke.com` and to a self-hosted fxmsg alike; only the base
//! URL differs. Messages are validated client-side by the same parser the fxmsg server runs, so a
//! mistake is reported with the server's code and field name before anything is sent.
//!
//! ```no_run
//! use fxmsg_client::{Client, Credentials, SendMessage};
//!
//! # async fn run() -> Result<(), fxmsg_client::Error> {
//! let client = Client::builder("http://127.0.0.1:8080")
//!     .credentials(Credentials::new("FSAID_13145a7", "app-secret", "PERMANENT-CODE"))
//!     .build()?;
//! let sent = client.send(&SendMessage::text(["1000"], "Build finished")).await?;
//! println!("messageId {}", sent.message_id);
//! # Ok(()) }
//! ```
//!
//! Layout: [`client`] holds [`Client`] (tokens, retries, auth styles); [`media`] uploads and
//! downloads; [`admin`] fxmsg's native `/api/v1`; [`events`] its event streams and waits;
//! [`employee`] one employee's inbox, read receipts and stream;
//! [`error`] the one error enum.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addressbook;
pub mod admin;
pub mod client;
pub mod employee;
pub mod error;
pub mod events;
pub mod media;
pub mod testkit;

pub use client::{AuthStyle, Client, ClientBuilder, Credentials, RetryPolicy, TimeSource};
pub use error::Error;
pub use fxmsg_api::envelope::{SendResult, UploadResult};
pub use fxmsg_api::message::{Article, ArticleKind, Composite, Content, FormRow, SendMessage};
pub use fxmsg_api::{native, ErrorCode};
pub use media::MediaKind;
