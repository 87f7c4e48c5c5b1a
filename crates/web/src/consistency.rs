//! Read-your-writes across server processes. Every response says which change sequence number
//! this process's access index stands at (`Clientele-Seq`); a request may demand that the index
//! has reached a number some earlier response gave (`Clientele-Min-Seq`), and this process then
//! catches up with the database before answering.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use clientele_domain::Error;

use crate::AppState;

pub const SEQ: &str = "clientele-seq";
pub const MIN_SEQ: &str = "clientele-min-seq";

/// Catches up to the sequence number the request demands, if any (and first with whatever an
/// earlier write's failed catch-up left behind).
pub async fn demand(state: &AppState, headers: &HeaderMap) -> Result<(), Error> {
    state.app.settle_owed_catch_up().await?;
    let Some(value) = headers.get(MIN_SEQ) else {
        return Ok(());
    };
    let seq = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            Error::invalid(
                "Clientele-Min-Seq",
                "must be a sequence number from a Clientele-Seq header",
            )
        })?;
    state.app.sync_access_to(seq).await
}

/// Says which sequence number the answer reflects: what this process's index has applied, or
/// the request's own writes if the index could not catch up with them (a read elsewhere that
/// demands that number then catches up first).
pub fn stamp(state: &AppState, response: &mut Response, written: Option<i64>) {
    let seq = state.app.access.applied().max(written.unwrap_or(0));
    response.headers_mut().insert(SEQ, HeaderValue::from(seq));
}
