//! A group's page: its members with search and the other groups each one is in (seed 003), adding
//! and removing with checkboxes behind a typed CONFIRM that says first how many clients the change
//! touches (seed 004), and the group's audit timeline.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_app::groups::GroupActions;
use clientele_app::members::{MemberOutcome, MemberRef, Outcome};
use clientele_domain::audit::AuditFilter;
use clientele_domain::audit::{AuditEvent, Cause};
use clientele_domain::client::ClientFilter;
use clientele_domain::client::{ClientOrder, ClientStatus};
use clientele_domain::entities::{GroupDetail, GroupRef};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::{GroupKind, GroupOrder};
use clientele_domain::{ClientId, GroupId, StaffId};

use super::groups::kind_label;
use super::list::rows_with_groups;
use super::list::{Controls, ListView, Matching};
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
    /// What the viewer may do here: every control on the page is drawn from this.
    can: GroupActions,
    kind: &'static str,
    unit: String,
    members: Vec<MemberRow>,
    list: ListView,
    /// "All members matching the search", for removing them all.
    members_matching: String,
    q: String,
    add_q: String,
    include_inactive: bool,
    candidates: Option<Vec<Candidate>>,
    /// How many candidates match in all (the picker shows the first page).
    candidates_total: u64,
    candidates_matching: String,
    timeline: Vec<TimelineEntry>,
    next_audit: Option<String>,
    saved: bool,
    created: bool,
    /// Staff in charge of the group and their roles (seeds 003, 004).
    staff: Vec<clientele_app::assignments::Assignment>,
    /// Staff an admin may assign (admins see everything already, so only staff).
    staff_choices: Vec<clientele_domain::entities::Staff>,
    /// The group's version, for the "lift protection" form.
    version: i64,
}

impl GroupPage {
    fn is_clients(&self) -> bool {
        self.g.group.kind == GroupKind::Clients
    }
}

#[derive(Deserialize, Default)]
pub struct GroupQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    add_q: String,
    add: Option<String>,
    include_inactive: Option<String>,
    #[serde(default)]
    sort: String,
    per_page: Option<String>,
    cursor: Option<String>,
    audit_cursor: Option<String>,
    saved: Option<String>,
    created: Option<String>,
}

/// How many candidates the "add" picker shows; "select all N matching" takes the rest.
const CANDIDATES_SHOWN: i64 = 25;

pub async fn show(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<GroupId>,
    Query(q): Query<GroupQuery>,
) -> Result<Response, UiError> {
    let actor = &session.actor;
    let g = s.app.group(actor, id).await?;
    let can = s.app.group_actions(actor, &g);
    let unit = s
        .app
        .business_unit(actor, g.group.business_unit_id)
        .await
        .map(|u| u.name)
        .unwrap_or_default();
    let include_inactive = q.include_inactive.is_some();
    let controls = Controls {
        sort: q.sort.clone(),
        per_page: q.per_page.clone(),
        cursor: q.cursor.clone(),
    };
    let mut members = Vec::new();
    let members_matching = Matching {
        q: q.q.clone(),
        groups: id.to_string(),
        include_inactive: true,
        addable_to: None,
    };
    let (total, next_cursor, prev_cursor, default_sort, noun) = match g.group.kind {
        GroupKind::Clients => {
            let filter = ClientFilter {
                order: ClientOrder::parse(&controls.sort).unwrap_or_default(),
                ..members_matching.client_filter()
            };
            let page = s
                .app
                .clients(actor, &filter, controls.cursor(), Some(controls.per_page()))
                .await?;
            for row in rows_with_groups(&s, &session, page.items).await? {
                members.push(MemberRow {
                    key: member_key(MemberRef::Client(row.c.id)),
                    href: format!("/clients/{}", row.c.id),
                    detail: client_detail(row.c.external_ref.as_deref(), row.c.status),
                    name: row.c.name,
                    also_in: row.groups.into_iter().filter(|o| o.id != id).collect(),
                });
            }
            (
                page.total,
                page.next_cursor,
                page.prev_cursor,
                "name",
                ("client", "clients"),
            )
        }
        GroupKind::Groups => {
            let filter = GroupFilter {
                text: Some(q.q.trim().to_string()).filter(|t| !t.is_empty()),
                within: Some(id),
                order: GroupOrder::parse(&controls.sort).unwrap_or_default(),
                ..GroupFilter::default()
            };
            let page = s
                .app
                .groups(actor, &filter, controls.cursor(), Some(controls.per_page()))
                .await?;
            for detail in s.app.group_details(actor, page.items).await? {
                let child = detail.group;
                members.push(MemberRow {
                    key: member_key(MemberRef::Group(child.id)),
                    href: format!("/groups/{}", child.id),
                    detail: format!("{} · {}", kind_label(child.kind), plural(child.member_count, "member")),
                    name: child.name,
                    also_in: detail.parents.into_iter().filter(|p| p.id != id).collect(),
                });
            }
            (
                page.total,
                page.next_cursor,
                page.prev_cursor,
                "name",
                ("client group", "client groups"),
            )
        }
    };
    let list = ListView::new(
        format!("/groups/{id}"),
        &[("q", &q.q)],
        &controls,
        default_sort,
        total,
        next_cursor,
        prev_cursor,
        noun,
    );
    let candidates_matching = Matching {
        q: q.add_q.clone(),
        groups: String::new(),
        include_inactive,
        addable_to: Some(id.0),
    };
    let (candidates, candidates_total) = if can.manage_members && (q.add.is_some() || !q.add_q.is_empty()) {
        let (shown, total) = candidates(&s, &session, &g, &candidates_matching).await?;
        (Some(shown), total)
    } else {
        (None, 0)
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
    let next_audit = audit.next_cursor.map(|c| query(&[("audit_cursor", &c)]));
    let staff = s.app.group_staff(actor, id).await?;
    let staff_choices = if can.administer {
        let all = s.app.staff_list(actor, None, Some(500)).await?.items;
        all.into_iter()
            .filter(|p| p.active)
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
        version: g.group.version,
        can,
        g,
        unit,
        members,
        list,
        members_matching: members_matching.encode(),
        q: q.q,
        add_q: q.add_q,
        include_inactive,
        candidates,
        candidates_total,
        candidates_matching: candidates_matching.encode(),
        timeline,
        next_audit,
        saved: q.saved.is_some(),
        created: q.created.is_some(),
    }))
}

/// "1 member", "12 members".
pub fn plural(n: i64, word: &str) -> String {
    format!(
        "{} {word}{}",
        super::list::thousands(n.max(0) as u64),
        if n == 1 { "" } else { "s" }
    )
}

fn client_detail(external_ref: Option<&str>, status: ClientStatus) -> String {
    match external_ref {
        Some(r) => format!("{r} · {}", status.as_str()),
        None => status.as_str().to_string(),
    }
}

/// The first candidates of the "add" picker and how many match in all: for a group of clients,
/// the clients this viewer could add now (not in it yet; under exclusive membership, in no
/// group at all); for a group of groups, the other groups.
async fn candidates(
    s: &AppState,
    session: &Session,
    g: &GroupDetail,
    matching: &Matching,
) -> Result<(Vec<Candidate>, u64), UiError> {
    Ok(match g.group.kind {
        GroupKind::Clients => {
            let page = s
                .app
                .clients(&session.actor, &matching.client_filter(), None, Some(CANDIDATES_SHOWN))
                .await?;
            let shown = page
                .items
                .into_iter()
                .map(|c| Candidate {
                    key: member_key(MemberRef::Client(c.id)),
                    detail: client_detail(c.external_ref.as_deref(), c.status),
                    name: c.name,
                })
                .collect();
            (shown, page.total)
        }
        GroupKind::Groups => {
            let filter = GroupFilter {
                text: Some(matching.q.trim().to_string()).filter(|t| !t.is_empty()),
                ..GroupFilter::default()
            };
            let page = s
                .app
                .groups(&session.actor, &filter, None, Some(CANDIDATES_SHOWN))
                .await?;
            let shown: Vec<Candidate> = page
                .items
                .into_iter()
                .filter(|c| c.id != g.group.id && !g.parents.iter().any(|p| p.id == c.id))
                .map(|c| Candidate {
                    key: member_key(MemberRef::Group(c.id)),
                    detail: format!("{} · {}", kind_label(c.kind), plural(c.member_count, "member")),
                    name: c.name,
                })
                .collect();
            let total = shown.len() as u64;
            (shown, total)
        }
    })
}

/// Audit events in words: who, what, why ("Ana assigned Ben as reader").
async fn timeline(s: &AppState, session: &Session, events: &[AuditEvent]) -> Vec<TimelineEntry> {
    let mut staff: HashMap<StaffId, String> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let who = match e.actor {
            Some(id) => staff_name(s, session, &mut staff, id).await,
            None => "Clientele".to_string(),
        };
        let value = e.after.as_ref().or(e.before.as_ref());
        let member = value.and_then(|v| serde_json::from_value::<MemberRef>(v.get("member")?.clone()).ok());
        let member_name = match member {
            Some(MemberRef::Client(id)) => s
                .app
                .client(&session.actor, id)
                .await
                .map(|c| format!("the client {}", c.name))
                .ok(),
            Some(MemberRef::Group(id)) => s
                .app
                .group(&session.actor, id)
                .await
                .map(|g| format!("the group {}", g.group.name))
                .ok(),
            None => None,
        }
        .unwrap_or_else(|| "a member".to_string());
        let role_of = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.get("role")?.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let assigned = match value.and_then(|v| v.get("staff_id")?.as_i64()) {
            Some(id) => staff_name(s, session, &mut staff, StaffId(id)).await,
            None => "a staff member".to_string(),
        };
        let what = match e.action.as_str() {
            "group.created" => "created the group".to_string(),
            "group.updated" => "changed the settings".to_string(),
            "group.deleted" => "deleted the group".to_string(),
            "group.logo_changed" => "changed a logo".to_string(),
            "group.logo_removed" => "removed a logo".to_string(),
            "membership.added" => format!("added {member_name}"),
            "membership.removed" => format!("removed {member_name}"),
            "membership.validity_set" => format!("set an end date on the membership of {member_name}"),
            "assignment.created" => format!("assigned {assigned} as {}", role_of(e.after.as_ref())),
            "assignment.changed" => format!(
                "changed the role of {assigned} from {} to {}",
                role_of(e.before.as_ref()),
                role_of(e.after.as_ref())
            ),
            "assignment.removed" => format!("removed {assigned} from the group"),
            "process_request.created" => "started a process request".to_string(),
            "process_request.completed" => "a process request completed".to_string(),
            "process_request.failed" => "a process request failed".to_string(),
            "process_request.cancelled" => "cancelled a process request".to_string(),
            other => other.replace(['.', '_'], " "),
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

async fn staff_name(s: &AppState, session: &Session, cache: &mut HashMap<StaffId, String>, id: StaffId) -> String {
    if let Some(name) = cache.get(&id) {
        return name.clone();
    }
    let name = s
        .app
        .colleague(&session.actor, id)
        .await
        .map(|c| c.name)
        .unwrap_or_else(|_| "a former colleague".to_string());
    cache.insert(id, name.clone());
    name
}

// ---------------------------------------------------------------------------------------------
// Reviewing and applying member changes

/// What a member change applies to: members picked one by one, or every client matching a
/// list's filters (found again when the change is confirmed).
pub enum Selection {
    Items(Vec<MemberRef>),
    Matching(Matching),
}

pub struct ConfirmItem {
    pub key: String,
    pub name: String,
    /// What tells two members of the same name apart: the reference, the e-mail, or the id.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "members_confirm.html")]
pub struct ConfirmPage {
    l: Layout,
    g: GroupDetail,
    op: String,
    items: Vec<ConfirmItem>,
    /// With "all matching": how many the review does not list.
    more: u64,
    /// "All matching", carried to the confirmation.
    matching: Option<String>,
    touches: String,
    back: String,
    bulk: bool,
    errors: FieldErrors,
}

/// How many members a review lists by name.
const REVIEW_LISTED: usize = 50;

/// Builds the review of a change: names, and how many clients it touches.
#[expect(
    clippy::too_many_arguments,
    reason = "the review page's inputs, each named at the call sites"
)]
pub async fn confirm_page(
    s: &AppState,
    session: &Session,
    group: GroupId,
    op: &str,
    selection: Selection,
    back: String,
    bulk: bool,
    errors: FieldErrors,
) -> Result<ConfirmPage, UiError> {
    let actor = &session.actor;
    let g = s.app.group(actor, group).await?;
    let (members, matching) = match selection {
        Selection::Items(items) => (items, None),
        Selection::Matching(m) => {
            let ids = s.app.clients_matching(actor, &m.client_filter()).await?;
            (ids.into_iter().map(MemberRef::Client).collect(), Some(m.encode()))
        }
    };
    let mut items = Vec::with_capacity(members.len().min(REVIEW_LISTED));
    let mut clients = 0i64;
    let mut groups = 0i64;
    let mut nested_clients = 0i64;
    for &m in &members {
        match m {
            MemberRef::Client(id) => {
                clients += 1;
                if items.len() < REVIEW_LISTED {
                    let c = s.app.client(actor, id).await?;
                    let detail = c
                        .external_ref
                        .clone()
                        .or(c.email.clone())
                        .unwrap_or_else(|| format!("client #{id}"));
                    items.push(ConfirmItem {
                        key: member_key(m),
                        name: c.name,
                        detail,
                    });
                }
            }
            MemberRef::Group(id) => {
                let child = s.app.group(actor, id).await?;
                groups += 1;
                if child.group.kind == GroupKind::Clients {
                    nested_clients += child.group.member_count;
                }
                items.push(ConfirmItem {
                    key: member_key(m),
                    detail: child.group.crm_id.clone().unwrap_or_else(|| format!("group #{id}")),
                    name: child.group.name,
                });
            }
        }
    }
    let verb = if op == "remove" { "removes" } else { "adds" };
    let to_from = if op == "remove" { "from" } else { "to" };
    let mut touches = if groups > 0 {
        format!(
            "This {verb} {} {to_from} “{}”, reaching {} in them.",
            plural(groups, "client group"),
            g.group.name,
            plural(nested_clients, "client")
        )
    } else {
        format!(
            "This touches {}: it {verb} them {to_from} “{}”.",
            plural(clients, "client"),
            g.group.name
        )
    };
    if members.len() as i64 > clientele_app::process_requests::SMALL {
        touches
            .push_str(" So many run as a process request in the background; you can follow it under Process requests.");
    }
    Ok(ConfirmPage {
        l: session.layout(if bulk { "clients" } else { "groups" }),
        g,
        op: op.to_string(),
        more: (members.len() - items.len()) as u64,
        matching,
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

/// The form's selection: "all matching" when ticked, else the ticked members.
fn selection_of(form: &FormData) -> Selection {
    match form
        .has("all_matching")
        .then(|| form.get("matching").and_then(Matching::decode))
        .flatten()
    {
        Some(m) => Selection::Matching(m),
        None => Selection::Items(members_of(form)),
    }
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
    let selection = selection_of(&form);
    let back = format!("/groups/{id}");
    let nothing = matches!(&selection, Selection::Items(items) if items.is_empty());
    if nothing {
        let errors = FieldErrors::one("ids", "Select at least one member first.");
        let page = confirm_page(&s, &session, id, &op_of(&form), selection, back, false, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let page = confirm_page(
        &s,
        &session,
        id,
        &op_of(&form),
        selection,
        back,
        false,
        FieldErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

/// "Save changes": only with CONFIRM typed; then each member gets its own outcome (or, for more
/// than a thousand, a process request does the work).
pub async fn apply(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let op = op_of(&form);
    let bulk = form.has("bulk");
    let back = safe_back(form.get("back"), id);
    let selection = selection_of(&form);
    let nothing = matches!(&selection, Selection::Items(items) if items.is_empty());
    if nothing || !typed(&form, "CONFIRM") {
        let errors = if nothing {
            FieldErrors::one("ids", "Select at least one member first.")
        } else {
            FieldErrors::one("confirm", "Type CONFIRM, in capitals, to save these changes.")
        };
        let page = confirm_page(&s, &session, id, &op, selection, back, bulk, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    // The use cases decide who may change members (admins, and the group's managers).
    let outcomes = match selection {
        Selection::Matching(m) => {
            let ids = s.app.clients_matching(&session.actor, &m.client_filter()).await?;
            let items: Vec<MemberRef> = ids.into_iter().map(MemberRef::Client).collect();
            let answer = s
                .app
                .bulk_members(&session.actor, id, op != "remove", &items, None)
                .await?;
            match (answer.results, answer.request) {
                (_, Some(request)) => {
                    return Ok(super::see_other(&format!(
                        "/process-requests/{}?done=queued",
                        request.id
                    )));
                }
                (Some(results), None) => results,
                (None, None) => Vec::new(),
            }
        }
        Selection::Items(members) => {
            let cause = if bulk { Cause::Bulk } else { Cause::Manual };
            if op == "remove" {
                s.app.remove_members(&session.actor, id, &members, cause, None).await?
            } else {
                s.app.add_members(&session.actor, id, &members, cause, None).await?
            }
        }
    };
    let rows = describe_outcomes(&s, &session, &outcomes).await?;
    let g = s.app.group(&session.actor, id).await?;
    let layout = session.layout(if bulk { "clients" } else { "groups" });
    let status = if rows.iter().any(|r| r.rejected) && rows.iter().all(|r| r.rejected) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_status(status, &ResultsPage::new(layout, g, rows, back)))
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
    /// "3 added, 1 already in the group": what was done (empty when nothing was).
    done: String,
    /// "2 refused": shown as a refusal, never as "saved".
    refused: String,
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
        ] {
            let n = count(o);
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        let refused = count(Outcome::Rejected);
        ResultsPage {
            l,
            g,
            done: parts.join(", "),
            refused: if refused == 0 {
                String::new()
            } else {
                format!(
                    "{refused} {} refused; the reasons are below.",
                    if refused == 1 { "change was" } else { "changes were" }
                )
            },
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
            Outcome::Rejected => o
                .detail
                .as_deref()
                .map(super::capitalised)
                .unwrap_or_else(|| "Refused".to_string()),
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
    // From the staff member's page, back there; otherwise to the group.
    let back = format!("/staff/{staff}");
    if f.form.get("back") == Some(back.as_str()) {
        return Ok(super::see_other(&back));
    }
    Ok(super::see_other(&format!("/groups/{id}?saved=1")))
}

/// Lifts the group's protection from deletion (admins), from the blocker that names it.
pub async fn lift_protection(
    State(s): State<AppState>,
    Path(id): Path<GroupId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let patch = clientele_app::groups::GroupPatch {
        protected: Some(false),
        ..Default::default()
    };
    s.app
        .update_group(session.actor.admin()?, id, patch, form.i64("version"))
        .await?;
    let to = if form.get("then") == Some("delete") {
        format!("/groups/{id}/delete")
    } else {
        format!("/groups/{id}?saved=1")
    };
    Ok(super::see_other(&to))
}
