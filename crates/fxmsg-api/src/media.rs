//! Media rules shared by the server and the SDK: size limits and what counts as an image.

/// Largest image, bytes (5 MB).
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Largest document, bytes (20 MB).
pub const MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;
/// Bytes needed to recognise every accepted image format.
pub const SNIFF_BYTES: usize = 8;

/// The image format of `head` (the file's first bytes), decided by magic numbers alone:
/// JPG, PNG, GIF or BMP, as `image/…`.
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
}
