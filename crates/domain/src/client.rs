//! Clients and the state that decides whether they may join a group.

use serde::{Deserialize, Serialize};

use crate::{Error, Millis, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    Inactive,
    Closed,
}

/// The business relationship between the firm and the client (seed 004): only an `active` one
/// makes the client available to groups when the organisation requires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Active,
    Expired,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Inactive => "inactive",
            ClientStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(ClientStatus::Active),
            "inactive" => Ok(ClientStatus::Inactive),
            "closed" => Ok(ClientStatus::Closed),
            _ => Err(Error::invalid("status", "must be active, inactive or closed")),
        }
    }
}

impl Relationship {
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Active => "active",
            Relationship::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(Relationship::Active),
            "expired" => Ok(Relationship::Expired),
            _ => Err(Error::invalid("relationship", "must be active or expired")),
        }
    }
}

/// Whether a relationship counts as active at `now`: set active and not past its expiry date.
pub fn relationship_is_active(relationship: Relationship, expires_at: Option<Millis>, now: Millis) -> bool {
    relationship == Relationship::Active && expires_at.is_none_or(|at| at > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relationship_past_its_expiry_date_is_not_active() {
        assert!(relationship_is_active(Relationship::Active, None, 100));
        assert!(relationship_is_active(Relationship::Active, Some(101), 100));
        assert!(!relationship_is_active(Relationship::Active, Some(100), 100));
        assert!(!relationship_is_active(Relationship::Expired, None, 100));
    }
}

/// What a client list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSort {
    /// By name (case and accents folded), then id.
    #[default]
    Name,
    /// By status (active, inactive, closed), then name.
    Status,
}

/// The order of a client list: a column and a direction. Written `name`, `-name`, `status`,
/// `-status` in query strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientOrder {
    pub by: ClientSort,
    pub descending: bool,
}

impl ClientOrder {
    pub fn parse(text: &str) -> Option<ClientOrder> {
        let (descending, column) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let by = match column {
            "name" => ClientSort::Name,
            "status" => ClientSort::Status,
            _ => return None,
        };
        Some(ClientOrder { by, descending })
    }

    pub fn as_str(self) -> &'static str {
        match (self.by, self.descending) {
            (ClientSort::Name, false) => "name",
            (ClientSort::Name, true) => "-name",
            (ClientSort::Status, false) => "status",
            (ClientSort::Status, true) => "-status",
        }
    }
}

/// What a list of clients is narrowed to: the clients list, My group clients, pickers, exports
/// and bulk selections all take this one filter.
#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    /// Part of the name (case ignored), or the exact external reference or e-mail.
    pub text: Option<String>,
    /// Empty means every status.
    pub statuses: Vec<ClientStatus>,
    /// Only clients in at least one of these groups, directly or through groups nested in
    /// them (none: no such filter).
    pub groups: Vec<crate::GroupId>,
    pub business_unit: Option<crate::BusinessUnitId>,
    /// Only the clients that could join a group now (seed 004's "available" clients; the rule
    /// is in `App::clients`).
    pub available: bool,
    /// Only the clients the caller could add to this group now (its "add clients" picker): not
    /// in it already, and under exclusive membership in no group at all.
    pub addable_to: Option<crate::GroupId>,
    pub order: ClientOrder,
}
