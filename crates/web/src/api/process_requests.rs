//! Process requests: durable background jobs (imports, large bulk changes). Admins only.

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::process_requests::{Operation, ProcessRequest, ProcessRequestFilter, RequestStatus};
use clientele_domain::{GroupId, ProcessRequestId, StaffId};

use super::{Binary, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, P, Q};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only requests in this state.
    pub status: Option<RequestStatus>,
    /// Only requests of this operation.
    #[serde(rename = "type")]
    pub operation: Option<Operation>,
    /// Requests about this group (bulk adds and removes, deletions).
    pub group: Option<GroupId>,
    /// Requests this staff member started.
    pub initiator: Option<StaffId>,
    /// `-created` (newest first, the default) or `created` (oldest first).
    pub sort: Option<String>,
    /// `next_cursor` or `prev_cursor` from another page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// The organisation's process requests, newest first.
#[utoipa::path(get, path = "/api/v1/process-requests", tag = "process-requests", operation_id = "listProcessRequests",
    params(RequestQuery),
    responses(
        (status = 200, description = "A page of process requests.", body = Page<ProcessRequest>),
        (status = 403, description = "`forbidden`: process requests are for admins only.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<RequestQuery>,
) -> Result<axum::Json<Page<ProcessRequest>>, ApiError> {
    let oldest_first = match q.sort.as_deref() {
        None | Some("-created") => false,
        Some("created") => true,
        Some(_) => {
            return Err(clientele_domain::Error::invalid("sort", "must be created or -created").into());
        }
    };
    let filter = ProcessRequestFilter {
        status: q.status,
        operation: q.operation,
        group: q.group,
        initiator: q.initiator,
        oldest_first,
    };
    Ok(axum::Json(
        s.app
            .process_requests(&actor, &filter, q.cursor.as_deref(), q.limit)
            .await?
            .into(),
    ))
}

/// One process request: status, counts, progress, lease.
#[utoipa::path(get, path = "/api/v1/process-requests/{id}", tag = "process-requests", operation_id = "getProcessRequest",
    params(("id" = i64, Path, description = "The process request's id.")),
    responses(
        (status = 200, description = "The process request.", body = ProcessRequest),
        (status = 403, description = "`forbidden`: process requests are for admins only.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such process request.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ProcessRequestId>,
) -> Result<axum::Json<ProcessRequest>, ApiError> {
    Ok(axum::Json(s.app.process_request(&actor, id).await?))
}

/// Every processed row as CSV: `row,line,outcome,reason`, then the row as it was uploaded.
#[utoipa::path(get, path = "/api/v1/process-requests/{id}/report.csv", tag = "process-requests",
    operation_id = "getProcessRequestReport", params(("id" = i64, Path, description = "The process request's id.")),
    responses(
        (status = 200, description = "The report, a CSV file (UTF-8), as an attachment.", body = inline(Binary), content_type = "text/csv"),
        (status = 403, description = "`forbidden`: process requests are for admins only.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such process request.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn report(State(s): State<AppState>, Auth(actor): Auth, P(id): P<i64>) -> Result<Response, ApiError> {
    let (first, next) = s.app.report_csv_page(&actor, ProcessRequestId(id), 0).await?;
    let app = s.app.clone();
    let rest = futures_util::stream::unfold(next, move |after| {
        let (app, actor) = (app.clone(), actor.clone());
        async move {
            let after = after?;
            Some(match app.report_csv_page(&actor, ProcessRequestId(id), after).await {
                Ok((bytes, next)) => (Ok::<_, io::Error>(Bytes::from(bytes)), next),
                Err(e) => (Err(io::Error::other(e.detail)), None),
            })
        }
    });
    let first = futures_util::stream::once(async move { Ok::<_, io::Error>(Bytes::from(first)) });
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"process-request-{id}.csv\"")).expect("ASCII");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(futures_util::StreamExt::chain(first, rest)),
    )
        .into_response())
}

/// Cancels a pending or running request; rows already applied stay applied.
#[utoipa::path(post, path = "/api/v1/process-requests/{id}/cancel", tag = "process-requests",
    operation_id = "cancelProcessRequest", params(("id" = i64, Path, description = "The process request's id.")),
    responses(
        (status = 200, description = "The process request, cancelled.", body = ProcessRequest),
        (status = 403, description = "`forbidden`: process requests are for admins only.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such process request.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: the request has already ended; or the `Idempotency-Key` names a \
            request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn cancel(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ProcessRequestId>,
) -> Result<axum::Json<ProcessRequest>, ApiError> {
    Ok(axum::Json(s.app.cancel_process_request(actor.admin()?, id).await?))
}

/// Starts a new request over the rejected rows of an ended one (after fixing what they needed).
#[utoipa::path(post, path = "/api/v1/process-requests/{id}/retry", tag = "process-requests",
    operation_id = "retryProcessRequest", params(("id" = i64, Path, description = "The process request's id.")),
    responses(
        (status = 202, description = "The new process request over the rejected rows.", body = ProcessRequest),
        (status = 403, description = "`forbidden`: process requests are for admins only.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such process request.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: the request has not ended or has no rejected rows; or the \
            `Idempotency-Key` names a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn retry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ProcessRequestId>,
) -> Result<(axum::http::StatusCode, axum::Json<ProcessRequest>), ApiError> {
    let request = s.app.retry_process_request(actor.admin()?, id).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(request)))
}
