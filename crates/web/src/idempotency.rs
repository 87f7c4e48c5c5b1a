//! `Idempotency-Key` for POST: a retried request with the same key and body gets the first answer
//! again instead of creating a second object.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use clientele_app::Actor;
use clientele_app::idempotency::request_hash;

use crate::extract::bearer_token;
use crate::{ApiError, AppState};

const HEADER: &str = "idempotency-key";
/// Replayed answers are JSON documents of modest size; larger ones are not stored.
const MAX_STORED_BODY: usize = 1024 * 1024;

pub async fn replay(state: &AppState, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return next.run(request).await;
    };
    // Only authenticated requests have a key space; others fall through to the handler's 401.
    let Some(staff) = bearer_token(request.headers()) else {
        return next.run(request).await;
    };
    let Ok(staff) = state.app.authenticate_token(staff).await else {
        return next.run(request).await;
    };
    let actor = Actor {
        staff_id: staff.id,
        organization_id: staff.organization_id,
        role: staff.role,
        request_id: None,
    };

    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let hash = request_hash(parts.method.as_str(), parts.uri.path(), &bytes);
    match state.app.idempotent_replay(&actor, &key, &hash).await {
        Err(e) => return ApiError(e).into_response(),
        Ok(Some((status, body))) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(None) => {}
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    // Errors are not stored: the client may fix the cause and retry with the same key.
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_STORED_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Err(e) = state
        .app
        .idempotent_store(
            &actor,
            &key,
            &hash,
            parts.status.as_u16(),
            &String::from_utf8_lossy(&bytes),
        )
        .await
    {
        tracing::warn!(error = %e, "could not store idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
