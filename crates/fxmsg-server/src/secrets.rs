//! Identifiers, secrets and their hashes.
//!
//! Secrets the server only verifies (appSecret, permanentCode, the admin token) are stored as
//! SHA-256. Tokens are derived from a stored nonce with HMAC under a key kept in the data directory,
//! so the server can hand the same token out again during its reuse window without storing it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `n` random bytes as lower hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the OS random source is available");
    hex(&buf)
}

/// Lower hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// SHA-256 of `value`, lower hex.
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new `FSCID_` + 32 upper hex corp id.
pub fn new_corp_id() -> String {
    format!("FSCID_{}", random_hex(16).to_uppercase())
}

/// A new `FSUID_` + 32 upper hex open user id.
pub fn new_open_user_id() -> String {
    format!("FSUID_{}", random_hex(16).to_uppercase())
}

/// A new `FSAID_` + short lower hex app or service id.
pub fn new_app_id() -> String {
    format!("FSAID_{}", random_hex(5))
}

/// A new 32-lower-hex appSecret.
pub fn new_app_secret() -> String {
    random_hex(16)
}

/// A new 32-upper-hex permanentCode.
pub fn new_permanent_code() -> String {
    random_hex(16).to_uppercase()
}

/// Derives token strings from nonces.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    /// A key from its bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        TokenKey(bytes)
    }

    /// The token for `nonce`: 32 upper hex.
    pub fn derive(&self, purpose: &str, nonce: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(nonce.as_bytes());
        hex(&mac.finalize().into_bytes()[..16]).to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_have_the_documented_forms() {
        assert!(new_corp_id().starts_with("FSCID_") && new_corp_id().len() == 38);
        assert!(new_open_user_id().starts_with("FSUID_"));
        let secret = new_app_secret();
        assert!(
            secret.len() == 32
                && secret
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let code = new_permanent_code();
        assert!(
            code.len() == 32
                && code
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
    }

    #[test]
    fn derived_tokens_are_stable_per_nonce_and_key() {
        let key = TokenKey::new(vec![1; 32]);
        assert_eq!(key.derive("corp", "n"), key.derive("corp", "n"));
        assert_ne!(key.derive("corp", "n"), key.derive("corp", "m"));
        assert_ne!(
            key.derive("corp", "n"),
            TokenKey::new(vec![2; 32]).derive("corp", "n")
        );
        assert_eq!(key.derive("corp", "n").len(), 32);
    }

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
