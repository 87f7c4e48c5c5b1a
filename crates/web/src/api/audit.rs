use axum::extract::State;
use serde::Deserialize;

use clientele_app::Page;
use clientele_domain::audit::AuditEvent;
use clientele_domain::audit::AuditFilter;
use clientele_domain::{ClientId, GroupId};

use super::PROBLEM_JSON;
use crate::error::Problem;
use crate::extract::{Auth, Q};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this group (its settings and memberships).
    pub group: Option<GroupId>,
    /// Only events about this client.
    pub client: Option<ClientId>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// The audit trail, newest first: who changed what, when, before and after, and why.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "listAuditEvents", params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit events, newest first.", body = Page<AuditEvent>),
        (status = 403, description = "`forbidden`: the whole trail is for admins; others must name a group or client they may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: the `group` or `client` named is not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<AuditQuery>,
) -> Result<axum::Json<Page<AuditEvent>>, ApiError> {
    let filter = AuditFilter {
        group: q.group,
        client: q.client,
    };
    Ok(axum::Json(
        s.app.audit(&actor, &filter, q.cursor.as_deref(), q.limit).await?,
    ))
}
