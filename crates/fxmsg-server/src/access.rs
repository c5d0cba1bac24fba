//! Employees' own access: API tokens, one-time login links, and the web sessions made from them.
//!
//! An employee request authenticates with `authorization: Bearer fxe_…` (an API token) or the
//! `fxmsg_session` cookie (HttpOnly, SameSite=Strict) that a login link is exchanged for. Never
//! with a token in the URL: no code path reads one there. Secrets are random, shown once, and
//! stored as SHA-256; a credential of a stopped employee authenticates nothing.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
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
    /// Their name, for pages.
    pub name: String,
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

/// The value of cookie `name` in a request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, value)| (n == name).then_some(value))
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// This server as the client reached it: `X-Forwarded-Proto` and `Host`.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("{}://{host}", scheme(headers))
}

/// `https` behind a proxy that says so, else `http`.
pub fn scheme(headers: &HeaderMap) -> &'static str {
    match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    }
}

/// A write authenticated by a cookie must come from a page of this server: browsers send
/// `Origin` with every POST, and another site's form or script has another one. A cookie is
/// `SameSite=Strict` too; this is the second lock.
pub fn check_origin(method: &Method, headers: &HeaderMap) -> Result<(), NativeError> {
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let from = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    if from == Some(origin(headers).as_str()) {
        return Ok(());
    }
    Err(NativeError {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: format!(
            "a write signed in by cookie must come from this server's pages (Origin {}); API \
             clients send a bearer token instead",
            from.unwrap_or("missing")
        ),
    })
}

/// The `Set-Cookie` value of a session cookie: HttpOnly, SameSite=Strict, `Secure` behind
/// HTTPS. An empty `value` with `max_age_s` 0 removes it.
pub fn session_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if scheme(headers) == "https" {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// The employee a request is signed in as: an employee token, else the session cookie (whose
/// writes must then pass [`check_origin`]). Errors say what is wrong, without saying whose.
pub async fn authenticate_employee(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<EmployeeCaller, NativeError> {
    let secret = match bearer(headers) {
        Some(token) => token,
        None => {
            let session = cookie(headers, SESSION_COOKIE).ok_or_else(|| {
                NativeError::unauthorized(
                    "no employee credentials: send `authorization: Bearer <employee token>` \
                     (from `fxmsg admin employee token`) or sign in with a login link",
                )
            })?;
            check_origin(method, headers)?;
            session
        }
    };
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
    Ok(EmployeeCaller {
        corp_id: employee.corp_id,
        open_user_id: employee.open_user_id,
        name: employee.name,
    })
}

/// Middleware of the employee routes (`/api/v1/inbox…`).
pub async fn require_employee(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, NativeError> {
    let caller = authenticate_employee(&state, request.method(), request.headers()).await?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// The console's cookie: the admin signed in to the web console.
pub const CONSOLE_COOKIE: &str = "fxmsg_console";
/// How long a console session lasts.
pub const CONSOLE_SESSION_MS: i64 = 12 * 3600 * 1000;

/// A console session's cookie value, `<expiry ms>.<MAC>`: signed with the server's key over the
/// expiry and the admin token's hash, so nothing is stored, a restart keeps it, and a new admin
/// token ends every session made with the old one.
pub fn console_session(state: &AppState, expires_at: i64) -> String {
    let mac = state.token_key.derive(
        "console",
        &format!("{expires_at}:{}", state.admin_token_hash),
    );
    format!("{expires_at}.{mac}")
}

/// Whether the request carries a live console session: an unexpired one this server signed.
pub fn has_console_session(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(value) = cookie(headers, CONSOLE_COOKIE) else {
        return false;
    };
    let expires_at = value
        .split_once('.')
        .and_then(|(e, _)| e.parse::<i64>().ok());
    expires_at.is_some_and(|at| {
        at > state.now() && crate::secrets::constant_time_eq(&console_session(state, at), value)
    })
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
    fn cookies_and_bearer_tokens_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
        headers.insert(COOKIE, "theme=dark; fxmsg_session=fxs_abc".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("fxs_abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer fxe_xyz".parse().unwrap());
        assert_eq!(bearer(&headers), Some("fxe_xyz"));
        let mut other = HeaderMap::new();
        other.insert(COOKIE, "fxmsg_sessionx=1; session=2".parse().unwrap());
        assert_eq!(cookie(&other, SESSION_COOKIE), None);
    }

    #[test]
    fn a_cookie_write_needs_this_servers_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "127.0.0.1:9000".parse().unwrap());
        assert!(check_origin(&Method::GET, &headers).is_ok());
        assert!(check_origin(&Method::POST, &headers).is_err(), "no Origin");
        headers.insert(ORIGIN, "http://evil.example".parse().unwrap());
        assert_eq!(
            check_origin(&Method::POST, &headers).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        headers.insert(ORIGIN, "http://127.0.0.1:9000".parse().unwrap());
        assert!(check_origin(&Method::POST, &headers).is_ok());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(
            check_origin(&Method::POST, &headers).is_err(),
            "scheme differs"
        );
    }
}
