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

use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

/// Which time entries to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EntryFilter {
    /// Entries of this client (you must see it).
    pub client_id: Option<ClientId>,
    /// Entries of this staff member (yourself, or anyone for admins).
    pub staff_id: Option<StaffId>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Time entries, newest day first. Without a filter: your own.
#[utoipa::path(get, path = "/api/v1/time-entries", tag = "reports", params(EntryFilter),
    responses((status = 200, body = Page<TimeEntry>)))]
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
#[utoipa::path(post, path = "/api/v1/time-entries", tag = "reports", request_body = TimeEntryFields,
    responses((status = 201, body = TimeEntry), (status = 422, body = crate::error::Problem)))]
pub async fn create_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<TimeEntryFields>,
) -> Result<Response, ApiError> {
    let entry = s.app.create_time_entry(&actor, &input).await?;
    Ok((StatusCode::CREATED, tagged(entry.version, entry)).into_response())
}

#[utoipa::path(get, path = "/api/v1/time-entries/{id}", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = TimeEntry), (status = 404, body = crate::error::Problem)))]
pub async fn get_entry(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<TimeEntryId>,
) -> Result<Response, ApiError> {
    let entry = s.app.time_entry(&actor, id).await?;
    Ok(tagged(entry.version, entry))
}

/// Replaces an entry (its author or an admin).
#[utoipa::path(put, path = "/api/v1/time-entries/{id}", tag = "reports", params(("id" = i64, Path)), request_body = TimeEntryFields,
    responses((status = 200, body = TimeEntry), (status = 403, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
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

#[utoipa::path(delete, path = "/api/v1/time-entries/{id}", tag = "reports", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::error::Problem)))]
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
pub struct RowLimit {
    /// At most this many rows (default 1000); `total_rows` counts them all.
    pub limit: Option<usize>,
}

/// Time by client group (nested groups roll up into their parents), by client or by staff, over
/// a date range, covering only the clients you may see.
#[utoipa::path(get, path = "/api/v1/reports/time", tag = "reports", params(ReportParams, RowLimit),
    responses((status = 200, body = TimeReport), (status = 422, body = crate::error::Problem)))]
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
#[utoipa::path(get, path = "/api/v1/reports/time.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String)))]
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
#[utoipa::path(get, path = "/api/v1/reports/time.svg", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "image/svg+xml", body = String)))]
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
#[utoipa::path(get, path = "/api/v1/saved-reports", tag = "reports",
    responses((status = 200, body = Vec<SavedReport>)))]
pub async fn list_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
) -> Result<axum::Json<Vec<SavedReport>>, ApiError> {
    Ok(axum::Json(s.app.saved_reports(&actor).await?))
}

/// Saves a report's filters and grouping under a name, `private` or for the `organization`.
#[utoipa::path(post, path = "/api/v1/saved-reports", tag = "reports", request_body = SavedReportFields,
    responses((status = 201, body = SavedReport), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<SavedReportFields>,
) -> Result<Response, ApiError> {
    let saved = s.app.create_saved_report(&actor, &input).await?;
    Ok((StatusCode::CREATED, tagged(saved.version, saved)).into_response())
}

#[utoipa::path(get, path = "/api/v1/saved-reports/{id}", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = SavedReport), (status = 404, body = crate::error::Problem)))]
pub async fn get_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<SavedReportId>,
) -> Result<Response, ApiError> {
    let saved = s.app.saved_report(&actor, id).await?;
    Ok(tagged(saved.version, saved))
}

/// Renames a saved report, changes its visibility or its filters (its owner or an admin).
#[utoipa::path(put, path = "/api/v1/saved-reports/{id}", tag = "reports", params(("id" = i64, Path)), request_body = SavedReportFields,
    responses((status = 200, body = SavedReport), (status = 403, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
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

#[utoipa::path(delete, path = "/api/v1/saved-reports/{id}", tag = "reports", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::error::Problem)))]
pub async fn delete_saved(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<SavedReportId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_saved_report(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
