use axum::extract::State;
use axum::response::Response;

use clientele_domain::entities::Organization;
use clientele_domain::policy::Policies;

use super::{IfMatchHeader, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, tagged};
use crate::{ApiError, AppState};

/// The caller's organisation and its policies.
#[utoipa::path(get, path = "/api/v1/organization", tag = "organization", operation_id = "getOrganization",
    responses((status = 200, description = "The organisation; `ETag` is its version.", body = Organization)))]
pub async fn get_organization(State(s): State<AppState>, Auth(actor): Auth) -> Result<Response, ApiError> {
    let org = s.app.organization(&actor).await?;
    Ok(tagged(org.version, org))
}

/// Replaces the organisation's policies (admins only). Switching to exclusive membership is
/// refused, naming the clients, while some client is in several groups.
#[utoipa::path(put, path = "/api/v1/organization/policies", tag = "organization", operation_id = "updatePolicies",
    params(IfMatchHeader), request_body = Policies,
    responses(
        (status = 200, description = "The organisation with its new policies; `ETag` is its new version.", body = Organization),
        (status = 403, description = "`forbidden`: only admins change the policies.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: exclusive membership while some client is in several groups (`clients` names them).", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn put_policies(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    Json(p): Json<Policies>,
) -> Result<Response, ApiError> {
    let org = s.app.update_policies(actor.admin()?, p, v).await?;
    Ok(tagged(org.version, org))
}
