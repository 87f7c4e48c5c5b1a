use axum::extract::State;
use serde::Deserialize;

use clientele_app::access::{AccessAnswer, ClientAccess, CountedPage};
use clientele_domain::entities::Client;
use clientele_domain::{ClientId, StaffId};

use super::PROBLEM_JSON;
use crate::api::clients::ClientQuery;
use crate::error::Problem;
use crate::extract::{Auth, Json, P, Q};
use crate::{ApiError, AppState};

/// "My group clients" (seed 003): the clients of every group the caller is assigned to, through
/// any nesting, filtered before paging, with the exact total. Admins see every client.
#[utoipa::path(get, path = "/api/v1/me/clients", tag = "access", operation_id = "listMyClients", params(ClientQuery),
    responses((status = 200, description = "A page of the clients you see, with the total.", body = CountedPage<Client>)))]
pub async fn my_clients(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<ClientQuery>,
) -> Result<axum::Json<CountedPage<Client>>, ApiError> {
    let filter = q.filter()?;
    Ok(axum::Json(
        s.app.my_clients(&actor, &filter, q.cursor.as_deref(), q.limit).await?,
    ))
}

/// What a staff member sees (admins; staff may ask about themselves).
#[utoipa::path(get, path = "/api/v1/staff/{id}/clients", tag = "access", operation_id = "listStaffClients",
    params(("id" = i64, Path, description = "The staff member's id."), ClientQuery),
    responses(
        (status = 200, description = "A page of the clients they see, with the total.", body = CountedPage<Client>),
        (status = 403, description = "`forbidden`: only admins may ask about other staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn staff_clients(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<StaffId>,
    Q(q): Q<ClientQuery>,
) -> Result<axum::Json<CountedPage<Client>>, ApiError> {
    let filter = q.filter()?;
    Ok(axum::Json(
        s.app
            .staff_clients(&actor, id, &filter, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The staff member asked about.
    pub staff: StaffId,
    /// The client asked about.
    pub client: ClientId,
}

/// May this staff member see this client? With the role and the paths that grant it.
#[utoipa::path(get, path = "/api/v1/access/check", tag = "access", operation_id = "checkAccess", params(CheckQuery),
    responses(
        (status = 200, description = "The answer, with the role and the paths that grant it.", body = AccessAnswer),
        (status = 403, description = "`forbidden`: only admins may ask about other staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member in the organisation.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn check(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<CheckQuery>,
) -> Result<axum::Json<AccessAnswer>, ApiError> {
    Ok(axum::Json(s.app.check_access(&actor, q.staff, q.client).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatch {
    /// Up to 10000 (staff, client) pairs.
    pub checks: Vec<CheckQuery>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckResults {
    pub results: Vec<AccessAnswer>,
}

/// Many checks in one call, answered in order.
#[utoipa::path(post, path = "/api/v1/access/check", tag = "access", operation_id = "checkAccessBatch",
    request_body = CheckBatch,
    responses(
        (status = 200, description = "One answer per check, in order.", body = CheckResults),
        (status = 403, description = "`forbidden`: only admins may ask about other staff.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: a staff member the checks name is not in the organisation.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn check_batch(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(b): Json<CheckBatch>,
) -> Result<axum::Json<CheckResults>, ApiError> {
    let pairs: Vec<(StaffId, ClientId)> = b.checks.iter().map(|c| (c.staff, c.client)).collect();
    Ok(axum::Json(CheckResults {
        results: s.app.check_access_batch(&actor, &pairs).await?,
    }))
}

/// Who can see this client, and why (admins).
#[utoipa::path(get, path = "/api/v1/clients/{id}/access", tag = "access", operation_id = "getClientAccess",
    params(("id" = i64, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "Everyone who can see the client, with their roles and paths.", body = ClientAccess),
        (status = 403, description = "`forbidden`: only admins ask who can see a client.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such client.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn client_access(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ClientId>,
) -> Result<axum::Json<ClientAccess>, ApiError> {
    Ok(axum::Json(s.app.client_access(&actor, id).await?))
}
