//! The HTTP edge of the one error type: a single table from [`ErrorCode`] to status, and
//! `application/problem+json` bodies (RFC 9457) with the stable `code`, the human `detail`, the
//! `field` for input errors and the request id. 5xx details are logged once here, never sent.

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use clientele_domain::{Error, ErrorCode};

/// The status each error code answers with. The only such table.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidInput | KindMismatch | IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        NotFound => StatusCode::NOT_FOUND,
        Unauthenticated => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        NameTaken
        | NameReserved
        | AlreadyExists
        | ClientInAnotherGroup
        | RelationshipNotActive
        | NestingCycle
        | NestingTooDeep
        | NotDeletable
        | Conflict
        | IdempotencyKeyInProgress => StatusCode::CONFLICT,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UriTooLong => StatusCode::URI_TOO_LONG,
        HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        TransactionConflict | DatabaseUnavailable | Timeout => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// How many seconds a client should wait before sending the request again, for the codes that
/// say "not now" rather than "not this".
pub fn retry_after(code: ErrorCode) -> Option<u32> {
    use ErrorCode::*;
    match code {
        TransactionConflict | IdempotencyKeyInProgress => Some(1),
        DatabaseUnavailable | Timeout => Some(5),
        _ => None,
    }
}

/// An error on its way out of a handler.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The problem+json body, as documented in the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code.
    pub code: ErrorCode,
    /// The input field at fault, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Details a client can act on: `delete_blockers`, the nesting `path`, conflicting `clients`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is rendered by `render_problems`, which knows the request id.
        let mut response = status_of(self.0.code).into_response();
        response.extensions_mut().insert(ErrorToRender(self.0));
        response
    }
}

#[derive(Clone)]
struct ErrorToRender(Error);

/// The error code of a response a handler failed with, before it is rendered.
pub(crate) fn code_of(response: &Response) -> Option<ErrorCode> {
    response.extensions().get::<ErrorToRender>().map(|e| e.0.code)
}

/// Renders an error response as problem+json, with the request id; logs 5xx details once.
/// Successful responses pass through untouched.
pub fn render(mut response: Response, request_id: Option<&HeaderValue>) -> Response {
    let request_id = request_id.and_then(|v| v.to_str().ok()).map(str::to_string);
    let status = response.status();
    let error = match response.extensions_mut().remove::<ErrorToRender>() {
        Some(ErrorToRender(e)) => e,
        // Errors raised by layers and the router (body too large, unmatched route, wrong method,
        // a malformed request), which come with an empty body. A page the UI rendered itself
        // (an upload over the limit) stays a page, and answers that have a body keep it.
        None if (status.is_client_error() || status.is_server_error())
            && !is_html(&response)
            && response.headers().get(header::CONTENT_TYPE).is_none() =>
        {
            bare_error(status)
        }
        None => return response,
    };
    if error.code == ErrorCode::Internal {
        tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), error = %error.report(), "request failed");
    }
    let detail = if error.code == ErrorCode::Internal {
        "Something went wrong on our side. Quote the request id when you report it.".to_string()
    } else {
        error.detail
    };
    let problem = Problem {
        kind: format!("/problems/{}", error.code.as_str()),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        code: error.code,
        field: error.field,
        request_id,
        extra: error.extra.filter(|_| error.code != ErrorCode::Internal),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (name, value) in response.headers() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            out.headers_mut().insert(name, value.clone());
        }
    }
    if let Some(seconds) = retry_after(problem.code) {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    out
}

/// The problem an empty error answer stands for.
fn bare_error(status: StatusCode) -> Error {
    match status {
        StatusCode::NOT_FOUND => Error::new(ErrorCode::NotFound, "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => Error::new(
            ErrorCode::MethodNotAllowed,
            "this resource does not take that method; the Allow header lists the ones it takes",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Error::new(ErrorCode::PayloadTooLarge, "the request body is too large"),
        StatusCode::URI_TOO_LONG => Error::new(ErrorCode::UriTooLong, "the URI is too long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            Error::new(ErrorCode::HeadersTooLarge, "the request's headers are too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::invalid("content-type", "is not one this resource takes"),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            Error::new(ErrorCode::Timeout, "the request could not be answered in time")
        }
        s if s.is_server_error() => Error::internal(format!("an empty {s} answer")),
        _ => Error::invalid("request", "is malformed"),
    }
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError(Error::new(ErrorCode::PayloadTooLarge, "the request body is too large"));
        }
        // serde's message names the field and the line/column ("missing field `name` at line 1").
        let text = r.body_text();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .map(str::to_string)
            .unwrap_or_else(|| "body".to_string());
        ApiError(Error::invalid(field, text))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError(Error::invalid("query", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError(Error::invalid("path", r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_only_internal_is_5xx() {
        use ErrorCode::*;
        for code in [
            InvalidInput,
            NotFound,
            Unauthenticated,
            Forbidden,
            PreconditionFailed,
            NameTaken,
            NameReserved,
            AlreadyExists,
            ClientInAnotherGroup,
            RelationshipNotActive,
            KindMismatch,
            NestingCycle,
            NestingTooDeep,
            NotDeletable,
            Conflict,
            IdempotencyKeyReused,
            IdempotencyKeyInProgress,
            MethodNotAllowed,
            PayloadTooLarge,
            UriTooLong,
            HeadersTooLarge,
            TransactionConflict,
            DatabaseUnavailable,
            Timeout,
            Internal,
        ] {
            let transient = matches!(code, TransactionConflict | DatabaseUnavailable | Timeout);
            assert_eq!(
                status_of(code).is_server_error(),
                code == Internal || transient,
                "{code:?}"
            );
            assert_eq!(
                status_of(code) == StatusCode::SERVICE_UNAVAILABLE,
                retry_after(code).is_some() && code != IdempotencyKeyInProgress,
                "{code:?}"
            );
        }
    }
}
