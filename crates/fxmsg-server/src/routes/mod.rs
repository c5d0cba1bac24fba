//! The one route table. Handlers are thin: extract, call the store or media, map to `fxmsg-api`.

pub mod access;
pub mod admin;
pub mod events;
pub mod health;
pub mod inbox;
pub mod inspect;
pub mod media;
pub mod message;
pub mod testkit;
pub mod token;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower::{Service, ServiceBuilder};
use tower_http::timeout::TimeoutLayer;

use crate::error::NativeError;
use crate::faults;
use crate::media::MAX_DOCUMENT_BYTES;
use crate::metrics;
use crate::state::AppState;
use crate::trace::trace_requests;

/// Multipart framing allowed on top of the largest document.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The Fxiaoke-compatible routes, in one table so that other parts (fault planning) can tell a
/// real path from a mistyped one.
fn compat_routes() -> [(&'static str, MethodRouter<AppState>); 10] {
    [
        (
            "/cgi/corpAccessToken/get/V2",
            post(token::get_corp_access_token),
        ),
        ("/oauth2.0/token", post(token::get_oauth_token)),
        ("/cgi/appAccessToken/get", post(token::get_app_access_token)),
        ("/cgi/message/send", post(message::send_message)),
        ("/cgi/app/message/send", post(message::send_app_message)),
        ("/cgi/app/message/revoke", post(message::revoke_message)),
        ("/media/upload/message", post(media::upload_message_media)),
        ("/media/upload", post(media::upload_media)),
        ("/media/download", post(media::download_media)),
        ("/media/delete", post(media::delete_media)),
    ]
}

/// The paths of the Fxiaoke-compatible routes.
pub fn compat_paths() -> Vec<&'static str> {
    compat_routes().into_iter().map(|(path, _)| path).collect()
}

/// The route table: compat routes, native `/api/v1`, health, each group with its own layers.
///
/// Requests taking longer than `request_timeout` are answered 408, in every group but the
/// long-lived ones: event streams and waits last as long as their client listens or their own
/// timeout, and shutdown ends them.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let timeout = || TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout);
    let compat = compat_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), faults::inject))
                .layer(DefaultBodyLimit::max(
                    MAX_DOCUMENT_BYTES as usize + MULTIPART_OVERHEAD,
                )),
        );

    let native = if state.test_clock {
        Router::new().route("/clock", get(testkit::get_clock).post(testkit::set_clock))
    } else {
        Router::new()
    };
    let native = native
        .route("/corps", post(admin::create_corp).get(admin::list_corps))
        .route("/corps/{corp_id}", get(admin::get_corp))
        .route(
            "/corps/{corp_id}/apps",
            post(admin::create_app).get(admin::list_apps),
        )
        .route(
            "/corps/{corp_id}/apps/{app_id}",
            axum::routing::patch(admin::update_app),
        )
        .route(
            "/corps/{corp_id}/employees",
            post(admin::create_employee).get(admin::list_employees),
        )
        .route(
            "/corps/{corp_id}/employees/{employee}",
            axum::routing::patch(admin::update_employee),
        )
        .route(
            "/corps/{corp_id}/employees/{employee}/inbox",
            get(inspect::get_inbox),
        )
        .route(
            "/corps/{corp_id}/service-accounts",
            post(admin::create_service_account).get(admin::list_service_accounts),
        )
        .route(
            "/faults",
            post(testkit::create_fault)
                .get(testkit::list_faults)
                .delete(testkit::clear_faults),
        )
        .route("/faults/{id}", axum::routing::delete(testkit::delete_fault))
        .route("/sandboxes", post(testkit::create_sandbox))
        .route(
            "/sandboxes/{corp_id}",
            axum::routing::delete(testkit::delete_sandbox),
        )
        .route(
            "/messages",
            get(inspect::list_messages).delete(testkit::delete_messages),
        )
        .route("/messages/{message_id}", get(inspect::get_message))
        .route(
            "/corps/{corp_id}/employees/{employee}/tokens",
            post(access::issue_token).get(access::list_credentials),
        )
        .route(
            "/corps/{corp_id}/employees/{employee}/tokens/{credential_id}",
            axum::routing::delete(access::revoke_credential),
        )
        .route(
            "/corps/{corp_id}/employees/{employee}/login-links",
            post(access::issue_login_link),
        )
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), admin::require_admin))
                .layer(DefaultBodyLimit::max(64 * 1024)),
        );
    // Long-lived admin routes: the same stack without the request timeout.
    let native_streams = Router::new()
        .route("/messages/wait", get(inspect::wait_messages))
        .route("/events", get(events::stream_events))
        .route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(state.clone(), admin::require_admin)),
        );
    // An employee's own routes, with employee credentials instead of the admin token.
    let employee = Router::new()
        .route("/inbox", get(inbox::get_inbox))
        .route("/inbox/messages/{message_id}", get(inbox::get_message))
        .route("/inbox/messages/{message_id}/read", post(inbox::mark_read))
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
    let employee_streams = Router::new()
        .route("/inbox/events", get(inbox::stream_events))
        .route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), metrics::record_requests))
                .layer(from_fn_with_state(
                    state.clone(),
                    crate::access::require_employee,
                )),
        );
    // The web UI (console, inbox, login links), its pages under a strict CSP.
    let web = crate::web::routes(state.clone()).route_layer(timeout());
    let scrape = Router::new()
        .route("/metrics", get(metrics::get_metrics))
        .route_layer(
            ServiceBuilder::new()
                .layer(timeout())
                .layer(from_fn_with_state(state.clone(), admin::require_admin)),
        );

    let api = native
        .merge(native_streams)
        .merge(employee)
        .merge(employee_streams);
    Router::new()
        .merge(compat)
        .merge(scrape)
        .nest("/api/v1", api)
        .merge(web)
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { NativeError::not_found("no such route") })
        .with_state(state)
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
