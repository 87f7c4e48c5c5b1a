//! Request extractors: who is asking (bearer token), `If-Match`, and JSON/query/path parsing whose
//! failures become problem+json naming the field.

use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use clientele_app::Actor;
use clientele_domain::{Error, ErrorCode};

use crate::{ApiError, AppState, REQUEST_ID};

/// The authenticated staff member (`Authorization: Bearer clt_...`).
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "send an API token as `Authorization: Bearer <token>`",
            )
        })?;
        let staff = state.app.authenticate_token(token).await?;
        Ok(Auth(Actor {
            staff_id: staff.id,
            organization_id: staff.organization_id,
            role: staff.role,
            request_id: parts
                .headers
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }))
    }
}

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The version named by `If-Match` (`"v7"`), if the header was sent.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let version = text
            .trim_start_matches("W/")
            .trim_matches('"')
            .strip_prefix('v')
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::invalid("If-Match", "must be an ETag this server sent, like \"v3\""))?;
        Ok(IfMatch(Some(version)))
    }
}

/// An `ETag` header for an object's version.
pub fn etag(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::ETAG,
        HeaderValue::from_str(&format!("\"v{version}\"")).expect("ASCII"),
    )]
}

/// A JSON response carrying the object's `ETag`.
pub fn tagged<T: serde::Serialize>(version: i64, body: T) -> Response {
    (etag(version), axum::Json(body)).into_response()
}

/// `axum::Json` whose rejection is a problem naming the field.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// `axum::extract::Query` whose rejection is a problem.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct Q<T>(pub T);

/// `axum::extract::Path` whose rejection is a problem.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct P<T>(pub T);

/// An optional RFC 3339 instant from a request body, in storage form.
pub fn instant(field: &str, text: Option<&str>) -> Result<Option<clientele_domain::Millis>, clientele_domain::Error> {
    text.map(|text| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(clientele_domain::to_millis)
            .map_err(|_| {
                clientele_domain::Error::invalid(field, "must be an RFC 3339 date-time like 2027-01-31T00:00:00Z")
            })
    })
    .transpose()
}
