//! Media rules that do not depend on HTTP: safe content types, dispositions and file names. Size
//! limits and image recognition live in `fxmsg-api`, shared with the SDK.

pub use fxmsg_api::media::{sniff_image, MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, SNIFF_BYTES};

/// Document types served as declared: formats a browser does not run or render as a page.
/// Anything else (HTML, SVG, XML, scripts, CSS, Flash, `multipart/x-mixed-replace`, types
/// nobody has heard of) is served as `application/octet-stream`.
const INERT_TYPES: &[&str] = &[
    "application/pdf",
    "application/msword",
    "application/rtf",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/zip",
    "application/x-zip-compressed",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-rar-compressed",
    "application/json",
    "application/octet-stream",
    "text/plain",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/webp",
    "image/tiff",
    "audio/mpeg",
    "audio/mp4",
    "audio/wav",
    "audio/ogg",
    "video/mp4",
    "video/quicktime",
    "video/webm",
];

/// Families of office formats, served as declared: `…openxmlformats-officedocument.…` (docx,
/// xlsx, pptx), `…oasis.opendocument.…` (odt, ods, odp).
const INERT_PREFIXES: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
];

/// The content type to serve a document with: the declared one when it is on the allowlist of
/// inert formats, else `application/octet-stream`.
pub fn document_content_type(declared: Option<&str>) -> String {
    let declared = declared.unwrap_or_default().trim().to_ascii_lowercase();
    let essence = declared.split(';').next().unwrap_or_default().trim();
    let well_formed = essence
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c));
    let inert = INERT_TYPES.contains(&essence)
        || INERT_PREFIXES
            .iter()
            .any(|p| essence.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
    if well_formed && inert {
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
        bounded(base.chars().filter(|c| !c.is_control()).collect())
    }
}

/// Longest kept file name, in characters.
const MAX_FILE_NAME_CHARS: usize = 200;
/// Longest extension a cut name keeps, in characters.
const MAX_EXTENSION_CHARS: usize = 16;

/// `name` cut to [`MAX_FILE_NAME_CHARS`], keeping its extension: a long name still opens with
/// the right program.
fn bounded(name: String) -> String {
    let chars = name.chars().count();
    if chars <= MAX_FILE_NAME_CHARS {
        return name;
    }
    let extension = name
        .rfind('.')
        .map(|at| &name[at..])
        .filter(|e| (2..=MAX_EXTENSION_CHARS + 1).contains(&e.chars().count()))
        .unwrap_or("");
    let stem: String = name
        .chars()
        .take(MAX_FILE_NAME_CHARS - extension.chars().count())
        .collect();
    stem + extension
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
        // Not a denylist: what a browser would render or run, known or not, is a download.
        for declared in [
            "multipart/x-mixed-replace; boundary=x",
            "text/css",
            "application/x-shockwave-flash",
            "application/vnd.openxmlformats-officedocument.",
            "text/x-unheard-of",
        ] {
            assert_eq!(
                document_content_type(Some(declared)),
                "application/octet-stream",
                "{declared}"
            );
        }
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert_eq!(document_content_type(Some(docx)), docx);
        assert_eq!(document_content_type(Some("Text/CSV")), "text/csv");
    }

    #[test]
    fn a_long_name_is_cut_to_200_characters_and_keeps_its_extension() {
        let at_limit = format!("{}.pdf", "a".repeat(196));
        assert_eq!(clean_file_name(Some(&at_limit), "m"), at_limit);
        let past = format!("{}.pdf", "报".repeat(300));
        let kept = clean_file_name(Some(&past), "m");
        assert_eq!(kept.chars().count(), 200);
        assert!(kept.ends_with("报.pdf"), "{kept}");
        // No extension (or an absurd one): a plain cut.
        let plain = "b".repeat(201);
        assert_eq!(clean_file_name(Some(&plain), "m"), "b".repeat(200));
        let odd = format!("x.{}", "e".repeat(300));
        assert_eq!(clean_file_name(Some(&odd), "m").chars().count(), 200);
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
