use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use clientele_access::AccessRole;
use clientele_app::assignments::Assignment;
use clientele_domain::{GroupId, StaffId};

use super::PROBLEM_JSON;
use crate::error::Problem;
use crate::extract::{Auth, Json, P};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    /// `manager` (may change the group's members), `editor` (may edit its clients) or `reader`.
    pub role: AccessRole,
    /// When the access ends by itself (RFC 3339); absent for no end.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<String>,
}

/// The staff assigned to the group and their roles (seed 003's "Account managers in group").
#[utoipa::path(get, path = "/api/v1/groups/{id}/staff", tag = "assignments", operation_id = "listGroupStaff",
    params(("id" = i64, Path, description = "The group's id.")),
    responses(
        (status = 200, description = "The group's assignments.", body = Vec<Assignment>),
        (status = 404, description = "`not_found`: no such group, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn group_staff(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<GroupId>,
) -> Result<axum::Json<Vec<Assignment>>, ApiError> {
    Ok(axum::Json(s.app.group_staff(&actor, id).await?))
}

/// Assigns a staff member to the group, or changes their role or validity (admins).
#[utoipa::path(put, path = "/api/v1/groups/{id}/staff/{staff_id}", tag = "assignments", operation_id = "assignStaff",
    params(("id" = i64, Path, description = "The group's id."), ("staff_id" = i64, Path, description = "The staff member's id.")), request_body = AssignmentBody,
    responses(
        (status = 200, description = "The assignment as it now is.", body = Assignment),
        (status = 403, description = "`forbidden`: only admins assign staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group or staff member.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: the staff member is an admin, who sees every client already.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn assign(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P((group, staff)): P<(GroupId, StaffId)>,
    Json(b): Json<AssignmentBody>,
) -> Result<axum::Json<Assignment>, ApiError> {
    let valid_until = crate::extract::instant("valid_until", b.valid_until.as_deref())?;
    Ok(axum::Json(
        s.app.assign(actor.admin()?, group, staff, b.role, valid_until).await?,
    ))
}

/// Ends a staff member's assignment to the group (admins).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/staff/{staff_id}", tag = "assignments", operation_id = "unassignStaff",
    params(("id" = i64, Path, description = "The group's id."), ("staff_id" = i64, Path, description = "The staff member's id.")),
    responses(
        (status = 204, description = "The assignment has ended."),
        (status = 403, description = "`forbidden`: only admins unassign staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such group, staff member or assignment.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn unassign(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P((group, staff)): P<(GroupId, StaffId)>,
) -> Result<StatusCode, ApiError> {
    s.app.unassign(actor.admin()?, group, staff).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups a staff member is assigned to (admins; staff may ask about themselves).
#[utoipa::path(get, path = "/api/v1/staff/{id}/assignments", tag = "assignments", operation_id = "listStaffAssignments",
    params(("id" = i64, Path, description = "The staff member's id.")),
    responses(
        (status = 200, description = "The staff member's assignments.", body = Vec<Assignment>),
        (status = 403, description = "`forbidden`: only admins may ask about other staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn staff_assignments(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<StaffId>,
) -> Result<axum::Json<Vec<Assignment>>, ApiError> {
    Ok(axum::Json(s.app.staff_assignments(&actor, id).await?))
}
