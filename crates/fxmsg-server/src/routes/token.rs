//! `/cgi/corpAccessToken/get/V2`, `/oauth2.0/token` and `/cgi/appAccessToken/get`.

use std::sync::Arc;

use axum::extract::{MatchedPath, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fxmsg_api::envelope::{AppAccessToken, CorpAccessToken, OAuthToken};
use fxmsg_api::{Envelope, ErrorCode};
use fxmsg_store::{AppRecord, TokenKind};

use crate::auth::{admit, Caller};
use crate::error::CompatError;
use crate::extract::CompatJson;
use crate::limits::TokenCall;
use crate::secrets::{constant_time_eq, sha256_hex};
use crate::state::AppState;
use crate::tokens::{issue, issue_or_reuse, REFRESH_LIFETIME_SECS};
use crate::trace::current_trace_id;

/// `POST /cgi/corpAccessToken/get/V2`: the legacy corp token.
#[utoipa::path(post, path = "/cgi/corpAccessToken/get/V2", tag = "fxiaoke", request_body = crate::routes::schema::CorpTokenRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::CorpAccessToken>)))]
pub async fn get_corp_access_token(
    State(state): State<AppState>,
    path: MatchedPath,
    body: CompatJson,
) -> Result<Json<Envelope<CorpAccessToken>>, CompatError> {
    let app = verify_app(&state, &body, true).await?;
    let _in_progress = admit_app(&state, &path, &app, &body).await?;
    let issued = issue_or_reuse(&state, TokenKind::Corp, &app).await?;
    Ok(Json(Envelope::ok(
        current_trace_id(),
        CorpAccessToken {
            corp_access_token: issued.token,
            corp_id: app.app.corp_id.clone(),
            expires_in: issued.expires_in,
        },
    )))
}

/// `POST /oauth2.0/token`: `app_secret` and `refresh_token` grants. Errors also carry OAuth-style
/// `error` and `error_description`, as the live gateway's do.
#[utoipa::path(post, path = "/oauth2.0/token", tag = "fxiaoke", request_body = crate::routes::schema::OAuthTokenRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::OAuthToken>)))]
pub async fn get_oauth_token(
    State(state): State<AppState>,
    path: MatchedPath,
    body: Result<CompatJson, CompatError>,
) -> Response {
    match oauth_token(&state, &path, body).await {
        Ok(token) => Json(Envelope::ok(current_trace_id(), token)).into_response(),
        Err(e) => {
            let error = match e.code {
                ErrorCode::BadAppSecret
                | ErrorCode::AppIdOrSecretWrong
                | ErrorCode::MissingAppId => "invalid_client",
                ErrorCode::PermanentCodeWrong | ErrorCode::CorpTokenInvalid => "invalid_grant",
                ErrorCode::AppDisabled => "unauthorized_client",
                _ => "invalid_request",
            };
            let mut oauth = serde_json::Map::new();
            oauth.insert("error".into(), error.into());
            oauth.insert("error_description".into(), e.description.clone().into());
            e.into_response_with(oauth)
        }
    }
}

async fn oauth_token(
    state: &AppState,
    path: &MatchedPath,
    body: Result<CompatJson, CompatError>,
) -> Result<OAuthToken, CompatError> {
    let body = body?;
    let grant = body.str_field("grantType")?.unwrap_or("app_secret");
    let app = match grant {
        "app_secret" => verify_app(state, &body, true).await?,
        "refresh_token" => {
            let refresh = body.required("refreshToken", ErrorCode::InvalidParameter)?;
            let record = state
                .store
                .take_token(TokenKind::Refresh, &sha256_hex(refresh), state.now())
                .await?
                .ok_or_else(|| {
                    CompatError::new(
                        ErrorCode::CorpTokenInvalid,
                        "refreshToken: wrong, used or expired",
                    )
                })?;
            let app = state.store.app(&record.app_id).await?.ok_or_else(|| {
                CompatError::new(
                    ErrorCode::CorpTokenInvalid,
                    "refreshToken: its app no longer exists",
                )
            })?;
            ensure_enabled(&app)?;
            app
        }
        other => {
            return Err(CompatError::invalid(
                "grantType",
                format!("{other:?} is not app_secret or refresh_token"),
            ))
        }
    };
    let _in_progress = admit_app(state, path, &app, &body).await?;
    let access = if grant == "refresh_token" {
        issue(
            state,
            TokenKind::Access,
            &app,
            crate::tokens::TOKEN_LIFETIME_SECS,
        )
        .await?
    } else {
        issue_or_reuse(state, TokenKind::Access, &app).await?
    };
    let refresh = issue(state, TokenKind::Refresh, &app, REFRESH_LIFETIME_SECS).await?;
    let ea = state
        .store
        .corp(&app.app.corp_id)
        .await?
        .map(|c| c.ea.clone())
        .unwrap_or_default();
    Ok(OAuthToken {
        access_token: access.token,
        refresh_token: refresh.token,
        expires_in: access.expires_in,
        app_id: app.app.app_id.clone(),
        ea,
        open_user_id: String::new(),
    })
}

/// `POST /cgi/appAccessToken/get`: the legacy app token.
#[utoipa::path(post, path = "/cgi/appAccessToken/get", tag = "fxiaoke", request_body = crate::routes::schema::AppTokenRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::AppAccessToken>)))]
pub async fn get_app_access_token(
    State(state): State<AppState>,
    path: MatchedPath,
    body: CompatJson,
) -> Result<Json<Envelope<AppAccessToken>>, CompatError> {
    let app = verify_app(&state, &body, false).await?;
    let _in_progress = admit_app(&state, &path, &app, &body).await?;
    let issued = issue_or_reuse(&state, TokenKind::App, &app).await?;
    Ok(Json(Envelope::ok(
        current_trace_id(),
        AppAccessToken {
            app_access_token: issued.token,
            expires_in: issued.expires_in,
        },
    )))
}

/// [`admit`] for a token call by `app`; with rate limits, the call holds the app's one token
/// call in progress until the returned guard is dropped.
async fn admit_app(
    state: &AppState,
    path: &MatchedPath,
    app: &AppRecord,
    body: &CompatJson,
) -> Result<Option<TokenCall>, CompatError> {
    let in_progress = match &state.limits {
        Some(limits) => Some(limits.token_call(&app.app.app_id)?),
        None => None,
    };
    let caller = Caller {
        corp_id: app.app.corp_id.clone(),
        app_id: app.app.app_id.clone(),
    };
    admit(state, path.as_str(), &caller, Some(&body.0)).await?;
    Ok(in_progress)
}

/// Checks appId, appSecret and (when asked) permanentCode, with the codes the live gateway uses.
async fn verify_app(
    state: &AppState,
    body: &CompatJson,
    with_permanent_code: bool,
) -> Result<Arc<AppRecord>, CompatError> {
    let app_id = body.required("appId", ErrorCode::MissingAppId)?;
    let secret = body.str_field("appSecret")?;
    let app = state
        .store
        .app(app_id)
        .await?
        .ok_or_else(|| CompatError::new(ErrorCode::AppIdOrSecretWrong, "appId: no such app"))?;
    if !secret.is_some_and(|s| constant_time_eq(&sha256_hex(s), &app.secret_hash)) {
        return Err(CompatError::new(
            ErrorCode::BadAppSecret,
            "appSecret: missing or wrong",
        ));
    }
    if with_permanent_code {
        let code = body.required("permanentCode", ErrorCode::MissingPermanentCode)?;
        if !constant_time_eq(&sha256_hex(code), &app.permanent_code_hash) {
            return Err(CompatError::new(
                ErrorCode::PermanentCodeWrong,
                "permanentCode: wrong",
            ));
        }
    }
    ensure_enabled(&app)?;
    Ok(app)
}

fn ensure_enabled(app: &AppRecord) -> Result<(), CompatError> {
    if app.app.enabled {
        Ok(())
    } else {
        Err(CompatError::new(
            ErrorCode::AppDisabled,
            "the app is disabled",
        ))
    }
}
