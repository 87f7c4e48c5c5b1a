use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_app::staff::{NewStaff, StaffPatch};
use clientele_domain::StaffId;
use clientele_domain::entities::Staff;
use clientele_domain::staff::StaffRole;

use super::PageParams;
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

/// Staff of the organisation, by e-mail.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", params(PageParams), responses((status = 200, body = Page<Staff>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<Staff>>, ApiError> {
    Ok(axum::Json(
        s.app.staff_list(&actor, p.cursor.as_deref(), p.limit).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffInput,
    responses((status = 201, body = Staff), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
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

#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = i64, Path)),
    responses((status = 200, body = Staff), (status = 404, body = crate::error::Problem)))]
pub async fn get_one(State(s): State<AppState>, Auth(actor): Auth, P(id): P<StaffId>) -> Result<Response, ApiError> {
    let staff = s.app.staff(&actor, id).await?;
    Ok(tagged(staff.version, staff))
}

/// Renames, changes the role of, or (de)activates a staff member; the last active admin stays.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = i64, Path)), request_body = StaffPatchInput,
    responses((status = 200, body = Staff), (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
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
