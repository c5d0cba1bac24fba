//! Token issuing and the Fxiaoke lifetime rule: a token lives 7200 s; asking again within its first
//! 6600 s returns the same token, from 6600 s on a new one is issued while the old one stays valid
//! until its 7200 s are up.

use fxmsg_store::{AppRecord, TokenKind, TokenRecord};

use crate::error::CompatError;
use crate::secrets::{random_hex, sha256_hex};
use crate::state::AppState;

/// Seconds a token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 7200;
/// Seconds during which the same token is handed out again.
pub const TOKEN_REUSE_SECS: i64 = 6600;
/// Seconds a refresh token is valid (fxmsg's decision; the manual gives none).
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// An issued token string and its remaining lifetime.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Returns the token of `kind` for the app's corp, reusing the current one inside its reuse window.
pub async fn issue_or_reuse(
    state: &AppState,
    kind: TokenKind,
    app: &AppRecord,
) -> Result<Issued, CompatError> {
    let now = state.now();
    // Reusable while younger than 6600 s: at exactly 6600 s a new token is issued.
    let reusable_since = now - TOKEN_REUSE_SECS * 1000 + 1;
    if let Some(t) = state
        .store
        .newest_token(kind, &app.app.app_id, &app.app.corp_id, reusable_since)
        .await?
    {
        if t.issued_at <= now {
            return Ok(Issued {
                token: state.token_key.derive(kind.as_str(), &t.nonce),
                expires_in: (t.expires_at - now) / 1000,
            });
        }
    }
    issue(state, kind, app, TOKEN_LIFETIME_SECS).await
}

/// Issues a new token of `kind` valid for `lifetime_secs`.
pub async fn issue(
    state: &AppState,
    kind: TokenKind,
    app: &AppRecord,
    lifetime_secs: i64,
) -> Result<Issued, CompatError> {
    let now = state.now();
    let nonce = random_hex(16);
    let token = state.token_key.derive(kind.as_str(), &nonce);
    let record = TokenRecord {
        kind,
        nonce,
        token_hash: sha256_hex(&token),
        app_id: app.app.app_id.clone(),
        corp_id: app.app.corp_id.clone(),
        issued_at: now,
        expires_at: now + lifetime_secs * 1000,
    };
    state.store.insert_token(&record).await?;
    Ok(Issued {
        token,
        expires_in: lifetime_secs,
    })
}
