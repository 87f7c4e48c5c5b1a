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

/// The current instant in storage form.
pub fn now_millis() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// Converts a stored instant to a timestamp for display and JSON.
pub fn from_millis(ms: Millis) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Converts a timestamp to storage form.
pub fn to_millis(at: time::OffsetDateTime) -> Millis {
    (at.unix_timestamp_nanos() / 1_000_000) as Millis
}
