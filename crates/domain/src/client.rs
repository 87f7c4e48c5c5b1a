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
