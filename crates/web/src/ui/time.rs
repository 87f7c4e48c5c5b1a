//! Time in the UI (issue 6, seed 001): the "Time" section of a client's profile with its
//! "Log time" form, editing and deleting one entry, and "My time". Who may log, edit or delete is
//! the app's decision (`App::may_edit_client`, `App::may_change_time_entry`, and the use cases
//! themselves); these handlers only offer what the app allows and show its refusals.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_app::reports::{TimeEntryFields, TimeEntryLine};
use clientele_domain::time_entry::{Day, TimeEntry};
use clientele_domain::{ClientId, Error, Millis, TimeEntryId};

use super::{FieldErrors, FormData, Layout, Session, SignedForm, UiError, query, render, render_status, see_other};
use crate::AppState;

/// Entries per page in a client's Time section (a section of a longer page) and on "My time".
const PROFILE_PAGE: i64 = 20;
const MY_TIME_PAGE: i64 = 50;

/// The fields of the time form that show their own errors; any other error goes above the form.
const FIELDS: &[&str] = &["date", "duration", "service", "note", "staff"];

/// A duration as people read it: `1:30`.
pub fn hm(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// The time form's values, as stored or as typed.
#[derive(Debug, Clone)]
pub struct TimeValues {
    /// Admins: the e-mail of the staff member whose time it is (empty: their own).
    pub staff: String,
    pub date: String,
    pub duration: String,
    pub billable: bool,
    pub service: String,
    pub note: String,
}

impl TimeValues {
    /// A new entry: today (UTC, the day reports count in), billable, the rest empty.
    pub fn fresh(now: Millis) -> TimeValues {
        TimeValues {
            staff: String::new(),
            date: Day::of_millis(now).to_string(),
            duration: String::new(),
            billable: true,
            service: String::new(),
            note: String::new(),
        }
    }

    fn of(e: &TimeEntry) -> TimeValues {
        TimeValues {
            staff: String::new(),
            date: e.date.to_string(),
            duration: hm(e.minutes.into()),
            billable: e.billable,
            service: e.service.clone(),
            note: e.note.clone(),
        }
    }

    pub(super) fn typed(form: &FormData) -> TimeValues {
        TimeValues {
            staff: form.text("staff").trim().to_string(),
            date: form.text("date"),
            duration: form.text("duration"),
            // An unticked checkbox is not sent at all.
            billable: form.has("billable"),
            service: form.text("service"),
            note: form.text("note"),
        }
    }

    /// What the use case reads; it parses the date and the duration itself, so the form accepts
    /// exactly what the API accepts (`90`, `1:30`, `1.5h`).
    pub(super) fn fields(&self, client: ClientId) -> TimeEntryFields {
        TimeEntryFields {
            client_id: client,
            staff_id: None,
            date: self.date.clone(),
            duration: self.duration.clone(),
            billable: self.billable,
            service: Some(self.service.clone()),
            note: Some(self.note.clone()),
        }
    }
}

/// A refusal, by the field it names, or above the form.
pub(super) fn field_errors(e: &Error) -> FieldErrors {
    let errors = FieldErrors::from_error(e, "form");
    match errors.0.first() {
        Some((field, _)) if FIELDS.contains(&field.as_str()) => errors,
        _ => FieldErrors::one("form", e.detail.clone()),
    }
}

/// Not the actor's to see or change: the error page (404 or 403), not a form they cannot use.
pub(super) fn is_refusal(e: &Error) -> bool {
    matches!(
        crate::error::status_of(e.code),
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    )
}

/// One entry as a row of a list.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: TimeEntryId,
    pub date: String,
    pub staff_name: String,
    pub client_id: ClientId,
    pub client_name: String,
    pub minutes: i64,
    pub duration: String,
    pub billable: bool,
    pub service: String,
    pub note: String,
    /// Edit and Delete are offered: the app's own answer for this reader.
    pub may_change: bool,
}

impl From<TimeEntryLine> for Line {
    fn from(l: TimeEntryLine) -> Line {
        let e = l.entry;
        Line {
            id: e.id,
            date: e.date.to_string(),
            staff_name: l.staff_name,
            client_id: e.client_id,
            client_name: l.client_name,
            minutes: e.minutes.into(),
            duration: hm(e.minutes.into()),
            billable: e.billable,
            service: e.service,
            note: e.note,
            may_change: l.may_change,
        }
    }
}

/// Where Edit and Delete return to: a client's profile or "My time", nothing else (the value
/// travels through the browser).
fn back_to(raw: Option<&str>, client: ClientId) -> String {
    match raw {
        Some("/time") => "/time".to_string(),
        Some(b)
            if b.strip_prefix("/clients/")
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit())) =>
        {
            b.to_string()
        }
        _ => format!("/clients/{client}"),
    }
}

/// `back` with a flash message, landing on the Time section of a profile.
pub(super) fn back_with(back: &str, done: &str) -> String {
    let anchor = if back.starts_with("/clients/") { "#time" } else { "" };
    format!("{back}?{}{anchor}", query(&[("done", done)]))
}

// ---------------------------------------------------------------------------------------------
// The client profile's Time section

/// The Time section of a client's profile.
#[derive(Debug, Clone)]
pub struct TimeSection {
    pub lines: Vec<Line>,
    /// The query string of the next page of entries.
    pub next: Option<String>,
    /// Whether this page is a later one (its "first page" link).
    pub paged: bool,
    /// Whether "Log time" is offered.
    pub can_log: bool,
    pub v: TimeValues,
    pub errors: FieldErrors,
    /// `back=/clients/{id}`, for the Edit and Delete links.
    pub back: String,
}

/// The section for a client the actor sees (the profile has checked that already).
pub async fn client_section(
    s: &AppState,
    session: &Session,
    client: ClientId,
    cursor: Option<&str>,
) -> Result<TimeSection, UiError> {
    let page = s
        .app
        .time_entry_lines(&session.actor, Some(client), None, cursor, Some(PROFILE_PAGE))
        .await?;
    Ok(TimeSection {
        lines: page.items.into_iter().map(Line::from).collect(),
        next: page.next_cursor.map(|c| query(&[("tcursor", &c)])),
        paged: cursor.is_some_and(|c| !c.is_empty()),
        can_log: s.app.may_edit_client(&session.actor, client).is_ok(),
        v: TimeValues::fresh(s.app.clock.now()),
        errors: FieldErrors::default(),
        back: query(&[("back", &format!("/clients/{client}"))]),
    })
}

// ---------------------------------------------------------------------------------------------
// Edit and delete one entry

#[derive(Template)]
#[template(path = "time_entry.html")]
struct EditPage {
    l: Layout,
    e: Line,
    version: i64,
    v: TimeValues,
    errors: FieldErrors,
    back: String,
}

#[derive(Deserialize, Default)]
pub struct BackQuery {
    back: Option<String>,
}

/// The entry, if the actor may change it: 404 when they may not see it, 403 when it is not
/// theirs to change.
async fn changeable(s: &AppState, session: &Session, id: TimeEntryId) -> Result<TimeEntryLine, UiError> {
    let line = s.app.time_entry_line(&session.actor, id).await?;
    s.app.may_change_time_entry(&session.actor, &line.entry)?;
    Ok(line)
}

pub async fn edit_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<TimeEntryId>,
    Query(q): Query<BackQuery>,
) -> Result<Response, UiError> {
    let line = changeable(&s, &session, id).await?;
    let page = EditPage {
        l: session.layout(section_of(q.back.as_deref())),
        back: back_to(q.back.as_deref(), line.entry.client_id),
        version: line.entry.version,
        v: TimeValues::of(&line.entry),
        e: line.into(),
        errors: FieldErrors::default(),
    };
    Ok(render(&page))
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<TimeEntryId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let line = s.app.time_entry_line(&session.actor, id).await?;
    let v = TimeValues::typed(&form);
    let back = back_to(form.get("back"), line.entry.client_id);
    let version = form.i64("version");
    // The entry stays on its client; the form changes only what it shows.
    let fields = v.fields(line.entry.client_id);
    match s.app.update_time_entry(&session.actor, id, &fields, version).await {
        Ok(_) => Ok(see_other(&back_with(&back, "time-saved"))),
        Err(e) if is_refusal(&e) => Err(UiError(e)),
        Err(e) => {
            let page = EditPage {
                l: session.layout(section_of(Some(&back))),
                version: version.unwrap_or_default(),
                e: line.into(),
                v,
                errors: field_errors(&e),
                back,
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "time_delete.html")]
struct DeletePage {
    l: Layout,
    e: Line,
    back: String,
}

/// Asks before deleting: what the entry is, one button.
pub async fn delete_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<TimeEntryId>,
    Query(q): Query<BackQuery>,
) -> Result<Response, UiError> {
    let line = changeable(&s, &session, id).await?;
    Ok(render(&DeletePage {
        l: session.layout(section_of(q.back.as_deref())),
        back: back_to(q.back.as_deref(), line.entry.client_id),
        e: line.into(),
    }))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<TimeEntryId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let entry = s.app.time_entry(&session.actor, id).await?;
    let back = back_to(form.get("back"), entry.client_id);
    s.app.delete_time_entry(&session.actor, id).await?;
    Ok(see_other(&back_with(&back, "time-deleted")))
}

/// The navigation entry an entry's pages belong to: where they were opened from.
fn section_of(back: Option<&str>) -> &'static str {
    if back == Some("/time") { "time" } else { "clients" }
}

// ---------------------------------------------------------------------------------------------
// My time

#[derive(Template)]
#[template(path = "my_time.html")]
struct MyTimePage {
    l: Layout,
    lines: Vec<Line>,
    /// Totals of the entries on this page.
    total: String,
    billable: String,
    next: Option<String>,
    paged: bool,
    done: String,
}

#[derive(Deserialize, Default)]
pub struct MyTimeQuery {
    cursor: Option<String>,
    #[serde(default)]
    done: String,
}

/// The signed-in staff member's own entries, newest day first, with the page's totals.
pub async fn mine(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<MyTimeQuery>,
) -> Result<Response, UiError> {
    let page = s
        .app
        .time_entry_lines(
            &session.actor,
            None,
            Some(session.actor.staff_id),
            q.cursor.as_deref(),
            Some(MY_TIME_PAGE),
        )
        .await?;
    let lines: Vec<Line> = page.items.into_iter().map(Line::from).collect();
    let total = lines.iter().map(|l| l.minutes).sum();
    let billable = lines.iter().filter(|l| l.billable).map(|l| l.minutes).sum();
    Ok(render(&MyTimePage {
        l: session.layout("time"),
        total: hm(total),
        billable: hm(billable),
        next: page.next_cursor.map(|c| query(&[("cursor", &c)])),
        paged: q.cursor.is_some_and(|c| !c.is_empty()),
        lines,
        done: q.done,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(hm(90), "1:30");
        assert_eq!(hm(5), "0:05");
        assert_eq!(hm(24 * 60), "24:00");
        assert_eq!(hm(0), "0:00");
    }

    #[test]
    fn back_leads_only_to_a_profile_or_my_time() {
        let c = ClientId(7);
        assert_eq!(back_to(Some("/time"), c), "/time");
        assert_eq!(back_to(Some("/clients/12"), c), "/clients/12");
        for bad in [
            "//evil.example",
            "/clients/12/../../x",
            "https://evil.example",
            "/clients/",
            "/time?x=1",
            "",
        ] {
            assert_eq!(back_to(Some(bad), c), "/clients/7", "{bad}");
        }
        assert_eq!(back_to(None, c), "/clients/7");
        assert_eq!(
            back_with("/clients/12", "time-saved"),
            "/clients/12?done=time-saved#time"
        );
        assert_eq!(back_with("/time", "time-deleted"), "/time?done=time-deleted");
    }

    #[test]
    fn errors_without_a_field_of_the_form_go_above_it() {
        let e = Error::invalid("duration", "bad");
        assert_eq!(field_errors(&e).of("duration"), Some("Bad"));
        let e = Error::invalid("staff_id", "no");
        assert_eq!(field_errors(&e).of("form"), Some("staff_id: no"));
    }
}
