//! The one route table. Handlers are thin: extract, call the store or media, map to `fxmsg-api`.

pub mod access;
pub mod addressbook;
pub mod admin;
pub mod directory;
pub mod events;
pub mod health;
pub mod inbox;
pub mod inspect;
pub mod media;
pub mod message;
// Described, never built: the bodies the compat handlers parse by hand.
#[allow(dead_code)]
pub mod schema;
pub mod testkit;
pub mod token;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower::{Service, ServiceBuilder};
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::NativeError;
use crate::faults;
use crate::media::MAX_DOCUMENT_BYTES;
use crate::metrics;
use crate::state::AppState;
use crate::trace::trace_requests;

/// Multipart framing allowed on top of the largest document.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The Fxiaoke-compatible routes. Every route is registered with its OpenAPI description (the
/// `#[utoipa::path]` of its handler), so the document is made from the route table itself.
fn compat() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token::get_corp_access_token))
        .routes(routes!(token::get_oauth_token))
        .routes(routes!(token::get_app_access_token))
        .routes(routes!(message::send_message))
        .routes(routes!(message::send_app_message))
        .routes(routes!(message::revoke_message))
        .routes(routes!(media::upload_message_media))
        .routes(routes!(media::upload_media))
        .routes(routes!(media::download_media))
        .routes(routes!(media::delete_media))
        .routes(routes!(addressbook::department_list))
        .routes(routes!(addressbook::department_detail))
        .routes(routes!(addressbook::user_get))
        .routes(routes!(addressbook::user_by_mobile))
        .routes(routes!(addressbook::user_simple_list))
        .routes(routes!(addressbook::user_list))
}

/// The paths of the Fxiaoke-compatible routes, so that fault planning can tell a real path from a
/// mistyped one.
pub fn compat_paths() -> Vec<String> {
    compat().into_openapi().paths.paths.into_keys().collect()
}

/// What the document says of fxmsg as a whole: its groups and how callers authenticate.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "fxmsg",
        description = "The Fxiaoke Open Platform message API (compat routes, errors in the \
            envelope with HTTP 200) and fxmsg's own API under /api/v1 (HTTP status codes, \
            `{code, message}` errors).",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "fxiaoke", description = "The platform's routes: tokens, messages, media. Either \
            auth style: `authorization: Bearer` with `x-fs-ea`, or `corpAccessToken` and `corpId` \
            in the body (the query string for uploads)."),
        (name = "admin", description = "Corps, apps, employees and service accounts (admin token)."),
        (name = "messages", description = "What was sent, waits and event streams (admin token)."),
        (name = "employees", description = "Employees' own credentials (admin token)."),
        (name = "inbox", description = "An employee's inbox (employee token or session)."),
        (name = "test kit", description = "Sandboxes, resets, the test clock and faults (admin token)."),
        (name = "operations", description = "Health and metrics.")
    ),
    modifiers(&Security)
)]
struct ApiDoc;

/// Declares the bearer scheme every `/api/v1` route takes.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The route table: compat routes, native `/api/v1`, health, each group with its own layers;
/// and the OpenAPI document of all but the web pages, served at `/api/v1/openapi.json`.
///
/// Requests taking longer than `request_timeout` are answered 408, in every group but the
/// long-lived ones: event streams and waits last as long as their client listens or their own
/// timeout, and shutdown ends them.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let (router, api) = documented(state.clone(), request_timeout).split_for_parts();
    let document: std::sync::Arc<str> = api
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
        .into();
    // The web UI (console, inbox, login links), its pages under a strict CSP; not an API.
    let web = crate::web::routes(state.clone()).route_layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        request_timeout,
    ));
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(CONTENT_TYPE, "application/json")], document.to_string()) }
            }),
        )
        .merge(web)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// Whether `path` is one of the platform's: they answer errors in the envelope.
fn is_compat(path: &str) -> bool {
    !path.starts_with("/api/")
        && ["/cgi/", "/media/", "/oauth2.0/"]
            .iter()
            .any(|p| path.starts_with(p))
}

/// A path no route takes: 404, with the envelope on the platform's paths.
async fn unknown_route(uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    if is_compat(uri.path()) {
        let mut response =
            crate::error::CompatError::invalid("path", "is not an API of the platform")
                .into_response();
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    } else {
        NativeError::not_found("no such route").into_response()
    }
}

/// A known path with another method: 405 with a body that says so, the envelope on the
/// platform's paths.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let why = format!(
        "method: {method} is not allowed on {}; use POST",
        uri.path()
    );
    let mut response = if is_compat(uri.path()) {
        crate::error::CompatError::invalid(
            "method",
            format!("{method} is not allowed here; use POST"),
        )
        .into_response()
    } else {
        NativeError::bad_request(why.replace("; use POST", "")).into_response()
    };
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// A compat request cut by the request timeout: still 408, but with the envelope, a retryable
/// `-1` that says what happened, instead of an empty body.
async fn compat_timeout(response: Response) -> Response {
    use axum::response::IntoResponse;
    if response.status() != StatusCode::REQUEST_TIMEOUT {
        return response;
    }
    let mut answer = crate::error::CompatError::new(
        fxmsg_api::ErrorCode::SystemBusy,
        "the request took longer than the server's request timeout (a body sent too slowly, or a busy \
         server); retry it",
    )
    .into_response();
    *answer.status_mut() = StatusCode::REQUEST_TIMEOUT;
    answer
}

fn documented(state: AppState, request_timeout: Duration) -> OpenApiRouter<AppState> {
    let timeout = || TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout);
    let compat = compat().route_layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_response(compat_timeout))
            .layer(timeout())
            .layer(from_fn_with_state(state.clone(), metrics::record_requests))
            .layer(from_fn_with_state(state.clone(), faults::inject))
            .layer(DefaultBodyLimit::max(
                MAX_DOCUMENT_BYTES as usize + MULTIPART_OVERHEAD,
            )),
    );

    let clock = if state.test_clock {
        OpenApiRouter::new().routes(routes!(testkit::get_clock, testkit::set_clock))
    } else {
        OpenApiRouter::new()
    };
    let native = clock
        .routes(routes!(admin::create_corp, admin::list_corps))
        .routes(routes!(admin::get_corp))
        .routes(routes!(admin::create_app, admin::list_apps))
        .routes(routes!(admin::update_app))
        .routes(routes!(directory::create_employee, admin::list_employees))
        .routes(routes!(directory::update_employee))
        .routes(routes!(
            directory::create_department,
            directory::list_departments
        ))
        .routes(routes!(directory::update_department))
        .routes(routes!(directory::export_directory))
        .routes(routes!(inspect::get_inbox))
        .routes(routes!(
            admin::create_service_account,
            admin::list_service_accounts
        ))
        .routes(routes!(
            testkit::create_fault,
            testkit::list_faults,
            testkit::clear_faults
        ))
        .routes(routes!(testkit::delete_fault))
        .routes(routes!(testkit::create_sandbox))
        .routes(routes!(testkit::delete_sandbox))
        .routes(routes!(inspect::list_messages, testkit::delete_messages))
        .routes(routes!(inspect::get_message))
        .routes(routes!(access::issue_token, access::list_credentials))
        .routes(routes!(access::revoke_credential))
        .routes(routes!(access::issue_login_link))
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), admin::require_admin))
                .layer(DefaultBodyLimit::max(64 * 1024)),
        );
    // A whole address book is larger than any other admin body.
    let import = OpenApiRouter::new()
        .routes(routes!(directory::import_directory))
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), admin::require_admin))
                .layer(DefaultBodyLimit::max(directory::MAX_IMPORT_BYTES)),
        );
    // Long-lived admin routes: the same stack without the request timeout.
    let native_streams = OpenApiRouter::new()
        .routes(routes!(inspect::wait_messages))
        .routes(routes!(events::stream_events))
        .route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), admin::require_admin)),
        );
    // An employee's own routes, with employee credentials instead of the admin token.
    let employee = OpenApiRouter::new()
        .routes(routes!(inbox::get_inbox))
        .routes(routes!(inbox::get_message))
        .routes(routes!(inbox::mark_read))
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(
                    state.clone(),
                    crate::access::require_employee,
                ))
                .layer(DefaultBodyLimit::max(64 * 1024)),
        );
    let employee_streams = OpenApiRouter::new()
        .routes(routes!(inbox::stream_events))
        .route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(
                    state.clone(),
                    crate::access::require_employee,
                )),
        );
    let scrape = OpenApiRouter::new()
        .routes(routes!(metrics::get_metrics))
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), admin::require_admin)),
        );

    let api = native
        .merge(import)
        .merge(native_streams)
        .merge(employee)
        .merge(employee_streams);
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(compat)
        .merge(scrape)
        .nest("/api/v1", api)
        .routes(routes!(health::livez))
        .routes(routes!(health::readyz))
}

/// The application as served: `router` inside the layer every request passes, unmatched ones
/// included: the trace id and its log line.
///
/// It wraps the router as a whole rather than through `Router::layer`, and each route's layers
/// are one stack: axum boxes a route's service once per layering call and clones every box of the
/// chain on each request, which cost a send ~30 allocations with the layers added one by one.
pub fn app(
    router: Router,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    ServiceBuilder::new()
        .layer(from_fn(trace_requests))
        .service(router)
}
