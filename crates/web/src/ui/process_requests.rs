//! Process requests (seed 004): the table an admin watches large work in (id, operation, group,
//! initiator, status, date, progress), and one request's page with its row report, "Cancel",
//! "Retry failed rows" and, after a dry run, "Apply this file". While a request is pending or
//! running its progress refreshes by itself (app.js swaps the `data-live` region; without
//! JavaScript a `<noscript>` meta refresh reloads the page).

use std::collections::HashMap;
use std::io;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::process_requests::{
    Mode, Operation, ProcessRequest, ProcessRequestFilter, ReportRow, RequestStatus, SMALL,
};
use clientele_domain::{Error, GroupId, ProcessRequestId, StaffId};

use super::list::{Controls, ListView};
use super::{Layout, Session, SignedForm, UiError, query, render, render_status, see_other, when};
use crate::AppState;

/// Statuses people filter by, with their labels.
pub const STATUSES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("running", "Running"),
    ("completed", "Completed"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("receiving", "Receiving"),
];

/// Operations, with their labels.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("import_clients", "Import clients"),
    ("import_groups", "Import groups"),
    ("import_memberships", "Import memberships"),
    ("import_time_entries", "Import time entries"),
    ("import_program_accounts", "Import program accounts"),
    ("bulk_add", "Bulk add to group"),
    ("bulk_remove", "Bulk remove from group"),
    ("delete_group", "Delete group"),
];

fn label(table: &[(&'static str, &'static str)], key: &str) -> String {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| key.to_string())
}

/// A row's outcome in words; a dry run says what would have happened.
fn outcome_label(outcome: &str, dry_run: bool) -> &'static str {
    match (outcome, dry_run) {
        ("created", false) => "Created",
        ("created", true) => "Would be created",
        ("updated", false) => "Updated",
        ("updated", true) => "Would be updated",
        ("unchanged", _) => "Unchanged",
        ("added", false) => "Added",
        ("added", true) => "Would be added",
        ("already_member", _) => "Already a member",
        ("removed", false) => "Removed",
        ("removed", true) => "Would be removed",
        ("not_member", _) => "Not a member",
        ("rejected", _) => "Rejected",
        _ => "Other",
    }
}

/// A request as the table and the page show it.
pub struct RequestView {
    pub id: i64,
    pub operation: String,
    pub dry_run: bool,
    pub replace: bool,
    pub group_id: Option<GroupId>,
    pub group: String,
    /// The group was deleted since: its name is not a link.
    pub group_gone: bool,
    pub initiator: String,
    pub status: String,
    pub status_label: String,
    pub created: String,
    pub started: String,
    pub finished: String,
    pub total: i64,
    pub done: i64,
    pub failed: i64,
    pub progress: u8,
    pub attempts: i32,
    pub error: Option<String>,
    pub retry_of: Option<i64>,
    /// Pending, running or still receiving: its progress moves.
    pub active: bool,
    pub can_cancel: bool,
    pub can_retry: bool,
    pub can_apply: bool,
    /// For an import that ended with refusals: the upload form, pre-set for the corrected file.
    pub upload_again: Option<String>,
}

/// Names of groups and staff, looked up once per page.
#[derive(Default)]
struct Names {
    /// A group's name, and whether it is gone (deleted since, or never visible).
    groups: HashMap<GroupId, (String, bool)>,
    staff: HashMap<StaffId, String>,
}

impl Names {
    async fn group(&mut self, s: &AppState, session: &Session, id: GroupId) -> (String, bool) {
        if let Some(n) = self.groups.get(&id) {
            return n.clone();
        }
        let named = match s.app.group(&session.actor, id).await {
            Ok(g) => (g.group.name, false),
            // Deleted since (or never visible): the id still tells support which one.
            Err(_) => (format!("Group {id} (deleted)"), true),
        };
        self.groups.insert(id, named.clone());
        named
    }

    async fn staff(&mut self, s: &AppState, session: &Session, id: StaffId) -> String {
        if let Some(n) = self.staff.get(&id) {
            return n.clone();
        }
        let name = match s.app.colleague(&session.actor, id).await {
            Ok(m) => m.name,
            Err(_) => format!("staff {id}"),
        };
        self.staff.insert(id, name.clone());
        name
    }

    async fn view(&mut self, s: &AppState, session: &Session, r: ProcessRequest) -> RequestView {
        let (group, group_gone) = match r.group_id {
            Some(g) => self.group(s, session, g).await,
            None => (String::new(), false),
        };
        let initiator = match r.initiator {
            Some(m) => self.staff(s, session, m).await,
            None => String::new(),
        };
        let at = |t: time::OffsetDateTime| when(clientele_domain::to_millis(t));
        let active = r.status.is_active();
        let finished = !active;
        RequestView {
            id: r.id.0,
            operation: label(OPERATIONS, r.operation.as_str()),
            dry_run: r.mode == Mode::Validate,
            replace: r.replace,
            group_id: r.group_id,
            group,
            group_gone,
            initiator,
            status_label: label(STATUSES, r.status.as_str()),
            created: at(r.created_at),
            started: r.started_at.map(at).unwrap_or_default(),
            finished: r.finished_at.map(at).unwrap_or_default(),
            total: r.total,
            done: r.done,
            failed: r.failed,
            progress: r.progress,
            attempts: r.attempts,
            retry_of: r.retry_of.map(|id| id.0),
            active,
            can_cancel: matches!(r.status, RequestStatus::Pending | RequestStatus::Running),
            // A dry run's rejected rows are checked again by uploading the fixed file, or applied
            // with the rest through "Apply this file"; a validate-mode retry would only confuse.
            can_retry: finished && r.failed > 0 && r.mode != Mode::Validate,
            can_apply: r.can_apply(),
            upload_again: r
                .operation
                .as_str()
                .strip_prefix("import_")
                .filter(|_| finished && (r.failed > 0 || r.status == RequestStatus::Failed))
                .map(|format| format!("/transfers?{}", query(&[("format", format), ("mode", r.mode.as_str())]))),
            error: r.error.clone(),
            status: r.status.as_str().to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Template)]
#[template(path = "process_requests.html")]
struct ListPage {
    l: Layout,
    rows: Vec<RequestView>,
    status: String,
    operation: String,
    statuses: &'static [(&'static str, &'static str)],
    operations: &'static [(&'static str, &'static str)],
    list: ListView,
    /// Some request on this page is still moving: keep refreshing.
    live: bool,
    done: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    sort: String,
    per_page: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    session.actor.admin()?;
    // Only known values filter; anything else shows everything rather than an empty table.
    let controls = Controls {
        // Newest first unless asked otherwise; anything unknown is the default.
        sort: if q.sort == "created" {
            q.sort.clone()
        } else {
            String::new()
        },
        per_page: q.per_page.clone(),
        cursor: q.cursor.clone(),
    };
    let filter = ProcessRequestFilter {
        status: RequestStatus::parse(&q.status).ok(),
        operation: Operation::parse(&q.operation).ok(),
        group: None,
        initiator: None,
        oldest_first: controls.sort == "created",
    };
    let page = s
        .app
        .process_requests(&session.actor, &filter, controls.cursor(), Some(controls.per_page()))
        .await?;
    let mut names = Names::default();
    let mut rows = Vec::with_capacity(page.items.len());
    for r in page.items {
        rows.push(names.view(&s, &session, r).await);
    }
    let list = ListView::new(
        "/process-requests",
        &[("status", &q.status), ("operation", &q.operation)],
        &controls,
        "-created",
        page.total,
        page.next_cursor,
        page.prev_cursor,
        ("request", "requests"),
    );
    Ok(render(&ListPage {
        l: session.layout("process-requests"),
        live: rows.iter().any(|r| r.active),
        rows,
        status: q.status,
        operation: q.operation,
        statuses: STATUSES,
        operations: OPERATIONS,
        list,
        done: q.done,
    }))
}

// ---------------------------------------------------------------------------------------------
// One request

/// Rows of the report per page.
const REPORT_PAGE: i64 = 100;
/// With "rejected rows only", rows read per call at most: the page stays fast however few rows
/// were rejected, and "Look further" goes on from where the reading stopped.
const REJECTED_SCAN: i64 = 2000;

pub struct RowView {
    pub row: i64,
    pub line: i64,
    pub outcome: &'static str,
    pub rejected: bool,
    pub reason: String,
}

impl RowView {
    fn new(r: ReportRow, dry_run: bool) -> Self {
        RowView {
            row: r.row,
            line: r.line,
            outcome: outcome_label(&r.outcome, dry_run),
            rejected: r.outcome == "rejected",
            reason: r.reason.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "process_request.html")]
struct ShowPage {
    l: Layout,
    r: RequestView,
    rows: Vec<RowView>,
    /// Rows after this row number are shown.
    after: i64,
    only_rejected: bool,
    /// The link to the next rows of the report.
    next: Option<String>,
    /// With "rejected rows only": the last row read, when the reading stopped before the end.
    scanned_to: Option<i64>,
    done: String,
    refusal: Option<String>,
    /// "1 group created, 55 memberships added", once the request has ended.
    summary: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    only: String,
    #[serde(default)]
    done: String,
}

async fn show_page(
    s: &AppState,
    session: &Session,
    id: ProcessRequestId,
    q: ShowQuery,
    refusal: Option<String>,
) -> Result<ShowPage, UiError> {
    let request = s.app.process_request(&session.actor, id).await?;
    let summary = s
        .app
        .process_request_summary(&session.actor, &request)
        .await?
        .map(|sum| sum.text);
    let r = Names::default().view(s, session, request).await;
    let only_rejected = q.only == "rejected";
    let after = q.after.max(0);
    let (rows, next_after, scanned_to) = if only_rejected {
        let mut rows = Vec::new();
        let mut cursor = after;
        let mut read = 0;
        let mut end = false;
        'scan: while read < REJECTED_SCAN {
            let page = s.app.report_rows(&session.actor, id, cursor, 1000).await?;
            read += 1000;
            let full = page.len() == 1000;
            for row in page {
                cursor = row.row;
                if row.outcome == "rejected" {
                    rows.push(RowView::new(row, r.dry_run));
                    if rows.len() as i64 == REPORT_PAGE {
                        break 'scan;
                    }
                }
            }
            if !full {
                end = true;
                break;
            }
        }
        let next = (!end).then_some(cursor);
        let short = (rows.len() as i64) < REPORT_PAGE;
        (rows, next, next.filter(|_| short))
    } else {
        let rows: Vec<RowView> = s
            .app
            .report_rows(&session.actor, id, after, REPORT_PAGE)
            .await?
            .into_iter()
            .map(|row| RowView::new(row, r.dry_run))
            .collect();
        let next = (rows.len() as i64 == REPORT_PAGE)
            .then(|| rows.last().map(|r| r.row))
            .flatten();
        (rows, next, None)
    };
    let only = if only_rejected { "rejected" } else { "" };
    let next = next_after.map(|n| query(&[("only", only), ("after", &n.to_string())]));
    Ok(ShowPage {
        l: session.layout("process-requests"),
        r,
        rows,
        after,
        only_rejected,
        next,
        scanned_to,
        done: q.done,
        refusal,
        summary,
    })
}

pub async fn show(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ProcessRequestId>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, UiError> {
    let page = show_page(&s, &session, id, q, None).await?;
    Ok(render(&page))
}

/// The report as CSV (`row,line,outcome,reason` and the row as uploaded), streamed page by page.
pub async fn report(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ProcessRequestId>,
) -> Result<Response, UiError> {
    let actor = session.actor;
    let (first, next) = s.app.report_csv_page(&actor, id, 0).await?;
    let app = s.app.clone();
    let rest = futures_util::stream::unfold(next, move |after| {
        let (app, actor) = (app.clone(), actor.clone());
        async move {
            let after = after?;
            Some(match app.report_csv_page(&actor, id, after).await {
                Ok((bytes, next)) => (Ok::<_, io::Error>(Bytes::from(bytes)), next),
                Err(e) => (Err(io::Error::other(e.detail)), None),
            })
        }
    });
    let first = futures_util::stream::once(async move { Ok::<_, io::Error>(Bytes::from(first)) });
    let body = Body::from_stream(futures_util::StreamExt::chain(first, rest));
    Ok(csv_download(&format!("process-request-{id}.csv"), body))
}

/// A CSV file for the browser to save.
pub fn csv_download(filename: &str, body: Body) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The page again with why an action was refused (e.g. the request ended meanwhile).
async fn refused(s: &AppState, session: &Session, id: ProcessRequestId, e: Error) -> Result<Response, UiError> {
    let status = crate::error::status_of(e.code);
    let page = show_page(s, session, id, ShowQuery::default(), Some(e.detail)).await?;
    Ok(render_status(status, &page))
}

/// A new request made from this page: small ones run before the answer, like small uploads, so
/// the next page already shows their report; larger ones wait for the worker.
async fn started(s: &AppState, request: ProcessRequest, done: &str) -> Result<Response, UiError> {
    if request.total <= SMALL {
        s.app.run_now(request.id.0).await?;
    }
    Ok(see_other(&format!(
        "/process-requests/{}?{}",
        request.id,
        query(&[("done", done)])
    )))
}

pub async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<ProcessRequestId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let session = f.session;
    match s.app.cancel_process_request(session.actor.admin()?, id).await {
        Ok(_) => Ok(see_other(&format!("/process-requests/{id}?done=cancelled"))),
        Err(e) => refused(&s, &session, id, e).await,
    }
}

pub async fn retry(
    State(s): State<AppState>,
    Path(id): Path<ProcessRequestId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let session = f.session;
    match s.app.retry_process_request(session.actor.admin()?, id).await {
        Ok(request) => started(&s, request, "retry").await,
        Err(e) => refused(&s, &session, id, e).await,
    }
}

/// How long "Apply this file" waits for the rows to be copied before answering.
const COPY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// "Apply this file": the dry run's stored rows, applied for real.
pub async fn apply(
    State(s): State<AppState>,
    Path(id): Path<ProcessRequestId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let session = f.session;
    session.actor.admin()?;
    // Its own task, like an upload: the copy ends properly whatever happens to this request.
    let mut copying = {
        let (app, actor) = (s.app.clone(), session.actor.clone());
        tokio::spawn(async move { app.apply_validated(actor.admin()?, id.0).await })
    };
    // A file of many rows takes a while to copy; rather than keep the browser waiting (or time
    // out), show the table, where the new request appears as receiving, then pending.
    let result = match tokio::time::timeout(COPY_WAIT, &mut copying).await {
        Ok(joined) => joined.map_err(|e| Error::internal("copying the rows stopped").caused_by(e))?,
        Err(_) => return Ok(see_other("/process-requests?done=applying")),
    };
    match result {
        Ok(request) => started(&s, request, "apply").await,
        Err(e) => refused(&s, &session, id, e).await,
    }
}
