//! `Idempotency-Key` for POST (the guarantees are in `clientele_app::idempotency`): before the
//! handler runs, a key already seen is answered from the store: the same request gets its first
//! answer again, a different request with the key is refused, a twin still running is waited
//! for. A new key runs the handler with the key in scope, for the request's first write to claim,
//! and the answer is stored when that write committed.
//!
//! Bodies: a JSON request is read whole, but never more than the route accepts and only after the
//! token was checked; a streamed upload is hashed as it passes to its handler, never held.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use clientele_app::App;
use clientele_app::idempotency::{Answer, Claimed};
use clientele_app::idempotency::{IdempotencyClaim, RequestHasher, in_progress};
use clientele_domain::{Error, ErrorCode, StaffId};

use crate::extract::bearer_token;
use crate::{ApiError, AppState};

const HEADER: &str = "idempotency-key";
/// The longest key accepted (UUIDs and ULIDs are far shorter).
const MAX_KEY_LEN: usize = 255;
/// The largest answer kept for replay. Every POST answer here is far smaller (batches are
/// capped); a larger one passes through unbuffered and its replay says it was too large to keep.
const MAX_STORED_ANSWER: u64 = 16 * 1024 * 1024;
/// How long a twin waits for the first request's answer before it is told to retry.
const WAIT_FOR_TWIN: Duration = Duration::from_secs(10);
/// A claim this old with no answer will not get one: its server stopped between the commit and
/// storing the answer.
const ANSWER_LOST_AFTER_MS: i64 = 5 * 60 * 1000;

pub async fn replay(state: &AppState, request: Request, next: Next, streamed: bool) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()) => k.to_string(),
        _ => {
            return ApiError(Error::invalid(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID, say)"),
            ))
            .into_response();
        }
    };
    // Only authenticated requests have a key space; the others go on to the handler's 401.
    let Some(token) = bearer_token(request.headers()) else {
        return next.run(request).await;
    };
    let Ok(staff) = state.app.authenticate_token(token).await else {
        return next.run(request).await;
    };
    let request_id = request.headers().get(crate::REQUEST_ID).cloned();
    let (parts, body) = request.into_parts();
    let uri = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let hasher = RequestHasher::new(parts.method.as_str(), uri);
    let hash = Arc::new(OnceLock::new());

    let known = match state.app.idempotent_request(staff.id, &key).await {
        Ok(known) => known,
        Err(e) => return ApiError(e).into_response(),
    };
    let body = if streamed {
        if let Some(known) = known {
            // Whether the retry is the same file can only be told by reading it.
            let limit = usize::try_from(state.csv_max_bytes).unwrap_or(usize::MAX);
            return match hash_whole(body, hasher, limit).await {
                Ok(hash) => answer_known(&state.app, staff.id, &key, &hash, known, Duration::ZERO).await,
                Err(response) => response,
            };
        }
        Body::new(HashingBody {
            inner: body,
            hasher: Some(hasher),
            done: hash.clone(),
        })
    } else {
        let bytes = match to_bytes(body, state.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return ApiError(Error::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the request body is larger than {} bytes", state.max_body_bytes),
                ))
                .into_response();
            }
        };
        let mut hasher = hasher;
        hasher.update(&bytes);
        let _ = hash.set(hasher.finish());
        if let Some(known) = known {
            let hash = hash.get().map(String::as_str).unwrap_or_default();
            return answer_known(&state.app, staff.id, &key, hash, known, WAIT_FOR_TWIN).await;
        }
        Body::from(bytes)
    };

    let claim = IdempotencyClaim::new(staff.id, key, hash);
    let response = App::within_claim(claim.clone(), next.run(Request::from_parts(parts, body))).await;
    if crate::error::code_of(&response) == Some(ErrorCode::IdempotencyKeyInProgress) {
        // A twin claimed the key first; nothing of this request committed. Its answer is ours.
        let hash = claim.hash().unwrap_or_default().to_string();
        return match state.app.idempotent_request(staff.id, &claim.key).await {
            Ok(Some(known)) => answer_known(&state.app, staff.id, &claim.key, &hash, known, WAIT_FOR_TWIN).await,
            Ok(None) => response,
            Err(e) => ApiError(e).into_response(),
        };
    }
    store_answer(&state.app, &claim, response, request_id.as_ref()).await
}

/// The answer for a key already claimed: the stored answer if this is the same request (after
/// waiting up to `wait` for a twin still running), a refusal if it is not.
async fn answer_known(
    app: &App,
    staff: StaffId,
    key: &str,
    hash: &str,
    mut known: Claimed,
    wait: Duration,
) -> Response {
    let started = Instant::now();
    loop {
        if known.request_hash != hash {
            return ApiError(
                Error::new(
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was already used for a different request",
                )
                .with_field("Idempotency-Key"),
            )
            .into_response();
        }
        if let Some(answer) = known.answer {
            return replayed(answer);
        }
        if app.clock.now() - known.claimed_at > ANSWER_LOST_AFTER_MS {
            return ApiError(
                Error::new(
                    ErrorCode::IdempotencyKeyInProgress,
                    "a request with this Idempotency-Key was carried out, but its answer was lost when the server \
                     stopped; look its result up instead of sending it again",
                )
                .with_field("Idempotency-Key"),
            )
            .into_response();
        }
        if started.elapsed() >= wait {
            return ApiError(in_progress()).into_response();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        known = match app.idempotent_request(staff, key).await {
            Ok(Some(known)) => known,
            // The twin's work rolled back: nothing was done, so the client may simply send again.
            Ok(None) => return ApiError(in_progress()).into_response(),
            Err(e) => return ApiError(e).into_response(),
        };
    }
}

fn replayed(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::OK);
    let content_type = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .unwrap_or(HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Keeps the answer of a request whose claim committed (whatever its status: what it did is
/// done). A request that committed nothing keeps nothing, so it may be corrected and sent again
/// with the same key.
async fn store_answer(
    app: &App,
    claim: &IdempotencyClaim,
    response: Response,
    request_id: Option<&HeaderValue>,
) -> Response {
    // Rendered now (errors as problem+json) so that the replay is the same answer; the edge's own
    // rendering then has nothing left to do.
    let response = crate::error::render(response, request_id);
    let (parts, body) = response.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let small = http_body::Body::size_hint(&body)
        .upper()
        .is_some_and(|n| n <= MAX_STORED_ANSWER);
    let (answer, body) = if small {
        match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let answer = Answer {
                    status_code: parts.status.as_u16(),
                    content_type,
                    body: bytes.to_vec(),
                };
                (answer, Body::from(bytes))
            }
            Err(e) => return ApiError(Error::internal("reading the answer failed").caused_by(e)).into_response(),
        }
    } else {
        let note = serde_json::json!({
            "code": "answer_not_kept",
            "detail": "this request was carried out, but its answer was too large to keep for replay; look its result up",
        });
        let answer = Answer {
            status_code: parts.status.as_u16(),
            content_type: Some("application/json".to_string()),
            body: note.to_string().into_bytes(),
        };
        (answer, body)
    };
    if let Err(e) = app.answer_claim(claim, &answer).await {
        tracing::warn!(error = %e, "could not store the answer of an idempotent request");
    }
    Response::from_parts(parts, body)
}

/// Reads a streamed body to its end through the hasher, keeping nothing.
async fn hash_whole(body: Body, mut hasher: RequestHasher, limit: usize) -> Result<String, Response> {
    let mut stream = body.into_data_stream();
    let mut seen = 0usize;
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        let chunk: Bytes =
            chunk.map_err(|_| ApiError(Error::invalid("body", "the upload stopped before its end")).into_response())?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            return Err(ApiError(Error::new(
                ErrorCode::PayloadTooLarge,
                "the file is larger than the upload limit",
            ))
            .into_response());
        }
        hasher.update(&chunk);
    }
    Ok(hasher.finish())
}

/// A streamed body that hashes what passes through it, and publishes the hash at its end.
struct HashingBody {
    inner: Body,
    hasher: Option<RequestHasher>,
    done: Arc<OnceLock<String>>,
}

impl http_body::Body for HashingBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(hasher)) = (frame.data_ref(), self.hasher.as_mut()) {
                    hasher.update(data);
                }
            }
            Poll::Ready(None) => {
                if let Some(hasher) = self.hasher.take() {
                    let _ = self.done.set(hasher.finish());
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
