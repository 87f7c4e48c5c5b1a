//! Clients: the list with group and status filters and bulk "Add to group" / "Remove from group"
//! (seed 002), and a client's profile with its group badges, "Add to group" and "x" (seeds 001, 002),
//! and its time entries with "Log time" (issue 6; see `ui::time`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Query;
use serde::Deserialize;

use clientele_app::members::MemberRef;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::ClientOrder;
use clientele_domain::entities::ClientGroup;
use clientele_domain::group::GroupFilter;
use clientele_domain::group::GroupKind;
use clientele_domain::{ClientId, GroupId};

use super::group_page::{Selection, confirm_page};
use super::list::{ClientRow, Controls, ListView, Matching, rows_with_groups};
use super::{FieldErrors, Layout, Session, SignedForm, UiError, parse_member, query, render, render_status, see_other};
use crate::AppState;

/// Every group the viewer sees, groups of groups included, for the list's group filter.
pub(super) async fn any_groups(s: &AppState, session: &Session) -> Result<Vec<ClientGroup>, UiError> {
    Ok(s.app
        .groups(&session.actor, &GroupFilter::default(), None, Some(500))
        .await?
        .items)
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
