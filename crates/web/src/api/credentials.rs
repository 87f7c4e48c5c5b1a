//! Credentials: one's own password, API tokens, and one-time password resets (issue 17).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::passwords::IssuedReset;
use clientele_app::tokens::{ApiToken, NewToken};
use clientele_domain::StaffId;

use super::PROBLEM_JSON;
use crate::error::Problem;
use crate::extract::{Auth, Json, P, Q};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters, not one of the 10,000 most common passwords, not holding your
    /// e-mail address.
    pub new_password: String,
}

/// Changes the caller's own password. Every session of theirs ends (API tokens stay).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "credentials", operation_id = "changeMyPassword",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every session of the caller ended."),
        (status = 422, description = "`invalid_input`: the current password is wrong (`current_password`), or the new one breaks a rule (`password`).", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn change_password(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(b): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    s.app
        .change_password(&actor, &b.current_password, &b.new_password, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whose tokens: the caller's, or (admins) a staff member's.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenOwner {
    /// A staff member's id (admins); default the caller.
    pub staff_id: Option<StaffId>,
}

/// API tokens, newest first, without their secret.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "credentials", operation_id = "listTokens", params(TokenOwner),
    responses(
        (status = 200, description = "The tokens, revoked and expired ones included.", body = Vec<ApiToken>),
        (status = 403, description = "`forbidden`: only admins list other staff's tokens.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list_tokens(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<TokenOwner>,
) -> Result<axum::Json<Vec<ApiToken>>, ApiError> {
    Ok(axum::Json(s.app.api_tokens(&actor, q.staff_id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for ("billing export", "Ann's laptop").
    pub name: String,
    /// When it stops working (RFC 3339); none: until revoked.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Admins: a token for this staff member; default the caller.
    #[serde(default)]
    pub staff_id: Option<StaffId>,
}

/// Creates an API token; the answer is the only time the token is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "credentials", operation_id = "createToken", request_body = TokenRequest,
    responses(
        (status = 201, description = "The token, shown this once.", body = NewToken),
        (status = 403, description = "`forbidden`: only admins create tokens for other staff; deactivated staff get none.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_token(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(b): Json<TokenRequest>,
) -> Result<Response, ApiError> {
    let expires_at = crate::extract::instant("expires_at", b.expires_at.as_deref())?;
    let token = s.app.create_api_token(&actor, b.staff_id, &b.name, expires_at).await?;
    Ok((StatusCode::CREATED, axum::Json(token)).into_response())
}

/// Revokes an API token at once, on every server.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "credentials", operation_id = "revokeToken",
    params(("id" = i64, Path, description = "The token's id.")),
    responses(
        (status = 200, description = "The token, revoked.", body = ApiToken),
        (status = 404, description = "`not_found`: no such token among the ones you may manage.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<i64>,
) -> Result<axum::Json<ApiToken>, ApiError> {
    Ok(axum::Json(s.app.revoke_api_token(&actor, id).await?))
}

/// Issues a one-time password reset for a staff member (admins). The code is shown once; the
/// staff member sets a new password with it within 24 hours, at `/reset-password` or through
/// `POST /api/v1/password-resets`. Codes issued before for the same person stop working.
#[utoipa::path(post, path = "/api/v1/staff/{id}/password-reset", tag = "credentials", operation_id = "issuePasswordReset",
    params(("id" = i64, Path, description = "The staff member's id.")),
    responses(
        (status = 201, description = "The reset, with its one-time code.", body = IssuedReset),
        (status = 403, description = "`forbidden`: only admins issue resets.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such staff member.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`conflict`: the staff member is deactivated.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn issue_reset(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<StaffId>,
) -> Result<Response, ApiError> {
    let reset = s.app.issue_password_reset(actor.admin()?, id).await?;
    Ok((StatusCode::CREATED, axum::Json(reset)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRedemption {
    /// The code an admin issued.
    pub code: String,
    /// The new password (the same rules as a change).
    pub new_password: String,
}

/// Sets a new password with a reset code, once. Needs no token: the code is the credential.
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "credentials", operation_id = "redeemPasswordReset",
    request_body = ResetRedemption, security(()),
    responses(
        (status = 204, description = "The password is set; every session of the staff member ended."),
        (status = 422, description = "`invalid_input`: the code is not valid (used, expired, replaced: `code`) or the password breaks a rule (`password`).", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn redeem_reset(State(s): State<AppState>, Json(b): Json<ResetRedemption>) -> Result<StatusCode, ApiError> {
    s.app.redeem_password_reset(&b.code, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
