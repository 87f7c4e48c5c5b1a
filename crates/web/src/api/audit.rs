use axum::extract::State;
use serde::Deserialize;

use clientele_app::Page;
use clientele_domain::audit::AuditEvent;
use clientele_domain::{ClientId, GroupId};
use clientele_store::audit::AuditFilter;

use crate::extract::{Auth, Q};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only events about this group (its settings and memberships).
    pub group: Option<GroupId>,
    /// Only events about this client.
    pub client: Option<ClientId>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The audit trail, newest first: who changed what, when, before and after, and why.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = crate::error::Problem)))]
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
