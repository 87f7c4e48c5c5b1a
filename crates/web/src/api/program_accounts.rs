//! A client's program accounts (seed 004): seen by whoever sees the client, changed by whoever may
//! change it. They are never members of a group; the client's membership carries them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use clientele_app::program_accounts::ProgramAccountInput;
use clientele_domain::program_account::ProgramAccount;
use clientele_domain::{ClientId, ProgramAccountId};

use super::{IfMatchHeader, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, tagged};
use crate::{ApiError, AppState};

/// A client's program accounts, by number.
#[utoipa::path(get, path = "/api/v1/clients/{id}/program-accounts", tag = "clients", operation_id = "listProgramAccounts",
    params(("id" = i64, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "The client's program accounts.", body = Vec<ProgramAccount>),
        (status = 404, description = "`not_found`: no such client, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ClientId>,
) -> Result<axum::Json<Vec<ProgramAccount>>, ApiError> {
    Ok(axum::Json(s.app.program_accounts(&actor, id).await?))
}

/// Adds a program account to a client (admins, and editors or managers of one of its groups).
#[utoipa::path(post, path = "/api/v1/clients/{id}/program-accounts", tag = "clients", operation_id = "createProgramAccount",
    params(("id" = i64, Path, description = "The client's id.")), request_body = ProgramAccountInput,
    responses(
        (status = 201, description = "The program account; `ETag` is its version.", body = ProgramAccount),
        (status = 403, description = "`forbidden`: you may see this client but not change it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such client, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`already_exists`: a program account with this number exists (an account moves only \
            with its client).", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ClientId>,
    Json(body): Json<ProgramAccountInput>,
) -> Result<Response, ApiError> {
    let account = s.app.create_program_account(&actor, id, body).await?;
    Ok((StatusCode::CREATED, tagged(account.version, account)).into_response())
}

/// One program account.
#[utoipa::path(get, path = "/api/v1/program-accounts/{id}", tag = "clients", operation_id = "getProgramAccount",
    params(("id" = i64, Path, description = "The program account's id.")),
    responses(
        (status = 200, description = "The program account; `ETag` is its version.", body = ProgramAccount),
        (status = 404, description = "`not_found`: no such account, or its client is not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ProgramAccountId>,
) -> Result<Response, ApiError> {
    let account = s.app.program_account(&actor, id).await?;
    Ok(tagged(account.version, account))
}

/// Changes a program account's number, program or status.
#[utoipa::path(patch, path = "/api/v1/program-accounts/{id}", tag = "clients", operation_id = "updateProgramAccount",
    params(("id" = i64, Path, description = "The program account's id."), IfMatchHeader), request_body = ProgramAccountInput,
    responses(
        (status = 200, description = "The program account, changed; `ETag` is its new version.", body = ProgramAccount),
        (status = 403, description = "`forbidden`: you may see its client but not change it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such account, or its client is not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`already_exists`: another program account has this number.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<ProgramAccountId>,
    Json(body): Json<ProgramAccountInput>,
) -> Result<Response, ApiError> {
    let account = s.app.update_program_account(&actor, id, body, v).await?;
    Ok(tagged(account.version, account))
}

/// Removes a program account from its client.
#[utoipa::path(delete, path = "/api/v1/program-accounts/{id}", tag = "clients", operation_id = "deleteProgramAccount",
    params(("id" = i64, Path, description = "The program account's id."), IfMatchHeader),
    responses(
        (status = 204, description = "The program account is gone."),
        (status = 403, description = "`forbidden`: you may see its client but not change it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such account, or its client is not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<ProgramAccountId>,
) -> Result<StatusCode, ApiError> {
    s.app.delete_program_account(&actor, id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}
