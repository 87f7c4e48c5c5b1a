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

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::Domain(e) => e,
            StoreError::Sqlx(sqlx::Error::Database(db)) => {
                let constraint = db.constraint().unwrap_or_default();
                let message = db.message();
                for &(name, sqlite_fragment, code, field, detail) in VIOLATIONS {
                    if constraint == name || message.contains(sqlite_fragment) {
                        return Error::new(code, detail).with_field(field);
                    }
                }
                Error::internal(format!("database error: {db}"))
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, Some(message))) => {
                for &(_, sqlite_fragment, code, field, detail) in VIOLATIONS {
                    if message.contains(sqlite_fragment) {
                        return Error::new(code, detail).with_field(field);
                    }
                }
                Error::internal(format!("database error: {message} ({failure})"))
            }
            other => Error::internal(other),
        }
    }
}
