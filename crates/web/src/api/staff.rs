use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::staff::{NewStaff, StaffPatch};
use clientele_domain::StaffId;
use clientele_domain::entities::{Colleague, Staff};
use clientele_domain::staff::StaffRole;

use super::{IfMatchHeader, PROBLEM_JSON, PageParams};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    /// Optional password for signing in to the web UI (at least 10 characters).
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatchInput {
    pub name: Option<String>,
    pub role: Option<StaffRole>,
    pub active: Option<bool>,
}

/// Staff of the organisation with their e-mail, role and status, by e-mail (admins; staff read
/// `/api/v1/colleagues`).
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", operation_id = "listStaff", params(PageParams),
    responses(
        (status = 200, description = "A page of staff members.", body = Page<Staff>),
        (status = 403, description = "`forbidden`: only admins list staff with their details.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<Staff>>, ApiError> {
    Ok(axum::Json(
        s.app.staff_list(&actor, p.cursor.as_deref(), p.limit).await?,
    ))
}

/// The colleague directory: every active staff member's name, for everyone.
#[utoipa::path(get, path = "/api/v1/colleagues", tag = "staff", operation_id = "listColleagues", params(PageParams),
    responses((status = 200, description = "A page of colleagues.", body = Page<Colleague>)))]
pub async fn colleagues(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<Colleague>>, ApiError> {
    Ok(axum::Json(
        s.app.colleagues(&actor, p.cursor.as_deref(), p.limit).await?,
    ))
}

/// Adds a staff member (admins only).
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", operation_id = "createStaff", request_body = StaffInput,
    responses(
        (status = 201, description = "The staff member, created; `ETag` is its version.", body = Staff),
        (status = 403, description = "`forbidden`: only admins add staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`already_exists`: a staff member has this e-mail; or the `Idempotency-Key` names \
            a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(i): Json<StaffInput>,
) -> Result<Response, ApiError> {
    let staff = s
        .app
        .create_staff(
            actor.admin()?,
            NewStaff {
                email: i.email,
                name: i.name,
                role: i.role,
                password: i.password,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, tagged(staff.version, staff)).into_response())
}

/// One staff member.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", operation_id = "getStaff",
    params(("id" = i64, Path, description = "The staff member's id.")),
    responses(
        (status = 200, description = "The staff member; `ETag` is its version.", body = Staff),
        (status = 403, description = "`forbidden`: staff read only their own record; admins read anyone's.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(State(s): State<AppState>, Auth(actor): Auth, P(id): P<StaffId>) -> Result<Response, ApiError> {
    let staff = s.app.staff(&actor, id).await?;
    Ok(tagged(staff.version, staff))
}

/// Renames, changes the role of, or (de)activates a staff member; the last active admin stays.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", operation_id = "updateStaff",
    params(("id" = i64, Path, description = "The staff member's id."), IfMatchHeader), request_body = StaffPatchInput,
    responses(
        (status = 200, description = "The staff member, changed; `ETag` is its new version.", body = Staff),
        (status = 403, description = "`forbidden`: only admins change staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: this is the last active admin.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<StaffId>,
    Json(i): Json<StaffPatchInput>,
) -> Result<Response, ApiError> {
    let staff = s
        .app
        .update_staff(
            actor.admin()?,
            id,
            StaffPatch {
                name: i.name,
                role: i.role,
                active: i.active,
            },
            v,
        )
        .await?;
    Ok(tagged(staff.version, staff))
}
