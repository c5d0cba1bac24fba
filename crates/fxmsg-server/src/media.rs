//! Media rules that do not depend on HTTP: what an image is, how big files may be, safe headers.

/// Largest image, bytes (5 MB).
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Largest document, bytes (20 MB).
pub const MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;
/// Bytes needed to recognise every accepted image format.
pub const SNIFF_BYTES: usize = 8;

/// The image format of `head` (the file's first bytes), decided by magic numbers alone.
pub fn sniff_image(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 5] = [
        (&[0xFF, 0xD8, 0xFF], "image/jpeg"),
        (
            &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A],
            "image/png",
        ),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"BM", "image/bmp"),
    ];
    SIGNATURES
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, mime)| *mime)
}

/// The content type to serve a document with: the declared one when it cannot be rendered as
/// active content by a browser, else `application/octet-stream`.
pub fn document_content_type(declared: Option<&str>) -> String {
    let declared = declared.unwrap_or_default().trim().to_ascii_lowercase();
    let essence = declared.split(';').next().unwrap_or_default().trim();
    let active = ["html", "xml", "javascript", "svg", "ecmascript", "xhtml"]
        .iter()
        .any(|a| essence.contains(a));
    let well_formed = essence.split_once('/').is_some_and(|(t, s)| {
        !t.is_empty()
            && !s.is_empty()
            && essence
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
    });
    if well_formed && !active {
        essence.to_owned()
    } else {
        "application/octet-stream".into()
    }
}

/// A `Content-Disposition: attachment` value that survives any client file name.
pub fn attachment_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The file name to keep: the client's basename, bounded, or a generated one.
pub fn clean_file_name(declared: Option<&str>, media_id: &str) -> String {
    let base = declared
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(str::trim)
        .unwrap_or_default();
    if base.is_empty() || base == "." || base == ".." {
        format!("media-{media_id}")
    } else {
        base.chars().filter(|c| !c.is_control()).take(200).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff_image(b"BM\0\0"), Some("image/bmp"));
        assert_eq!(sniff_image(b"<html><body>"), None);
        assert_eq!(
            sniff_image(b"\x89PNG"),
            None,
            "a truncated signature is not a PNG"
        );
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn active_document_types_are_served_as_octet_stream() {
        assert_eq!(
            document_content_type(Some("application/pdf")),
            "application/pdf"
        );
        assert_eq!(
            document_content_type(Some("text/html; charset=utf-8")),
            "application/octet-stream"
        );
        assert_eq!(
            document_content_type(Some("image/svg+xml")),
            "application/octet-stream"
        );
        assert_eq!(
            document_content_type(Some("nonsense")),
            "application/octet-stream"
        );
        assert_eq!(document_content_type(None), "application/octet-stream");
    }

    #[test]
    fn dispositions_and_names_are_safe_for_any_input() {
        let d = attachment_disposition("报告 \"x\".pdf");
        assert!(
            d.starts_with("attachment; filename=\"") && !d[22..].contains("\"x\""),
            "{d}"
        );
        assert!(d.contains("%E6%8A%A5"));
        assert_eq!(clean_file_name(Some("../../etc/passwd"), "m"), "passwd");
        assert_eq!(clean_file_name(Some("C:\\x\\a.png"), "m"), "a.png");
        assert_eq!(clean_file_name(None, "m"), "media-m");
        assert_eq!(clean_file_name(Some(".."), "m"), "media-m");
    }
}
