//! End-to-end tests: each starts the real server on 127.0.0.1:0 with its own data directory and
//! drives it through `fxmsg-client` (or raw HTTP where the bytes on the wire are the point).

mod storage;
mod support;

mod addressbook;
mod auth;
mod browser;
mod cli;
mod diskfull;
mod durability;
mod errors;
mod events;
mod hostile;
mod inbox;
mod isolation;
mod malformed;
mod media;
mod messages;
mod native;
mod nodes;
mod operations;
mod readme;
mod retention;
mod s3;
mod sdk;
mod seeds;
mod testkit;
mod web;
