//! Clientele's domain: the vocabulary (Organization, BusinessUnit, Staff, Client, ClientGroup,
//! Membership, AuditEvent), the per-organisation policies, and the rules that decide what a change
//! may do. Nothing here knows about HTTP, SQL or async: the storage and web crates feed facts in and
//! act on the answers, so every rule can be tested as a plain function.

pub mod audit;
pub mod client;
pub mod entities;
pub mod error;
pub mod group;
pub mod ids;
pub mod logo;
pub mod membership;
pub mod names;
pub mod nesting;
pub mod policy;
pub mod program_account;
pub mod report;
pub mod staff;
pub mod time_entry;

pub use error::{Error, ErrorCode, Result};
pub use ids::*;

/// Milliseconds since the Unix epoch: how every instant is stored, so that both backends compare
/// and index times the same way.
pub type Millis = i64;

/// The current instant in storage form, by the system clock. The service reads the time through
/// its [`Clock`] instead, so that tests can move it.
pub fn now_millis() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// Where the service reads the time. In service it is the system clock; a test's clock can be
/// moved forward, so that a validity period, a token's expiry or a relationship's end passes
/// without the test sleeping (and without it failing on a machine too slow for a short window).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Added to the system clock. Only an [`adjustable`](Clock::adjustable) clock has one.
    offset: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that runs with the system clock until [`advance`](Clock::advance) moves it.
    pub fn adjustable() -> Clock {
        Clock {
            offset: Some(Default::default()),
        }
    }

    pub fn now(&self) -> Millis {
        let offset = self
            .offset
            .as_ref()
            .map_or(0, |o| o.load(std::sync::atomic::Ordering::Relaxed));
        now_millis() + offset
    }

    /// Moves an adjustable clock forward by `by` milliseconds.
    ///
    /// # Panics
    /// On the system clock, which nothing may move.
    pub fn advance(&self, by: Millis) {
        let offset = self.offset.as_ref().expect("only an adjustable clock can be moved");
        offset.fetch_add(by, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Converts a stored instant to a timestamp for display and JSON.
pub fn from_millis(ms: Millis) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Converts a timestamp to storage form.
pub fn to_millis(at: time::OffsetDateTime) -> Millis {
    (at.unix_timestamp_nanos() / 1_000_000) as Millis
}
