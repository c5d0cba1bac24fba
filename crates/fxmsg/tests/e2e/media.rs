//! Uploads (limits, type by bytes, no leftovers), downloads (headers, bytes) and deletes.

use bytes::Bytes;
use fxmsg_client::{AuthStyle, MediaKind};
use fxmsg_server::{MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES};
use serde_json::json;

use crate::support::{assert_error, assert_success, TestServer, JPEG, PNG};

fn png_of_size(size: u64) -> Vec<u8> {
    let mut bytes = PNG.to_vec();
    bytes.resize(size as usize, 0);
    bytes
}

#[tokio::test]
async fn images_are_limited_to_5_mb_and_documents_to_20_mb() {
    let server = TestServer::start().await;
    let at = server
        .upload_raw(
            "/media/upload/message",
            "big.png",
            "image/png",
            png_of_size(MAX_IMAGE_BYTES),
        )
        .await;
    assert_success(&at);
    let past = server
        .upload_raw(
            "/media/upload/message",
            "big.png",
            "image/png",
            png_of_size(MAX_IMAGE_BYTES + 1),
        )
        .await;
    assert_error(&past, 15002, "limited to 5242880 bytes");
    let crm = server
        .upload_raw(
            "/media/upload?type=image",
            "big.png",
            "image/png",
            png_of_size(MAX_IMAGE_BYTES + 1),
        )
        .await;
    assert_error(&crm, 15002, "limited to 5242880 bytes");
    let doc = vec![b'a'; MAX_DOCUMENT_BYTES as usize];
    assert_success(
        &server
            .upload_raw("/media/upload?type=document", "a.txt", "text/plain", doc)
            .await,
    );
    let doc = vec![b'a'; MAX_DOCUMENT_BYTES as usize + 1];
    assert_error(
        &server
            .upload_raw("/media/upload?type=document", "a.txt", "text/plain", doc)
            .await,
        15002,
        "limited to 20971520",
    );
    assert_eq!(
        server.media_files(),
        2,
        "refused uploads leave no bytes behind"
    );
}

#[tokio::test]
async fn the_image_type_is_decided_by_the_bytes_not_the_name() {
    let server = TestServer::start().await;
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    assert_error(
        &server
            .upload_raw("/media/upload/message", "cat.png", "image/png", html)
            .await,
        15002,
        "not a JPG, PNG, GIF or BMP",
    );
    let renamed = server
        .upload_raw(
            "/media/upload/message",
            "page.html",
            "text/html",
            PNG.to_vec(),
        )
        .await;
    assert_success(&renamed);
    for (name, bytes) in [
        ("a.gif", b"GIF89a\x01\0\x01\0".to_vec()),
        ("a.bmp", b"BM\x3a\0\0\0".to_vec()),
        ("a.jpg", JPEG.to_vec()),
    ] {
        assert_success(
            &server
                .upload_raw(
                    "/media/upload/message",
                    name,
                    "application/octet-stream",
                    bytes,
                )
                .await,
        );
    }
    let client = server.client(AuthStyle::Legacy);
    let mut out = Vec::new();
    client
        .download(renamed["mediaId"].as_str().unwrap(), &mut out)
        .await
        .unwrap();
    assert_eq!(out, PNG);
    assert_eq!(server.media_files(), 4);
}

#[tokio::test]
async fn downloads_carry_safe_headers_and_the_exact_bytes() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Bearer);
    let image = client
        .upload_bytes(MediaKind::MessageImage, "封面.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let doc = client
        .upload_bytes(
            MediaKind::Document,
            "x.html",
            Bytes::from_static(b"<h1>hi</h1>"),
        )
        .await
        .unwrap();
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    for (id, mime, bytes) in [
        (&image, "image/png", PNG),
        (&doc, "application/octet-stream", &b"<h1>hi</h1>"[..]),
    ] {
        let response = server.download_legacy(&token, &corp_id, &json!(id)).await;
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], mime);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
        assert_eq!(response.bytes().await.unwrap().as_ref(), bytes);
    }
}

#[tokio::test]
async fn deleted_media_is_gone_for_download_and_delete() {
    let server = TestServer::start().await;
    let client = server.client(AuthStyle::Legacy);
    let id = client
        .upload_bytes(MediaKind::Image, "a.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    assert_eq!(server.media_files(), 1);
    client.delete_media(&id).await.unwrap();
    assert_eq!(server.media_files(), 0, "the bytes are removed too");
    let err = client.download(&id, &mut Vec::new()).await.unwrap_err();
    assert_eq!(err.code(), Some(fxmsg_client::ErrorCode::InvalidParameter));
    assert_error(
        &server
            .post_legacy("/media/delete", json!({"mediaId": id}))
            .await,
        15002,
        "mediaId",
    );
    assert_error(
        &server.post_legacy("/media/delete", json!({})).await,
        15002,
        "mediaId",
    );
}

#[tokio::test]
async fn malformed_uploads_are_refused_and_leave_nothing() {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let url = format!(
        "{}/media/upload/message?corpAccessToken={token}&corpId={corp_id}",
        server.url
    );
    let post = |content_type: &'static str, body: Vec<u8>| {
        let request = server
            .http()
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let mut truncated = b"--XX\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".to_vec();
    truncated.extend_from_slice(&png_of_size(100_000));
    assert_error(
        &post("multipart/form-data; boundary=XX", truncated).await,
        15002,
        "cut off",
    );
    assert_error(
        &post("application/json", b"{}".to_vec()).await,
        15002,
        "multipart/form-data",
    );
    let other_field = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc\r\n--XX--\r\n".to_vec();
    assert_error(
        &post("multipart/form-data; boundary=XX", other_field).await,
        15002,
        "media",
    );
    let empty = b"--XX\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\n\r\n\r\n--XX--\r\n".to_vec();
    assert_error(
        &post("multipart/form-data; boundary=XX", empty).await,
        15002,
        "empty",
    );
    assert_error(
        &server
            .upload_raw("/media/upload", "a.png", "image/png", PNG.to_vec())
            .await,
        15002,
        "type",
    );
    assert_error(
        &server
            .upload_raw(
                "/media/upload?type=video",
                "a.png",
                "image/png",
                PNG.to_vec(),
            )
            .await,
        15002,
        "type",
    );
    assert_eq!(server.media_files(), 0);
}

#[tokio::test]
async fn the_sdk_streams_a_file_from_disk_with_progress() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.png");
    std::fs::write(&path, png_of_size(3 * 1024 * 1024)).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let progress: fxmsg_client::media::Progress =
        std::sync::Arc::new(move |sent, total| log.lock().unwrap().push((sent, total)));
    let client = server.client(AuthStyle::Bearer);
    let id = client
        .upload_path(MediaKind::MessageImage, &path, Some(progress))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() > 1 && seen.windows(2).all(|w| w[0].0 < w[1].0),
        "progress grows"
    );
    assert_eq!(
        seen.last().copied(),
        Some((3 * 1024 * 1024, 3 * 1024 * 1024))
    );
    let mut out = Vec::new();
    assert_eq!(
        client.download(&id, &mut out).await.unwrap(),
        3 * 1024 * 1024
    );
    assert_eq!(out, std::fs::read(&path).unwrap());
}

#[tokio::test]
async fn documents_are_served_as_declared_only_from_an_allowlist_and_long_names_keep_their_extension(
) {
    let server = TestServer::start().await;
    let (token, corp_id) = server.legacy_token_for(&server.demo.app).await;
    let long_name = format!("{}.pdf", "q".repeat(300));
    let cases = [
        (
            "a.bin",
            "multipart/x-mixed-replace; boundary=x",
            "application/octet-stream",
        ),
        ("a.css", "text/css", "application/octet-stream"),
        (
            "a.swf",
            "application/x-shockwave-flash",
            "application/octet-stream",
        ),
        (long_name.as_str(), "application/pdf", "application/pdf"),
    ];
    for (name, declared, served) in cases {
        let uploaded = server
            .upload_raw(
                "/media/upload?type=document",
                name,
                declared,
                b"%PDF-1.4 x".to_vec(),
            )
            .await;
        assert_success(&uploaded);
        let response = server
            .download_legacy(&token, &corp_id, &uploaded["mediaId"])
            .await;
        assert_eq!(response.headers()["content-type"], served, "{declared}");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        if name == long_name {
            let kept = format!("{}.pdf", "q".repeat(196));
            assert!(
                disposition.contains(&format!("filename=\"{kept}\"")),
                "{disposition}"
            );
        }
    }
}

#[tokio::test]
async fn a_corps_media_fits_its_storage_quota_at_the_limit_and_not_past_it() {
    let server = TestServer::start_with(|c| c.media_quota_bytes = 100).await;
    let document = |n: usize| {
        let mut bytes = b"%PDF-1.4 ".to_vec();
        bytes.resize(n, b'x');
        bytes
    };
    let upload = |n: usize| {
        server.upload_raw(
            "/media/upload?type=document",
            "q.pdf",
            "application/pdf",
            document(n),
        )
    };
    let first = upload(60).await;
    assert_success(&first);
    // Exactly at the quota.
    assert_success(&upload(40).await);
    // One byte past it, and a file far past the room left: refused, nothing kept.
    let files = server.media_files();
    assert_error(&upload(1).await, 30003, "storage quota of 100 bytes");
    assert_error(&upload(5000).await, 30003, "100 bytes in use");
    assert_eq!(server.media_files(), files, "a refused upload left a file");
    // Another corp has its own quota.
    let other = server.other_corp("quota-other").await;
    let theirs = server
        .upload_raw_as(
            &other.app,
            "/media/upload?type=document",
            "o.pdf",
            "application/pdf",
            document(100),
        )
        .await;
    assert_success(&theirs);
    // Deleting frees room; two uploads racing for it: exactly one fits.
    assert_success(
        &server
            .post_legacy("/media/delete", json!({"mediaId": first["mediaId"]}))
            .await,
    );
    let (a, b) = tokio::join!(upload(60), upload(60));
    let codes = [a["errorCode"].as_i64(), b["errorCode"].as_i64()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(30003)),
        "{a} {b}"
    );
}
