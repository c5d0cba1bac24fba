//! Media rules that do not depend on HTTP: safe content types, dispositions and file names. Size
//! limits and image recognition live in `fxmsg-api`, shared with the SDK.

pub use fxmsg_api::media::{sniff_image, MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, SNIFF_BYTES};

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
