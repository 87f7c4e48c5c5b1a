use axum::extract::State;
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::members::{MemberOutcome, MemberRef};
use clientele_domain::audit::Cause;
use clientele_domain::entities::Member;
use clientele_domain::{ClientId, GroupId};

use super::PageParams;
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
}

impl MembersBody {
    fn refs(self) -> Vec<MemberRef> {
        self.client_ids
            .into_iter()
            .map(MemberRef::Client)
            .chain(self.group_ids.into_iter().map(MemberRef::Group))
            .collect()
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MemberResults {
    pub results: Vec<MemberOutcome>,
}

/// A group's direct members (clients, or nested groups) by name.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "members", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<Member>), (status = 404, body = crate::error::Problem)))]
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
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "members", params(("id" = i64, Path)), request_body = MembersBody,
    responses((status = 200, body = MemberResults), (status = 404, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
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
    let results = s.app.add_members(&actor, id, &b.refs(), cause, v).await?;
    Ok(axum::Json(MemberResults { results }))
}

/// Removes clients or groups from the group (never deletes them); one outcome per item.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/remove", tag = "members", params(("id" = i64, Path)), request_body = MembersBody,
    responses((status = 200, body = MemberResults), (status = 404, body = crate::error::Problem)))]
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
