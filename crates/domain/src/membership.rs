//! The rule for a client joining a group, in one place: a single edit (`app::members::add_one`)
//! and a batch of thousands of rows (`app::bulk::batch`) gather the same facts their own way (one
//! row at a time, or a few statements for the batch) and ask this function, so they refuse the
//! same clients with the same words.

use crate::client::{Relationship, relationship_is_active};
use crate::group::GroupKind;
use crate::policy::{MembershipMode, Policies};
use crate::{Error, ErrorCode, Millis, Result};

/// What the rule needs to know about a client joining a group.
#[derive(Debug, Clone, Copy)]
pub struct ClientJoining<'a> {
    pub group_name: &'a str,
    pub group_kind: GroupKind,
    pub client_name: &'a str,
    pub relationship: Relationship,
    pub relationship_expires_at: Option<Millis>,
    /// The client is a member of this group already.
    pub already_member: bool,
    /// The group the client belongs to now, when it is another one: under exclusive membership
    /// it holds the client's only place. `None` when unknown yet (a single edit learns it from
    /// its insert, and asks again).
    pub other_group: Option<&'a str>,
}

/// What may happen when a client asks to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It may join.
    Joins,
    /// Nothing to do: it is a member already.
    AlreadyMember,
}

/// Whether the client may join the group now, under the organisation's policies: only a group of
/// clients takes clients; an active relationship when the organisation requires one (seed 004);
/// a member already is no change; under exclusive membership, a client in another group is
/// refused, naming that group (seed 004: "a client business account ... can only be part of one
/// client group").
pub fn admit_client(policies: &Policies, joining: &ClientJoining<'_>, now: Millis) -> Result<Admission> {
    takes_clients(joining.group_name, joining.group_kind)?;
    if policies.require_active_relationship
        && !relationship_is_active(joining.relationship, joining.relationship_expires_at, now)
    {
        return Err(Error::new(
            ErrorCode::RelationshipNotActive,
            format!(
                "\"{}\" is not in an active business relationship, so it cannot join a group",
                joining.client_name
            ),
        ));
    }
    place(
        policies,
        joining.client_name,
        joining.already_member,
        joining.other_group,
    )
}

/// Only a group of clients takes clients. Asked first on its own too, so a client added to a
/// group of groups is refused before it is looked up, whoever it is.
pub fn takes_clients(group_name: &str, kind: GroupKind) -> Result<()> {
    if kind == GroupKind::Clients {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::KindMismatch,
        format!("\"{group_name}\" is a group of client groups; clients can only be added to a group of clients"),
    ))
}

/// The membership part of the rule: a member already is no change; under exclusive membership a
/// client in another group is refused, naming it. Asked on its own after an insert lost a race,
/// with what the conflict turned out to be.
pub fn place(
    policies: &Policies,
    client_name: &str,
    already_member: bool,
    other_group: Option<&str>,
) -> Result<Admission> {
    if already_member {
        return Ok(Admission::AlreadyMember);
    }
    if policies.membership_mode == MembershipMode::Exclusive
        && let Some(other) = other_group
    {
        return Err(Error::new(
            ErrorCode::ClientInAnotherGroup,
            format!(
                "\"{client_name}\" already belongs to the group \"{other}\"; a client can be in only one group of this organisation"
            ),
        ));
    }
    Ok(Admission::Joins)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of a refusal; an admission is a failed test.
    fn refusal(answer: Result<Admission>) -> Error {
        match answer {
            Err(e) => e,
            Ok(admitted) => panic!("expected a refusal, the client was admitted: {admitted:?}"),
        }
    }

    fn joining<'a>() -> ClientJoining<'a> {
        ClientJoining {
            group_name: "Ontario importers",
            group_kind: GroupKind::Clients,
            client_name: "Maple Imports Inc.",
            relationship: Relationship::Active,
            relationship_expires_at: None,
            already_member: false,
            other_group: None,
        }
    }

    #[test]
    fn a_client_joins_a_group_of_clients_only() {
        let policies = Policies::default();
        assert_eq!(admit_client(&policies, &joining(), 0), Ok(Admission::Joins));
        let regions = ClientJoining {
            group_name: "Regions",
            group_kind: GroupKind::Groups,
            ..joining()
        };
        let refused = refusal(admit_client(&policies, &regions, 0));
        assert_eq!(refused.code, ErrorCode::KindMismatch);
        assert!(refused.detail.contains("\"Regions\" is a group of client groups"));
    }

    #[test]
    fn seed_004_an_expired_relationship_cannot_join_where_the_firm_requires_an_active_one() {
        let expired = ClientJoining {
            relationship_expires_at: Some(100),
            ..joining()
        };
        assert_eq!(admit_client(&Policies::default(), &expired, 200), Ok(Admission::Joins));
        let strict = Policies {
            require_active_relationship: true,
            ..Policies::default()
        };
        assert_eq!(admit_client(&strict, &expired, 99), Ok(Admission::Joins));
        let refused = refusal(admit_client(&strict, &expired, 100));
        assert_eq!(refused.code, ErrorCode::RelationshipNotActive);
    }

    #[test]
    fn seed_004_under_exclusive_membership_another_group_holds_the_client() {
        let elsewhere = ClientJoining {
            other_group: Some("Quebec importers"),
            ..joining()
        };
        assert_eq!(admit_client(&Policies::default(), &elsewhere, 0), Ok(Admission::Joins));
        let exclusive = Policies {
            membership_mode: MembershipMode::Exclusive,
            ..Policies::default()
        };
        let refused = refusal(admit_client(&exclusive, &elsewhere, 0));
        assert_eq!(refused.code, ErrorCode::ClientInAnotherGroup);
        assert!(refused.detail.contains("\"Quebec importers\""), "{}", refused.detail);
        let member = ClientJoining {
            already_member: true,
            ..elsewhere
        };
        assert_eq!(admit_client(&exclusive, &member, 0), Ok(Admission::AlreadyMember));
    }
}
