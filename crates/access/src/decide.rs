//! Every access decision of Clientele, in one place. Callers ask "may this viewer do that" and
//! get either the permission or the error to answer with: `not_found` for what the viewer may not
//! see (so existence does not leak), `forbidden` for what they may see but not change.

use clientele_domain::{ClientId, Error, GroupId, Millis, OrganizationId, Result, StaffId};

use crate::{AccessIndex, AccessRole};

/// What a viewer may do with a client or a group, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    None,
    View,
    Edit,
    /// Add and remove members (of a group and everything nested below it).
    Manage,
    /// Everything, including creating, editing and deleting groups (admins).
    Admin,
}

/// Who is asking: admins ("business" or "senior" account managers) see the whole organisation;
/// other staff see through their assignments.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub staff: StaffId,
    pub admin: bool,
}

fn from_role(role: Option<AccessRole>) -> Permission {
    match role {
        None => Permission::None,
        Some(AccessRole::Reader) => Permission::View,
        Some(AccessRole::Editor) => Permission::Edit,
        Some(AccessRole::Manager) => Permission::Manage,
    }
}

pub fn client_permission(index: &AccessIndex, viewer: Viewer, client: ClientId, now: Millis) -> Permission {
    if viewer.admin {
        Permission::Admin
    } else {
        from_role(index.role(viewer.staff, client, now))
    }
}

pub fn group_permission(index: &AccessIndex, viewer: Viewer, group: GroupId, now: Millis) -> Permission {
    if viewer.admin {
        Permission::Admin
    } else {
        from_role(index.group_role(viewer.staff, group, now))
    }
}

/// The viewer may see the client.
pub fn view_client(index: &AccessIndex, viewer: Viewer, client: ClientId, now: Millis) -> Result<Permission> {
    require(
        client_permission(index, viewer, client, now),
        Permission::View,
        "client",
        "",
    )
}

/// The viewer may edit the client (editor, manager or admin).
pub fn edit_client(index: &AccessIndex, viewer: Viewer, client: ClientId, now: Millis) -> Result<Permission> {
    require(
        client_permission(index, viewer, client, now),
        Permission::Edit,
        "client",
        "only editors and managers of one of its groups can change this client",
    )
}

/// The viewer may see the group.
pub fn view_group(index: &AccessIndex, viewer: Viewer, group: GroupId, now: Millis) -> Result<Permission> {
    require(
        group_permission(index, viewer, group, now),
        Permission::View,
        "client group",
        "",
    )
}

/// The viewer may add and remove the group's members (a manager of it or of a group above it).
pub fn manage_members(index: &AccessIndex, viewer: Viewer, group: GroupId, now: Millis) -> Result<Permission> {
    require(
        group_permission(index, viewer, group, now),
        Permission::Manage,
        "client group",
        "only managers of this group (or of a group it is nested in) and admins can change its members",
    )
}

/// Rights flow only from the people allowed to grant them (issue 17): no action of a non-admin
/// may give anyone a role on a client or group higher than the actor already holds there. Adding
/// a member to a group the actor manages hands every role assigned on that group (the actor's own
/// manager role among them) down to the member, so the member must be one the actor already
/// manages; the one exception is a client that no group holds at all (seed 004's "available"
/// clients), which only admins could see before and which is how a manager's group grows.
pub fn add_client(
    index: &AccessIndex,
    viewer: Viewer,
    org: OrganizationId,
    group: GroupId,
    client: ClientId,
    now: Millis,
) -> Result<Permission> {
    manage_members(index, viewer, group, now)?;
    if viewer.admin || index.is_ungrouped(org, client, now) {
        return Ok(Permission::Manage);
    }
    require(
        client_permission(index, viewer, client, now),
        Permission::Manage,
        "client",
        "you can add only clients you manage (through a group you manage) or clients in no group; \
         an admin can add this one",
    )
}

/// Nesting `child` into `group`: the actor must manage both (see [`add_client`]).
pub fn nest(index: &AccessIndex, viewer: Viewer, group: GroupId, child: GroupId, now: Millis) -> Result<Permission> {
    manage_members(index, viewer, group, now)?;
    require(
        group_permission(index, viewer, child, now),
        Permission::Manage,
        "client group",
        "you can nest only groups you manage; an admin can nest this one",
    )
}

/// Changing what decides a client's memberships (its relationship, which ends them when the
/// organisation requires an active one, or its status): it reaches every group the client is in,
/// so a non-admin must manage each of them.
pub fn change_memberships_of(index: &AccessIndex, viewer: Viewer, client: ClientId, now: Millis) -> Result<Permission> {
    let have = edit_client(index, viewer, client, now)?;
    if viewer.admin {
        return Ok(have);
    }
    let unmanaged = index
        .groups_holding(client, now)
        .into_iter()
        .filter(|&g| group_permission(index, viewer, g, now) < Permission::Manage)
        .count();
    if unmanaged > 0 {
        return Err(Error::forbidden(format!(
            "this client is in {unmanaged} group(s) you do not manage, and changing its relationship or status \
             would change them; only an admin can"
        ))
        .with_field("relationship"));
    }
    Ok(have)
}

/// Group settings, creation and deletion, assignments, policies: admins only.
pub fn administer_group(index: &AccessIndex, viewer: Viewer, group: GroupId, now: Millis) -> Result<Permission> {
    require(
        group_permission(index, viewer, group, now),
        Permission::Admin,
        "client group",
        "only admins (business or senior account managers) can change client groups",
    )
}

/// Admin-only operations (creating and deleting groups, assignments, staff, policies).
pub fn require_admin(viewer: Viewer) -> Result<()> {
    if viewer.admin {
        Ok(())
    } else {
        Err(Error::forbidden(
            "only admins (business or senior account managers) can do this",
        ))
    }
}

fn require(have: Permission, need: Permission, what: &str, why_not: &str) -> Result<Permission> {
    if have >= need {
        Ok(have)
    } else if have >= Permission::View {
        Err(Error::forbidden(why_not))
    } else {
        Err(Error::not_found(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;
    use clientele_domain::client::ClientStatus;
    use clientele_domain::group::GroupKind;
    use clientele_domain::{BusinessUnitId, OrganizationId};

    #[test]
    fn hidden_is_not_found_and_visible_but_not_allowed_is_forbidden() {
        let org = OrganizationId(1);
        let index = AccessIndex::new();
        index.load(
            0,
            [
                Change::Client {
                    org,
                    client: ClientId(1),
                    name_key: "a".into(),
                    status: ClientStatus::Active,
                    unit: None,
                },
                Change::Client {
                    org,
                    client: ClientId(2),
                    name_key: "b".into(),
                    status: ClientStatus::Active,
                    unit: None,
                },
                Change::Group {
                    org,
                    group: GroupId(10),
                    name_key: "g".into(),
                    kind: GroupKind::Clients,
                    unit: BusinessUnitId(1),
                },
                Change::ClientAdded {
                    org,
                    group: GroupId(10),
                    client: ClientId(1),
                },
                Change::Assigned {
                    org,
                    staff: StaffId(5),
                    group: GroupId(10),
                    role: AccessRole::Reader,
                    valid_until: None,
                },
            ],
        );
        let reader = Viewer {
            staff: StaffId(5),
            admin: false,
        };
        assert!(view_client(&index, reader, ClientId(1), 0).is_ok());
        assert_eq!(
            edit_client(&index, reader, ClientId(1), 0).unwrap_err().code,
            clientele_domain::ErrorCode::Forbidden
        );
        assert_eq!(
            view_client(&index, reader, ClientId(2), 0).unwrap_err().code,
            clientele_domain::ErrorCode::NotFound
        );
        let admin = Viewer {
            staff: StaffId(6),
            admin: true,
        };
        assert_eq!(edit_client(&index, admin, ClientId(2), 0).unwrap(), Permission::Admin);
    }
}
