use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::Page;
use clientele_domain::BusinessUnitId;
use clientele_domain::entities::BusinessUnit;

use super::PageParams;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessUnitInput {
    pub name: String,
}

/// Business units (offices, locations, brands), by name.
#[utoipa::path(get, path = "/api/v1/business-units", tag = "business-units", params(PageParams),
    responses((status = 200, body = Page<BusinessUnit>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(p): Q<PageParams>,
) -> Result<axum::Json<Page<BusinessUnit>>, ApiError> {
    Ok(axum::Json(
        s.app.business_units(&actor, p.cursor.as_deref(), p.limit).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/business-units", tag = "business-units", request_body = BusinessUnitInput,
    responses((status = 201, body = BusinessUnit), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<BusinessUnitInput>,
) -> Result<Response, ApiError> {
    let unit = s.app.create_business_unit(actor.admin()?, &input.name).await?;
    Ok((StatusCode::CREATED, tagged(unit.version, unit)).into_response())
}

#[utoipa::path(get, path = "/api/v1/business-units/{id}", tag = "business-units", params(("id" = i64, Path)),
    responses((status = 200, body = BusinessUnit), (status = 404, body = crate::error::Problem)))]
pub async fn get_one(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<BusinessUnitId>,
) -> Result<Response, ApiError> {
    let unit = s.app.business_unit(&actor, id).await?;
    Ok(tagged(unit.version, unit))
}

#[utoipa::path(patch, path = "/api/v1/business-units/{id}", tag = "business-units", params(("id" = i64, Path)), request_body = BusinessUnitInput,
    responses((status = 200, body = BusinessUnit), (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
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
#[utoipa::path(delete, path = "/api/v1/business-units/{id}", tag = "business-units", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = crate::error::Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<BusinessUnitId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_business_unit(actor.admin()?, id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}
