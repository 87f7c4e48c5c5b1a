//! Request ids, request spans (every log line of a request carries its id) and Prometheus request
//! metrics, all cheap enough to run on every request of a hot endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use tower_http::request_id::{MakeRequestId, RequestId};

pub fn make_span(request: &Request) -> tracing::Span {
    let header = |name| request.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let request_id = header(crate::REQUEST_ID).unwrap_or("-");
    match header(CLIENT_REQUEST_ID) {
        None => {
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %request_id)
        }
        Some(theirs) => tracing::info_span!(
            "request", method = %request.method(), uri = %request.uri().path(), request_id = %request_id,
            client_request_id = %theirs
        ),
    }
}

/// Where a client's own `X-Request-Id` goes: request ids are ours (they are stored in the audit
/// trail and quoted in error answers, so a client must not be able to choose or repeat them);
/// theirs is kept beside ours in the request's log lines only.
pub const CLIENT_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-client-request-id");

/// Moves a client-sent `X-Request-Id` aside, before ours is set.
pub async fn set_client_request_id_aside(mut request: Request) -> Request {
    if let Some(theirs) = request.headers_mut().remove(crate::REQUEST_ID) {
        request.headers_mut().insert(CLIENT_REQUEST_ID, theirs);
    }
    request
}

/// Request ids: a random prefix chosen once per process, and a counter. Unique across processes
/// and restarts without a system call per request (a UUID v4 costs one `getrandom`).
#[derive(Clone, Copy, Default)]
pub struct SequentialRequestId;

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        static PREFIX: OnceLock<String> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let prefix = PREFIX.get_or_init(|| format!("{:016x}", process_nonce()));
        let id = format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed));
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// A value that differs between processes: std's hasher keys are drawn from the OS once.
fn process_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// Route templates are few and fixed: interned once so metric labels cost no allocation.
fn intern(route: &str) -> &'static str {
    static ROUTES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut routes = ROUTES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&r) = routes.get(route) {
        return r;
    }
    let leaked: &'static str = Box::leak(route.to_string().into_boxed_str());
    routes.insert(route.to_string(), leaked);
    leaked
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        412 => "412",
        413 => "413",
        422 => "422",
        500 => "500",
        503 => "503",
        other => match other / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// The labels a request is counted under: its route template and method.
pub fn labels(request: &Request) -> (&'static str, &'static str) {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| intern(p.as_str()))
        .unwrap_or("unmatched");
    (route, method_label(request.method()))
}

/// Counts a request by route template and status, and observes its latency.
pub fn record((route, method): (&'static str, &'static str), status: u16, started: Instant) {
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status_label(status))
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
}
