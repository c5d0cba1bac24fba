//! Entry points for the fuzz targets in `fuzz/`: the parts of a request a client controls, run
//! through the server's own parsing with the invariants it relies on asserted. Not an API.

use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::Value;

use crate::extract::{CompatJson, CompatQuery};
use crate::media::{attachment_disposition, clean_file_name, document_content_type, sniff_image};

/// A send body: any bytes give a message or a field error, never a panic; a parsed message
/// serializes and parses back to itself.
pub fn message(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(message) = fxmsg_api::SendMessage::parse(&body) {
        let again = fxmsg_api::SendMessage::parse(&message.to_json())
            .expect("a parsed message parses again");
        assert_eq!(again.to_json(), message.to_json());
    }
}

/// The fuzz input of [`credentials`]: split on NUL into a URI, an authorization header, an
/// x-fs-ea header and a JSON body.
pub fn credentials_input(data: &[u8]) {
    let mut parts = data.splitn(4, |b| *b == 0);
    let uri = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let authorization = parts.next().unwrap_or_default();
    let ea = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    credentials(
        &uri,
        &[(b"authorization", authorization), (b"x-fs-ea", ea)],
        body,
    );
}

/// The query string, the auth headers and a JSON body, as authentication reads them.
pub fn credentials(uri: &str, headers: &[(&[u8], &[u8])], body: &[u8]) {
    let Ok(uri) = uri.parse::<Uri>() else {
        return;
    };
    let query = Query::<CompatQuery>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    let body = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .map(CompatJson);
    let _ = crate::auth::presented(&map, body.as_ref(), &query);
}

/// A multipart upload body under `boundary`, field by field as the upload route reads it: the
/// kept file name never has a path or a control character, its `Content-Disposition` is always
/// a valid header value, and the served type is always a well-formed one.
pub fn upload_form(boundary: &str, body: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let Ok(request) = Request::builder()
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body.to_vec()))
        else {
            return;
        };
        let Ok(mut form) = Multipart::from_request(request, &()).await else {
            return;
        };
        while let Ok(Some(mut field)) = form.next_field().await {
            let name = clean_file_name(field.file_name(), "m");
            assert!(!name.is_empty() && !name.contains(['/', '\\']), "{name:?}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
            let disposition = attachment_disposition(&name);
            assert!(
                HeaderValue::from_str(&disposition).is_ok(),
                "{disposition:?}"
            );
            let served = document_content_type(field.content_type());
            assert!(HeaderValue::from_str(&served).is_ok(), "{served:?}");
            let mut head = Vec::new();
            while let Ok(Some(chunk)) = field.chunk().await {
                head.extend(chunk.iter().take(64usize.saturating_sub(head.len())));
            }
            let _ = sniff_image(&head);
        }
    });
}

#[cfg(test)]
mod tests {
    /// The committed corpus of every fuzz target, replayed on the stable toolchain: what a fuzz
    /// run once found interesting stays a regression test of the normal test run.
    #[test]
    fn the_committed_fuzz_corpus_replays_cleanly() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 3] = [
            ("message_parse", super::message),
            ("upload_form", |data| super::upload_form("b", data)),
            ("credentials", super::credentials_input),
        ];
        for (target, run) in targets {
            let mut inputs = 0;
            for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
                run(&std::fs::read(entry.unwrap().path()).unwrap());
                inputs += 1;
            }
            assert!(inputs > 0, "{target}: an empty corpus");
        }
    }
}
