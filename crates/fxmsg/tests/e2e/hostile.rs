//! Hostile clients: headers sent a byte at a time, floods of idle connections, bodies that stall,
//! answers sent before a body was read, a client holding a partial request through shutdown,
//! JSON built to hurt a parser and file names built to escape a header. Raw TCP where the bytes
//! on the wire are the point.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::support::{assert_error, assert_success, TestServer, ADMIN_TOKEN};

/// Long enough that a test failing to see a close fails, short beside the 60 s request timeout.
const DEADLINE: Duration = Duration::from_secs(15);

fn addr(server: &TestServer) -> SocketAddr {
    server.url.trim_start_matches("http://").parse().unwrap()
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(addr(server)).await.unwrap()
}

/// Everything the server sends until it closes the connection, within [`DEADLINE`].
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether the server has closed `stream` (or answered on it), without waiting.
fn is_closed(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    !matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_at_the_read_timeout() {
    let server = TestServer::start_with(|c| c.read_timeout_secs = 1).await;
    let mut stream = connect(&server).await;
    let (mut from_server, mut to_server) = stream.split();
    // A head that would take 40 s at this pace, and never ends.
    let head = format!(
        "GET /livez HTTP/1.1\r\nHost: x\r\nX-Pad: {}",
        "a".repeat(400)
    );
    let started = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let mut buf = [0u8; 256];
    let mut sent = 0;
    let closed = timeout(DEADLINE, async {
        loop {
            tokio::select! {
                _ = pace.tick() => {
                    if sent == head.len() {
                        return false;
                    }
                    if to_server.write_all(&head.as_bytes()[sent..=sent]).await.is_err() {
                        return true;
                    }
                    sent += 1;
                }
                // The end of the stream, a reset or a 408: cut off either way.
                _ = from_server.read(&mut buf) => return true,
            }
        }
    })
    .await
    .expect("the server cuts the client off");
    assert!(closed, "the whole head was sent and not cut off");
    let held = started.elapsed();
    assert!(
        held < Duration::from_secs(5),
        "held {held:?}, {sent} bytes: the read timeout is 1 s"
    );
    // Others are answered as ever.
    assert_eq!(server.get("/livez", None).await.status(), 200);
}

#[tokio::test]
async fn idle_connections_at_the_cap_wait_and_the_next_is_served_when_one_times_out() {
    let server = TestServer::start_with(|c| {
        c.read_timeout_secs = 1;
        c.max_connections = Some(4);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&server).await);
    }
    // The kernel accepts the fifth; the server takes it only when a slot frees.
    let mut fifth = connect(&server).await;
    fifth
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut fifth).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // It was answered because an idle connection was closed first, not beside them.
    assert!(
        idle.iter().any(is_closed),
        "the fifth connection was served while four idle ones held the cap of 4"
    );
    for mut stream in idle {
        read_to_close(&mut stream).await;
    }
}

#[tokio::test]
async fn two_thousand_idle_connections_do_not_stop_others_being_answered() {
    let server = TestServer::start().await;
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(connect(&server).await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for _ in 0..10 {
        let r = client
            .get(format!("{}/livez", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Sending on one of them works too: they are served, not parked.
    let mut one = idle.pop().unwrap();
    one.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut one).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_closes_a_connection_holding_a_partial_request_after_the_grace() {
    let server = TestServer::start_with(|c| {
        c.read_timeout_secs = 60;
        c.shutdown_grace_secs = 1;
    })
    .await;
    let mut stream = connect(&server).await;
    // One whole request, so the connection is surely being served, then half of the next.
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = timeout(DEADLINE, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHo")
        .await
        .unwrap();
    timeout(DEADLINE, server.stop())
        .await
        .expect("shutdown finishes after its grace period, whatever clients hold");
    read_to_close(&mut stream).await;
}

#[tokio::test]
async fn an_answer_sent_before_its_body_was_read_says_connection_close() {
    let server = TestServer::start().await;
    // One pooled client for every call: the next call after a closing answer must work.
    let http = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        http.post(format!("{}/cgi/message/send", server.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // A body past the limit is refused on its declared length.
    let over = send(vec![b' '; 3 * 1024 * 1024]).await.unwrap();
    assert_eq!(over.headers()["connection"], "close");
    let r: Value = over.json().await.unwrap();
    assert_error(&r, 15002, "larger than 2097152 bytes");
    // A read body keeps the connection.
    let read = send(b"{}".to_vec()).await.unwrap();
    assert!(read.headers().get("connection").is_none());
    // Credentials refused before the body is read.
    for _ in 0..3 {
        let refused = http
            .post(format!("{}/api/v1/corps", server.url))
            .bearer_auth("not-the-admin-token")
            .json(&json!({"name": "x", "ea": "x".repeat(10_000)}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["connection"], "close");
        let ok = http
            .get(format!("{}/api/v1/corps", server.url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
}

#[tokio::test]
async fn a_stalled_json_body_is_answered_at_the_read_timeout_and_stores_nothing() {
    let server = TestServer::start_with(|c| c.read_timeout_secs = 1).await;
    let mut stream = connect(&server).await;
    let started = Instant::now();
    stream
        .write_all(
            b"POST /cgi/message/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"toUser\":",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("\"errorCode\":15002"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    assert_eq!(server.message_count().await, 0);
}

#[tokio::test]
async fn a_stalled_upload_is_answered_at_the_read_timeout_and_leaves_no_file() {
    let server = TestServer::start_with(|c| c.read_timeout_secs = 1).await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let mut stream = connect(&server).await;
    let part = "--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.pdf\"\r\n\
                Content-Type: application/pdf\r\n\r\n%PDF-1.4 ";
    let head = format!(
        "POST /media/upload?type=document&corpAccessToken={token}&corpId={corp_id} HTTP/1.1\r\n\
         Host: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // More than one chunk's worth, so the upload has begun writing.
    stream.write_all(part.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; 200_000]).await.unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut stream).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(answer.contains("\"errorCode\":15002"), "{answer}");
    assert!(answer.contains("the upload stalled"), "{answer}");
    assert_eq!(server.media_files(), 0, "the refused upload left a file");
}

#[tokio::test]
async fn json_built_to_hurt_a_parser_gets_a_clear_error_and_nul_is_kept_exactly() {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let to = server.employee(0).open_user_id.clone();
    let body = |text: &str| {
        format!(
            r#"{{"corpAccessToken":"{token}","corpId":"{corp_id}","toUser":["{to}"],"msgType":"text","text":{text}}}"#
        )
        .into_bytes()
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (body(&deep), "not valid JSON"),
        (body(&format!(r#"{{"content":{deep}}}"#)), "not valid JSON"),
        (body(r#"{"content":"\ud800"}"#), "not valid JSON"),
        (body(r#"{"content":"\udc00x"}"#), "not valid JSON"),
        // A raw NUL and an unpaired surrogate in UTF-8's form (ED A0 80) are not JSON text.
        (body("{\"content\":\"a\0b\"}"), "not valid JSON"),
        (
            [&body(r#"{"content":""#)[..], b"\xed\xa0\x80\"}}"].concat(),
            "not valid JSON",
        ),
    ];
    for (bytes, needle) in cases {
        let r = server.post_bytes("/cgi/message/send", bytes).await;
        assert_error(&r, 15002, needle);
    }
    assert_eq!(server.message_count().await, 0);
    // An escaped NUL and a paired surrogate are text: kept exactly.
    let r = server
        .post_bytes(
            "/cgi/message/send",
            body(r#"{"content":"a\u0000b \ud83d\ude00"}"#),
        )
        .await;
    assert_success(&r);
    let detail = server
        .admin
        .get_message(r["messageId"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(detail.raw_request["text"]["content"], "a\u{0}b 😀");
    // The native API refuses deep JSON as a 400, not a 5xx.
    let refused = server
        .http()
        .post(format!("{}/api/v1/corps", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":{deep}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn hostile_file_names_never_escape_the_disposition_or_the_media_directory() {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let names: &[(&[u8], &str)] = &[
        (b"../../../etc/passwd.pdf", "passwd.pdf"),
        (b"..\\..\\win.ini.pdf", "win.ini.pdf"),
        // The line break ends the part's header: the parser sees no file name.
        (b"a\r\nSet-Cookie: x=1.pdf", "media-"),
        // A bare quote ends the parameter (browsers send %22): the name is what came before.
        (b"q\"uote\".pdf", "q\""),
        (b"q%22uote%22.pdf", "q_22uote_22.pdf"),
        (b"nul\0byte.pdf", "nulbyte.pdf"),
        (b"..", "media-"),
    ];
    for (name, kept) in names {
        // By hand: an HTTP client would escape what a hostile one sends as is.
        let mut body =
            b"--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"".to_vec();
        body.extend_from_slice(name);
        body.extend_from_slice(
            b"\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n--b--\r\n",
        );
        let r: Value = server
            .http()
            .post(format!(
                "{}/media/upload?type=document&corpAccessToken={token}&corpId={corp_id}",
                server.url
            ))
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let shown = String::from_utf8_lossy(name);
        if r["errorCode"] != 0 {
            // Refused by the multipart parser: a clear error, never a 5xx.
            assert_error(&r, 15002, "multipart");
            continue;
        }
        let download = server
            .download_legacy(&token, &corp_id, &r["mediaId"])
            .await;
        assert_eq!(download.status(), 200, "{shown}");
        assert!(download.headers().get("set-cookie").is_none(), "{shown}");
        let disposition = download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{kept}")),
            "{shown}: {disposition}"
        );
        assert!(
            !disposition.contains(['\r', '\n', '\0', '\\', '/']),
            "{disposition}"
        );
        assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.4 x");
    }
    // Every file is inside the media directory and nothing was written beside it.
    let outside: Vec<_> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("passwd") || n.contains("win.ini"))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
}
