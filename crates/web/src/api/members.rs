use axum::extract::State;
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::members::{MemberOutcome, MemberRef};
use clientele_domain::audit::Cause;
use clientele_domain::entities::Member;
use clientele_domain::{ClientId, GroupId};

use super::{IfMatchHeader, PROBLEM_JSON, PageParams};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q};
use crate::{ApiError, AppState};

/// Members named by id, in one call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersBody {
    #[serde(default)]
    pub client_ids: Vec<ClientId>,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    /// Adding clients: their memberships end by themselves at this instant (RFC 3339); access
    /// through them ends exactly then. Clients already in the group get this end.
    #[serde(default)]
    pub valid_until: Option<String>,
}

impl MembersBody {
    fn refs(&self) -> Vec<MemberRef> {
        self.client_ids
            .iter()
            .copied()
            .map(MemberRef::Client)
            .chain(self.group_ids.iter().copied().map(MemberRef::Group))
            .collect()
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MemberResults {
    pub results: Vec<MemberOutcome>,
}

/// A group's direct members (clients, or nested groups) by name.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "members", operation_id = "listGroupMembers",
    params(("id" = i64, Path, description = "The group's id."), PageParams),
    responses(
        (status = 200, description = "A page of the group's direct members.", body = Page<Member>),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<GroupId>,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<Member>>, ApiError> {
    Ok(axum::Json(
        s.app.group_members(&actor, id, p.cursor.as_deref(), p.limit).await?,
    ))
}

/// Adds clients or groups; each item gets its own outcome, and one refusal never stops the rest.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "members", operation_id = "addGroupMembers",
    params(("id" = i64, Path, description = "The group's id."), IfMatchHeader), request_body = MembersBody,
    responses(
        (status = 200, description = "One outcome per item, in order.", body = MemberResults),
        (status = 403, description = "`forbidden`: you may see this group but not change its members.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version of the group.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn add(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<GroupId>,
    Json(b): Json<MembersBody>,
) -> Result<axum::Json<MemberResults>, ApiError> {
    let cause = if b.client_ids.len() + b.group_ids.len() > 1 {
        Cause::Bulk
    } else {
        Cause::Manual
    };
    let valid_until = crate::extract::instant("valid_until", b.valid_until.as_deref())?;
    let results = s
        .app
        .add_members_until(&actor, id, &b.refs(), cause, v, valid_until)
        .await?;
    Ok(axum::Json(MemberResults { results }))
}

/// Removes clients or groups from the group (never deletes them); one outcome per item.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/remove", tag = "members", operation_id = "removeGroupMembers",
    params(("id" = i64, Path, description = "The group's id."), IfMatchHeader), request_body = MembersBody,
    responses(
        (status = 200, description = "One outcome per item, in order.", body = MemberResults),
        (status = 403, description = "`forbidden`: you may see this group but not change its members.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version of the group.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn remove(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<GroupId>,
    Json(b): Json<MembersBody>,
) -> Result<axum::Json<MemberResults>, ApiError> {
    let cause = if b.client_ids.len() + b.group_ids.len() > 1 {
        Cause::Bulk
    } else {
        Cause::Manual
    };
    let results = s.app.remove_members(&actor, id, &b.refs(), cause, v).await?;
    Ok(axum::Json(MemberResults { results }))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Add,
    Remove,
}

/// "All clients matching this search", as in the clients list.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    /// Text in the name, external reference or e-mail.
    pub q: Option<String>,
    /// Comma-separated statuses; default every status.
    pub status: Option<String>,
    pub business_unit: Option<clientele_domain::BusinessUnitId>,
    /// Clients of this group of clients.
    pub group: Option<GroupId>,
}

/// A bulk add or remove: members by id and/or every client matching a filter.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    pub action: BulkAction,
    #[serde(default)]
    pub client_ids: Vec<ClientId>,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    /// Adds (or removes) every client matching it, too (admins).
    pub filter: Option<BulkFilter>,
}

/// Adds or removes many members: up to 1000 answer at once (200, one outcome per item, like the
/// plain add and remove); more become a process request (202, admins only) applied in batches in
/// the background.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/bulk", tag = "members", operation_id = "bulkGroupMembers",
    params(("id" = i64, Path, description = "The group's id."), IfMatchHeader), request_body = BulkBody,
    responses(
        (status = 200, description = "Done: one outcome per item.", body = clientele_app::bulk::BulkAnswer),
        (status = 202, description = "Queued as a process request, applied in the background.", body = clientele_app::bulk::BulkAnswer),
        (status = 403, description = "`forbidden`: a `filter` or more than 1000 items need an admin, or you may not change \
            this group's members.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version of the group.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn bulk(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<GroupId>,
    Json(b): Json<BulkBody>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let mut items: Vec<MemberRef> = b
        .client_ids
        .iter()
        .copied()
        .map(MemberRef::Client)
        .chain(b.group_ids.iter().copied().map(MemberRef::Group))
        .collect();
    if let Some(f) = &b.filter {
        let statuses = match &f.status {
            Some(list) => list
                .split(',')
                .map(|s| {
                    clientele_domain::client::ClientStatus::parse(s.trim()).map_err(|e| e.with_field("filter.status"))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let filter = clientele_domain::client::ClientFilter {
            text: f.q.clone().filter(|q| !q.trim().is_empty()),
            statuses,
            groups: f.group.into_iter().collect(),
            business_unit: f.business_unit,
            ..Default::default()
        };
        actor.admin()?;
        let matching = s.app.clients_matching(&actor, &filter).await?;
        items.extend(matching.into_iter().map(MemberRef::Client));
    }
    let add = matches!(b.action, BulkAction::Add);
    let answer = s.app.bulk_members(&actor, id, add, &items, v).await?;
    let status = if answer.request.is_some() {
        http::StatusCode::ACCEPTED
    } else {
        http::StatusCode::OK
    };
    Ok((status, axum::Json(answer)).into_response())
}
