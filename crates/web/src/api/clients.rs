use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};

use clientele_app::Page;
use clientele_app::clients::ClientInput;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::{ClientOrder, ClientStatus, Relationship};
use clientele_domain::entities::{Client, GroupRef};
use clientele_domain::{BusinessUnitId, ClientId, Error, GroupId, to_millis};

use super::{IfMatchHeader, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, IfMatch, Json, P, Q, tagged};
use crate::{ApiError, AppState};

/// A client as sent by API callers. On PATCH every field is optional; `null` clears a nullable
/// field, and an empty string clears a text field.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    pub name: Option<String>,
    pub external_ref: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: Option<ClientStatus>,
    pub relationship: Option<Relationship>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub relationship_expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub business_unit_id: Option<Option<BusinessUnitId>>,
    pub notes: Option<String>,
}

/// Tells "sent as null" (`Some(None)`) from "not sent" (`None`, via `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl ClientBody {
    fn into_input(self) -> Result<ClientInput, Error> {
        let expires = match self.relationship_expires_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(text)) => {
                let at = time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).map_err(
                    |_| {
                        Error::invalid(
                            "relationship_expires_at",
                            "must be an RFC 3339 date-time like 2026-12-31T00:00:00Z",
                        )
                    },
                )?;
                Some(Some(to_millis(at)))
            }
        };
        Ok(ClientInput {
            name: self.name,
            external_ref: self.external_ref,
            email: self.email,
            phone: self.phone,
            status: self.status,
            relationship: self.relationship,
            relationship_expires_at: expires,
            business_unit_id: self.business_unit_id,
            notes: self.notes,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Part of the name (case ignored), or a client's exact external reference or e-mail.
    pub q: Option<String>,
    /// Comma-separated statuses (`active,inactive,closed`). Default: `active` only.
    pub status: Option<String>,
    /// Shorthand for every status (seed 003's "include inactive and closed clients").
    #[serde(default)]
    pub include_inactive: bool,
    /// Only clients in this group, directly or through the groups nested in it.
    pub group: Option<GroupId>,
    /// Only clients of this business unit.
    pub business_unit: Option<BusinessUnitId>,
    /// The order: `name` (the default), `-name`, `status` or `-status` (active, inactive,
    /// closed; then by name).
    pub sort: Option<String>,
    /// Only "available" clients (seed 004): those that could join a group now: in an active
    /// relationship when the organisation requires one, and under exclusive membership in no
    /// group. Admins and staff who manage a
    /// group may list them (for a manager: the clients they could add to a group they manage).
    #[serde(default)]
    pub available: bool,
    /// `next_cursor` or `prev_cursor` from another page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

impl ClientQuery {
    pub(crate) fn filter(&self) -> Result<ClientFilter, Error> {
        let statuses = match (&self.status, self.include_inactive) {
            (Some(list), _) => list
                .split(',')
                .map(|s| ClientStatus::parse(s.trim()).map_err(|e| e.with_field("status")))
                .collect::<Result<_, _>>()?,
            (None, true) => Vec::new(),
            (None, false) => vec![ClientStatus::Active],
        };
        let order = match self.sort.as_deref() {
            None => ClientOrder::default(),
            Some(text) => ClientOrder::parse(text)
                .ok_or_else(|| Error::invalid("sort", "must be name, -name, status or -status"))?,
        };
        Ok(ClientFilter {
            text: self.q.clone().filter(|q| !q.trim().is_empty()),
            statuses,
            groups: self.group.into_iter().collect(),
            business_unit: self.business_unit,
            available: self.available,
            addable_to: None,
            order,
        })
    }
}

/// Clients by name, filtered by text, status, group and business unit before paging.
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", operation_id = "listClients", params(ClientQuery),
    responses(
        (status = 200, description = "A page of clients.", body = Page<Client>),
        (status = 403, description = "`forbidden`: `available=true` from a staff member who manages no group.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Q(q): Q<ClientQuery>,
) -> Result<axum::Json<Page<Client>>, ApiError> {
    let filter = q.filter()?;
    Ok(axum::Json(
        s.app
            .clients(&actor, &filter, q.cursor.as_deref(), q.limit)
            .await?
            .into(),
    ))
}

/// Creates a client (admins only).
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", operation_id = "createClient", request_body = ClientBody,
    responses(
        (status = 201, description = "The client, created; `ETag` is its version.", body = Client),
        (status = 403, description = "`forbidden`: only admins create clients.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`already_exists`: another client has this external reference; or the \
            `Idempotency-Key` names a request still running.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ClientBody>,
) -> Result<Response, ApiError> {
    let client = s.app.create_client(actor.admin()?, body.into_input()?).await?;
    Ok((StatusCode::CREATED, tagged(client.version, client)).into_response())
}

/// One client.
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", operation_id = "getClient",
    params(("id" = i64, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "The client; `ETag` is its version.", body = Client),
        (status = 404, description = "`not_found`: no such client, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_one(State(s): State<AppState>, Auth(actor): Auth, P(id): P<ClientId>) -> Result<Response, ApiError> {
    let client = s.app.client(&actor, id).await?;
    Ok(tagged(client.version, client))
}

/// Changes a client. Setting the relationship to `expired` (or an expiry date in the past) takes
/// the client out of every group when the organisation requires active relationships.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", operation_id = "updateClient",
    params(("id" = i64, Path, description = "The client's id."), IfMatchHeader), request_body = ClientBody,
    responses(
        (status = 200, description = "The client, changed; `ETag` is its new version.", body = Client),
        (status = 403, description = "`forbidden`: you may see this client but not edit it.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`not_found`: no such client, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "`already_exists`: another client has this external reference.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = "`precondition_failed`: `If-Match` names an older version.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn update(
    State(s): State<AppState>,
    Auth(actor): Auth,
    IfMatch(v): IfMatch,
    P(id): P<ClientId>,
    Json(body): Json<ClientBody>,
) -> Result<Response, ApiError> {
    let client = s.app.update_client(&actor, id, body.into_input()?, v).await?;
    Ok(tagged(client.version, client))
}

/// The groups the client is in.
#[utoipa::path(get, path = "/api/v1/clients/{id}/groups", tag = "clients", operation_id = "listClientGroups",
    params(("id" = i64, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "The groups you may see that the client is in.", body = Vec<GroupRef>),
        (status = 404, description = "`not_found`: no such client, or not one you may see.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn groups_of_client(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(id): P<ClientId>,
) -> Result<axum::Json<Vec<GroupRef>>, ApiError> {
    Ok(axum::Json(s.app.groups_of_client(&actor, id).await?))
}
