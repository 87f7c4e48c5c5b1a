use axum::extract::State;
use axum::response::Response;

use clientele_domain::entities::Organization;
use clientele_domain::policy::Policies;

use crate::extract::{Auth, IfMatch, Json, tagged};
use crate::{ApiError, AppState};

/// The caller's organisation and its policies.
#[utoipa::path(get, path = "/api/v1/organization", tag = "organization",
    responses((status = 200, body = Organization), (status = 401, body = crate::error::Problem)))]
pub async fn get_organization(State(s): State<AppState>, Auth(actor): Auth) -> Result<Response, ApiError> {
    let org = s.app.organization(&actor).await?;
    Ok(tagged(org.version, org))
}

/// Replaces the organisation's policies (admins only). Switching to exclusive membership is
/// refused, naming the clients, while some client is in several groups.
#[utoipa::path(put, path = "/api/v1/organization/policies", tag = "organization", request_body = Policies,
    responses((status = 200, body = Organization), (status = 409, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn put_policies(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    Json(p): Json<Policies>,
) -> Result<Response, ApiError> {
    let org = s.app.update_policies(actor.admin()?, p, v).await?;
    Ok(tagged(org.version, org))
}
