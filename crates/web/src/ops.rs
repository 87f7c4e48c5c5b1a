//! Operations endpoints: liveness, readiness and Prometheus metrics.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The operations routes (exempt from read-your-writes catch-up: see `edge`).
pub const ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Only `/metrics`.
pub fn metrics_only() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database before saying it is not ready.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// The process takes traffic: not shutting down, the database answers within a second and its
/// schema is current. A 503 says which of these failed.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.lifecycle.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string());
    }
    match tokio::time::timeout(READY_WITHIN, state.app.db.migrations_current()).await {
        Ok(Ok(true)) => (StatusCode::OK, "ready".to_string()),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending".to_string()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unreachable: {}", clientele_domain::Error::from(e).detail),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: no answer within {} ms", READY_WITHIN.as_millis()),
        ),
    }
}

async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> axum::response::Response {
    let allowed = match &state.metrics_access {
        None => false,
        Some(None) => true,
        Some(Some(token)) => crate::extract::bearer_token(&headers)
            .is_some_and(|sent| subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), token.as_bytes()).into()),
    };
    if !allowed {
        // As if there were no such route: what is behind it is nobody's business here.
        return StatusCode::NOT_FOUND.into_response();
    }
    let (size, idle) = state.app.db.pool_stats();
    metrics::gauge!("db_pool_connections").set(size as f64);
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    // A database that does not answer leaves these at their last reading; /readyz says why.
    if let Ok(g) = state.app.gauges().await {
        metrics::gauge!("process_requests_pending").set(g.requests_pending as f64);
        metrics::gauge!("process_requests_running").set(g.requests_running as f64);
        metrics::gauge!("process_request_oldest_pending_seconds").set(g.oldest_pending_seconds);
        metrics::gauge!("access_index_lag_changes").set(g.access_index_lag as f64);
        metrics::gauge!("report_ledger_entries").set(g.report_ledger_entries as f64);
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
