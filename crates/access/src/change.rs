//! The changes that affect access, as every writing transaction records them and every server
//! process applies them, in commit order.

use clientele_domain::client::ClientStatus;
use clientele_domain::group::GroupKind;
use clientele_domain::{BusinessUnitId, ClientId, GroupId, Millis, OrganizationId, StaffId};

use crate::AccessRole;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A client was created or changed (name, status, business unit).
    Client {
        org: OrganizationId,
        client: ClientId,
        name_key: String,
        status: ClientStatus,
        unit: Option<BusinessUnitId>,
    },
    /// A group was created or changed.
    Group {
        org: OrganizationId,
        group: GroupId,
        name_key: String,
        kind: GroupKind,
        unit: BusinessUnitId,
    },
    /// A group was deleted: its memberships and assignments are gone with it.
    GroupDeleted { org: OrganizationId, group: GroupId },
    ClientAdded {
        org: OrganizationId,
        group: GroupId,
        client: ClientId,
    },
    ClientRemoved {
        org: OrganizationId,
        group: GroupId,
        client: ClientId,
    },
    /// A client's membership in a group ends by itself at `valid_until` (or, when `None`, no
    /// longer does). Recorded after the `ClientAdded` it qualifies.
    MembershipValidity {
        org: OrganizationId,
        group: GroupId,
        client: ClientId,
        valid_until: Option<Millis>,
    },
    /// The client may be in groups only until `until` (its business relationship expires then and
    /// the organisation requires an active one; seed 004): at that instant it leaves every group,
    /// for every answer, before any sweep deletes the rows. `None` lifts the limit.
    ClientEligibility {
        org: OrganizationId,
        client: ClientId,
        until: Option<Millis>,
    },
    ChildAdded {
        org: OrganizationId,
        parent: GroupId,
        child: GroupId,
    },
    ChildRemoved {
        org: OrganizationId,
        parent: GroupId,
        child: GroupId,
    },
    Assigned {
        org: OrganizationId,
        staff: StaffId,
        group: GroupId,
        role: AccessRole,
        valid_until: Option<Millis>,
    },
    Unassigned {
        org: OrganizationId,
        staff: StaffId,
        group: GroupId,
    },
    /// A staff member's role, activity or tokens changed: cached credentials must be dropped.
    Staff { org: OrganizationId, staff: StaffId },
}

/// A change in its stored form (the `access_changes` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub kind: String,
    pub organization_id: i64,
    pub a: i64,
    pub b: i64,
    pub c: Option<i64>,
    pub text: Option<String>,
}

fn status_code(s: ClientStatus) -> i64 {
    match s {
        ClientStatus::Active => 0,
        ClientStatus::Inactive => 1,
        ClientStatus::Closed => 2,
    }
}

/// Memberships listed in one row of the change log at most.
pub const RUN: usize = 10_000;

impl Change {
    pub fn to_row(&self) -> ChangeRow {
        let row = |kind: &str, org: OrganizationId, a: i64, b: i64, c: Option<i64>, text: Option<String>| ChangeRow {
            kind: kind.to_string(),
            organization_id: org.0,
            a,
            b,
            c,
            text,
        };
        match self {
            Change::Client {
                org,
                client,
                name_key,
                status,
                unit,
            } => row(
                "client",
                *org,
                client.0,
                status_code(*status),
                unit.map(|u| u.0),
                Some(name_key.clone()),
            ),
            Change::Group {
                org,
                group,
                name_key,
                kind,
                unit,
            } => row(
                "group",
                *org,
                group.0,
                (*kind == GroupKind::Groups) as i64,
                Some(unit.0),
                Some(name_key.clone()),
            ),
            Change::GroupDeleted { org, group } => row("group_deleted", *org, group.0, 0, None, None),
            Change::ClientAdded { org, group, client } => row("client_added", *org, group.0, client.0, None, None),
            Change::ClientRemoved { org, group, client } => row("client_removed", *org, group.0, client.0, None, None),
            Change::MembershipValidity {
                org,
                group,
                client,
                valid_until,
            } => row("membership_validity", *org, group.0, client.0, *valid_until, None),
            Change::ClientEligibility { org, client, until } => {
                row("client_eligibility", *org, client.0, 0, *until, None)
            }
            Change::ChildAdded { org, parent, child } => row("child_added", *org, parent.0, child.0, None, None),
            Change::ChildRemoved { org, parent, child } => row("child_removed", *org, parent.0, child.0, None, None),
            Change::Assigned {
                org,
                staff,
                group,
                role,
                valid_until,
            } => row(
                "assigned",
                *org,
                staff.0,
                group.0,
                *valid_until,
                Some(role.as_str().to_string()),
            ),
            Change::Unassigned { org, staff, group } => row("unassigned", *org, staff.0, group.0, None, None),
            Change::Staff { org, staff } => row("staff", *org, staff.0, 0, None, None),
        }
    }

    /// The stored form of a transaction's changes: one row each, except that a run of clients
    /// added to groups (a batch of an import adds tens of thousands) is one row listing them, up
    /// to [`RUN`] at a time: `clients_added` when they all go to one group (the ids), else
    /// `memberships_added` (`group:client` pairs). The log grows by a row per run, not per
    /// membership.
    pub fn to_rows(changes: &[Change]) -> Vec<ChangeRow> {
        let mut rows: Vec<ChangeRow> = Vec::new();
        let mut run: Vec<(GroupId, ClientId)> = Vec::new();
        let mut run_org = OrganizationId(0);
        let flush = |rows: &mut Vec<ChangeRow>, run: &mut Vec<(GroupId, ClientId)>, org: OrganizationId| {
            match run.as_slice() {
                [] => {}
                &[(group, client)] => rows.push(Change::ClientAdded { org, group, client }.to_row()),
                [(group, _), ..] if run.iter().all(|(g, _)| g == group) => rows.push(ChangeRow {
                    kind: "clients_added".into(),
                    organization_id: org.0,
                    a: group.0,
                    b: run.len() as i64,
                    c: None,
                    text: Some(run.iter().map(|(_, c)| c.0.to_string()).collect::<Vec<_>>().join(",")),
                }),
                _ => rows.push(ChangeRow {
                    kind: "memberships_added".into(),
                    organization_id: org.0,
                    a: 0,
                    b: run.len() as i64,
                    c: None,
                    text: Some(
                        run.iter()
                            .map(|(g, c)| format!("{}:{}", g.0, c.0))
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                }),
            }
            run.clear();
        };
        for change in changes {
            if let Change::ClientAdded { org, group, client } = change {
                if *org != run_org || run.len() == RUN {
                    flush(&mut rows, &mut run, run_org);
                    run_org = *org;
                }
                run.push((*group, *client));
                continue;
            }
            flush(&mut rows, &mut run, run_org);
            rows.push(change.to_row());
        }
        flush(&mut rows, &mut run, run_org);
        rows
    }

    /// Reads a stored row into the changes it holds (several for `clients_added` and
    /// `memberships_added`); false for a kind this version does not know or a row it cannot read,
    /// which the caller treats as "reload everything".
    pub fn read_row(r: &ChangeRow, into: &mut Vec<Change>) -> bool {
        let org = OrganizationId(r.organization_id);
        let pair = |text: &str| -> Option<(GroupId, ClientId)> {
            if r.kind == "clients_added" {
                Some((GroupId(r.a), ClientId(text.parse().ok()?)))
            } else {
                let (group, client) = text.split_once(':')?;
                Some((GroupId(group.parse().ok()?), ClientId(client.parse().ok()?)))
            }
        };
        if r.kind == "clients_added" || r.kind == "memberships_added" {
            let Some(text) = r.text.as_deref() else { return false };
            let before = into.len();
            for item in text.split(',') {
                let Some((group, client)) = pair(item) else {
                    into.truncate(before);
                    return false;
                };
                into.push(Change::ClientAdded { org, group, client });
            }
            return true;
        }
        match Change::from_row(r) {
            Some(change) => {
                into.push(change);
                true
            }
            None => false,
        }
    }

    /// Reads a stored change; `None` for a kind this version does not know (a newer server wrote
    /// it), which the caller treats as "reload everything".
    pub fn from_row(r: &ChangeRow) -> Option<Change> {
        let org = OrganizationId(r.organization_id);
        Some(match r.kind.as_str() {
            "client" => Change::Client {
                org,
                client: ClientId(r.a),
                name_key: r.text.clone()?,
                status: match r.b {
                    0 => ClientStatus::Active,
                    1 => ClientStatus::Inactive,
                    _ => ClientStatus::Closed,
                },
                unit: r.c.map(BusinessUnitId),
            },
            "group" => Change::Group {
                org,
                group: GroupId(r.a),
                name_key: r.text.clone()?,
                kind: if r.b == 1 {
                    GroupKind::Groups
                } else {
                    GroupKind::Clients
                },
                unit: BusinessUnitId(r.c?),
            },
            "group_deleted" => Change::GroupDeleted {
                org,
                group: GroupId(r.a),
            },
            "client_added" => Change::ClientAdded {
                org,
                group: GroupId(r.a),
                client: ClientId(r.b),
            },
            "client_removed" => Change::ClientRemoved {
                org,
                group: GroupId(r.a),
                client: ClientId(r.b),
            },
            "membership_validity" => Change::MembershipValidity {
                org,
                group: GroupId(r.a),
                client: ClientId(r.b),
                valid_until: r.c,
            },
            "client_eligibility" => Change::ClientEligibility {
                org,
                client: ClientId(r.a),
                until: r.c,
            },
            "child_added" => Change::ChildAdded {
                org,
                parent: GroupId(r.a),
                child: GroupId(r.b),
            },
            "child_removed" => Change::ChildRemoved {
                org,
                parent: GroupId(r.a),
                child: GroupId(r.b),
            },
            "assigned" => Change::Assigned {
                org,
                staff: StaffId(r.a),
                group: GroupId(r.b),
                role: AccessRole::parse(r.text.as_deref()?)?,
                valid_until: r.c,
            },
            "unassigned" => Change::Unassigned {
                org,
                staff: StaffId(r.a),
                group: GroupId(r.b),
            },
            "staff" => Change::Staff {
                org,
                staff: StaffId(r.a),
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_clients_added_is_stored_as_one_row_and_read_back_in_order() {
        let org = OrganizationId(1);
        let added = |group: i64, client: i64| Change::ClientAdded {
            org,
            group: GroupId(group),
            client: ClientId(client),
        };
        let changes = vec![
            added(4, 1),
            added(4, 2),
            added(4, 3),
            Change::MembershipValidity {
                org,
                group: GroupId(4),
                client: ClientId(3),
                valid_until: Some(9),
            },
            added(4, 5),
            added(6, 7),
            added(6, 8),
        ];
        let rows = Change::to_rows(&changes);
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["clients_added", "membership_validity", "memberships_added"]);
        assert_eq!(rows[0].text.as_deref(), Some("1,2,3"));
        assert_eq!(rows[2].text.as_deref(), Some("4:5,6:7,6:8"));
        let mut read = Vec::new();
        for r in &rows {
            assert!(Change::read_row(r, &mut read));
        }
        assert_eq!(read, changes);
        let broken = ChangeRow {
            text: Some("1,x".into()),
            ..rows[0].clone()
        };
        let mut none = Vec::new();
        assert!(!Change::read_row(&broken, &mut none) && none.is_empty());
        let broken = ChangeRow {
            text: Some("4:5,6".into()),
            ..rows[2].clone()
        };
        assert!(!Change::read_row(&broken, &mut none) && none.is_empty());
    }

    #[test]
    fn a_long_run_is_cut_into_rows_of_at_most_a_run() {
        let org = OrganizationId(1);
        let changes: Vec<Change> = (0..RUN as i64 * 2 + 1)
            .map(|c| Change::ClientAdded {
                org,
                group: GroupId(c % 7),
                client: ClientId(c),
            })
            .collect();
        let rows = Change::to_rows(&changes);
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["memberships_added", "memberships_added", "client_added"]);
        assert_eq!((rows[0].b, rows[1].b), (RUN as i64, RUN as i64));
        let mut read = Vec::new();
        for r in &rows {
            assert!(Change::read_row(r, &mut read));
        }
        assert_eq!(read, changes);
    }

    #[test]
    fn every_change_survives_its_stored_form() {
        let org = OrganizationId(3);
        let changes = [
            Change::Client {
                org,
                client: ClientId(1),
                name_key: "acme".into(),
                status: ClientStatus::Closed,
                unit: Some(BusinessUnitId(2)),
            },
            Change::Group {
                org,
                group: GroupId(4),
                name_key: "vip".into(),
                kind: GroupKind::Groups,
                unit: BusinessUnitId(2),
            },
            Change::GroupDeleted { org, group: GroupId(4) },
            Change::ClientAdded {
                org,
                group: GroupId(4),
                client: ClientId(1),
            },
            Change::ClientRemoved {
                org,
                group: GroupId(4),
                client: ClientId(1),
            },
            Change::MembershipValidity {
                org,
                group: GroupId(4),
                client: ClientId(1),
                valid_until: Some(11),
            },
            Change::MembershipValidity {
                org,
                group: GroupId(4),
                client: ClientId(1),
                valid_until: None,
            },
            Change::ClientEligibility {
                org,
                client: ClientId(1),
                until: Some(12),
            },
            Change::ClientEligibility {
                org,
                client: ClientId(1),
                until: None,
            },
            Change::ChildAdded {
                org,
                parent: GroupId(4),
                child: GroupId(5),
            },
            Change::ChildRemoved {
                org,
                parent: GroupId(4),
                child: GroupId(5),
            },
            Change::Assigned {
                org,
                staff: StaffId(9),
                group: GroupId(4),
                role: AccessRole::Editor,
                valid_until: Some(7),
            },
            Change::Unassigned {
                org,
                staff: StaffId(9),
                group: GroupId(4),
            },
            Change::Staff { org, staff: StaffId(9) },
        ];
        for change in changes {
            assert_eq!(Change::from_row(&change.to_row()), Some(change));
        }
    }
}
