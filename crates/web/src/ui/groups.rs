//! The Client Groups list (seed 000) and deleting a group with a typed DELETE (seed 004).

use clientele_app::group_deletion::Deletion;
use clientele_app::groups::GroupActions;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_domain::entities::{BusinessUnit, GroupDetail};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::{GroupKind, GroupOrder};
use clientele_domain::{BusinessUnitId, GroupId};

use super::list::{Controls, ListView};
use super::{FieldErrors, Layout, Session, SignedForm, UiError, query, render, render_status, see_other, typed};
use crate::AppState;

/// A row of the list, with what its action icons need.
pub struct GroupRow {
    pub id: GroupId,
    pub name: String,
    pub kind: &'static str,
    pub unit: String,
    pub member_count: i64,
    pub crm_id: String,
    /// What the viewer may do with it (from the decisions the use cases take).
    pub can: GroupActions,
    /// Why it cannot be deleted, for the blocked icon's tooltip (and the delete page).
    pub blockers: String,
}

pub fn kind_label(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Clients => "Group of Clients",
        GroupKind::Groups => "Group of Client Groups",
    }
}

/// Business units by id, for names and the pickers (an organisation has a handful).
pub async fn units(s: &AppState, session: &Session) -> Result<Vec<BusinessUnit>, UiError> {
    Ok(s.app.business_units(&session.actor, None, Some(500)).await?.items)
}

#[derive(Template)]
#[template(path = "groups.html")]
struct ListPage {
    l: Layout,
    rows: Vec<GroupRow>,
    list: ListView,
    units: Vec<BusinessUnit>,
    q: String,
    kind: String,
    unit: String,
    /// The name of the group just deleted, for the confirmation (seed 004).
    deleted: String,
    /// The download icon's link: the groups this list shows.
    export_href: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    deleted: String,
    #[serde(default)]
    sort: String,
    per_page: Option<String>,
    cursor: Option<String>,
}

/// The groups the viewer sees: every group for admins ("Manage my client groups", seed 004),
/// the groups they are assigned to and those nested below for other staff.
pub async fn list(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let units = units(&s, &session).await?;
    let unit_names: HashMap<BusinessUnitId, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
    let controls = Controls {
        sort: q.sort.clone(),
        per_page: q.per_page.clone(),
        cursor: q.cursor.clone(),
    };
    let filter = GroupFilter {
        kind: GroupKind::parse(&q.kind).ok(),
        business_unit: q.unit.parse().ok().map(BusinessUnitId),
        text: Some(q.q.trim().to_string()).filter(|t| !t.is_empty()),
        within: None,
        order: GroupOrder::parse(&controls.sort).unwrap_or_default(),
    };
    let page = s
        .app
        .groups(&session.actor, &filter, controls.cursor(), Some(controls.per_page()))
        .await?;
    let mut rows = Vec::with_capacity(page.items.len());
    for detail in s.app.group_details(&session.actor, page.items).await? {
        let can = s.app.group_actions(&session.actor, &detail);
        let g = detail.group;
        rows.push(GroupRow {
            id: g.id,
            kind: kind_label(g.kind),
            unit: unit_names.get(&g.business_unit_id).cloned().unwrap_or_default(),
            member_count: g.member_count,
            crm_id: g.crm_id.clone().unwrap_or_default(),
            can,
            blockers: detail
                .delete_blockers
                .iter()
                .map(|b| b.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            name: g.name,
        });
    }
    let list = ListView::new(
        "/groups",
        &[("q", &q.q), ("kind", &q.kind), ("unit", &q.unit)],
        &controls,
        "name",
        page.total,
        page.next_cursor,
        page.prev_cursor,
        ("client group", "client groups"),
    );
    let filters = super::query(&[("q", &q.q), ("kind", &q.kind), ("business_unit", &q.unit)]);
    let export_href = if filters.is_empty() {
        "/transfers/groups/export.csv".to_string()
    } else {
        format!("/transfers/groups/export.csv?{filters}")
    };
    Ok(render(&ListPage {
        l: session.layout("groups"),
        export_href,
        rows,
        list,
        units,
        q: q.q,
        kind: q.kind,
        unit: q.unit,
        deleted: q.deleted,
    }))
}

#[derive(Template)]
#[template(path = "group_delete.html")]
struct DeletePage {
    l: Layout,
    g: GroupDetail,
    can: GroupActions,
    touches: String,
    errors: FieldErrors,
}

/// What deleting changes, in words, shown before the user types DELETE.
fn touches(g: &GroupDetail) -> String {
    let n = g.group.member_count;
    match g.group.kind {
        GroupKind::Clients => format!(
            "This touches {n} client{}: {} taken out of this group (the clients themselves are kept).",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it is" } else { "they are" }
        ),
        GroupKind::Groups => format!(
            "This touches 0 clients directly: the {n} nested group{} stay as they are.",
            if n == 1 { "" } else { "s" }
        ),
    }
}

pub async fn delete_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<GroupId>,
) -> Result<Response, UiError> {
    session.actor.admin()?;
    let g = s.app.group(&session.actor, id).await?;
    Ok(render(&DeletePage {
        l: session.layout("groups"),
        touches: touches(&g),
        can: s.app.group_actions(&session.actor, &g),
        g,
        errors: FieldErrors::default(),
    }))
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let g = s.app.group(&session.actor, id).await?;
    let again = |g: GroupDetail, errors: FieldErrors| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &DeletePage {
                l: session.layout("groups"),
                touches: touches(&g),
                can: s.app.group_actions(&session.actor, &g),
                g,
                errors,
            },
        )
    };
    if !typed(&form, "DELETE") {
        return Ok(again(
            g,
            FieldErrors::one("confirm", "Type DELETE, in capitals, to delete this group."),
        ));
    }
    match s
        .app
        .delete_group(session.actor.admin()?, id, form.i64("version"))
        .await
    {
        Ok(Deletion::Deleted) => Ok(see_other(&format!("/groups?{}", query(&[("deleted", &g.group.name)])))),
        // Thousands of members to detach: the process request's page shows it going.
        Ok(Deletion::Queued(request)) => Ok(see_other(&format!("/process-requests/{}", request.id))),
        Err(e) => {
            let fresh = s.app.group(&session.actor, id).await?;
            Ok(again(fresh, FieldErrors::from_error(&e, "confirm")).into_response())
        }
    }
}
