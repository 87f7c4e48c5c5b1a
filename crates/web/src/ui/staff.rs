//! Employees (seed 004): the admin ticks staff members ("All" ticks every one), picks a group and
//! a role, reviews the access summary (how many clients each would gain) and saves; and a staff
//! member's page with their groups and the clients they see through them.
//!
//! Admins are listed but cannot be ticked: they already see every client, and the assignment
//! use case refuses them too.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_access::AccessRole;
use clientele_app::assignments::Assignment;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::ClientOrder;
use clientele_domain::entities::{ClientGroup, Staff};
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, GroupId, Millis, StaffId};

use super::client_form::{date_of, parse_date};
use super::clients::any_groups;
use super::list::{ClientRow, rows_with_groups};
use super::list::{Controls, ListView};
use super::{
    FieldErrors, FormData, Layout, Session, SignedForm, UiError, query, render, render_status, see_other, when,
};
use crate::AppState;

/// The roles a staff member may hold in a group, with what each allows.
const ROLES: [(&str, &str); 3] = [
    ("reader", "Reader: sees the group's clients"),
    ("editor", "Editor: also edits those clients and logs time"),
    ("manager", "Manager: also adds and removes the group's members"),
];

fn role_label(role: AccessRole) -> &'static str {
    match role {
        AccessRole::Reader => "Reader",
        AccessRole::Editor => "Editor",
        AccessRole::Manager => "Manager",
    }
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Template)]
#[template(path = "staff.html")]
struct ListPage {
    l: Layout,
    staff: Vec<Staff>,
    groups: Vec<ClientGroup>,
    roles: &'static [(&'static str, &'static str)],
    next: Option<String>,
    /// What was chosen before a refusal, kept.
    picked: Vec<StaffId>,
    group: String,
    role: String,
    until: String,
    errors: FieldErrors,
    done: String,
}

impl ListPage {
    fn is_picked(&self, id: &StaffId) -> bool {
        self.picked.contains(id)
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    cursor: Option<String>,
    #[serde(default)]
    done: String,
}

async fn list_page(
    s: &AppState,
    session: &Session,
    cursor: Option<&str>,
    typed: &Choice,
    errors: FieldErrors,
    done: String,
) -> Result<ListPage, UiError> {
    session.actor.admin()?;
    let page = s.app.staff_list(&session.actor, cursor, Some(200)).await?;
    Ok(ListPage {
        l: session.layout("staff"),
        staff: page.items,
        groups: any_groups(s, session).await?,
        roles: &ROLES,
        next: page.next_cursor.map(|c| query(&[("cursor", &c)])),
        picked: typed.staff.clone(),
        group: typed.group.map(|g| g.to_string()).unwrap_or_default(),
        role: typed.role.clone(),
        until: typed.until.clone(),
        errors,
        done,
    })
}

pub async fn list(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let page = list_page(
        &s,
        &session,
        q.cursor.as_deref(),
        &Choice::default(),
        FieldErrors::default(),
        q.done,
    )
    .await?;
    Ok(render(&page))
}

// ---------------------------------------------------------------------------------------------
// Assigning: choose, review the access summary, save

/// What the Employees form chose.
#[derive(Default)]
struct Choice {
    staff: Vec<StaffId>,
    group: Option<GroupId>,
    role: String,
    until: String,
}

impl Choice {
    fn read(form: &FormData) -> Choice {
        let mut staff: Vec<StaffId> = form
            .all("ids")
            .iter()
            .filter_map(|v| v.parse().ok())
            .map(StaffId)
            .collect();
        staff.sort_by_key(|s| s.0);
        staff.dedup();
        Choice {
            staff,
            group: form.i64("group_id").map(GroupId),
            role: form.text("role"),
            until: form.text("until").trim().to_string(),
        }
    }

    /// Every problem with the choice at once, or what it means.
    fn checked(&self) -> Result<(GroupId, AccessRole, Option<Millis>), FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.staff.is_empty() {
            errors.0.push(("ids".into(), "Select at least one employee.".into()));
        }
        if self.group.is_none() {
            errors
                .0
                .push(("group_id".into(), "Choose the group to assign them to.".into()));
        }
        let role = AccessRole::parse(&self.role);
        if role.is_none() {
            errors
                .0
                .push(("role".into(), "Choose a role: reader, editor or manager.".into()));
        }
        let until = if self.until.is_empty() {
            None
        } else {
            match parse_date(&self.until) {
                // Access lasts through the chosen day.
                Some(day) => Some(clientele_domain::to_millis(
                    day.next_day().unwrap_or(day).midnight().assume_utc(),
                )),
                None => {
                    errors.0.push((
                        "until".into(),
                        "Enter the last day as a date like 2026-12-31, or leave it empty.".into(),
                    ));
                    None
                }
            }
        };
        match (errors.any(), self.group, role) {
            (false, Some(group), Some(role)) => Ok((group, role, until)),
            _ => Err(errors),
        }
    }
}

/// One employee's line of the access summary.
pub struct Summary {
    pub staff: Staff,
    /// Their role in the group now, if any.
    pub current: Option<&'static str>,
    /// Clients of the group they do not see yet.
    pub gained: u64,
    /// Refused before saving (an admin, a deactivated account).
    pub refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "staff_review.html")]
struct ReviewPage {
    l: Layout,
    group: ClientGroup,
    role: &'static str,
    role_key: &'static str,
    until: String,
    until_text: String,
    /// Clients the group reaches, through any nesting.
    reach: u64,
    rows: Vec<Summary>,
}

impl ReviewPage {
    fn assignable(&self) -> usize {
        self.rows.iter().filter(|r| r.refusal.is_none()).count()
    }
}

async fn refused_choice(
    s: &AppState,
    session: &Session,
    choice: &Choice,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let page = list_page(s, session, None, choice, errors, String::new()).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The access summary: for each ticked employee, what they would gain.
pub async fn review(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    session.actor.admin()?;
    let choice = Choice::read(&form);
    let (group_id, role, until) = match choice.checked() {
        Ok(c) => c,
        Err(errors) => return refused_choice(&s, &session, &choice, errors).await,
    };
    let actor = &session.actor;
    let group = match s.app.group(actor, group_id).await {
        Ok(g) => g.group,
        Err(e) => return refused_choice(&s, &session, &choice, FieldErrors::from_error(&e, "group_id")).await,
    };
    let in_group = |statuses| ClientFilter {
        groups: vec![group_id],
        statuses,
        order: ClientOrder::default(),
        ..ClientFilter::default()
    };
    let reach = s.app.clients(actor, &in_group(Vec::new()), None, Some(1)).await?.total;
    let assigned = s.app.group_staff(actor, group_id).await?;
    let mut rows = Vec::with_capacity(choice.staff.len());
    for id in &choice.staff {
        let staff = s.app.staff(actor, *id).await?;
        let refusal = if staff.role == StaffRole::Admin {
            Some("An admin already sees every client; admins are not assigned to groups.".to_string())
        } else if !staff.active {
            Some("Deactivated: reactivate them under Settings first.".to_string())
        } else {
            None
        };
        let seen = clientele_domain::client::ClientFilter {
            groups: vec![group_id],
            ..Default::default()
        };
        let already = if refusal.is_none() {
            s.app.staff_clients(actor, *id, &seen, None, Some(1)).await?.total
        } else {
            reach
        };
        rows.push(Summary {
            current: assigned.iter().find(|a| a.staff_id == *id).map(|a| role_label(a.role)),
            gained: reach.saturating_sub(already),
            refusal,
            staff,
        });
    }
    Ok(render(&ReviewPage {
        l: session.layout("staff"),
        group,
        role: role_label(role),
        role_key: role.as_str(),
        until_text: until
            .map(|u| format!("until the end of {}", date_of(u - 1)))
            .unwrap_or_else(|| "with no end date".into()),
        until: choice.until.clone(),
        reach,
        rows,
    }))
}

#[derive(Template)]
#[template(path = "staff_saved.html")]
struct SavedPage {
    l: Layout,
    group: GroupId,
    group_name: String,
    role: &'static str,
    saved: Vec<String>,
    refused: Vec<(String, String)>,
}

/// Saves the reviewed assignments, one by one: one refused (deactivated since, say) does not
/// undo the others, and the page says which.
pub async fn assign(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let admin = session.actor.admin()?;
    let choice = Choice::read(&form);
    let (group, role, until) = match choice.checked() {
        Ok(c) => c,
        Err(errors) => return refused_choice(&s, &session, &choice, errors).await,
    };
    let group_name = s.app.group(&session.actor, group).await?.group.name;
    let mut saved = Vec::new();
    let mut refused = Vec::new();
    for id in &choice.staff {
        match s.app.assign(admin, group, *id, role, until).await {
            Ok(a) => saved.push(a.staff_name),
            Err(e) => {
                let who = s
                    .app
                    .staff(&session.actor, *id)
                    .await
                    .map_or_else(|_| format!("staff {id}"), |m| m.name);
                refused.push((who, super::for_people(&e)));
            }
        }
    }
    if refused.is_empty() {
        return Ok(see_other(&format!("/staff?done={}", saved.len())));
    }
    let status = if saved.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_status(
        status,
        &SavedPage {
            l: session.layout("staff"),
            group,
            group_name,
            role: role_label(role),
            saved,
            refused,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// One staff member

#[derive(Template)]
#[template(path = "staff_member.html")]
struct MemberPage {
    l: Layout,
    person: Staff,
    assignments: Vec<AssignmentView>,
    rows: Vec<ClientRow>,
    list: ListView,
    /// The viewer is an admin (may end assignments, sees the e-mail and role).
    admin: bool,
}

pub struct AssignmentView {
    pub a: Assignment,
    pub role: &'static str,
    pub until: String,
    pub since: String,
}

#[derive(Deserialize, Default)]
pub struct MemberQuery {
    #[serde(default)]
    sort: String,
    per_page: Option<String>,
    cursor: Option<String>,
}

/// A staff member's groups and the clients they see (an admin, or the staff member themself).
pub async fn show(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<StaffId>,
    Query(q): Query<MemberQuery>,
) -> Result<Response, UiError> {
    let actor = &session.actor;
    let admin = actor.admin().is_ok();
    if !admin && id != actor.staff_id {
        // The same answer as for someone who does not exist: staff do not learn who else does.
        return Err(Error::not_found("staff member").into());
    }
    let person = s.app.staff(actor, id).await?;
    let assignments = s
        .app
        .staff_assignments(actor, id)
        .await?
        .into_iter()
        .map(|a| AssignmentView {
            role: role_label(a.role),
            until: a.valid_until.map(when).unwrap_or_default(),
            since: when(a.assigned_at),
            a,
        })
        .collect();
    let controls = Controls {
        sort: q.sort,
        per_page: q.per_page,
        cursor: q.cursor,
    };
    let filter = clientele_domain::client::ClientFilter {
        order: ClientOrder::parse(&controls.sort).unwrap_or_default(),
        ..Default::default()
    };
    let page = s
        .app
        .staff_clients(actor, id, &filter, controls.cursor(), Some(controls.per_page()))
        .await?;
    let list = ListView::new(
        format!("/staff/{id}"),
        &[],
        &controls,
        "name",
        page.total,
        page.next_cursor,
        page.prev_cursor,
        ("client", "clients"),
    );
    Ok(render(&MemberPage {
        l: session.layout(if admin { "staff" } else { "account" }),
        person,
        assignments,
        rows: rows_with_groups(&s, &session, page.items).await?,
        list,
        admin,
    }))
}
