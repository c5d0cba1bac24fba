//! Multipart upload bodies, as the upload route reads them (see `fxmsg_server::fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fxmsg_server::fuzz::upload_form("b", data);
});
