//! The send body parser (see `fxmsg_server::fuzz::message`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fxmsg_server::fuzz::message(data));
