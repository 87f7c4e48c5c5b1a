//! The audit trail: every change, who made it, when, what it was before and after, and why.

use serde::Serialize;

use crate::{AuditEventId, StaffId};

/// Why a change happened, recorded with it. `manual` is a person in the UI or API; the others are
/// the system acting on a person's behalf or on a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Manual,
    Bulk,
    Import,
    RelationshipExpired,
    /// An assignment's `valid_until` passed.
    ValidityEnded,
    GroupDeleted,
    Setup,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Manual => "manual",
            Cause::Bulk => "bulk",
            Cause::Import => "import",
            Cause::RelationshipExpired => "relationship_expired",
            Cause::ValidityEnded => "validity_ended",
            Cause::GroupDeleted => "group_deleted",
            Cause::Setup => "setup",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "manual" => Cause::Manual,
            "bulk" => Cause::Bulk,
            "import" => Cause::Import,
            "relationship_expired" => Cause::RelationshipExpired,
            "validity_ended" => Cause::ValidityEnded,
            "group_deleted" => Cause::GroupDeleted,
            "setup" => Cause::Setup,
            _ => return None,
        })
    }
}

/// One recorded change. `action` is `<object>.<verb>`, e.g. `group.created`, `membership.removed`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: AuditEventId,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// Who made the change; empty for changes the system made by itself (an expiry).
    pub actor: Option<StaffId>,
    pub action: String,
    pub object_type: String,
    pub object_id: i64,
    pub group_id: Option<i64>,
    pub client_id: Option<i64>,
    pub cause: Cause,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// Which part of the audit trail to read: a group's or a client's timeline, or (admins) all of it.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub group: Option<crate::GroupId>,
    pub client: Option<crate::ClientId>,
}
