//! Employees' own access: API tokens, one-time login links, and the web sessions made from them.
//!
//! An employee request authenticates with `authorization: Bearer fxe_…` (an API token) or the
//! `fxmsg_session` cookie (HttpOnly, SameSite=Strict) that a login link is exchanged for. Never
//! with a token in the URL: no code path reads one there. Secrets are random, shown once, and
//! stored as SHA-256; a credential of a stopped employee authenticates nothing.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use fxmsg_api::native::{Credential, CredentialKind, EmployeeStatus};

use crate::error::NativeError;
use crate::secrets::{random_hex, sha256_hex};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fxmsg_session";
/// How long a login link can be used.
pub const LOGIN_LINK_MS: i64 = 15 * 60 * 1000;
/// How long a web session lasts.
pub const SESSION_MS: i64 = 30 * 24 * 3600 * 1000;

/// The employee behind a request, put in its extensions by [`require_employee`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeCaller {
    /// The employee's corp.
    pub corp_id: String,
    /// The employee.
    pub open_user_id: String,
}

/// A new credential of `kind` for the employee, and its secret (shown once).
pub fn new_credential(
    kind: CredentialKind,
    corp_id: &str,
    open_user_id: &str,
    now: i64,
) -> (Credential, String) {
    let prefix = match kind {
        CredentialKind::Token => "fxe",
        CredentialKind::Login => "fxl",
        CredentialKind::Session => "fxs",
    };
    let expires_at = match kind {
        CredentialKind::Token => None,
        CredentialKind::Login => Some(now + LOGIN_LINK_MS),
        CredentialKind::Session => Some(now + SESSION_MS),
    };
    let credential = Credential {
        credential_id: format!("fxc_{}", random_hex(8)),
        kind,
        corp_id: corp_id.into(),
        open_user_id: open_user_id.into(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    (credential, format!("{prefix}_{}", random_hex(24)))
}

/// Issues a credential of `kind` and stores it hashed; returns it with its secret.
pub async fn issue(
    state: &AppState,
    kind: CredentialKind,
    corp_id: &str,
    open_user_id: &str,
) -> Result<(Credential, String), NativeError> {
    let (credential, secret) = new_credential(kind, corp_id, open_user_id, state.now());
    state
        .store
        .insert_credential(&credential, &sha256_hex(&secret))
        .await?;
    Ok((credential, secret))
}

/// The secret a request presents: a bearer token, else the session cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(token.trim());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == SESSION_COOKIE).then_some(value))
}

/// Middleware of the employee routes (`/api/v1/inbox…`).
pub async fn require_employee(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, NativeError> {
    let secret = presented(request.headers()).ok_or_else(|| {
        NativeError::unauthorized(
            "no employee credentials: send `authorization: Bearer <employee token>` (from \
             `fxmsg admin employee token`) or sign in with a login link",
        )
    })?;
    let wrong = || {
        NativeError::unauthorized(
            "this employee token or session is wrong, expired or revoked; ask for a new one",
        )
    };
    let credential = state
        .store
        .live_credential(&sha256_hex(secret), state.now())
        .await?
        .filter(|c| c.kind != CredentialKind::Login)
        .ok_or_else(wrong)?;
    let employee = state
        .store
        .employee(&credential.corp_id, &credential.open_user_id)
        .await?
        .filter(|e| e.status == EmployeeStatus::Active)
        .ok_or_else(|| NativeError::unauthorized("this employee is stopped"))?;
    request.extensions_mut().insert(EmployeeCaller {
        corp_id: employee.corp_id,
        open_user_id: employee.open_user_id,
    });
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_carry_their_kind_in_the_secret_and_expire_as_their_kind_does() {
        let (token, secret) = new_credential(CredentialKind::Token, "C", "U", 1000);
        assert!(secret.starts_with("fxe_") && secret.len() == 52);
        assert_eq!(token.expires_at, None);
        let (login, secret) = new_credential(CredentialKind::Login, "C", "U", 1000);
        assert!(secret.starts_with("fxl_"));
        assert_eq!(login.expires_at, Some(1000 + LOGIN_LINK_MS));
        let (session, _) = new_credential(CredentialKind::Session, "C", "U", 1000);
        assert_eq!(session.expires_at, Some(1000 + SESSION_MS));
        assert!(token.credential_id.starts_with("fxc_"));
        assert_ne!(token.credential_id, login.credential_id);
    }

    #[test]
    fn a_secret_comes_from_the_bearer_header_or_the_session_cookie_never_elsewhere() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented(&headers), None);
        headers.insert(COOKIE, "theme=dark; fxmsg_session=fxs_abc".parse().unwrap());
        assert_eq!(presented(&headers), Some("fxs_abc"));
        headers.insert(AUTHORIZATION, "Bearer fxe_xyz".parse().unwrap());
        assert_eq!(presented(&headers), Some("fxe_xyz"));
        let mut other = HeaderMap::new();
        other.insert(COOKIE, "fxmsg_sessionx=1; session=2".parse().unwrap());
        assert_eq!(presented(&other), None);
    }
}
