//! Clients: the list with group and status filters and bulk "Add to group" / "Remove from group"
//! (seed 002), and a client's profile with its group badges, "Add to group" and "x" (seeds 001, 002),
//! and its time entries with "Log time" (issue 6; see `ui::time`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Query;
use serde::Deserialize;

use clientele_app::members::{MemberRef, Outcome};
use clientele_app::program_accounts::ProgramAccountInput;
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientOrder;
use clientele_domain::entities::{Client, ClientGroup, GroupRef};
use clientele_domain::group::GroupKind;
use clientele_domain::program_account::{AccountStatus, ProgramAccount};
use clientele_domain::{ClientId, ErrorCode, GroupId, ProgramAccountId};
use clientele_store::clients::ClientFilter;
use clientele_store::groups::GroupFilter;

use super::group_page::{Selection, confirm_page};
use super::list::{Controls, ListView, Matching};
use super::time::{TimeSection, client_section};
use super::{
    FieldErrors, Layout, Session, SignedForm, UiError, parse_member, query, render, render_status, see_other, when,
};
use crate::AppState;

/// Groups of clients for the pickers, by name (the first 200; the search narrows).
async fn client_groups(s: &AppState, session: &Session, text: Option<String>) -> Result<Vec<ClientGroup>, UiError> {
    let filter = GroupFilter {
        kind: Some(GroupKind::Clients),
        text,
        ..GroupFilter::default()
    };
    Ok(s.app.groups(&session.actor, &filter, None, Some(200)).await?.items)
}

/// Every group the viewer sees, groups of groups included, for the list's group filter.
pub(super) async fn any_groups(s: &AppState, session: &Session) -> Result<Vec<ClientGroup>, UiError> {
    Ok(s.app
        .groups(&session.actor, &GroupFilter::default(), None, Some(500))
        .await?
        .items)
}

/// A client and the groups it is directly in, for a list row.
pub struct ClientRow {
    pub c: Client,
    pub groups: Vec<GroupRef>,
}

/// Rows with their group badges: one statement for the page.
pub(super) async fn rows_with_groups(
    s: &AppState,
    session: &Session,
    clients: Vec<Client>,
) -> Result<Vec<ClientRow>, UiError> {
    let ids: Vec<ClientId> = clients.iter().map(|c| c.id).collect();
    let mut groups = s.app.groups_of_clients(&session.actor, &ids).await?;
    Ok(clients
        .into_iter()
        .map(|c| ClientRow {
            groups: groups.remove(&c.id).unwrap_or_default(),
            c,
        })
        .collect())
}

/// A group filter in force, shown as a chip with its own "remove" link.
pub struct FilterChip {
    pub name: String,
    pub remove_href: String,
}

#[derive(Template)]
#[template(path = "clients.html")]
struct ListPage {
    l: Layout,
    rows: Vec<ClientRow>,
    list: ListView,
    /// Groups of clients, for the bulk actions.
    groups: Vec<ClientGroup>,
    /// Every group not yet filtered by, for "Filter by group".
    filter_choices: Vec<ClientGroup>,
    chips: Vec<FilterChip>,
    q: String,
    /// The group filters in force, to keep them in the search form.
    group_ids: Vec<String>,
    include_inactive: bool,
    back: String,
    /// What "all matching" stands for, for the bulk form.
    matching: String,
    /// The download icon's link: the clients this list shows, on every page.
    export_href: String,
    /// Clients ticked before a refused bulk action.
    checked: Vec<ClientId>,
    /// The group chosen for the bulk action.
    bulk_group: String,
    errors: FieldErrors,
}

impl ListPage {
    fn is_checked(&self, id: &ClientId) -> bool {
        self.checked.contains(id)
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// Group ids: clients reached through any of them.
    #[serde(default)]
    group: Vec<String>,
    include_inactive: Option<String>,
    #[serde(default)]
    sort: String,
    per_page: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn controls(&self) -> Controls {
        Controls {
            sort: self.sort.clone(),
            per_page: self.per_page.clone(),
            cursor: self.cursor.clone(),
        }
    }

    fn matching(&self) -> Matching {
        Matching {
            q: self.q.clone(),
            groups: self
                .group_ids()
                .iter()
                .map(|g| g.to_string())
                .collect::<Vec<_>>()
                .join(","),
            include_inactive: self.include_inactive.is_some(),
            addable_to: None,
        }
    }

    fn group_ids(&self) -> Vec<GroupId> {
        let mut ids: Vec<GroupId> = self.group.iter().filter_map(|g| g.parse().ok()).map(GroupId).collect();
        ids.dedup();
        ids
    }
}

pub async fn list(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    if session.actor.admin().is_err() {
        // Staff have their own list of the clients they see.
        let kept = query(&[("q", &q.q)]);
        return Ok(see_other(&format!("/my-group-clients?{kept}")));
    }
    let page = list_page(&s, &session, q, Vec::new(), String::new(), FieldErrors::default()).await?;
    Ok(render(&page))
}

/// The list for these filters; after a refused bulk action, with the boxes still ticked.
async fn list_page(
    s: &AppState,
    session: &Session,
    q: ListQuery,
    checked: Vec<ClientId>,
    bulk_group: String,
    errors: FieldErrors,
) -> Result<ListPage, UiError> {
    let controls = q.controls();
    let matching = q.matching();
    let filter = ClientFilter {
        order: ClientOrder::parse(&controls.sort).unwrap_or_default(),
        ..matching.client_filter()
    };
    let page = s
        .app
        .clients(&session.actor, &filter, controls.cursor(), Some(controls.per_page()))
        .await?;
    let inactive = if matching.include_inactive { "1" } else { "" };
    let group_ids: Vec<String> = q.group_ids().iter().map(|g| g.to_string()).collect();
    let mut filters: Vec<(&str, &str)> = vec![("q", &q.q), ("include_inactive", inactive)];
    filters.extend(group_ids.iter().map(|g| ("group", g.as_str())));
    let list = ListView::new(
        "/clients",
        &filters,
        &controls,
        "name",
        page.total,
        page.next_cursor,
        page.prev_cursor,
        ("client", "clients"),
    );
    let all_groups = any_groups(s, session).await?;
    let chips = group_ids
        .iter()
        .map(|id| {
            let name = all_groups
                .iter()
                .find(|g| g.id.to_string() == *id)
                .map_or_else(|| format!("group {id}"), |g| g.name.clone());
            let mut kept: Vec<(&str, &str)> = vec![("q", &q.q), ("include_inactive", inactive), ("sort", &q.sort)];
            kept.extend(group_ids.iter().filter(|g| *g != id).map(|g| ("group", g.as_str())));
            FilterChip {
                name,
                remove_href: format!("/clients?{}", query(&kept)),
            }
        })
        .collect();
    let here = list.href_here(controls.cursor());
    let status = if matching.include_inactive { "" } else { "active" };
    let export_href = format!(
        "/transfers/clients/export.csv?{}",
        query(&[("q", &q.q), ("group", &group_ids.join(",")), ("status", status)])
    );
    Ok(ListPage {
        l: session.layout("clients"),
        export_href,
        back: here,
        rows: rows_with_groups(s, session, page.items).await?,
        groups: all_groups
            .iter()
            .filter(|g| g.kind == GroupKind::Clients)
            .cloned()
            .collect(),
        filter_choices: all_groups
            .into_iter()
            .filter(|g| !group_ids.contains(&g.id.to_string()))
            .collect(),
        chips,
        list,
        bulk_group: if bulk_group.is_empty() {
            group_ids.first().cloned().unwrap_or_default()
        } else {
            bulk_group
        },
        matching: matching.encode(),
        q: q.q,
        group_ids,
        include_inactive: matching.include_inactive,
        checked,
        errors,
    })
}

/// Bulk actions: checked clients (or every client matching the list's filters), a group, add or
/// remove; goes on to the CONFIRM review. A refusal shows the same list again, boxes still
/// ticked, with the message by the bulk controls.
pub async fn bulk(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let members: Vec<MemberRef> = form
        .all("ids")
        .into_iter()
        .filter_map(parse_member)
        .filter(|m| matches!(m, MemberRef::Client(_)))
        .collect();
    let matching = form
        .has("all_matching")
        .then(|| form.get("matching").and_then(Matching::decode))
        .flatten();
    let op = if form.get("op") == Some("remove") {
        "remove"
    } else {
        "add"
    };
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/clients") && !b.starts_with("//"))
        .unwrap_or("/clients")
        .to_string();
    let error = if members.is_empty() && matching.is_none() {
        Some(FieldErrors::one("ids", "Select at least one client first."))
    } else if form.i64("group_id").is_none() {
        Some(FieldErrors::one("group_id", "Choose a group first."))
    } else {
        None
    };
    if let Some(errors) = error {
        let q: ListQuery = back
            .split_once('?')
            .and_then(|(_, query)| serde_html_form::from_str(query).ok())
            .unwrap_or_default();
        let checked = members
            .iter()
            .filter_map(|m| match m {
                MemberRef::Client(id) => Some(*id),
                MemberRef::Group(_) => None,
            })
            .collect();
        let page = list_page(&s, &session, q, checked, form.text("group_id"), errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let group = GroupId(form.i64("group_id").unwrap_or_default());
    let selection = match matching {
        Some(m) => Selection::Matching(m),
        None => Selection::Items(members),
    };
    let page = confirm_page(&s, &session, group, op, selection, back, true, FieldErrors::default()).await?;
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "client.html")]
pub(super) struct ProfilePage {
    l: Layout,
    c: Client,
    expires: String,
    unit: String,
    groups: Vec<GroupRef>,
    choices: Vec<ClientGroup>,
    gq: String,
    errors: FieldErrors,
    done: String,
    /// Whether "Edit" is offered: the use case's own decision, asked beforehand.
    can_edit: bool,
    /// The client's time entries and the "Log time" form.
    pub(super) time: TimeSection,
    /// The client's program accounts (seed 004), and the "Add a program account" form as typed.
    accounts: Vec<ProgramAccount>,
    account: AccountForm,
}

/// The "Add a program account" form as typed, shown again with its errors.
#[derive(Default)]
struct AccountForm {
    number: String,
    program: String,
}

/// The statuses a program account may have, for its select.
const ACCOUNT_STATUSES: &[AccountStatus] = &[AccountStatus::Active, AccountStatus::Inactive, AccountStatus::Closed];

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    gq: String,
    #[serde(default)]
    done: String,
    /// Where the Time section's page starts.
    tcursor: Option<String>,
}

pub(super) async fn profile_page(
    s: &AppState,
    session: &Session,
    id: ClientId,
    gq: String,
    errors: FieldErrors,
    done: String,
    tcursor: Option<&str>,
) -> Result<ProfilePage, UiError> {
    let c = s.app.client(&session.actor, id).await?;
    let time = client_section(s, session, id, tcursor).await?;
    let groups = s.app.groups_of_client(&session.actor, id).await?;
    let accounts = s.app.program_accounts(&session.actor, id).await?;
    let text = Some(gq.trim().to_string()).filter(|t| !t.is_empty());
    let choices = client_groups(s, session, text)
        .await?
        .into_iter()
        .filter(|g| !groups.iter().any(|m| m.id == g.id))
        .collect();
    let unit = match c.business_unit_id {
        Some(u) => s
            .app
            .business_unit(&session.actor, u)
            .await
            .map(|u| u.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(ProfilePage {
        l: session.layout("clients"),
        can_edit: s.app.may_edit_client(&session.actor, id).is_ok(),
        expires: c.relationship_expires_at.map(when).unwrap_or_default(),
        c,
        unit,
        groups,
        choices,
        gq,
        errors,
        done,
        time,
        accounts,
        account: AccountForm::default(),
    })
}

/// "Add a program account": a refusal shows the form again as typed, with the reason by its field.
pub async fn add_account(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let input = ProgramAccountInput {
        number: Some(form.text("number")),
        program: Some(form.text("program")),
        status: None,
    };
    match s.app.create_program_account(&session.actor, id, input).await {
        Ok(_) => Ok(see_other(&format!(
            "/clients/{id}?{}#accounts",
            query(&[("done", "account-added")])
        ))),
        Err(e) if matches!(e.code, ErrorCode::InvalidInput | ErrorCode::AlreadyExists) => {
            let errors = FieldErrors::from_error(&e, "number");
            let mut page = profile_page(&s, &session, id, String::new(), errors, String::new(), None).await?;
            page.account = AccountForm {
                number: form.text("number"),
                program: form.text("program"),
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// A program account's status changed, or the account removed (`remove` set), at the version shown.
pub async fn change_account(
    State(s): State<AppState>,
    Path((id, account)): Path<(ClientId, ProgramAccountId)>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let version = form.i64("version");
    let result = if form.get("remove").is_some() {
        s.app
            .delete_program_account(&session.actor, account, version)
            .await
            .map(|()| "account-removed")
    } else {
        let status = AccountStatus::parse(&form.text("status"));
        match status {
            Ok(status) => {
                let input = ProgramAccountInput {
                    status: Some(status),
                    ..Default::default()
                };
                s.app
                    .update_program_account(&session.actor, account, input, version)
                    .await
                    .map(|_| "account-saved")
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(done) => Ok(see_other(&format!(
            "/clients/{id}?{}#accounts",
            query(&[("done", done)])
        ))),
        Err(e) if matches!(e.code, ErrorCode::InvalidInput | ErrorCode::PreconditionFailed) => {
            let errors = FieldErrors::one("accounts", e.detail);
            let page = profile_page(&s, &session, id, String::new(), errors, String::new(), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn profile(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, UiError> {
    let page = profile_page(
        &s,
        &session,
        id,
        q.gq,
        FieldErrors::default(),
        q.done,
        q.tcursor.as_deref(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn add_to_group(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let Some(group) = form.i64("group_id").map(GroupId) else {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("group_id", "Choose a group."),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let result = s
        .app
        .add_members(&session.actor, group, &[MemberRef::Client(id)], Cause::Manual, None)
        .await;
    let refusal = match result {
        Ok(out) => out
            .into_iter()
            .find(|o| o.outcome == Outcome::Rejected)
            .map(|o| o.detail.unwrap_or_default()),
        Err(e) => Some(e.detail),
    };
    if let Some(message) = refusal {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("group_id", message),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "added")]))))
}

pub async fn remove_from_group(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let Some(group) = form.i64("group_id").map(GroupId) else {
        return Ok(see_other(&format!("/clients/{id}")));
    };
    if let Err(e) = s
        .app
        .remove_members(&session.actor, group, &[MemberRef::Client(id)], Cause::Manual, None)
        .await
    {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("groups", e.detail),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page).into_response());
    }
    Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "removed")]))))
}
