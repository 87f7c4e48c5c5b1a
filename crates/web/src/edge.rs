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

pub async fn edge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let labels = observe::labels(&request);
    let request_id = request.headers().get(REQUEST_ID).cloned();
    // Streamed uploads have no overall limit: their handlers give up on an idle body instead.
    let limit = (!crate::STREAMED_UPLOADS.contains(&labels.0)).then_some(state.request_timeout);
    // The operations endpoints answer about the process itself, whatever the database does.
    let operations = crate::ops::ROUTES.contains(&labels.0);
    let handle = async {
        let settled = if operations {
            Ok(())
        } else {
            consistency::demand(&state, request.headers()).await
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
    if state.lifecycle.draining() {
        // Shutting down: this connection closes after this answer, between requests.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    observe::record(labels, response.status().as_u16(), started);
    response
}
