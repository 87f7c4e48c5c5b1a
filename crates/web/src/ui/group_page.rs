//! A group's page: its members with search and the other groups each one is in (seed 003), adding
//! and removing with checkboxes behind a typed CONFIRM that says first how many clients the change
//! touches (seed 004), and the group's audit timeline.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_app::members::{MemberOutcome, MemberRef, Outcome};
use clientele_domain::audit::{AuditEvent, Cause};
use clientele_domain::client::ClientStatus;
use clientele_domain::entities::{GroupDetail, GroupRef, Member};
use clientele_domain::group::GroupKind;
use clientele_domain::{ClientId, GroupId, StaffId};
use clientele_store::audit::AuditFilter;
use clientele_store::clients::ClientFilter;
use clientele_store::groups::GroupFilter;

use super::groups::kind_label;
use super::{
    FieldErrors, FormData, Layout, Session, SignedForm, UiError, member_key, parse_member, query, render,
    render_status, typed, when,
};
use crate::AppState;

/// A member row: a client or a nested group, with the other groups it is in.
pub struct MemberRow {
    pub key: String,
    pub name: String,
    pub href: String,
    pub detail: String,
    pub also_in: Vec<GroupRef>,
}

pub struct Candidate {
    pub key: String,
    pub name: String,
    pub detail: String,
}

pub struct TimelineEntry {
    pub at: String,
    pub who: String,
    pub what: String,
    pub cause: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    l: Layout,
    g: GroupDetail,
    kind: &'static str,
    unit: String,
    members: Vec<MemberRow>,
    next_members: Option<String>,
    q: String,
    add_q: String,
    include_inactive: bool,
    candidates: Option<Vec<Candidate>>,
    timeline: Vec<TimelineEntry>,
    next_audit: Option<String>,
    saved: bool,
    created: bool,
    /// Staff in charge of the group and their roles (seeds 003, 004).
    staff: Vec<clientele_app::assignments::Assignment>,
    /// Staff an admin may assign (admins see everything already, so only staff).
    staff_choices: Vec<clientele_domain::entities::Staff>,
}

#[derive(Deserialize, Default)]
pub struct GroupQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    add_q: String,
    add: Option<String>,
    include_inactive: Option<String>,
    cursor: Option<String>,
    audit_cursor: Option<String>,
    saved: Option<String>,
    created: Option<String>,
}

pub async fn show(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<GroupId>,
    Query(q): Query<GroupQuery>,
) -> Result<Response, UiError> {
    let actor = &session.actor;
    let g = s.app.group(actor, id).await?;
    let unit = s
        .app
        .business_unit(actor, g.group.business_unit_id)
        .await
        .map(|u| u.name)
        .unwrap_or_default();
    let include_inactive = q.include_inactive.is_some();
    let mut members = Vec::new();
    let next_cursor;
    match g.group.kind {
        GroupKind::Clients => {
            let filter = ClientFilter {
                text: Some(q.q.trim().to_string()).filter(|t| !t.is_empty()),
                group: Some(id),
                ..ClientFilter::default()
            };
            let page = s.app.clients(actor, &filter, q.cursor.as_deref(), Some(50)).await?;
            next_cursor = page.next_cursor;
            for c in page.items {
                let also_in = s
                    .app
                    .groups_of_client(actor, c.id)
                    .await?
                    .into_iter()
                    .filter(|o| o.id != id)
                    .collect();
                members.push(MemberRow {
                    key: member_key(MemberRef::Client(c.id)),
                    href: format!("/clients/{}", c.id),
                    detail: client_detail(c.external_ref.as_deref(), c.status),
                    name: c.name,
                    also_in,
                });
            }
        }
        GroupKind::Groups => {
            let page = s.app.group_members(actor, id, q.cursor.as_deref(), Some(50)).await?;
            next_cursor = page.next_cursor;
            let needle = q.q.trim().to_lowercase();
            for m in page.items {
                let Member::Group {
                    id: child, name, kind, ..
                } = m
                else {
                    continue;
                };
                if !needle.is_empty() && !name.to_lowercase().contains(&needle) {
                    continue;
                }
                let detail = s.app.group(actor, child).await?;
                members.push(MemberRow {
                    key: member_key(MemberRef::Group(child)),
                    href: format!("/groups/{child}"),
                    detail: format!("{} · {} members", kind_label(kind), detail.group.member_count),
                    name,
                    also_in: detail.parents.into_iter().filter(|p| p.id != id).collect(),
                });
            }
        }
    }
    let candidates = if q.add.is_some() || !q.add_q.is_empty() {
        Some(candidates(&s, &session, &g, &q.add_q, include_inactive).await?)
    } else {
        None
    };
    let audit = s
        .app
        .audit(
            actor,
            &AuditFilter {
                group: Some(id),
                client: None,
            },
            q.audit_cursor.as_deref(),
            Some(20),
        )
        .await?;
    let timeline = timeline(&s, &session, &audit.items).await;
    let next_members = next_cursor.map(|c| query(&[("q", &q.q), ("cursor", &c)]));
    let next_audit = audit.next_cursor.map(|c| query(&[("audit_cursor", &c)]));
    let staff = s.app.group_staff(actor, id).await?;
    let staff_choices = if actor.admin().is_ok() {
        let all = s.app.staff_list(actor, None, Some(500)).await?.items;
        all.into_iter()
            .filter(|p| p.active && p.role == clientele_domain::staff::StaffRole::Staff)
            .filter(|p| !staff.iter().any(|a| a.staff_id == p.id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&GroupPage {
        staff,
        staff_choices,
        l: session.layout("groups"),
        kind: kind_label(g.group.kind),
        g,
        unit,
        members,
        next_members,
        q: q.q,
        add_q: q.add_q,
        include_inactive,
        candidates,
        timeline,
        next_audit,
        saved: q.saved.is_some(),
        created: q.created.is_some(),
    }))
}

fn client_detail(external_ref: Option<&str>, status: ClientStatus) -> String {
    match external_ref {
        Some(r) => format!("{r} · {}", status.as_str()),
        None => status.as_str().to_string(),
    }
}

async fn candidates(
    s: &AppState,
    session: &Session,
    g: &GroupDetail,
    text: &str,
    include_inactive: bool,
) -> Result<Vec<Candidate>, UiError> {
    let text = Some(text.trim().to_string()).filter(|t| !t.is_empty());
    Ok(match g.group.kind {
        GroupKind::Clients => {
            let filter = ClientFilter {
                text,
                statuses: if include_inactive {
                    vec![]
                } else {
                    vec![ClientStatus::Active]
                },
                ..ClientFilter::default()
            };
            s.app
                .clients(&session.actor, &filter, None, Some(25))
                .await?
                .items
                .into_iter()
                .map(|c| Candidate {
                    key: member_key(MemberRef::Client(c.id)),
                    detail: client_detail(c.external_ref.as_deref(), c.status),
                    name: c.name,
                })
                .collect()
        }
        GroupKind::Groups => {
            let filter = GroupFilter {
                text,
                ..GroupFilter::default()
            };
            s.app
                .groups(&session.actor, &filter, None, Some(25))
                .await?
                .items
                .into_iter()
                .filter(|c| c.id != g.group.id)
                .map(|c| Candidate {
                    key: member_key(MemberRef::Group(c.id)),
                    detail: format!("{} · {} members", kind_label(c.kind), c.member_count),
                    name: c.name,
                })
                .collect()
        }
    })
}

/// Audit events in words: who, what, why.
async fn timeline(s: &AppState, session: &Session, events: &[AuditEvent]) -> Vec<TimelineEntry> {
    let mut staff: HashMap<StaffId, String> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let who = match e.actor {
            Some(id) => match staff.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = s
                        .app
                        .colleague(&session.actor, id)
                        .await
                        .map(|c| c.name)
                        .unwrap_or_default();
                    staff.insert(id, name.clone());
                    name
                }
            },
            None => "Clientele".to_string(),
        };
        let member = e
            .after
            .as_ref()
            .or(e.before.as_ref())
            .and_then(|v| serde_json::from_value::<MemberRef>(v.get("member")?.clone()).ok());
        let member_name = match member {
            Some(MemberRef::Client(id)) => s
                .app
                .client(&session.actor, id)
                .await
                .map(|c| format!("client “{}”", c.name))
                .ok(),
            Some(MemberRef::Group(id)) => s
                .app
                .group(&session.actor, id)
                .await
                .map(|g| format!("group “{}”", g.group.name))
                .ok(),
            None => None,
        }
        .unwrap_or_else(|| "a member".to_string());
        let what = match e.action.as_str() {
            "group.created" => "created the group".to_string(),
            "group.updated" => "changed the settings".to_string(),
            "group.deleted" => "deleted the group".to_string(),
            "group.logo_changed" => "changed a logo".to_string(),
            "group.logo_removed" => "removed a logo".to_string(),
            "membership.added" => format!("added {member_name}"),
            "membership.removed" => format!("removed {member_name}"),
            other => other.to_string(),
        };
        out.push(TimelineEntry {
            at: when(clientele_domain::to_millis(e.at)),
            who,
            what,
            cause: match e.cause {
                Cause::Manual => String::new(),
                Cause::Bulk => "bulk change".into(),
                Cause::Import => "import".into(),
                Cause::RelationshipExpired => "relationship expired".into(),
                Cause::ValidityEnded => "validity ended".into(),
                Cause::GroupDeleted => "group deleted".into(),
                Cause::Setup => "set-up".into(),
            },
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reviewing and applying member changes

pub struct ConfirmItem {
    pub key: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "members_confirm.html")]
pub struct ConfirmPage {
    l: Layout,
    g: GroupDetail,
    op: String,
    items: Vec<ConfirmItem>,
    touches: String,
    back: String,
    bulk: bool,
    errors: FieldErrors,
}

/// Builds the review of a change: names, and how many clients it touches.
#[expect(
    clippy::too_many_arguments,
    reason = "the review page's inputs, each named at the two call sites"
)]
pub async fn confirm_page(
    s: &AppState,
    session: &Session,
    group: GroupId,
    op: &str,
    members: &[MemberRef],
    back: String,
    bulk: bool,
    errors: FieldErrors,
) -> Result<ConfirmPage, UiError> {
    let actor = &session.actor;
    let g = s.app.group(actor, group).await?;
    let mut items = Vec::with_capacity(members.len());
    let mut clients = 0i64;
    let mut groups = 0i64;
    let mut nested_clients = 0i64;
    for &m in members {
        match m {
            MemberRef::Client(id) => {
                let c = s.app.client(actor, id).await?;
                clients += 1;
                items.push(ConfirmItem {
                    key: member_key(m),
                    name: c.name,
                });
            }
            MemberRef::Group(id) => {
                let child = s.app.group(actor, id).await?;
                groups += 1;
                if child.group.kind == GroupKind::Clients {
                    nested_clients += child.group.member_count;
                }
                items.push(ConfirmItem {
                    key: member_key(m),
                    name: child.group.name,
                });
            }
        }
    }
    let verb = if op == "remove" { "removes" } else { "adds" };
    let plural = |n: i64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let touches = if groups > 0 {
        format!(
            "This {verb} {} {} “{}”, reaching {} in them.",
            plural(groups, "client group"),
            if op == "remove" { "from" } else { "to" },
            g.group.name,
            plural(nested_clients, "client")
        )
    } else {
        format!(
            "This touches {}: it {verb} them {} “{}”.",
            plural(clients, "client"),
            if op == "remove" { "from" } else { "to" },
            g.group.name
        )
    };
    Ok(ConfirmPage {
        l: session.layout(if bulk { "clients" } else { "groups" }),
        g,
        op: op.to_string(),
        items,
        touches,
        back,
        bulk,
        errors,
    })
}

fn members_of(form: &FormData) -> Vec<MemberRef> {
    let mut out: Vec<MemberRef> = Vec::new();
    for m in form.all("ids").into_iter().filter_map(parse_member) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn op_of(form: &FormData) -> String {
    if form.get("op") == Some("remove") {
        "remove"
    } else {
        "add"
    }
    .to_string()
}

/// "Next": shows what the change will do and asks for CONFIRM.
pub async fn review(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let members = members_of(&form);
    let back = format!("/groups/{id}");
    let errors = if members.is_empty() {
        FieldErrors::one("ids", "Select at least one member first.")
    } else {
        FieldErrors::default()
    };
    let status = if members.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = confirm_page(&s, &session, id, &op_of(&form), &members, back, false, errors).await?;
    Ok(render_status(status, &page))
}

/// "Save changes": only with CONFIRM typed; then each member gets its own outcome.
pub async fn apply(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let members = members_of(&form);
    let op = op_of(&form);
    let bulk = form.has("bulk");
    let back = safe_back(form.get("back"), id);
    if members.is_empty() || !typed(&form, "CONFIRM") {
        let errors = if members.is_empty() {
            FieldErrors::one("ids", "Select at least one member first.")
        } else {
            FieldErrors::one("confirm", "Type CONFIRM, in capitals, to save these changes.")
        };
        let page = confirm_page(&s, &session, id, &op, &members, back, bulk, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let cause = if bulk { Cause::Bulk } else { Cause::Manual };
    // The use case decides who may change members (admins, and the group's managers).
    let outcomes = if op == "remove" {
        s.app.remove_members(&session.actor, id, &members, cause, None).await?
    } else {
        s.app.add_members(&session.actor, id, &members, cause, None).await?
    };
    let rows = describe_outcomes(&s, &session, &outcomes).await?;
    let g = s.app.group(&session.actor, id).await?;
    let layout = session.layout(if bulk { "clients" } else { "groups" });
    Ok(render(&ResultsPage::new(layout, g, rows, back)))
}

fn safe_back(back: Option<&str>, id: GroupId) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") => b.to_string(),
        _ => format!("/groups/{id}"),
    }
}

pub struct ResultRow {
    pub name: String,
    pub outcome: Outcome,
    pub text: String,
    pub rejected: bool,
}

#[derive(Template)]
#[template(path = "members_result.html")]
pub struct ResultsPage {
    l: Layout,
    g: GroupDetail,
    rows: Vec<ResultRow>,
    summary: String,
    back: String,
}

impl ResultsPage {
    pub fn new(l: Layout, g: GroupDetail, rows: Vec<ResultRow>, back: String) -> ResultsPage {
        let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
        let mut parts = Vec::new();
        for (o, word) in [
            (Outcome::Added, "added"),
            (Outcome::AlreadyMember, "already in the group"),
            (Outcome::Removed, "removed"),
            (Outcome::NotMember, "were not in the group"),
            (Outcome::Rejected, "refused"),
        ] {
            let n = count(o);
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        ResultsPage {
            l,
            g,
            summary: format!("Saved: {}.", parts.join(", ")),
            rows,
            back,
        }
    }
}

/// Names each outcome and says why a refused one was refused.
pub async fn describe_outcomes(
    s: &AppState,
    session: &Session,
    outcomes: &[MemberOutcome],
) -> Result<Vec<ResultRow>, UiError> {
    let mut rows = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let name = match o.member {
            MemberRef::Client(id) => client_name(s, session, id).await,
            MemberRef::Group(id) => s
                .app
                .group(&session.actor, id)
                .await
                .map(|g| g.group.name)
                .unwrap_or_else(|_| format!("group {id}")),
        };
        let text = match o.outcome {
            Outcome::Added => "added".to_string(),
            Outcome::AlreadyMember => "was already in the group".to_string(),
            Outcome::Removed => "removed".to_string(),
            Outcome::NotMember => "was not in the group".to_string(),
            Outcome::Rejected => o.detail.clone().unwrap_or_else(|| "refused".to_string()),
        };
        rows.push(ResultRow {
            name,
            outcome: o.outcome,
            rejected: o.outcome == Outcome::Rejected,
            text,
        });
    }
    Ok(rows)
}

async fn client_name(s: &AppState, session: &Session, id: ClientId) -> String {
    s.app
        .client(&session.actor, id)
        .await
        .map(|c| c.name)
        .unwrap_or_else(|_| format!("client {id}"))
}

/// Assigns a staff member to the group with a role (admins).
pub async fn assign(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let staff = clientele_domain::StaffId(form.i64("staff_id").unwrap_or_default());
    let role = clientele_access::AccessRole::parse(&form.text("role"))
        .ok_or_else(|| clientele_domain::Error::invalid("role", "must be manager, editor or reader"))?;
    s.app.assign(session.actor.admin()?, id, staff, role, None).await?;
    Ok(super::see_other(&format!("/groups/{id}?saved=1")))
}

/// Ends a staff member's assignment to the group (admins).
pub async fn unassign(
    State(s): State<AppState>,
    Path((id, staff)): Path<(GroupId, clientele_domain::StaffId)>,
    f: SignedForm,
) -> Result<Response, UiError> {
    s.app.unassign(f.session.actor.admin()?, id, staff).await?;
    Ok(super::see_other(&format!("/groups/{id}?saved=1")))
}
