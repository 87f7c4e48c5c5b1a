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

/// `axum::Json` whose rejection is a problem naming the field, and which refuses control
/// characters in any string (PostgreSQL cannot store NUL; see `names::control_character`).
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        if !is_json {
            return Err(Error::invalid("content-type", "must be application/json").into());
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(Error::new(ErrorCode::PayloadTooLarge, "the request body is too large"))
            } else {
                ApiError(Error::invalid("body", "could not be read"))
            }
        })?;
        if has_escaped_control(&bytes) {
            // Rare: find which field, for the answer.
            let field = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| control_path(&v, String::new()))
                .unwrap_or_else(|| "body".to_string());
            return Err(Error::invalid(field, "must not contain control characters").into());
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Json(value))
    }
}

/// Whether a JSON text escapes a control character in a string (`\u0000`, `\b`, `\f`...); raw
/// ones are not valid JSON and the parser refuses them.
fn has_escaped_control(json: &[u8]) -> bool {
    let mut i = 0;
    while let Some(offset) = json[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        match json.get(at + 1) {
            Some(b'b' | b'f') => return true,
            Some(b'u') => {
                let code = json
                    .get(at + 2..at + 6)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                if code.is_some_and(|c| clientele_domain::names::control_character(&c.to_string()).is_some()) {
                    return true;
                }
            }
            _ => {}
        }
        // Past the escaped character (a `\\` must not be read as the start of another escape).
        i = at + 2;
        if i >= json.len() {
            break;
        }
    }
    false
}

/// The path (`name`, `items[2].note`) of the first string, or key, holding a control character.
fn control_path(value: &serde_json::Value, at: String) -> Option<String> {
    use clientele_domain::names::control_character;
    let field = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        serde_json::Value::String(s) => control_character(s).map(|_| if at.is_empty() { "body".into() } else { at }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| control_path(v, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if control_character(k).is_some() {
                Some(field("key"))
            } else {
                control_path(v, field(k))
            }
        }),
        _ => None,
    }
}

/// Refuses a query string with a control character in a parameter, naming the parameter.
pub fn refuse_controls_in_query(query: Option<&str>) -> Result<(), Error> {
    let Some(query) = query else { return Ok(()) };
    if !query.contains('%') && clientele_domain::names::control_character(query).is_none() {
        return Ok(());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    for (key, value) in pairs {
        if clientele_domain::names::control_character(&key).is_some() {
            return Err(Error::invalid("query", "must not contain control characters"));
        }
        clientele_domain::names::refuse_control_characters(&key, &value)?;
    }
    Ok(())
}

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
