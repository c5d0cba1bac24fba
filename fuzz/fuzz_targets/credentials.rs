//! The query string, headers and body authentication reads (see
//! `fxmsg_server::fuzz::credentials_input`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fxmsg_server::fuzz::credentials_input(data));
