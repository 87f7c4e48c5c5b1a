use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_app::group_deletion::Deletion;
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::groups::{GroupPatch, NewGroup};
use clientele_app::members::MemberRef;
use clientele_domain::entities::{ClientGroup, GroupDetail};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::{GroupKind, GroupOrder};
use clientele_domain::logo::LogoVariant;
use clientele_domain::{BusinessUnitId, ClientId, Error, GroupId};

use super::{Binary, IfMatchHeader, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    pub name: String,
    /// `clients` ("Group of Clients") or `groups` ("Group of Client Groups"). Required; its
    /// absence is answered with a message saying so, not in the JSON parser's words.
    pub kind: Option<GroupKind>,
    /// Required when the organisation has more than one business unit; with one, that one.
    pub business_unit_id: Option<BusinessUnitId>,
    pub description: Option<String>,
    pub crm_id: Option<String>,
    #[serde(default)]
    pub protected: bool,
    /// Clients to add (groups of clients); the group is created only if all can join.
    #[serde(default)]
    pub client_ids: Vec<ClientId>,
    /// Groups to nest (groups of client groups).
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatchBody {
    pub name: Option<String>,
    pub business_unit_id: Option<BusinessUnitId>,
    /// An empty string clears it.
    pub description: Option<String>,
    /// An empty string clears it.
    pub crm_id: Option<String>,
    pub protected: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Only groups of this kind.
    pub kind: Option<GroupKind>,
    /// Only groups of this business unit.
    pub business_unit: Option<BusinessUnitId>,
    /// Text in the name or CRM id.
    pub q: Option<String>,
    /// The order: `name` (the default), `-name`, `members` or `-members` (by how many members
    /// each holds directly).
    pub sort: Option<String>,
    /// `next_cursor` or `prev_cursor` from another page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// Client groups by name, with their member counts.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", operation_id = "listGroups", params(GroupQuery),
    responses((status = 200, description = "A page of groups.", body = Page<ClientGroup>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<GroupQuery>,
) -> Result<axum::Json<Page<ClientGroup>>, ApiError> {
    let order = match q.sort.as_deref() {
        None => GroupOrder::default(),
        Some(text) => {
            GroupOrder::parse(text).ok_or_else(|| Error::invalid("sort", "must be name, -name, members or -members"))?
        }
    };
    let filter = GroupFilter {
        kind: q.kind,
        business_unit: q.business_unit,
        text: q.q.filter(|t| !t.trim().is_empty()),
        within: None,
        order,
    };
    Ok(axum::Json(
        s.app
            .groups(&actor, &filter, q.cursor.as_deref(), q.limit)
            .await?
            .into(),
    ))
}

/// Creates a group (admins only), optionally with its first members.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", operation_id = "createGroup", request_body = NewGroupBody,
    responses(
        (status = 201, description = "The group, created; `ETag` is its version.", body = GroupDetail),
        (status = 403, description = "`forbidden`: only admins create groups.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`name_taken` or `name_reserved`, or a member that cannot join \
            (`client_in_another_group`, `relationship_not_active`, `nesting_cycle`, `nesting_too_deep`); or the \
            `Idempotency-Key` names a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(b): Json<NewGroupBody>,
) -> Result<Response, ApiError> {
    let members = b
        .client_ids
        .into_iter()
        .map(MemberRef::Client)
        .chain(b.group_ids.into_iter().map(MemberRef::Group))
        .collect();
    let kind = b.kind.ok_or_else(|| {
        clientele_domain::Error::invalid(
            "kind",
            "is required: clients (a group of clients) or groups (a group of client groups)",
        )
    })?;
    let business_unit_id = match b.business_unit_id {
        Some(unit) => unit,
        None => {
            let units = s.app.business_units(&actor, None, Some(2)).await?.items;
            match units.as_slice() {
                [only] => only.id,
                _ => {
                    return Err(clientele_domain::Error::invalid(
                        "business_unit_id",
                        "is required: this organisation has several business units (GET /api/v1/business-units)",
                    )
                    .into());
                }
            }
        }
    };
    let new = NewGroup {
        name: b.name,
        kind,
        business_unit_id,
        description: b.description,
        crm_id: b.crm_id,
        protected: b.protected,
        members,
    };
    let group = s.app.create_group(actor.admin()?, new).await?;
    Ok((StatusCode::CREATED, tagged(group.group.version, group)).into_response())
}

/// A group, its parents, and whether it can be deleted (`deletable`, `delete_blockers`).
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "getGroup",
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "The group; `ETag` is its version.", body = GroupDetail),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(State(s): State<AppState>, Auth(actor): Auth, P(id): P<GroupId>) -> Result<Response, ApiError> {
    let group = s.app.group(&actor, id).await?;
    Ok(tagged(group.group.version, group))
}

/// Changes a group's settings (admins only).
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "updateGroup",
    params(("id" = i64, Path, description = "The group's id."), IfMatchHeader), request_body = GroupPatchBody,
    responses(
        (status = 200, description = "The group, changed; `ETag` is its new version.", body = GroupDetail),
        (status = 403, description = "`forbidden`: only admins change groups.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`name_taken` or `name_reserved`: the name cannot be used.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<GroupId>,
    Json(b): Json<GroupPatchBody>,
) -> Result<Response, ApiError> {
    let patch = GroupPatch {
        name: b.name,
        business_unit_id: b.business_unit_id,
        description: b.description,
        crm_id: b.crm_id,
        protected: b.protected,
    };
    let group = s.app.update_group(actor.admin()?, id, patch, v).await?;
    Ok(tagged(group.group.version, group))
}

/// Deletes a group if the organisation's policies allow it (409 `not_deletable` with the
/// blockers otherwise). Clients are never deleted with a group. A group with more than 1000
/// members to detach (policy `detach_members`) is deleted by a `delete_group` process request:
/// 202 with the request, which detaches the members in batches and then deletes the group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    params(("id" = i64, Path, description = "The group's id."), IfMatchHeader),
    responses(
        (status = 204, description = "The group is deleted."),
        (status = 202, description = "A `delete_group` process request will delete it.", body = clientele_app::process_requests::ProcessRequest),
        (status = 403, description = "`forbidden`: only admins delete groups.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`not_deletable`: the policies forbid it; `delete_blockers` says why.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<GroupId>,
) -> Result<Response, ApiError> {
    Ok(match s.app.delete_group(actor.admin()?, id, v).await? {
        Deletion::Deleted => StatusCode::NO_CONTENT.into_response(),
        Deletion::Queued(request) => (StatusCode::ACCEPTED, axum::Json(request)).into_response(),
    })
}

/// The group's light or dark PNG logo.
#[utoipa::path(get, path = "/api/v1/groups/{id}/logos/{variant}", tag = "groups", operation_id = "getGroupLogo",
    params(("id" = i64, Path, description = "The group's id."), ("variant" = LogoVariant, Path, description = "`light` or `dark`.")),
    responses(
        (status = 200, description = "The PNG; `ETag` changes when it is replaced.", body = inline(Binary), content_type = "image/png"),
        (status = 404, description = "`not_found`: no such group, or it has no logo of this variant.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_logo(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P((id, variant)): P<(GroupId, LogoVariant)>,
) -> Result<Response, ApiError> {
    let (png, at) = s.app.logo(&actor, id, variant).await?;
    let etag = HeaderValue::from_str(&format!("\"logo-{at}\"")).expect("ASCII");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::ETAG, etag),
        ],
        png,
    )
        .into_response())
}

/// Uploads a logo: the body is the PNG itself (at most 1 MiB and 2048x2048, checked by decoding).
#[utoipa::path(put, path = "/api/v1/groups/{id}/logos/{variant}", tag = "groups", operation_id = "putGroupLogo",
    params(("id" = i64, Path, description = "The group's id."), ("variant" = LogoVariant, Path, description = "`light` or `dark`.")),
    request_body(content = inline(Binary), content_type = "image/png", description = "The PNG, at most 1 MiB and 2048x2048."),
    responses(
        (status = 200, description = "The group with its new logo; `ETag` is its version.", body = GroupDetail),
        (status = 403, description = "`forbidden`: only admins change logos.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group.", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "`payload_too_large`: the PNG is larger than 1 MiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`invalid_input`: not a PNG that decodes, or larger than 2048x2048.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn put_logo(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P((id, variant)): P<(GroupId, LogoVariant)>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    // A body over the server's general limit never reaches the logo rules: say the logo's limit
    // here too, not only "too large".
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            clientele_domain::Error::new(
                clientele_domain::ErrorCode::PayloadTooLarge,
                format!(
                    "a logo must be at most {} bytes (1 MiB); this one is larger",
                    clientele_domain::logo::MAX_LOGO_BYTES
                ),
            )
            .with_field(format!("logo_{}", variant.as_str()))
        } else {
            clientele_domain::Error::invalid("body", "could not be read")
        }
    })?;
    let group = s.app.put_logo(actor.admin()?, id, variant, body.to_vec()).await?;
    Ok(tagged(group.group.version, group))
}

/// Removes one of the group's logos (admins only).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/logos/{variant}", tag = "groups", operation_id = "deleteGroupLogo",
    params(("id" = i64, Path, description = "The group's id."), ("variant" = LogoVariant, Path, description = "`light` or `dark`.")),
    responses(
        (status = 204, description = "The logo is gone."),
        (status = 403, description = "`forbidden`: only admins change logos.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete_logo(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P((id, variant)): P<(GroupId, LogoVariant)>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_logo(actor.admin()?, id, variant).await?;
    Ok(StatusCode::NO_CONTENT)
}
