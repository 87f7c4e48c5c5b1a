//! Clientele's use cases. Each public method is one transaction: it loads the facts, asks the
//! domain rules, writes, and records the audit trail in the same transaction. The web API, the web
//! UI and the CLI all call these methods and nothing below them.
//!
//! Authorisation is a capability: mutating group operations take an [`Admin`], which only
//! [`Actor::admin`] can make, so a handler cannot forget the check.

use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, OrganizationId, Result, StaffId};
use clientele_store::Db;

pub mod audit;
pub mod auth;
pub mod business_units;
pub mod clients;
pub mod expiry;
pub mod groups;
pub mod idempotency;
pub mod members;
pub mod organizations;
pub mod paging;
pub mod sessions;
pub mod setup;
pub mod staff;

pub use paging::{Cursor, Page};

/// The service: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
}

impl App {
    pub fn new(db: Db) -> App {
        App { db }
    }
}

/// Who is asking: an authenticated, active staff member of one organisation.
#[derive(Debug, Clone)]
pub struct Actor {
    pub staff_id: StaffId,
    pub organization_id: OrganizationId,
    pub role: StaffRole,
    /// Carried into audit events so a change can be traced back to its request's log lines.
    pub request_id: Option<String>,
}

/// Proof that the actor is an admin of their organisation ("business" or "senior" account
/// manager). Only [`Actor::admin`] constructs it.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a>(&'a Actor);

impl Actor {
    pub fn admin(&self) -> Result<Admin<'_>> {
        match self.role {
            StaffRole::Admin => Ok(Admin(self)),
            StaffRole::Staff => Err(Error::forbidden(
                "only admins (business or senior account managers) can do this",
            )),
        }
    }
}

impl Admin<'_> {
    pub fn actor(&self) -> &Actor {
        self.0
    }
}

/// Refuses a write whose `If-Match` names an older version.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(Error::new(
            clientele_domain::ErrorCode::PreconditionFailed,
            format!("the object changed since you read it (your version {v}, current {current}); reload and try again"),
        )),
        _ => Ok(()),
    }
}

/// Converts storage errors at the boundary.
pub(crate) fn st<T>(r: clientele_store::Result<T>) -> Result<T> {
    r.map_err(Error::from)
}
