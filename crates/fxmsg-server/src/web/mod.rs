//! The web UI, served by `fxmsg serve` itself: the admin's console (every message live, the
//! directory) and each employee's inbox. Pages are askama templates (compiled, escaping every
//! value); one small script keeps a page region live by reloading its server-rendered fragment
//! when the event stream says something changed. Assets are built into the binary and nothing
//! is loaded from another origin: the Content-Security-Policy says so to the browser.

mod console;
mod inbox;
mod view;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderName, HeaderValue, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::access::{self, EmployeeCaller};
use crate::error::NativeError;
use crate::extract::Path;
use crate::routes::access as login;
use crate::state::AppState;

/// Every page's policy: scripts, styles, images and connections from this server only; no
/// inline script or style, no `eval`, no frames, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

const CSS: &str = include_str!("../../assets/fxmsg.css");
const JS: &str = include_str!("../../assets/fxmsg.js");

/// The web routes, with the security headers on every answer.
pub fn routes(state: AppState) -> Router<AppState> {
    let headers = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route(
            "/assets/fxmsg.css",
            get(|| asset("text/css; charset=utf-8", CSS)),
        )
        .route(
            "/assets/fxmsg.js",
            get(|| asset("text/javascript; charset=utf-8", JS)),
        )
        .route(
            "/console/login",
            get(console::login_page).post(console::login),
        )
        .route("/console/logout", post(console::logout))
        .route("/console", get(console::messages))
        .route("/console/fragment", get(console::messages_fragment))
        .route("/console/messages/{message_id}", get(console::message))
        .route(
            "/console/messages/{message_id}/fragment",
            get(console::message_fragment),
        )
        .route("/console/directory", get(console::directory))
        .route("/console/media/{corp_id}/{media_id}", get(console::media))
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/fragment", get(inbox::inbox_fragment))
        .route("/inbox/messages/{message_id}", get(inbox::message))
        .route(
            "/inbox/messages/{message_id}/fragment",
            get(inbox::message_fragment),
        )
        .route("/inbox/media/{media_id}", get(inbox::media))
        .route("/login/{code}", get(login_page).post(login::login))
        .route_layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state,
                    crate::metrics::record_requests,
                ))
                .layer(headers(
                    header::CONTENT_SECURITY_POLICY,
                    CONTENT_SECURITY_POLICY,
                ))
                .layer(headers(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                // Not `no-referrer`: with it, Chromium sends `Origin: null` on this server's own
                // form posts, which the Origin check must then refuse. Other sites still get
                // no referrer.
                .layer(headers(header::REFERRER_POLICY, "same-origin"))
                .layer(headers(header::X_FRAME_OPTIONS, "DENY"))
                .layer(headers(header::CACHE_CONTROL, "no-store")),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A rendered page, or a plain 500 if a template fails (it never should: they are checked at
/// compile time, and rendering only writes strings).
fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            NativeError::internal().into_response()
        }
    }
}

/// A page that says one thing, with a way on.
#[derive(Template)]
#[template(path = "notice.html")]
struct Notice {
    title: &'static str,
    text: String,
    home: &'static str,
    action: Option<(&'static str, &'static str)>,
}

fn notice(status: StatusCode, notice: Notice) -> Response {
    html(status, &notice)
}

/// `GET /login/{code}`: a page whose button signs in. Following the link changes nothing, so a
/// link preview (a chat app fetching it to show a card) cannot use it up.
async fn login_page(Path(code): Path<String>) -> Response {
    #[derive(Template)]
    #[template(path = "login_link.html")]
    struct LoginLink {
        code: String,
    }
    html(StatusCode::OK, &LoginLink { code })
}

/// The admin, signed in to the console by its cookie; anyone else is sent to sign in.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if access::has_console_session(state, &parts.headers) {
            Ok(Admin)
        } else {
            Err(Redirect::to("/console/login").into_response())
        }
    }
}

/// The employee signed in to the inbox (session cookie from a login link).
pub struct Employee(EmployeeCaller);

impl FromRequestParts<AppState> for Employee {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match access::authenticate_employee(state, &parts.method, &parts.headers).await {
            Ok(caller) => Ok(Employee(caller)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(notice(
                StatusCode::UNAUTHORIZED,
                Notice {
                    title: "Sign in to your inbox",
                    text: "Open the login link your administrator gave you (`fxmsg admin \
                           employee login-link`). A link works once and for 15 minutes."
                        .into(),
                    home: "/inbox",
                    action: None,
                },
            )),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A cookie-setting redirect.
fn redirect_with_cookie(to: &'static str, cookie: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static(to));
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            headers.insert(SET_COOKIE, value);
            response
        }
        Err(_) => NativeError::internal().into_response(),
    }
}

/// `value` as one URL path segment or query value.
fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Image types a page may show inline; anything else is not served to a page at all.
const INLINE_IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A corp's image, for a cover on a page. A missing or foreign media id, or a file that is not
/// an image a page can show, answers 404 alike.
async fn image(state: &AppState, corp_id: &str, media_id: &str) -> Response {
    let missing = || NativeError::not_found(format!("no image {media_id}")).into_response();
    let record = match state.store.media(corp_id, media_id).await {
        Ok(Some(record)) if INLINE_IMAGES.contains(&record.content_type.as_str()) => record,
        Ok(_) => return missing(),
        Err(e) => return NativeError::from(e).into_response(),
    };
    match crate::routes::media::stored_file(state, &record).await {
        Ok(response) => response,
        Err(object_store::Error::NotFound { .. }) => missing(),
        Err(e) => {
            tracing::error!(error = %e, "reading an image");
            NativeError::internal().into_response()
        }
    }
}
