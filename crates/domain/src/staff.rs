//! Staff: the people of the firm, and the one organisation-level role distinction the seeds make.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `admin` is the seeds' "business account manager" / "senior account manager": full access to the
/// organisation, the only role that creates, edits and deletes groups. Everyone else is `staff`, and
/// reaches clients through the groups they are assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Admin,
    Staff,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(StaffRole::Admin),
            "staff" => Ok(StaffRole::Staff),
            _ => Err(Error::invalid("role", "must be admin or staff")),
        }
    }
}
