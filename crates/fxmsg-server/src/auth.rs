//! Who is calling a business endpoint: both Fxiaoke auth styles resolve to one [`Caller`].
//!
//! New style: `authorization: Bearer <token>` plus `x-fs-ea`. Legacy style: `corpAccessToken` and
//! `corpId` in the JSON body, or in the query string for multipart uploads. When both are present
//! the header wins. Any wrong, expired or foreign token is `20016`; no credentials at all is `20017`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use fxmsg_api::ErrorCode;
use fxmsg_store::{TokenKind, TokenRecord};

use crate::error::CompatError;
use crate::extract::{CompatJson, CompatQuery};
use crate::secrets::sha256_hex;
use crate::state::AppState;

/// The authenticated corp and app behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `FSCID_…`.
    pub corp_id: String,
    /// `FSAID_…`.
    pub app_id: String,
}

/// Credentials found in a request, before they are checked.
pub(crate) struct Presented<'a> {
    token: Option<&'a str>,
    tenant: Tenant<'a>,
}

enum Tenant<'a> {
    Ea(Option<&'a str>),
    CorpId(Option<&'a str>),
}

/// Authenticates a request from its headers, then its body, then its query string.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: Option<&CompatJson>,
    query: &CompatQuery,
) -> Result<Caller, CompatError> {
    let presented = presented(headers, body, query)?;
    let Some(token) = presented.token else {
        return Err(match presented.tenant {
            Tenant::Ea(None) | Tenant::CorpId(None) => CompatError::new(
                ErrorCode::NoCredentials,
                "no credentials: send a token and a corp",
            ),
            _ => CompatError::new(ErrorCode::CorpTokenInvalid, "corpAccessToken: is required"),
        });
    };
    let record = live_corp_token(state, token)
        .await?
        .ok_or_else(invalid_token)?;
    let tenant_matches = match presented.tenant {
        Tenant::CorpId(Some(corp_id)) => corp_id == record.corp_id,
        Tenant::Ea(Some(ea)) => state
            .store
            .corp(&record.corp_id)
            .await?
            .is_some_and(|c| c.ea == ea),
        Tenant::CorpId(None) => {
            return Err(CompatError::new(
                ErrorCode::MissingCorpId,
                "corpId: is required",
            ))
        }
        Tenant::Ea(None) => {
            return Err(CompatError::new(
                ErrorCode::MissingCorpId,
                "x-fs-ea: the header is required with a bearer token",
            ))
        }
    };
    if !tenant_matches {
        return Err(invalid_token());
    }
    let app = state
        .store
        .app(&record.app_id)
        .await?
        .ok_or_else(invalid_token)?;
    if !app.app.enabled {
        return Err(CompatError::new(
            ErrorCode::AppDisabled,
            "the app is disabled",
        ));
    }
    Ok(Caller {
        corp_id: record.corp_id.clone(),
        app_id: record.app_id.clone(),
    })
}

fn invalid_token() -> CompatError {
    CompatError::new(
        ErrorCode::CorpTokenInvalid,
        "the token is wrong, expired or not for this corp",
    )
}

async fn live_corp_token(
    state: &AppState,
    token: &str,
) -> Result<Option<Arc<TokenRecord>>, CompatError> {
    let hash = sha256_hex(token);
    let now = state.now();
    // A corp token and an OAuth access token both act for a corp; either style takes either.
    for kind in [TokenKind::Corp, TokenKind::Access] {
        if let Some(record) = state.store.live_token(kind, &hash, now).await? {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

pub(crate) fn presented<'a>(
    headers: &'a HeaderMap,
    body: Option<&'a CompatJson>,
    query: &'a CompatQuery,
) -> Result<Presented<'a>, CompatError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(auth) = header("authorization") {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .unwrap_or(auth)
            .trim();
        return Ok(Presented {
            token: Some(token).filter(|t| !t.is_empty()),
            tenant: Tenant::Ea(header("x-fs-ea")),
        });
    }
    let (body_token, body_corp) = match body {
        Some(body) => (
            body.str_field("corpAccessToken")?,
            body.str_field("corpId")?,
        ),
        None => (None, None),
    };
    let nonempty = |v: &'a Option<String>| v.as_deref().filter(|s| !s.is_empty());
    Ok(Presented {
        token: body_token.or(nonempty(&query.corp_access_token)),
        tenant: Tenant::CorpId(body_corp.or(nonempty(&query.corp_id))),
    })
}

/// A compat JSON call, authenticated: the extractor every JSON business endpoint takes, so no
/// handler can forget authentication. The body is read (and its errors reported) before the
/// credentials are checked, as the gateway does.
pub struct Call {
    /// Who is calling.
    pub caller: Caller,
    /// The query string.
    pub query: CompatQuery,
    /// The JSON body.
    pub body: CompatJson,
}

impl FromRequest<AppState> for Call {
    type Rejection = CompatError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let query = CompatQuery::from_request_parts(&mut parts, state).await?;
        let headers = std::mem::take(&mut parts.headers);
        // A clone of the URI shares its bytes: no copy of the path on the send path.
        let uri = parts.uri.clone();
        let body = CompatJson::from_request(Request::from_parts(parts, body), state).await?;
        let caller = authenticate(state, &headers, Some(&body), &query).await?;
        admit(state, uri.path(), &caller, Some(&body.0)).await?;
        Ok(Call {
            caller,
            query,
            body,
        })
    }
}

/// The caller of a multipart upload (headers or query-string auth); the body is left unread so
/// the handler can stream it.
pub struct Uploader {
    /// Who is calling.
    pub caller: Caller,
    /// The query string.
    pub query: CompatQuery,
}

impl FromRequestParts<AppState> for Uploader {
    type Rejection = CompatError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = CompatQuery::from_request_parts(parts, state).await?;
        let caller = authenticate(state, &parts.headers, None, &query).await?;
        admit(state, parts.uri.path(), &caller, None).await?;
        Ok(Uploader { caller, query })
    }
}

/// The caller of a call to `path` is known and nothing has happened yet: a planned fault with a
/// filter that matches fires (see `faults`), then the rate limits, when on, count the call.
/// Every compat endpoint passes here, the token endpoints once the app is verified.
pub async fn admit(
    state: &AppState,
    path: &str,
    caller: &Caller,
    body: Option<&serde_json::Value>,
) -> Result<(), CompatError> {
    let point = crate::faults::Point {
        path,
        caller: Some((&caller.corp_id, &caller.app_id)),
        body,
    };
    crate::faults::checkpoint(state, point).await?;
    match &state.limits {
        Some(limits) => limits.count(path, &caller.corp_id, &caller.app_id, state.now()),
        None => Ok(()),
    }
}

/// The service account `service_id` of the caller's corp, or `15002` naming `serviceId`.
pub async fn require_service_account(
    state: &AppState,
    caller: &Caller,
    service_id: &str,
) -> Result<(), CompatError> {
    match state
        .store
        .service_account(&caller.corp_id, service_id)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(CompatError::invalid(
            "serviceId",
            format!("no service account {service_id:?} in this corp"),
        )),
    }
}
