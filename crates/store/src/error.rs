//! Storage failures, and the one place where database constraint violations become domain errors.
//! PostgreSQL names the violated constraint; SQLite names the columns of the index; both are mapped
//! here so that a race that slips past a check in code still gets a clear answer.

use clientele_domain::{Error, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Domain(#[from] Error),
    /// From SQLite's fast lane (`fast.rs`).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// (PostgreSQL constraint name, SQLite message fragment, code, field, detail)
const VIOLATIONS: &[(&str, &str, ErrorCode, &str, &str)] = &[
    (
        "client_groups_name_key",
        "client_groups.organization_id, client_groups.name_key",
        ErrorCode::NameTaken,
        "name",
        "a client group with this name already exists",
    ),
    (
        "group_clients_exclusive_key",
        "group_clients.exclusive_client_id",
        ErrorCode::ClientInAnotherGroup,
        "client_id",
        "the client already belongs to another group",
    ),
    (
        "clients_external_ref_key",
        "clients.organization_id, clients.external_ref",
        ErrorCode::AlreadyExists,
        "external_ref",
        "another client has this external reference",
    ),
    (
        "staff_email_key",
        "staff.organization_id, staff.email",
        ErrorCode::AlreadyExists,
        "email",
        "another staff member has this e-mail address",
    ),
    (
        "program_accounts_number_key",
        "program_accounts.organization_id, program_accounts.number_key",
        ErrorCode::AlreadyExists,
        "number",
        "another client has a program account with this number",
    ),
    (
        "business_units_name_key",
        "business_units.organization_id, business_units.name_key",
        ErrorCode::NameTaken,
        "name",
        "a business unit with this name already exists",
    ),
    (
        "saved_reports_name_key",
        "saved_reports.organization_id, saved_reports.owner_id, saved_reports.name_key",
        ErrorCode::NameTaken,
        "name",
        "you already have a saved report with this name",
    ),
];

/// The failures that are the database's and not the request's: the same request may pass when
/// sent again. A deadlock or serialization failure rolled the transaction back, so the use case
/// may run again at once (`TransactionConflict`); the others (an outage, a pool with no free
/// connection, a lock or statement timeout, a connection the server cut) say to wait a little
/// (`DatabaseUnavailable`).
fn transient(e: &sqlx::Error) -> Option<Error> {
    let unavailable = |why: &str| {
        Some(Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("the database {why}; try again shortly"),
        ))
    };
    match e {
        sqlx::Error::PoolTimedOut => unavailable("has no free connection"),
        sqlx::Error::PoolClosed => unavailable("is shutting down"),
        // A connection that broke mid-conversation (the server went away while sqlx was setting
        // it up shows as a protocol error) is the database being unreachable, not a bad request.
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => {
            unavailable("cannot be reached")
        }
        sqlx::Error::Database(db) => match db.code().as_deref().unwrap_or_default() {
            // serialization_failure, deadlock_detected
            "40001" | "40P01" => Some(Error::new(
                ErrorCode::TransactionConflict,
                "a concurrent change got in the way of this one; send the request again",
            )),
            // lock_not_available (lock_timeout), query_canceled (statement_timeout)
            "55P03" | "57014" => unavailable("is busy"),
            // admin_shutdown, crash_shutdown, cannot_connect_now, idle_in_transaction_session_timeout
            "57P01" | "57P02" | "57P03" | "25P03" => unavailable("cannot be reached"),
            code if code.starts_with("08") => unavailable("cannot be reached"),
            // SQLite: SQLITE_BUSY and its extended codes, after busy_timeout ran out
            "5" | "261" | "517" | "773" => unavailable("is busy"),
            _ => None,
        },
        _ => None,
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        let e = match e {
            StoreError::Domain(domain) => return domain,
            other => other,
        };
        if let StoreError::Sqlx(sqlx) = &e
            && let Some(error) = transient(sqlx)
        {
            tracing::warn!(error = %sqlx, "database unavailable or contended");
            return error.caused_by(e);
        }
        // A constraint the check in code raced past: the answer the check would have given.
        let violated = match &e {
            StoreError::Sqlx(sqlx::Error::Database(db)) => {
                let constraint = db.constraint().unwrap_or_default();
                let message = db.message();
                VIOLATIONS.iter().find(|v| constraint == v.0 || message.contains(v.1))
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(message))) => {
                VIOLATIONS.iter().find(|v| message.contains(v.1))
            }
            _ => None,
        };
        if let Some(&(_, _, code, field, detail)) = violated {
            return Error::new(code, detail).with_field(field);
        }
        if let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) = &e
            && matches!(
                failure.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        {
            return Error::new(
                ErrorCode::DatabaseUnavailable,
                "the database is busy; try again shortly",
            )
            .caused_by(e);
        }
        Error::internal("database error").caused_by(e)
    }
}
