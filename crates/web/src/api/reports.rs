//! Time entries, reports by client group / client / staff, and saved reports (seed 001).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::reports::{SavedReportFields, TimeEntryFields, TimeReport, chart, report_csv};
use clientele_domain::report::{ReportParams, SavedReport};
use clientele_domain::time_entry::TimeEntry;
use clientele_domain::{ClientId, SavedReportId, StaffId, TimeEntryId};

use super::{Binary, IfMatchHeader, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

/// Which time entries to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryFilter {
    /// Entries of this client (you must see it).
    pub client_id: Option<ClientId>,
    /// Entries of this staff member (yourself, or anyone for admins).
    pub staff_id: Option<StaffId>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// Time entries, newest day first. Without a filter: your own.
#[utoipa::path(get, path = "/api/v1/time-entries", tag = "reports", operation_id = "listTimeEntries", params(EntryFilter),
    responses(
        (status = 200, description = "A page of time entries.", body = Page<TimeEntry>),
        (status = 403, description = "`forbidden`: only admins list someone else's time.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: the `client_id` named is not a client you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list_entries(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(f): Q<EntryFilter>,
) -> Result<axum::Json<Page<TimeEntry>>, ApiError> {
    let staff = f.staff_id.or(f.client_id.is_none().then_some(actor.staff_id));
    Ok(axum::Json(
        s.app
            .time_entries(&actor, f.client_id, staff, f.cursor.as_deref(), f.limit)
            .await?,
    ))
}

/// Logs time on a client you may edit (admins may log it for someone else).
#[utoipa::path(post, path = "/api/v1/time-entries", tag = "reports", operation_id = "createTimeEntry",
    request_body = TimeEntryFields,
    responses(
        (status = 201, description = "The time entry, created; `ETag` is its version.", body = TimeEntry),
        (status = 403, description = "`forbidden`: you may not edit this client, or only admins log time for someone else.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: the client or staff member named is not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<TimeEntryFields>,
) -> Result<Response, ApiError> {
    let entry = s.app.create_time_entry(&actor, &input).await?;
    Ok((StatusCode::CREATED, tagged(entry.version, entry)).into_response())
}

/// One time entry.
#[utoipa::path(get, path = "/api/v1/time-entries/{id}", tag = "reports", operation_id = "getTimeEntry", params(("id" = i64, Path, description = "The time entry's id.")),
    responses(
        (status = 200, description = "The time entry; `ETag` is its version.", body = TimeEntry),
        (status = 404, description = "`not_found`: no such time entry, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<TimeEntryId>,
) -> Result<Response, ApiError> {
    let entry = s.app.time_entry(&actor, id).await?;
    Ok(tagged(entry.version, entry))
}

/// Replaces an entry (its author or an admin).
#[utoipa::path(put, path = "/api/v1/time-entries/{id}", tag = "reports", operation_id = "updateTimeEntry",
    params(("id" = i64, Path, description = "The time entry's id."), IfMatchHeader), request_body = TimeEntryFields,
    responses(
        (status = 200, description = "The time entry, replaced; `ETag` is its new version.", body = TimeEntry),
        (status = 403, description = "`forbidden`: it is someone else's entry, or you may not edit its client.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such time entry, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<TimeEntryId>,
    Json(input): Json<TimeEntryFields>,
) -> Result<Response, ApiError> {
    let entry = s.app.update_time_entry(&actor, id, &input, v).await?;
    Ok(tagged(entry.version, entry))
}

/// Deletes a time entry (its author or an admin).
#[utoipa::path(delete, path = "/api/v1/time-entries/{id}", tag = "reports", operation_id = "deleteTimeEntry", params(("id" = i64, Path, description = "The time entry's id.")),
    responses(
        (status = 204, description = "The time entry is deleted."),
        (status = 403, description = "`forbidden`: it is someone else's entry, or you may not edit its client.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such time entry, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<TimeEntryId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_time_entry(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many rows a JSON report returns.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowLimit {
    /// At most this many rows (default 1000); `total_rows` counts them all.
    pub limit: Option<usize>,
}

/// Time by client group (nested groups roll up into their parents), by client or by staff, over
/// a date range, covering only the clients you may see.
#[utoipa::path(get, path = "/api/v1/reports/time", tag = "reports", operation_id = "getTimeReport",
    params(ReportParams, RowLimit),
    responses((status = 200, description = "The report.", body = TimeReport)))]
pub async fn time_report(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(params): Q<ReportParams>,
    Q(limit): Q<RowLimit>,
) -> Result<axum::Json<TimeReport>, ApiError> {
    Ok(axum::Json(
        s.app
            .time_report(&actor, &params, Some(limit.limit.unwrap_or(1000)))
            .await?,
    ))
}

fn download(content_type: &'static str, filename: &str, body: impl Into<Body>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")).expect("ASCII");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body.into(),
    )
        .into_response()
}

/// The same report as CSV, every row.
#[utoipa::path(get, path = "/api/v1/reports/time.csv", tag = "reports", operation_id = "getTimeReportCsv",
    params(ReportParams),
    responses((status = 200, description = "The report, a CSV file (UTF-8), as an attachment.", body = inline(Binary), content_type = "text/csv")))]
pub async fn time_report_csv(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(params): Q<ReportParams>,
) -> Result<Response, ApiError> {
    let report = s.app.time_report(&actor, &params, None).await?;
    let name = format!("time-by-{:?}-{}-{}.csv", report.by, report.from, report.to).to_lowercase();
    Ok(download("text/csv; charset=utf-8", &name, report_csv(&report)?))
}

/// The same report as a bar chart (SVG), the rows with most time.
#[utoipa::path(get, path = "/api/v1/reports/time.svg", tag = "reports", operation_id = "getTimeReportSvg",
    params(ReportParams),
    responses((status = 200, description = "The chart, an SVG image.", body = String, content_type = "image/svg+xml")))]
pub async fn time_report_svg(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(params): Q<ReportParams>,
) -> Result<Response, ApiError> {
    let report = s.app.time_report(&actor, &params, Some(chart::MAX_BARS)).await?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"))],
        chart::bar_chart(&report),
    )
        .into_response())
}

/// Your saved reports and the office's, by name.
#[utoipa::path(get, path = "/api/v1/saved-reports", tag = "reports", operation_id = "listSavedReports",
    responses((status = 200, description = "The saved reports you see.", body = Vec<SavedReport>)))]
pub async fn list_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
) -> Result<axum::Json<Vec<SavedReport>>, ApiError> {
    Ok(axum::Json(s.app.saved_reports(&actor).await?))
}

/// Saves a report's filters and grouping under a name, `private` or for the `organization`.
#[utoipa::path(post, path = "/api/v1/saved-reports", tag = "reports", operation_id = "createSavedReport",
    request_body = SavedReportFields,
    responses(
        (status = 201, description = "The saved report, created; `ETag` is its version.", body = SavedReport),
        (status = 409, description = "`name_taken`: you already have a saved report with this name; or the \
            `Idempotency-Key` names a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<SavedReportFields>,
) -> Result<Response, ApiError> {
    let saved = s.app.create_saved_report(&actor, &input).await?;
    Ok((StatusCode::CREATED, tagged(saved.version, saved)).into_response())
}

/// One saved report.
#[utoipa::path(get, path = "/api/v1/saved-reports/{id}", tag = "reports", operation_id = "getSavedReport", params(("id" = i64, Path, description = "The saved report's id.")),
    responses(
        (status = 200, description = "The saved report; `ETag` is its version.", body = SavedReport),
        (status = 404, description = "`not_found`: no such saved report, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<SavedReportId>,
) -> Result<Response, ApiError> {
    let saved = s.app.saved_report(&actor, id).await?;
    Ok(tagged(saved.version, saved))
}

/// Renames a saved report, changes its visibility or its filters (its owner or an admin).
#[utoipa::path(put, path = "/api/v1/saved-reports/{id}", tag = "reports", operation_id = "updateSavedReport",
    params(("id" = i64, Path, description = "The saved report's id."), IfMatchHeader), request_body = SavedReportFields,
    responses(
        (status = 200, description = "The saved report, changed; `ETag` is its new version.", body = SavedReport),
        (status = 403, description = "`forbidden`: only its owner or an admin changes it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such saved report, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`name_taken`: you already have a saved report with this name.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<SavedReportId>,
    Json(input): Json<SavedReportFields>,
) -> Result<Response, ApiError> {
    let saved = s.app.update_saved_report(&actor, id, &input, v).await?;
    Ok(tagged(saved.version, saved))
}

/// Deletes a saved report (its owner or an admin).
#[utoipa::path(delete, path = "/api/v1/saved-reports/{id}", tag = "reports", operation_id = "deleteSavedReport", params(("id" = i64, Path, description = "The saved report's id.")),
    responses(
        (status = 204, description = "The saved report is deleted."),
        (status = 403, description = "`forbidden`: only its owner or an admin deletes it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such saved report, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<SavedReportId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_saved_report(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
