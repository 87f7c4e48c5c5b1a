//! "My group clients" (seed 003): the clients of every group the signed-in staff member is
//! assigned to, through any nesting; admins see every client. Filtered by access before paging,
//! with the exact total; sortable by name or status, pageable both ways, filterable by group.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::Query;
use serde::Deserialize;

use clientele_domain::GroupId;
use clientele_domain::client::{ClientOrder, ClientStatus};
use clientele_domain::entities::ClientGroup;

use super::clients::any_groups;
use super::list::{ClientRow, rows_with_groups};
use super::list::{Controls, ListView};
use super::{Layout, Session, UiError, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "my_clients.html")]
struct Page {
    l: Layout,
    rows: Vec<ClientRow>,
    list: ListView,
    q: String,
    include_inactive: bool,
    /// The groups the viewer sees, for the group filter.
    groups: Vec<ClientGroup>,
    group: String,
    /// The viewer is in no group at all (not: no client matches the filters).
    unassigned: bool,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    group: String,
    include_inactive: Option<String>,
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
    let include_inactive = q.include_inactive.is_some();
    let controls = Controls {
        sort: q.sort.clone(),
        per_page: q.per_page.clone(),
        cursor: q.cursor.clone(),
    };
    let group: Option<GroupId> = q.group.parse().ok().map(GroupId);
    let filter = clientele_domain::client::ClientFilter {
        text: Some(q.q.trim().to_lowercase()).filter(|t| !t.is_empty()),
        statuses: if include_inactive {
            vec![]
        } else {
            vec![ClientStatus::Active]
        },
        groups: group.into_iter().collect(),
        order: ClientOrder::parse(&controls.sort).unwrap_or_default(),
        ..Default::default()
    };
    let page = s
        .app
        .my_clients(&session.actor, &filter, controls.cursor(), Some(controls.per_page()))
        .await?;
    // Staff see the groups they are assigned to (and those nested in them); an admin sees all.
    let groups = any_groups(&s, &session).await?;
    let inactive = if include_inactive { "1" } else { "" };
    let group_text = group.map(|g| g.to_string()).unwrap_or_default();
    let list = ListView::new(
        "/my-group-clients",
        &[("q", &q.q), ("group", &group_text), ("include_inactive", inactive)],
        &controls,
        "name",
        page.total,
        page.next_cursor,
        page.prev_cursor,
        ("client", "clients"),
    );
    Ok(render(&Page {
        l: session.layout("my-clients"),
        rows: rows_with_groups(&s, &session, page.items).await?,
        list,
        q: q.q,
        include_inactive,
        unassigned: groups.is_empty(),
        groups,
        group: group_text,
    }))
}
