//! Clientele's HTTP face: the REST API under `/api/v1` (documented by an OpenAPI 3.1 document
//! generated from these handlers), problem+json errors, and the operations endpoints
//! (`/healthz`, `/readyz`, `/metrics`).
//!
//! Handlers are thin: they parse, take the actor's capability, call one [`clientele_app::App`]
//! method and render. No SQL and no business rule lives here.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use clientele_app::App;

pub mod api;
mod consistency;
mod edge;
pub mod error;
pub mod extract;
mod idempotency;
mod observe;
pub mod ops;
pub mod proxy;
pub mod server;
pub mod ui;

pub use error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
    /// Largest CSV upload accepted (streamed, so it is not held in memory).
    pub csv_max_bytes: u64,
    /// How long a request may take, except the streamed uploads of [`STREAMED_UPLOADS`].
    pub request_timeout: Duration,
    /// How long a streamed upload may go without sending a byte before it is given up.
    pub upload_idle_timeout: Duration,
    /// Largest request body accepted outside the streamed uploads.
    pub max_body_bytes: usize,
    /// Set when the server starts shutting down.
    pub lifecycle: server::Lifecycle,
    /// Whose forwarding headers are believed.
    pub trusted_proxies: proxy::TrustedProxies,
    /// `/metrics` on this listener: `None` not served here, `Some(None)` open, `Some(Some(t))`
    /// only with `Authorization: Bearer t`.
    pub metrics_access: Option<Option<String>>,
}

/// Routes whose handlers read a CSV file as it arrives. A file of hundreds of megabytes takes
/// longer than any sensible request timeout to arrive over an ordinary line, so these routes have
/// none; instead an upload that sends nothing for [`WebSettings::upload_idle_timeout`] is given up
/// (and its process request ends `failed`).
pub const STREAMED_UPLOADS: &[&str] = &["/api/v1/csv/{format}/import", "/transfers/upload"];

#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Largest request body accepted (logo uploads are the largest legitimate ones).
    pub max_body_bytes: usize,
    /// How long a request may take (streamed uploads excepted: see [`STREAMED_UPLOADS`]).
    pub request_timeout: Duration,
    /// How long a streamed upload may send nothing before it is given up.
    pub upload_idle_timeout: Duration,
    /// Largest CSV upload accepted by the import endpoints (they stream the body, so the general
    /// body limit above does not apply to them).
    pub csv_max_bytes: u64,
    /// Shared with the server loop ([`server::serve`]), which says when it drains.
    pub lifecycle: server::Lifecycle,
    /// Addresses of reverse proxies whose `Forwarded`/`X-Forwarded-*` headers are believed (for
    /// client addresses, the host of the cross-site check, the scheme). None by default.
    pub trusted_proxies: proxy::TrustedProxies,
    /// Whether and how this listener serves `/metrics` (see [`AppState::metrics_access`]). Not
    /// served by default: a scrape endpoint open to whoever reaches the port tells them too much.
    pub metrics_access: Option<Option<String>>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            upload_idle_timeout: Duration::from_secs(60),
            csv_max_bytes: 256 * 1024 * 1024,
            lifecycle: server::Lifecycle::default(),
            trusted_proxies: proxy::TrustedProxies::default(),
            metrics_access: None,
        }
    }
}

/// The process-wide Prometheus recorder (metrics has one global recorder per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Only fails if another recorder was installed first; ours is then simply unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The answer of a handler that panicked: a bug, reported as one.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    ApiError(clientele_domain::Error::internal(format!(
        "a handler panicked: {message}"
    )))
    .into_response()
}

/// `/metrics` alone, open, for a listener of its own (`serve --metrics-listen`).
pub fn metrics_router(app: App) -> Router {
    let settings = WebSettings {
        metrics_access: Some(None),
        ..WebSettings::default()
    };
    let state = state(app, &settings);
    ops::metrics_only().with_state(state)
}

fn state(app: App, settings: &WebSettings) -> AppState {
    AppState {
        app,
        metrics: metrics_handle(),
        csv_max_bytes: settings.csv_max_bytes,
        request_timeout: settings.request_timeout,
        upload_idle_timeout: settings.upload_idle_timeout,
        max_body_bytes: settings.max_body_bytes,
        lifecycle: settings.lifecycle.clone(),
        trusted_proxies: settings.trusted_proxies.clone(),
        metrics_access: settings.metrics_access.clone(),
    }
}

/// The whole HTTP application.
pub fn router(app: App, settings: &WebSettings) -> Router {
    let state = state(app, settings);
    let (api, _) = api::router().split_for_parts();
    let openapi = api::openapi();
    Router::new()
        .merge(api)
        .merge(api::docs_router())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || async move { axum::Json(openapi) }),
        )
        .merge(ops::router())
        .merge(ui::router(&state))
        // Inside `edge`, so a handler that panics still answers: 500 problem+json with the
        // request id, the panic message in the log once.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::edge))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // 5xx are logged once, by `error::render`, with their detail; not again here.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observe::make_span)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, observe::SequentialRequestId))
        .layer(axum::middleware::map_request(observe::set_client_request_id_aside))
        .with_state(state)
}
