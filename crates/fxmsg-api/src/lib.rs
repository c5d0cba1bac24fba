//! Wire types shared by the fxmsg server and the `fxmsg-client` SDK.
//!
//! Layout:
//! - [`addressbook`]: the platform's address-book responses (`/cgi/department/*`, `/cgi/user/*`).
//! - [`code`]: the Fxiaoke error-code catalogue (one table, stable numbers).
//! - [`envelope`]: the compat response envelope and the token responses.
//! - [`media`]: upload size limits and image recognition by bytes.
//! - [`message`]: the send request, parsed once from JSON into typed content. The server and the SDK
//!   both call [`message::SendMessage::parse`], so a message the SDK lets through is one the server
//!   accepts, and an error names the same field on both sides.
//! - [`native`]: the fxmsg-only `/api/v1` types (directory administration, message inspection).
#![forbid(unsafe_code)]

pub mod addressbook;
pub mod code;
pub mod envelope;
pub mod media;
pub mod message;
pub mod native;

pub use code::ErrorCode;
pub use envelope::Envelope;
pub use message::{FieldError, SendMessage};
