//! Client groups: their kinds and the rules for deleting them.

use serde::{Deserialize, Serialize};

use crate::policy::{DeletePolicy, Policies};
use crate::{Error, Result};

/// What a group holds: clients ("Group of Clients") or other groups ("Group of Client Groups",
/// seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Clients,
    Groups,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Clients => "clients",
            GroupKind::Groups => "groups",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "clients" => Ok(GroupKind::Clients),
            "groups" => Ok(GroupKind::Groups),
            _ => Err(Error::invalid("kind", "must be clients or groups")),
        }
    }
}

/// One reason a group cannot be deleted right now. The UI greys the delete button out and shows
/// `message` (seed 000: "some delete icons are grayed out").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeleteBlocker {
    /// Stable code: `has_members`, `nested_in_groups`, `protected`, `being_deleted`.
    pub code: String,
    pub message: String,
}

/// The facts about a group that deletion depends on.
#[derive(Debug, Clone, Default)]
pub struct DeletionFacts {
    /// Clients (kind `clients`) or child groups (kind `groups`) currently in the group.
    pub member_count: i64,
    /// Names of the groups of groups this group is nested in.
    pub parent_names: Vec<String>,
    /// An admin marked the group as protected from deletion.
    pub protected: bool,
    /// A process request already deleting the group (detaching its members batch by batch).
    pub being_deleted_by: Option<i64>,
}

/// Why the group cannot be deleted under the organisation's policies; empty means it can.
///
/// Under `only_empty` (seed 001) a group with members, or one that is itself a member of a group of
/// groups, must be emptied and detached first. Under `detach_members` (seed 002) deletion removes
/// those memberships and never the clients, so only protection blocks it.
pub fn delete_blockers(policies: &Policies, facts: &DeletionFacts) -> Vec<DeleteBlocker> {
    let mut blockers = Vec::new();
    if let Some(request) = facts.being_deleted_by {
        blockers.push(DeleteBlocker {
            code: "being_deleted".into(),
            message: format!(
                "This group is already being deleted by process request {request}; it disappears once its members are detached."
            ),
        });
    }
    if facts.protected {
        blockers.push(DeleteBlocker {
            code: "protected".into(),
            message: "This group is protected from deletion; an admin must lift the protection first.".into(),
        });
    }
    if policies.delete_policy == DeletePolicy::OnlyEmpty {
        if facts.member_count > 0 {
            blockers.push(DeleteBlocker {
                code: "has_members".into(),
                message: format!(
                    "This group has {} member{}; only empty groups can be deleted. Remove the members first.",
                    facts.member_count,
                    if facts.member_count == 1 { "" } else { "s" }
                ),
            });
        }
        if !facts.parent_names.is_empty() {
            blockers.push(DeleteBlocker {
                code: "nested_in_groups".into(),
                message: format!(
                    "This group is a member of the group of client groups {}; remove it from there first.",
                    quoted_list(&facts.parent_names)
                ),
            });
        }
    }
    blockers
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// What a group list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupSort {
    /// By name (case and accents folded), then id.
    #[default]
    Name,
    /// By how many members the group holds directly, then name.
    Members,
}

/// The order of a group list. Written `name`, `-name`, `members`, `-members` in query strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupOrder {
    pub by: GroupSort,
    pub descending: bool,
}

impl GroupOrder {
    pub fn parse(text: &str) -> Option<GroupOrder> {
        let (descending, column) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let by = match column {
            "name" => GroupSort::Name,
            "members" => GroupSort::Members,
            _ => return None,
        };
        Some(GroupOrder { by, descending })
    }

    pub fn as_str(self) -> &'static str {
        match (self.by, self.descending) {
            (GroupSort::Name, false) => "name",
            (GroupSort::Name, true) => "-name",
            (GroupSort::Members, false) => "members",
            (GroupSort::Members, true) => "-members",
        }
    }

    /// A cursor key for a group in this order: its name key, preceded by its member count
    /// (zero-padded, so keys compare like the counts) when sorting by members.
    pub fn key(self, member_count: i64, name_key: &str) -> String {
        match self.by {
            GroupSort::Name => name_key.to_string(),
            GroupSort::Members => format!("{member_count:020}|{name_key}"),
        }
    }

    /// A cursor key read back: the member count (0 when sorting by name) and the name key.
    pub fn split_key(self, key: &str) -> (i64, &str) {
        match self.by {
            GroupSort::Name => (0, key),
            GroupSort::Members => match key.split_once('|') {
                Some((count, name)) => (count.parse().unwrap_or(0), name),
                None => (0, key),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(delete_policy: DeletePolicy) -> Policies {
        Policies {
            delete_policy,
            ..Policies::default()
        }
    }

    #[test]
    fn seed_001_a_group_with_clients_cannot_be_deleted() {
        let facts = DeletionFacts {
            member_count: 3,
            ..Default::default()
        };
        let blockers = delete_blockers(&policies(DeletePolicy::OnlyEmpty), &facts);
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].code, "has_members");
        assert!(blockers[0].message.contains("3 members"));
    }

    #[test]
    fn seed_002_deleting_detaches_members_so_members_do_not_block() {
        let facts = DeletionFacts {
            member_count: 3,
            parent_names: vec!["All".into()],
            ..Default::default()
        };
        assert!(delete_blockers(&policies(DeletePolicy::DetachMembers), &facts).is_empty());
    }

    #[test]
    fn seed_000_a_group_inside_a_group_of_groups_says_which_one() {
        let facts = DeletionFacts {
            parent_names: vec!["West region".into()],
            ..Default::default()
        };
        let blockers = delete_blockers(&policies(DeletePolicy::OnlyEmpty), &facts);
        assert_eq!(blockers[0].code, "nested_in_groups");
        assert!(blockers[0].message.contains("\"West region\""));
    }

    #[test]
    fn protection_blocks_under_every_policy() {
        let facts = DeletionFacts {
            protected: true,
            ..Default::default()
        };
        for p in [DeletePolicy::OnlyEmpty, DeletePolicy::DetachMembers] {
            assert_eq!(delete_blockers(&policies(p), &facts)[0].code, "protected");
        }
    }

    #[test]
    fn seed_004_a_group_being_deleted_says_by_which_process_request() {
        let facts = DeletionFacts {
            being_deleted_by: Some(17),
            ..Default::default()
        };
        let blockers = delete_blockers(&policies(DeletePolicy::DetachMembers), &facts);
        assert_eq!(blockers[0].code, "being_deleted");
        assert!(
            blockers[0].message.contains("process request 17"),
            "{}",
            blockers[0].message
        );
    }
}

/// A member named by id: a client, or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum MemberRef {
    Client(crate::ClientId),
    Group(crate::GroupId),
}

/// What a list of groups is narrowed to (the groups list, pickers, exports).
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub kind: Option<GroupKind>,
    pub business_unit: Option<crate::BusinessUnitId>,
    pub text: Option<String>,
    /// Only the groups nested directly in this one (a group of client groups' members).
    pub within: Option<crate::GroupId>,
    /// The order of the list (not a filter, but every list that filters also sorts).
    pub order: GroupOrder,
}
