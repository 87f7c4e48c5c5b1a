//! The one middleware every request passes on its way in and out: metrics, the request timeout,
//! read-your-writes, idempotent POSTs and problem+json rendering. One layer rather than four, because each
//! `from_fn` layer boxes a future and clones the inner service on every request, which showed in
//! the profile of the hot access-check endpoint.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clientele_app::App;
use clientele_domain::{Error, ErrorCode};

use crate::{ApiError, AppState, REQUEST_ID, consistency, error, idempotency, observe};

/// The longest URI accepted (paths with ids and a query of filters are far shorter).
const MAX_URI: usize = 8 * 1024;
/// The most header bytes accepted (names and values).
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Limits checked before anything else, answered as problems (hyper's own, far larger, limits
/// answer with an empty body).
fn request_limits(request: &Request) -> Result<(), Error> {
    let uri = request.uri();
    if uri.path().len() + uri.query().map_or(0, str::len) > MAX_URI {
        return Err(Error::new(
            ErrorCode::UriTooLong,
            format!("the URI is longer than {MAX_URI} bytes"),
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(Error::new(
            ErrorCode::HeadersTooLarge,
            format!("the request's headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    crate::extract::refuse_controls_in_query(uri.query())
}

pub async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let client = crate::proxy::Client::of(&request, &state.trusted_proxies);
    request.extensions_mut().insert(client);
    let started = Instant::now();
    let labels = observe::labels(&request);
    let api = request.uri().path().starts_with("/api/");
    let request_id = request.headers().get(REQUEST_ID).cloned();
    // Streamed uploads have no overall limit: their handlers give up on an idle body instead.
    let limit = (!crate::STREAMED_UPLOADS.contains(&labels.0)).then_some(state.request_timeout);
    // The operations endpoints answer about the process itself, whatever the database does.
    let operations = crate::ops::ROUTES.contains(&labels.0);
    let handle = async {
        let settled = if operations {
            Ok(())
        } else {
            match request_limits(&request) {
                Ok(()) => consistency::demand(&state, request.headers()).await,
                Err(e) => Err(e),
            }
        };
        match settled {
            Err(e) => ApiError(e).into_response(),
            Ok(()) if request.method() == Method::POST => {
                let streamed = crate::STREAMED_UPLOADS.contains(&labels.0);
                idempotency::replay(&state, request, next, streamed).await
            }
            Ok(()) => next.run(request).await,
        }
    };
    let handle = App::tracking_writes(handle);
    let (response, written) = match limit {
        None => handle.await,
        Some(limit) => tokio::time::timeout(limit, handle).await.unwrap_or_else(|_| {
            let why = format!("the request took longer than {} s and was stopped", limit.as_secs());
            (ApiError(Error::new(ErrorCode::Timeout, why)).into_response(), None)
        }),
    };
    let mut response = error::render(response, request_id.as_ref());
    consistency::stamp(&state, &mut response, written);
    let headers = response.headers_mut();
    // Browsers must take every answer for what its Content-Type says (a CSV or a logo is never
    // run as a page), and API answers, which carry clients' data, are not kept in caches.
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.lifecycle.draining() {
        // Shutting down: this connection closes after this answer, between requests.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    observe::record(labels, response.status().as_u16(), started);
    response
}
