use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_domain::BusinessUnitId;
use clientele_domain::entities::BusinessUnit;

use super::{IfMatchHeader, PROBLEM_JSON, PageParams};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessUnitInput {
    pub name: String,
}

/// Business units (offices, locations, brands), by name.
#[utoipa::path(get, path = "/api/v1/business-units", tag = "business-units", operation_id = "listBusinessUnits",
    params(PageParams), responses((status = 200, description = "A page of business units.", body = Page<BusinessUnit>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<BusinessUnit>>, ApiError> {
    Ok(axum::Json(
        s.app.business_units(&actor, p.cursor.as_deref(), p.limit).await?,
    ))
}

/// Creates a business unit (admins only).
#[utoipa::path(post, path = "/api/v1/business-units", tag = "business-units", operation_id = "createBusinessUnit",
    request_body = BusinessUnitInput,
    responses(
        (status = 201, description = "The business unit, created; `ETag` is its version.", body = BusinessUnit),
        (status = 403, description = "`forbidden`: only admins create business units.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`name_taken`: another business unit has this name; or the `Idempotency-Key` names \
            a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<BusinessUnitInput>,
) -> Result<Response, ApiError> {
    let unit = s.app.create_business_unit(actor.admin()?, &input.name).await?;
    Ok((StatusCode::CREATED, tagged(unit.version, unit)).into_response())
}

/// One business unit.
#[utoipa::path(get, path = "/api/v1/business-units/{id}", tag = "business-units", operation_id = "getBusinessUnit",
    params(("id" = i64, Path, description = "The business unit's id.")),
    responses(
        (status = 200, description = "The business unit; `ETag` is its version.", body = BusinessUnit),
        (status = 404, description = "`not_found`: no such business unit.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<BusinessUnitId>,
) -> Result<Response, ApiError> {
    let unit = s.app.business_unit(&actor, id).await?;
    Ok(tagged(unit.version, unit))
}

/// Renames a business unit (admins only).
#[utoipa::path(patch, path = "/api/v1/business-units/{id}", tag = "business-units", operation_id = "renameBusinessUnit",
    params(("id" = i64, Path, description = "The business unit's id."), IfMatchHeader), request_body = BusinessUnitInput,
    responses(
        (status = 200, description = "The business unit, renamed; `ETag` is its new version.", body = BusinessUnit),
        (status = 403, description = "`forbidden`: only admins rename business units.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such business unit.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`name_taken`: another business unit has this name.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn rename(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<BusinessUnitId>,
    Json(input): Json<BusinessUnitInput>,
) -> Result<Response, ApiError> {
    let unit = s.app.rename_business_unit(actor.admin()?, id, &input.name, v).await?;
    Ok(tagged(unit.version, unit))
}

/// Deletes a business unit that no group or client uses.
#[utoipa::path(delete, path = "/api/v1/business-units/{id}", tag = "business-units", operation_id = "deleteBusinessUnit",
    params(("id" = i64, Path, description = "The business unit's id."), IfMatchHeader),
    responses(
        (status = 204, description = "The business unit is deleted."),
        (status = 403, description = "`forbidden`: only admins delete business units.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such business unit.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: a group or a client still uses it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<BusinessUnitId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_business_unit(actor.admin()?, id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}
