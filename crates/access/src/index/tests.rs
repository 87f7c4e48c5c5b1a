//! The index against a plain reference implementation on random graphs: diamonds, deep chains,
//! removals, deleted groups, expiring assignments and expiring memberships, applied one change at
//! a time or in batches.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const ORG: OrganizationId = OrganizationId(1);
const NOW: Millis = 10;

/// The model: plain sets, and answers computed by walking them.
#[derive(Debug, Default, Clone)]
struct Reference {
    clients: BTreeMap<i64, (String, ClientStatus)>,
    groups: BTreeSet<i64>,
    /// (group, client) and when the membership ends by itself.
    direct: BTreeMap<(i64, i64), Option<Millis>>,
    edges: BTreeSet<(i64, i64)>,
    grants: BTreeMap<(i64, i64), (AccessRole, Option<Millis>)>,
}

impl Reference {
    fn apply(&mut self, change: &Change) {
        match change {
            Change::Client {
                client,
                name_key,
                status,
                ..
            } => {
                self.clients.insert(client.0, (name_key.clone(), *status));
            }
            Change::Group { group, .. } => {
                self.groups.insert(group.0);
            }
            Change::GroupDeleted { group, .. } => {
                let g = group.0;
                self.groups.remove(&g);
                self.direct.retain(|&(x, _), _| x != g);
                self.edges.retain(|&(p, c)| p != g && c != g);
                self.grants.retain(|&(_, x), _| x != g);
            }
            Change::ClientAdded { group, client, .. } => {
                self.direct.insert((group.0, client.0), None);
            }
            Change::MembershipValidity {
                group,
                client,
                valid_until,
                ..
            } => {
                if let Some(until) = self.direct.get_mut(&(group.0, client.0)) {
                    *until = *valid_until;
                }
            }
            Change::ClientRemoved { group, client, .. } => {
                self.direct.remove(&(group.0, client.0));
            }
            Change::ChildAdded { parent, child, .. } => {
                self.edges.insert((parent.0, child.0));
            }
            Change::ChildRemoved { parent, child, .. } => {
                self.edges.remove(&(parent.0, child.0));
            }
            Change::Assigned {
                staff,
                group,
                role,
                valid_until,
                ..
            } => {
                self.grants.insert((staff.0, group.0), (*role, *valid_until));
            }
            Change::Unassigned { staff, group, .. } => {
                self.grants.remove(&(staff.0, group.0));
            }
            Change::Staff { .. } => {}
            // Not generated here: its effect depends on when it is read (a story of its own).
            Change::ClientEligibility { .. } => {}
        }
    }

    fn holds(&self, g: i64, c: i64) -> bool {
        self.direct
            .get(&(g, c))
            .is_some_and(|until| until.is_none_or(|u| u > NOW))
    }

    fn reaches(&self, g: i64, c: i64) -> bool {
        self.holds(g, c) || self.edges.iter().any(|&(p, ch)| p == g && self.reaches(ch, c))
    }

    fn role(&self, staff: i64, c: i64) -> Option<AccessRole> {
        self.grants
            .iter()
            .filter(|&(&(s, g), &(_, until))| s == staff && until.is_none_or(|u| u > NOW) && self.reaches(g, c))
            .map(|(_, &(role, _))| role)
            .max()
    }
}

fn id(n: u8) -> i64 {
    n as i64 + 1
}

fn change_strategy() -> impl Strategy<Value = Change> {
    let role = prop_oneof![
        Just(AccessRole::Reader),
        Just(AccessRole::Editor),
        Just(AccessRole::Manager)
    ];
    let until = prop_oneof![Just(None), Just(Some(5)), Just(Some(50))];
    let status = prop_oneof![
        Just(ClientStatus::Active),
        Just(ClientStatus::Inactive),
        Just(ClientStatus::Closed)
    ];
    prop_oneof![
        (0u8..12, 0u8..4, status).prop_map(|(c, n, status)| Change::Client {
            org: ORG,
            client: ClientId(id(c)),
            name_key: ["ann", "bob", "cy", "ann"][n as usize].to_string(),
            status,
            unit: None,
        }),
        (0u8..8, 0u8..12).prop_map(|(g, c)| Change::ClientAdded {
            org: ORG,
            group: GroupId(id(g)),
            client: ClientId(id(c))
        }),
        (0u8..8, 0u8..12).prop_map(|(g, c)| Change::ClientRemoved {
            org: ORG,
            group: GroupId(id(g)),
            client: ClientId(id(c))
        }),
        (0u8..8, 0u8..12, until.clone()).prop_map(|(g, c, valid_until)| Change::MembershipValidity {
            org: ORG,
            group: GroupId(id(g)),
            client: ClientId(id(c)),
            valid_until
        }),
        // Edges only from a higher id to a lower one: always a DAG, with diamonds and chains.
        (1u8..8, 0u8..7)
            .prop_filter("parent above child", |(p, c)| p > c)
            .prop_map(|(p, c)| Change::ChildAdded {
                org: ORG,
                parent: GroupId(id(p)),
                child: GroupId(id(c))
            }),
        (1u8..8, 0u8..7).prop_map(|(p, c)| Change::ChildRemoved {
            org: ORG,
            parent: GroupId(id(p)),
            child: GroupId(id(c))
        }),
        (0u8..4, 0u8..8, role, until).prop_map(|(s, g, role, valid_until)| Change::Assigned {
            org: ORG,
            staff: StaffId(id(s)),
            group: GroupId(id(g)),
            role,
            valid_until
        }),
        (0u8..4, 0u8..8).prop_map(|(s, g)| Change::Unassigned {
            org: ORG,
            staff: StaffId(id(s)),
            group: GroupId(id(g))
        }),
        (0u8..8).prop_map(|g| Change::GroupDeleted {
            org: ORG,
            group: GroupId(id(g))
        }),
    ]
}

/// Every group exists before changes refer to it (as in the database).
fn setup() -> Vec<Change> {
    (0..8u8)
        .map(|g| Change::Group {
            unit: BusinessUnitId(1),
            org: ORG,
            group: GroupId(id(g)),
            name_key: format!("g{g}"),
            kind: GroupKind::Groups,
        })
        .collect()
}

fn assert_agrees(index: &AccessIndex, model: &Reference) {
    for staff in 1..=4 {
        for c in 1..=12 {
            let expected = model.role(staff, c);
            assert_eq!(
                index.role(StaffId(staff), ClientId(c), NOW),
                expected,
                "role of staff {staff} on client {c}"
            );
            for path in index.paths(StaffId(staff), ClientId(c), NOW) {
                let groups: Vec<i64> = path.groups.iter().map(|g| g.0).collect();
                assert!(
                    model.grants.contains_key(&(staff, groups[0])),
                    "a path starts at an assignment"
                );
                for pair in groups.windows(2) {
                    assert!(
                        model.edges.contains(&(pair[0], pair[1])),
                        "a path follows nesting edges"
                    );
                }
                assert!(
                    model.holds(*groups.last().unwrap(), c),
                    "a path ends at a group holding the client"
                );
            }
        }
        // "My group clients": the visible clients that exist, in (name, id) order, paged by 2.
        let mut expected: Vec<(String, i64)> = model
            .clients
            .iter()
            .filter(|&(&c, _)| model.role(staff, c).is_some())
            .map(|(&c, (name, _))| (name.clone(), c))
            .collect();
        expected.sort();
        let filter = ClientQuery::default();
        let mut got = Vec::new();
        let mut after = (String::new(), 0);
        loop {
            let page = index.list_clients(&ListClients {
                seeing: Seeing::Staff(StaffId(staff)),
                filter: &filter,
                after: (&after.0, after.1),
                backward: false,
                limit: 2,
                now: NOW,
            });
            got.extend(page.keys.clone());
            match page.keys.last() {
                Some(last) if page.more => after = last.clone(),
                _ => break,
            }
        }
        assert_eq!(got, expected, "My group clients of staff {staff}");
    }
    // Admins see every client of the organisation.
    let all = index.list_clients(&ListClients {
        seeing: Seeing::All(ORG),
        filter: &ClientQuery::default(),
        after: ("", 0),
        backward: false,
        limit: 100,
        now: NOW,
    });
    let mut everyone: Vec<(String, i64)> = model.clients.iter().map(|(&c, (name, _))| (name.clone(), c)).collect();
    everyone.sort();
    assert_eq!(all.keys, everyone, "an admin's clients");
    for c in 1..=12 {
        let mut who: Vec<(i64, AccessRole)> = index
            .who_can_see(ClientId(c), NOW)
            .into_iter()
            .map(|p| (p.staff.0, p.role))
            .collect();
        who.sort();
        who.dedup();
        let mut expected: Vec<(i64, AccessRole)> = model
            .grants
            .iter()
            .filter(|&(&(_, g), &(_, until))| until.is_none_or(|u| u > NOW) && model.reaches(g, c))
            .map(|(&(s, _), &(role, _))| (s, role))
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(who, expected, "who can see client {c}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_index_agrees_with_the_reference_change_by_change(changes in prop::collection::vec(change_strategy(), 1..60)) {
        let index = AccessIndex::new();
        index.load(0, setup());
        let mut model = Reference::default();
        setup().iter().for_each(|c| model.apply(c));
        for (seq, change) in changes.iter().enumerate() {
            // Deleted groups come back only through a new Group change, as in the database.
            index.apply(seq as i64 + 1, std::slice::from_ref(change));
            model.apply(change);
        }
        assert_agrees(&index, &model);
    }

    #[test]
    fn a_full_load_and_batched_changes_give_the_same_answers(changes in prop::collection::vec(change_strategy(), 1..60), split in 0usize..60) {
        let mut model = Reference::default();
        setup().iter().for_each(|c| model.apply(c));
        let index = AccessIndex::new();
        index.load(0, setup());
        let split = split.min(changes.len());
        index.apply(1, &changes[..split]);
        index.apply(2, &changes[split..]);
        changes.iter().for_each(|c| model.apply(c));
        assert_agrees(&index, &model);

        // A fresh process loads the final state in one go.
        let mut state: Vec<Change> = model.groups.iter().map(|&g| Change::Group { unit: BusinessUnitId(1), org: ORG, group: GroupId(g), name_key: format!("g{g}"), kind: GroupKind::Groups }).collect();
        state.extend(model.clients.iter().map(|(&c, (name, status))| Change::Client { org: ORG, client: ClientId(c), name_key: name.clone(), status: *status, unit: None }));
        state.extend(model.direct.keys().map(|&(g, c)| Change::ClientAdded { org: ORG, group: GroupId(g), client: ClientId(c) }));
        state.extend(model.direct.iter().filter(|(_, until)| until.is_some()).map(|(&(g, c), &valid_until)| Change::MembershipValidity { org: ORG, group: GroupId(g), client: ClientId(c), valid_until }));
        state.extend(model.edges.iter().map(|&(p, c)| Change::ChildAdded { org: ORG, parent: GroupId(p), child: GroupId(c) }));
        state.extend(model.grants.iter().map(|(&(s, g), &(role, valid_until))| Change::Assigned { org: ORG, staff: StaffId(s), group: GroupId(g), role, valid_until }));
        let fresh = AccessIndex::new();
        fresh.load(2, state);
        assert_agrees(&fresh, &model);
    }
}

#[test]
fn a_deep_chain_passes_access_all_the_way_down() {
    let index = AccessIndex::new();
    let mut changes = vec![Change::Client {
        org: ORG,
        client: ClientId(1),
        name_key: "deep".into(),
        status: ClientStatus::Active,
        unit: None,
    }];
    for g in 1..=32 {
        changes.push(Change::Group {
            unit: BusinessUnitId(1),
            org: ORG,
            group: GroupId(g),
            name_key: format!("level {g}"),
            kind: GroupKind::Groups,
        });
    }
    for g in 1..32 {
        changes.push(Change::ChildAdded {
            org: ORG,
            parent: GroupId(g + 1),
            child: GroupId(g),
        });
    }
    changes.push(Change::ClientAdded {
        org: ORG,
        group: GroupId(1),
        client: ClientId(1),
    });
    changes.push(Change::Assigned {
        org: ORG,
        staff: StaffId(7),
        group: GroupId(32),
        role: AccessRole::Editor,
        valid_until: None,
    });
    index.load(1, changes);
    assert_eq!(index.role(StaffId(7), ClientId(1), NOW), Some(AccessRole::Editor));
    assert_eq!(index.paths(StaffId(7), ClientId(1), NOW)[0].groups.len(), 32);
    index.apply(
        2,
        &[Change::ChildRemoved {
            org: ORG,
            parent: GroupId(17),
            child: GroupId(16),
        }],
    );
    assert_eq!(
        index.role(StaffId(7), ClientId(1), NOW),
        None,
        "cutting the chain ends access"
    );
}

#[test]
fn an_expired_assignment_ends_access_by_itself() {
    let index = AccessIndex::new();
    index.load(
        1,
        [
            Change::Client {
                org: ORG,
                client: ClientId(1),
                name_key: "c".into(),
                status: ClientStatus::Active,
                unit: None,
            },
            Change::Group {
                org: ORG,
                group: GroupId(1),
                name_key: "g".into(),
                kind: GroupKind::Clients,
                unit: BusinessUnitId(1),
            },
            Change::ClientAdded {
                org: ORG,
                group: GroupId(1),
                client: ClientId(1),
            },
            Change::Assigned {
                org: ORG,
                staff: StaffId(1),
                group: GroupId(1),
                role: AccessRole::Manager,
                valid_until: Some(100),
            },
        ],
    );
    assert_eq!(index.role(StaffId(1), ClientId(1), 99), Some(AccessRole::Manager));
    assert_eq!(index.role(StaffId(1), ClientId(1), 100), None);
}

#[test]
fn lists_filter_by_status_text_and_group_before_paging() {
    let index = AccessIndex::new();
    let mut changes = vec![
        Change::Group {
            org: ORG,
            group: GroupId(1),
            name_key: "a".into(),
            kind: GroupKind::Clients,
            unit: BusinessUnitId(1),
        },
        Change::Group {
            org: ORG,
            group: GroupId(2),
            name_key: "b".into(),
            kind: GroupKind::Clients,
            unit: BusinessUnitId(1),
        },
        Change::Assigned {
            org: ORG,
            staff: StaffId(1),
            group: GroupId(1),
            role: AccessRole::Reader,
            valid_until: None,
        },
        Change::Assigned {
            org: ORG,
            staff: StaffId(1),
            group: GroupId(2),
            role: AccessRole::Reader,
            valid_until: None,
        },
    ];
    for c in 1..=300 {
        let status = if c % 3 == 0 {
            ClientStatus::Closed
        } else {
            ClientStatus::Active
        };
        changes.push(Change::Client {
            org: ORG,
            client: ClientId(c),
            name_key: format!("client {c:04}"),
            status,
            unit: None,
        });
        changes.push(Change::ClientAdded {
            org: ORG,
            group: GroupId(1 + c % 2),
            client: ClientId(c),
        });
    }
    index.load(1, changes);
    let active = ClientQuery {
        statuses: vec![ClientStatus::Active],
        ..Default::default()
    };
    let page = index.list_clients(&ListClients {
        seeing: Seeing::Staff(StaffId(1)),
        filter: &active,
        after: ("", 0),
        backward: false,
        limit: 5,
        now: NOW,
    });
    assert_eq!(page.total, 200);
    assert_eq!(page.ids, [1, 2, 4, 5, 7].map(ClientId));
    let text = ClientQuery {
        text: Some("CLIENT 02".into()),
        groups: vec![GroupId(1)],
        ..Default::default()
    };
    let page = index.list_clients(&ListClients {
        seeing: Seeing::Staff(StaffId(1)),
        filter: &text,
        after: ("", 0),
        backward: false,
        limit: 50,
        now: NOW,
    });
    // client 0200..0299 with an even id are in group 1 (1 + c % 2 == 1).
    assert_eq!(page.total, 50);
    assert!(page.ids.iter().all(|c| c.0 % 2 == 0 && (200..300).contains(&c.0)));
}

#[test]
fn a_large_batch_applied_in_slices_ends_where_one_application_would() {
    let index = AccessIndex::new();
    index.load(0, setup());
    let portfolio = GroupId(id(0));
    index.apply(
        1,
        &[Change::Assigned {
            org: ORG,
            staff: StaffId(1),
            group: portfolio,
            role: AccessRole::Reader,
            valid_until: None,
        }],
    );
    // Several slices' worth of additions (an import's batch), then of removals.
    let added: Vec<Change> = (1..=1000)
        .map(|c| Change::ClientAdded {
            org: ORG,
            group: portfolio,
            client: ClientId(c),
        })
        .collect();
    index.apply(2, &added);
    assert_eq!(index.applied(), 2);
    let role = |c: i64| index.role(StaffId(1), ClientId(c), NOW);
    assert!((1..=1000).all(|c| role(c) == Some(AccessRole::Reader)));

    let removed: Vec<Change> = (1..=700)
        .map(|c| Change::ClientRemoved {
            org: ORG,
            group: portfolio,
            client: ClientId(c),
        })
        .collect();
    index.apply(3, &removed);
    assert_eq!(index.applied(), 3);
    assert!((1..=700).all(|c| role(c).is_none()));
    assert!((701..=1000).all(|c| role(c) == Some(AccessRole::Reader)));

    // A batch the index has already applied (a catch-up overlapping a commit) changes nothing,
    // not even its first slice.
    index.apply(2, &added);
    assert!((1..=700).all(|c| role(c).is_none()));
}

proptest! {
    /// Every order, read page by page forwards and then backwards from the last page, gives
    /// exactly the sorted list, whether the index walks its name order or sorts the candidates.
    #[test]
    fn pages_in_every_order_both_ways_match_a_sort(
        clients in prop::collection::vec((0u8..6, 0u8..3), 1..60),
        visible_every in 1usize..4,
        limit in 1usize..7,
    ) {
        let index = AccessIndex::new();
        let mut changes = vec![Change::Group {
            org: ORG,
            group: GroupId(1),
            name_key: "g".into(),
            kind: GroupKind::Clients,
            unit: BusinessUnitId(1),
        }, Change::Assigned {
            org: ORG,
            staff: StaffId(1),
            group: GroupId(1),
            role: AccessRole::Reader,
            valid_until: None,
        }];
        let statuses = [ClientStatus::Active, ClientStatus::Inactive, ClientStatus::Closed];
        let mut rows = Vec::new();
        for (i, (name, status)) in clients.iter().enumerate() {
            let c = i as i64 + 1;
            changes.push(Change::Client {
                org: ORG,
                client: ClientId(c),
                name_key: format!("name {name}"),
                status: statuses[*status as usize],
                unit: None,
            });
            if i % visible_every == 0 {
                changes.push(Change::ClientAdded { org: ORG, group: GroupId(1), client: ClientId(c) });
                rows.push((*status, format!("name {name}"), c));
            }
        }
        index.load(1, changes);
        let orders = [ClientSort::Name, ClientSort::Status]
            .into_iter()
            .flat_map(|by| [false, true].map(|descending| ClientOrder { by, descending }));
        for order in orders {
            let mut expected = rows.clone();
            match order.by {
                ClientSort::Name => expected.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2))),
                ClientSort::Status => expected.sort(),
            }
            if order.descending {
                expected.reverse();
            }
            let expected: Vec<i64> = expected.into_iter().map(|r| r.2).collect();
            for seeing in [Seeing::Staff(StaffId(1)), Seeing::All(ORG)] {
                let filter = ClientQuery { groups: vec![GroupId(1)], order, ..ClientQuery::default() };
                let read = |after: &(String, i64), backward: bool| index.list_clients(&ListClients {
                    seeing,
                    filter: &filter,
                    after: (&after.0, after.1),
                    backward,
                    limit,
                    now: NOW,
                });
                // Forwards.
                let mut got = Vec::new();
                let mut after = (String::new(), 0);
                let mut last_page;
                loop {
                    let page = read(&after, false);
                    prop_assert_eq!(page.total, expected.len() as u64);
                    got.extend(page.ids.iter().map(|c| c.0));
                    last_page = page.clone();
                    match page.keys.last() {
                        Some(last) if page.more => after = last.clone(),
                        _ => break,
                    }
                }
                prop_assert_eq!(&got, &expected, "forwards, {:?}", order);
                // Backwards from the first row of the last page.
                let mut back: Vec<i64> = last_page.ids.iter().map(|c| c.0).collect();
                let mut before = last_page.keys.first().cloned();
                while let Some(key) = before {
                    let page = read(&key, true);
                    let mut ids: Vec<i64> = page.ids.iter().map(|c| c.0).collect();
                    ids.extend(back);
                    back = ids;
                    before = if page.more { page.keys.first().cloned() } else { None };
                }
                prop_assert_eq!(&back, &expected, "backwards, {:?}", order);
            }
        }
    }
}

#[test]
fn a_search_split_across_cores_finds_what_one_pass_finds_in_the_same_order() {
    // Above the split threshold, with gaps, so that chunk edges fall between matches.
    let candidates: RoaringBitmap = (0..300_000u32).filter(|id| !id.is_multiple_of(3)).collect();
    let matches = |id: u32| id.is_multiple_of(7) || id % 10_007 == 1;
    let one_pass: Vec<u32> = candidates.iter().filter(|&id| matches(id)).collect();
    assert_eq!(scan_in_parallel(&candidates, &matches), one_pass);
    let few: RoaringBitmap = (0..100u32).collect();
    assert_eq!(
        scan_in_parallel(&few, &matches),
        few.iter().filter(|&id| matches(id)).collect::<Vec<_>>()
    );
}
