//! Clientele's use cases. Each public method is one transaction: it loads the facts, asks the
//! domain rules, writes, and records the audit trail in the same transaction. The web API, the web
//! UI and the CLI all call these methods and nothing below them.
//!
//! Authorisation: admin-only operations take an [`Admin`] capability, which only [`Actor::admin`]
//! can make, so a handler cannot forget the check; finer decisions (may this staff member see or
//! edit this client, manage this group's members) are asked of `clientele_access::decide` inside
//! the use case, against the in-memory access index (see `access.rs`).

use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, OrganizationId, Result, StaffId};
use clientele_store::Db;

pub mod access;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod business_units;
pub mod cell;
pub mod clients;
mod credentials;
pub mod expiry;
pub mod group_deletion;
pub mod groups;
pub mod health;
pub mod idempotency;
pub mod members;
pub mod organizations;
pub mod paging;
pub mod passwords;
pub mod process_requests;
pub mod program_accounts;
pub mod reports;
pub mod sessions;
pub mod setup;
pub mod staff;
pub mod tokens;

pub use paging::{Cursor, Page};

/// The service: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
    /// Who sees which client, kept in step with the database's change log.
    pub access: std::sync::Arc<clientele_access::AccessIndex>,
    /// One catch-up with the change log at a time.
    sync_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Staff and their tokens, invalidated through the change log like the access index.
    staff_cache: std::sync::Arc<credentials::StaffCache>,
    /// Time entries in memory for reports.
    pub reports: std::sync::Arc<reports::Reports>,
    /// Set when catching up after a commit failed; the next request catches up first.
    catch_up_owed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// How many password checks run at once, and where.
    hashing: std::sync::Arc<sessions::HashingGate>,
    hashing_threads: std::sync::Arc<sessions::HashingThreads>,
    /// Where every use case reads the time.
    pub clock: clientele_domain::Clock,
}

impl App {
    /// Opens the service on a migrated database and loads the access index from it.
    pub async fn open(db: Db) -> Result<App> {
        App::open_with_clock(db, clientele_domain::Clock::system()).await
    }

    /// [`App::open`] with a clock of the caller's (tests move it forward instead of sleeping).
    pub async fn open_with_clock(db: Db, clock: clientele_domain::Clock) -> Result<App> {
        let app = App {
            db,
            access: Default::default(),
            sync_lock: Default::default(),
            staff_cache: Default::default(),
            reports: Default::default(),
            catch_up_owed: Default::default(),
            hashing: Default::default(),
            hashing_threads: Default::default(),
            clock,
        };
        app.reload_access().await?;
        Ok(app)
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
        clientele_access::decide::require_admin(self.viewer())?;
        Ok(Admin(self))
    }

    /// The actor as the access rules see them.
    pub fn viewer(&self) -> clientele_access::decide::Viewer {
        clientele_access::decide::Viewer {
            staff: self.staff_id,
            admin: self.role == StaffRole::Admin,
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

/// How many times a write use case runs in all when the database keeps rolling it back because of
/// a concurrent transaction.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Runs a write use case again when the database rolled its transaction back because of a
/// concurrent one (PostgreSQL's deadlock detector or a serialization failure): nothing of it
/// committed, the caller did nothing wrong, and the next try usually passes at once. Each wait is
/// twice the last (10 ms first) with jitter, so racers do not collide again in step. Other errors,
/// and the last conflict, are the answer.
pub(crate) async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut wait_ms = 10u64;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if e.code == clientele_domain::ErrorCode::TransactionConflict && tries < CONFLICT_ATTEMPTS => {
                tracing::debug!(tries, "transaction rolled back by a concurrent one; running it again");
                let jitter = rand::random_range(0..=wait_ms);
                tokio::time::sleep(std::time::Duration::from_millis(wait_ms / 2 + jitter)).await;
                wait_ms *= 2;
                tries += 1;
            }
            answer => return answer,
        }
    }
}
