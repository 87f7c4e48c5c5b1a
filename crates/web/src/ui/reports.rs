//! Reports (seed 001): time by client group, client or staff over a date range with filters, as a
//! table, a bar chart and a CSV download; saved reports ("the disc icon"), private or for the
//! whole office. Every figure comes from `App::time_report`, which covers only what the reader
//! may see.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use clientele_app::reports::{SavedReportFields, TimeReport, chart, report_csv};
use clientele_domain::SavedReportId;
use clientele_domain::entities::{BusinessUnit, ClientGroup, Staff};
use clientele_domain::group::GroupFilter;
use clientele_domain::report::{Grouping, ReportParams, SavedReport, Visibility};

use super::{FieldErrors, Layout, Session, SignedForm, UiError, render, see_other};
use crate::AppState;

/// Options offered by the pickers; more are reachable by id in the URL.
const PICKER_LIMIT: i64 = 500;

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportPage {
    l: Layout,
    p: ReportParams,
    report: Option<TimeReport>,
    /// The request as a query string, for the chart, CSV and save links.
    qs: String,
    groups: Vec<ClientGroup>,
    picked_groups: Vec<i64>,
    staff: Vec<Staff>,
    picked_staff: Vec<i64>,
    units: Vec<BusinessUnit>,
    errors: FieldErrors,
    saved: Vec<SavedReport>,
    /// The saved reports the reader may rename, share or delete.
    changeable: Vec<SavedReportId>,
    /// The saved report this page shows, if it was opened from one.
    opened: Option<SavedReport>,
    /// A refused save: why, and the name typed.
    save_errors: FieldErrors,
    save_name: String,
}

impl ReportPage {
    fn hours(&self, minutes: &u64) -> String {
        chart::hours(*minutes)
    }
    fn is(&self, field: &Option<String>, value: &str) -> bool {
        field.as_deref().unwrap_or_default() == value
    }
    /// What the report's rows are: `group`, `client` or `staff`.
    fn rows_are(&self, which: &str) -> bool {
        self.report.as_ref().is_some_and(|r| {
            which
                == match r.by {
                    Grouping::Group => "group",
                    Grouping::Client => "client",
                    Grouping::Staff => "staff",
                }
        })
    }
    fn status_checked(&self, status: &str) -> bool {
        self.p
            .status
            .as_deref()
            .is_some_and(|s| s.split(',').any(|x| x.trim() == status))
    }
}

/// The request as a query string, for the chart, CSV and save links (unset fields left out).
fn query_string(p: &ReportParams) -> String {
    serde_urlencoded::to_string(p).unwrap_or_default()
}

fn ids(raw: &Option<String>) -> Vec<i64> {
    raw.as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The form sends lists as repeated fields; the report takes comma-separated ids.
fn params_from_query(raw: &str) -> ReportParams {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    let mut p = ReportParams::default();
    let mut groups = Vec::new();
    let mut staff = Vec::new();
    let mut statuses = Vec::new();
    for (k, v) in pairs {
        let v = v.trim().to_string();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "from" => p.from = Some(v),
            "to" => p.to = Some(v),
            "by" => p.by = Some(v),
            "groups" => groups.push(v),
            "group_match" => p.group_match = Some(v),
            "staff" => staff.push(v),
            "unit" => p.unit = Some(v),
            "billable" => p.billable = Some(v),
            "status" => statuses.push(v),
            "basis" => p.basis = Some(v),
            _ => {}
        }
    }
    let join = |v: Vec<String>| (!v.is_empty()).then(|| v.join(","));
    p.groups = join(groups);
    p.staff = join(staff);
    p.status = join(statuses);
    p
}

/// A save that was refused, shown by the save form.
#[derive(Default)]
struct RefusedSave {
    errors: FieldErrors,
    name: String,
}

async fn page(
    s: &AppState,
    session: Session,
    p: ReportParams,
    opened: Option<SavedReport>,
    refused: RefusedSave,
) -> Result<Response, UiError> {
    let actor = &session.actor;
    let (report, errors) = match s.app.time_report(actor, &p, Some(500)).await {
        Ok(r) => (Some(r), FieldErrors::default()),
        Err(e) if e.field.is_some() => (None, FieldErrors::from_error(&e, "report")),
        Err(e) => return Err(e.into()),
    };
    let groups = s
        .app
        .groups(actor, &GroupFilter::default(), None, Some(PICKER_LIMIT))
        .await?
        .items;
    let (staff, units) = if actor.admin().is_ok() {
        (
            s.app.staff_list(actor, None, Some(PICKER_LIMIT)).await?.items,
            s.app.business_units(actor, None, Some(PICKER_LIMIT)).await?.items,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let saved = s.app.saved_reports(actor).await?;
    Ok(render(&ReportPage {
        l: session.layout("reports"),
        qs: query_string(&p),
        picked_groups: ids(&p.groups),
        picked_staff: ids(&p.staff),
        p,
        report,
        groups,
        staff,
        units,
        errors,
        changeable: saved
            .iter()
            .filter(|r| clientele_app::App::may_change_saved_report(actor, r))
            .map(|r| r.id)
            .collect(),
        saved,
        opened,
        save_errors: refused.errors,
        save_name: refused.name,
    }))
}

pub async fn show(
    State(s): State<AppState>,
    session: Session,
    raw: axum::extract::RawQuery,
) -> Result<Response, UiError> {
    let p = params_from_query(raw.0.as_deref().unwrap_or_default());
    page(&s, session, p, None, RefusedSave::default()).await
}

pub async fn open_saved(State(s): State<AppState>, session: Session, Path(id): Path<i64>) -> Result<Response, UiError> {
    let saved = s.app.saved_report(&session.actor, SavedReportId(id)).await?;
    let p = saved.params.clone();
    page(&s, session, p, Some(saved), RefusedSave::default()).await
}

/// The chart as an image. Its own CSP: an SVG document may style itself and nothing more.
pub async fn chart_svg(
    State(s): State<AppState>,
    session: Session,
    raw: axum::extract::RawQuery,
) -> Result<Response, UiError> {
    let p = params_from_query(raw.0.as_deref().unwrap_or_default());
    let report = s.app.time_report(&session.actor, &p, Some(chart::MAX_BARS)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
        ],
        chart::bar_chart(&report),
    )
        .into_response())
}

pub async fn csv(
    State(s): State<AppState>,
    session: Session,
    raw: axum::extract::RawQuery,
) -> Result<Response, UiError> {
    let p = params_from_query(raw.0.as_deref().unwrap_or_default());
    let report = s.app.time_report(&session.actor, &p, None).await?;
    let name = format!("time-by-{:?}-{}-{}.csv", report.by, report.from, report.to).to_lowercase();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ASCII");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        report_csv(&report)?,
    )
        .into_response())
}

fn visibility(form: &super::FormData) -> Visibility {
    if form.get("visibility") == Some("organization") {
        Visibility::Organization
    } else {
        Visibility::Private
    }
}

/// Saves the report on screen (its query string travels in a hidden field).
pub async fn save(State(s): State<AppState>, SignedForm { session, form }: SignedForm) -> Result<Response, UiError> {
    let fields = SavedReportFields {
        name: form.text("name"),
        visibility: visibility(&form),
        params: params_from_query(&form.text("qs")),
    };
    match s.app.create_saved_report(&session.actor, &fields).await {
        Ok(saved) => Ok(see_other(&format!("/reports/saved/{}", saved.id))),
        Err(e) if e.field.is_some() => {
            let refused = RefusedSave {
                errors: FieldErrors::from_error(&e, "name"),
                name: fields.name,
            };
            page(&s, session, fields.params, None, refused).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Renames a saved report or changes who sees it (its owner or an admin).
pub async fn update_saved(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    SignedForm { session, form }: SignedForm,
) -> Result<Response, UiError> {
    let id = SavedReportId(id);
    let current = s.app.saved_report(&session.actor, id).await?;
    let fields = SavedReportFields {
        name: form.text("name"),
        visibility: visibility(&form),
        params: current.params,
    };
    s.app
        .update_saved_report(&session.actor, id, &fields, form.i64("version"))
        .await?;
    Ok(see_other(&format!("/reports/saved/{id}")))
}

pub async fn delete_saved(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    SignedForm { session, form: _ }: SignedForm,
) -> Result<Response, UiError> {
    s.app.delete_saved_report(&session.actor, SavedReportId(id)).await?;
    Ok(see_other("/reports"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_form_fields_become_comma_separated_ids() {
        let p = params_from_query("from=2026-11-01&groups=3&groups=4&status=active&status=closed&staff=&by=client");
        assert_eq!(p.groups.as_deref(), Some("3,4"));
        assert_eq!(p.status.as_deref(), Some("active,closed"));
        assert_eq!(p.staff, None);
        assert_eq!(p.by.as_deref(), Some("client"));
        // And back: the links of the page carry the same request.
        assert_eq!(params_from_query(&query_string(&p)), p);
    }

    #[test]
    fn the_query_string_carries_every_set_field_escaped() {
        let p = ReportParams {
            from: Some("2026-01-01".into()),
            groups: Some("1,2".into()),
            status: Some("a b&c".into()),
            ..Default::default()
        };
        assert_eq!(query_string(&p), "from=2026-01-01&groups=1%2C2&status=a+b%26c");
    }
}
