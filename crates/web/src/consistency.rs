//! Read-your-writes across server processes. Every response says which change sequence number
//! this process's access index stands at (`Clientele-Seq`); a request may demand that the index
//! has reached a number some earlier response gave (`Clientele-Min-Seq`), and this process then
//! catches up with the database before answering.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use clientele_domain::Error;

use crate::{ApiError, AppState};

pub const SEQ: &str = "clientele-seq";
pub const MIN_SEQ: &str = "clientele-min-seq";

pub async fn read_your_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(value) = request.headers().get(MIN_SEQ) {
        let Some(seq) = value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok()) else {
            let e = Error::invalid(
                "Clientele-Min-Seq",
                "must be a sequence number from a Clientele-Seq header",
            );
            return ApiError(e).into_response();
        };
        if let Err(e) = state.app.sync_access_to(seq).await {
            return ApiError(e).into_response();
        }
    }
    let mut response = next.run(request).await;
    let applied = state.app.access.applied();
    response.headers_mut().insert(SEQ, HeaderValue::from(applied));
    response
}
