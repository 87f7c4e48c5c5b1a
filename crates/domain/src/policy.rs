//! Per-organisation policies: where the firms in the seeds disagree, each organisation chooses.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Whether a client may be in many groups (seeds 001, 002, 003) or in one only (seed 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipMode {
    Multiple,
    Exclusive,
}

/// What deleting a group with members does: refuse (seed 001) or detach the members (seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeletePolicy {
    OnlyEmpty,
    DetachMembers,
}

pub const DEFAULT_MAX_NESTING_DEPTH: i32 = 8;
/// A hard ceiling whatever the policy says: deeper trees are a modelling mistake, and the rules
/// walk the tree on every nesting change.
pub const MAX_NESTING_DEPTH_CEILING: i32 = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    pub membership_mode: MembershipMode,
    pub delete_policy: DeletePolicy,
    /// A deleted group's name can never be used again (seed 004).
    pub reserve_deleted_names: bool,
    /// Only clients in an active relationship may join a group; expiry removes them (seed 004).
    pub require_active_relationship: bool,
    /// How many levels a chain of nested groups may have, counting both ends.
    pub max_nesting_depth: i32,
    /// A group of clients is created with at least one member (seed 004: "Select at least one
    /// available client"). Absent from a request: off.
    #[serde(default)]
    pub require_first_member: bool,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            membership_mode: MembershipMode::Multiple,
            delete_policy: DeletePolicy::OnlyEmpty,
            reserve_deleted_names: false,
            require_active_relationship: false,
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
            require_first_member: false,
        }
    }
}

impl Policies {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_NESTING_DEPTH_CEILING).contains(&self.max_nesting_depth) {
            return Err(Error::invalid(
                "max_nesting_depth",
                format!("must be between 1 and {MAX_NESTING_DEPTH_CEILING}"),
            ));
        }
        Ok(())
    }
}

impl MembershipMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipMode::Multiple => "multiple",
            MembershipMode::Exclusive => "exclusive",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "multiple" => Ok(MembershipMode::Multiple),
            "exclusive" => Ok(MembershipMode::Exclusive),
            _ => Err(Error::invalid("membership_mode", "must be multiple or exclusive")),
        }
    }
}

impl DeletePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletePolicy::OnlyEmpty => "only_empty",
            DeletePolicy::DetachMembers => "detach_members",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "only_empty" => Ok(DeletePolicy::OnlyEmpty),
            "detach_members" => Ok(DeletePolicy::DetachMembers),
            _ => Err(Error::invalid("delete_policy", "must be only_empty or detach_members")),
        }
    }
}
