//! Who may see which client, answered from memory.
//!
//! A staff member sees a client exactly when a path staff -> assigned group -> (nested groups)* ->
//! client exists; their role on the client is the strongest along all paths (issue 3). The
//! [`AccessIndex`] keeps, for every group, the bitmap of clients reachable through it (its
//! *closure*), so a check is a few bitmap lookups, and a "My group clients" page walks the
//! name-ordered client list filtered by the union of the staff member's closures.
//!
//! The index is a replica: it is loaded from the database at start and then fed the ordered
//! [`Change`]s that every writing transaction records, so every server process converges on the
//! same state. The decisions themselves (what a role allows) live in [`decide`] and nowhere else.

mod change;
pub mod decide;
mod index;

pub use change::{Change, ChangeRow};
pub use clientele_domain::client::{ClientOrder, ClientSort};
pub use index::{
    AccessIndex, ClientPage, ClientQuery, GrantPath, GroupPage, ListClients, ListGroups, ReportGroup, ReportView,
    Seeing,
};

use serde::{Deserialize, Serialize};

/// A staff member's role in a group, and so on the clients reached through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    /// May view the clients.
    Reader,
    /// May view and edit the clients.
    Editor,
    /// May also add and remove members of the group and of everything nested below it (seed 004's
    /// "Program Account Manager").
    Manager,
}

impl AccessRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Reader => "reader",
            AccessRole::Editor => "editor",
            AccessRole::Manager => "manager",
        }
    }
    pub fn parse(s: &str) -> Option<AccessRole> {
        match s {
            "reader" => Some(AccessRole::Reader),
            "editor" => Some(AccessRole::Editor),
            "manager" => Some(AccessRole::Manager),
            _ => None,
        }
    }
}
