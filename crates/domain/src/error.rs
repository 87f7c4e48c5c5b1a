//! The one error type of Clientele. Every failure carries a stable machine [`ErrorCode`], a human
//! sentence, and for input errors the field at fault. The web crate maps codes to HTTP statuses in a
//! single table; the CLI prints the sentence.

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable, documented error codes. Renaming one is a breaking API change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field failed validation (missing, too long, wrong format).
    InvalidInput,
    /// No such object, or not visible to the caller.
    NotFound,
    /// No valid credentials.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// `If-Match` named a version that is no longer current.
    PreconditionFailed,
    /// The name (of a group, business unit) is already used by a live object.
    NameTaken,
    /// The group name belonged to a deleted group and the organisation never reuses names.
    NameReserved,
    /// An e-mail or external reference is already used in the organisation.
    AlreadyExists,
    /// Exclusive membership: the client already belongs to another group.
    ClientInAnotherGroup,
    /// The client's relationship is not active, and the organisation requires it.
    RelationshipNotActive,
    /// The member is of the wrong kind for the group (a client in a group of groups, ...).
    KindMismatch,
    /// Nesting would make a group its own ancestor.
    NestingCycle,
    /// Nesting would exceed the organisation's maximum depth.
    NestingTooDeep,
    /// The group cannot be deleted now; `blockers` says why.
    NotDeletable,
    /// The change conflicts with existing data (e.g. switching to exclusive mode while clients are
    /// in several groups).
    Conflict,
    /// The same `Idempotency-Key` was reused for a different request.
    IdempotencyKeyReused,
    /// Another request with the same `Idempotency-Key` is still running, or its answer was lost.
    IdempotencyKeyInProgress,
    /// The resource does not take this HTTP method.
    MethodNotAllowed,
    /// The request body is too large.
    PayloadTooLarge,
    /// The request's URI is too long.
    UriTooLong,
    /// The request's headers are too large.
    HeadersTooLarge,
    /// The database gave up this transaction because of a concurrent one (a deadlock or a
    /// serialization failure) and the retries ran out; sending the request again is safe.
    TransactionConflict,
    /// The database cannot be reached, or did not answer in time (an outage, a stalled lock
    /// holder); sending the request again later is safe.
    DatabaseUnavailable,
    /// The request took longer than the server allows.
    Timeout,
    /// Something failed on our side; details are in the server log under the request id.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::NameReserved => "name_reserved",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::ClientInAnotherGroup => "client_in_another_group",
            ErrorCode::RelationshipNotActive => "relationship_not_active",
            ErrorCode::KindMismatch => "kind_mismatch",
            ErrorCode::NestingCycle => "nesting_cycle",
            ErrorCode::NestingTooDeep => "nesting_too_deep",
            ErrorCode::NotDeletable => "not_deletable",
            ErrorCode::Conflict => "conflict",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::IdempotencyKeyInProgress => "idempotency_key_in_progress",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::TransactionConflict => "transaction_conflict",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct Error {
    pub code: ErrorCode,
    pub detail: String,
    /// The input field at fault, for input errors.
    pub field: Option<String>,
    /// Structured details a client can act on (delete blockers, the nesting path, ...).
    pub extra: Option<serde_json::Value>,
    /// What failed underneath (a driver's error, an I/O error), kept whole for the log: the
    /// server logs [`Error::report`] once, and never sends it.
    #[source]
    pub cause: Option<ErrorCause>,
}

/// The underlying failure of an [`Error`], shared so that the error stays cheap to clone.
pub type ErrorCause = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Two errors are the same answer when everything but their cause agrees.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        (self.code, &self.detail, &self.field, &self.extra) == (other.code, &other.detail, &other.field, &other.extra)
    }
}

impl Error {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Error {
            code,
            detail: detail.into(),
            field: None,
            extra: None,
            cause: None,
        }
    }

    /// A field failed a rule: `invalid("name", "must not be empty")`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        let field = field.into();
        let rule = rule.into();
        Error {
            code: ErrorCode::InvalidInput,
            detail: format!("{field}: {rule}"),
            field: Some(field),
            extra: None,
            cause: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Error::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Error::new(ErrorCode::Forbidden, why)
    }

    /// An unexpected failure. The detail is for the log only; the web face never sends it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::new(ErrorCode::Internal, detail.to_string())
    }

    /// A failure of the database rather than of the request: a retry of the same request may pass.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::TransactionConflict | ErrorCode::DatabaseUnavailable
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }

    /// Keeps the failure underneath this one, for the log.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(std::sync::Arc::new(cause));
        self
    }

    /// The error and every cause under it, outermost first, as one line for the log:
    /// "database error: error returned from database: disk I/O error".
    pub fn report(&self) -> String {
        let mut line = self.detail.clone();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            next = cause.source();
        }
        line
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;

    #[test]
    fn the_log_line_names_every_cause_and_the_answer_none() {
        let io = std::io::Error::other("disk full");
        let error = Error::internal("writing the CSV failed").caused_by(io);
        assert_eq!(error.report(), "writing the CSV failed: disk full");
        assert_eq!(
            error.to_string(),
            "writing the CSV failed",
            "the answer's detail carries no cause"
        );
        assert!(std::error::Error::source(&error).is_some());
        // The same answer with or without its cause.
        assert_eq!(error, Error::internal("writing the CSV failed"));
    }
}
