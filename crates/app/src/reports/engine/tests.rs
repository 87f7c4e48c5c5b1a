//! Seed 001's story in numbers: an office groups its clients into segments and wants to see how
//! its working time is spent across them.

use clientele_access::ReportGroup;
use clientele_domain::group::GroupKind;
use clientele_domain::report::ReportParams;
use clientele_domain::time_entry::Day;
use clientele_store::time_entries::LedgerRow;

use super::*;

const ANNUAL: GroupId = GroupId(1);
const ONE_TIME: GroupId = GroupId(2);
const ALL_SEGMENTS: GroupId = GroupId(3);
const ANNA: u32 = 10;
const BERT: u32 = 11;

fn day(s: &str) -> Day {
    Day::parse("d", s).unwrap()
}

fn group(id: GroupId, kind: GroupKind, parents: &[GroupId], direct: &[u32], reach: &[u32]) -> ReportGroup {
    ReportGroup {
        id,
        kind,
        parents: parents.to_vec(),
        direct: direct.iter().copied().collect(),
        reach: reach.iter().copied().collect(),
    }
}

/// Clients 1 and 2 have annual reports, 2 and 3 had one-time services (2 is in both: a diamond
/// under "All segments"), client 4 is in no group.
fn office() -> ReportView {
    ReportView {
        clients: [1, 2, 3, 4].into_iter().collect(),
        groups: vec![
            group(ANNUAL, GroupKind::Clients, &[ALL_SEGMENTS], &[1, 2], &[1, 2]),
            group(ONE_TIME, GroupKind::Clients, &[ALL_SEGMENTS], &[2, 3], &[2, 3]),
            group(ALL_SEGMENTS, GroupKind::Groups, &[], &[], &[1, 2, 3]),
        ],
        org_clients: 4,
    }
}

fn entries(list: &[(u32, u32, &str, u16, bool)]) -> Columns {
    let mut cols = Columns::default();
    for (i, &(staff, client, date, minutes, billable)) in list.iter().enumerate() {
        cols.upsert_for_test(&LedgerRow {
            seq: i as i64 + 1,
            id: i as i64 + 1,
            organization_id: 1,
            staff_id: staff as i64,
            client_id: client as i64,
            work_day: day(date).0,
            minutes: minutes as i32,
            billable,
            deleted: false,
        });
    }
    // As loaded: in day order, the way reports read it.
    cols.freeze_for_test();
    cols
}

fn november() -> Columns {
    entries(&[
        (ANNA, 1, "2026-11-02", 60, true),
        (ANNA, 2, "2026-11-03", 30, false),
        (BERT, 3, "2026-11-04", 45, true),
        (BERT, 4, "2026-11-05", 15, true),
        // October: outside the report.
        (ANNA, 1, "2026-10-30", 600, true),
    ])
}

fn query(p: ReportParams) -> ReportQuery {
    ReportParams {
        from: p.from.or(Some("2026-11-01".into())),
        to: p.to.or(Some("2026-11-30".into())),
        ..p
    }
    .parse(day("2026-11-23"))
    .unwrap()
}

fn minutes_of(c: &Computed, key: Key) -> Option<(u64, u64)> {
    c.rows
        .iter()
        .find(|r| r.key == key)
        .map(|r| (r.totals.minutes, r.totals.clients))
}

#[test]
fn time_by_group_rolls_nested_groups_up_and_counts_a_shared_client_once() {
    let c = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(minutes_of(&c, Key::Group(ANNUAL)), Some((90, 2)));
    assert_eq!(minutes_of(&c, Key::Group(ONE_TIME)), Some((75, 2)));
    assert_eq!(minutes_of(&c, Key::Group(ALL_SEGMENTS)), Some((135, 3)));
    assert_eq!(minutes_of(&c, Key::NoGroup), Some((15, 1)));
    assert_eq!(c.total.minutes, 150);
    assert_eq!(c.total.billable_minutes, 120);
    assert_eq!(c.total.clients, 4);
    assert_eq!(c.rows[0].key, Key::Group(ALL_SEGMENTS), "most time first");
    let members = |c: &Computed, g: GroupId| c.rows.iter().find(|r| r.key == Key::Group(g)).and_then(|r| r.members);
    assert_eq!(members(&c, ANNUAL), Some(2));
    assert_eq!(members(&c, ALL_SEGMENTS), Some(3), "the shared client is one member");

    // Narrowed to the one-time clients (2 and 3): the shared client still counts once above.
    let one_time = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            groups: Some(ONE_TIME.0.to_string()),
            ..Default::default()
        }),
        &[],
        None,
    );
    assert_eq!(members(&one_time, ALL_SEGMENTS), Some(2));
    assert_eq!(members(&one_time, ANNUAL), Some(1));
    assert_eq!(minutes_of(&one_time, Key::Group(ALL_SEGMENTS)), Some((75, 2)));
}

#[test]
fn filters_narrow_the_entries_and_the_clients() {
    let billable = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            billable: Some("true".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    assert_eq!(billable.total.minutes, 120);
    assert_eq!(minutes_of(&billable, Key::Group(ANNUAL)), Some((60, 1)));

    let bert = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            staff: Some(BERT.to_string()),
            by: Some("staff".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    assert_eq!(bert.rows.len(), 1);
    assert_eq!(minutes_of(&bert, Key::Staff(StaffId(BERT as i64))), Some((60, 2)));

    let not_annual = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            groups: Some(ANNUAL.0.to_string()),
            group_match: Some("none".into()),
            by: Some("client".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    let clients: Vec<Key> = not_annual.rows.iter().map(|r| r.key).collect();
    assert_eq!(clients, vec![Key::Client(ClientId(3)), Key::Client(ClientId(4))]);

    let both = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            groups: Some(format!("{},{}", ANNUAL.0, ONE_TIME.0)),
            group_match: Some("all".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    assert_eq!(both.total.minutes, 30, "only client 2 is in both");
}

#[test]
fn a_staff_member_s_report_covers_only_the_clients_they_can_see() {
    let mut view = office();
    view.clients = [1, 2].into_iter().collect();
    view.groups.retain(|g| g.id == ANNUAL);
    let c = compute(
        Some(&november()),
        &Prepared::new(view),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(c.total.minutes, 90);
    assert_eq!(minutes_of(&c, Key::Group(ANNUAL)), Some((90, 2)));
    assert_eq!(minutes_of(&c, Key::NoGroup), None);
}

#[test]
fn work_counts_for_the_groups_of_the_day_it_was_done_when_asked() {
    // Client 3 joined "One-time service" on 10 November; client 1 left "Annual" on 3 November.
    let cols = entries(&[
        (BERT, 3, "2026-11-04", 45, true),
        (BERT, 3, "2026-11-12", 20, true),
        (ANNA, 1, "2026-11-02", 60, true),
        (ANNA, 1, "2026-11-20", 5, true),
    ]);
    let mut view = office();
    // Today: client 1 is no longer in Annual.
    view.groups[0].direct.remove(1);
    view.groups[0].reach.remove(1);
    view.groups[2].reach.remove(1);
    let history = [
        Period {
            group: ONE_TIME,
            client: ClientId(3),
            started_at: day("2026-11-10").start_millis(),
            ended_at: None,
        },
        Period {
            group: ANNUAL,
            client: ClientId(1),
            started_at: 0,
            ended_at: Some(day("2026-11-03").start_millis() + 3_600_000),
        },
    ];
    let now = compute(
        Some(&cols),
        &Prepared::new(view.clone()),
        &query(ReportParams::default()),
        &history,
        None,
    );
    assert_eq!(minutes_of(&now, Key::Group(ONE_TIME)), Some((65, 1)));
    assert_eq!(minutes_of(&now, Key::Group(ANNUAL)), None);

    let then = compute(
        Some(&cols),
        &Prepared::new(view.clone()),
        &query(ReportParams {
            basis: Some("work_date".into()),
            ..Default::default()
        }),
        &history,
        None,
    );
    assert_eq!(
        minutes_of(&then, Key::Group(ONE_TIME)),
        Some((20, 1)),
        "only the work after joining"
    );
    assert_eq!(
        minutes_of(&then, Key::Group(ANNUAL)),
        Some((60, 1)),
        "the work before leaving"
    );
    assert_eq!(
        minutes_of(&then, Key::Group(ALL_SEGMENTS)),
        Some((80, 2)),
        "rolled up through today's nesting"
    );
    assert_eq!(minutes_of(&then, Key::NoGroup), Some((50, 2)));
    assert_eq!(then.total.minutes, 130);
    assert_eq!(then.total.clients, 2);
}

#[test]
fn deleted_and_edited_entries_are_counted_as_they_are_now() {
    let mut cols = november();
    cols.upsert_for_test(&LedgerRow {
        seq: 10,
        id: 1,
        organization_id: 1,
        staff_id: ANNA as i64,
        client_id: 1,
        work_day: day("2026-11-02").0,
        minutes: 60,
        billable: true,
        deleted: true,
    });
    cols.upsert_for_test(&LedgerRow {
        seq: 11,
        id: 2,
        organization_id: 1,
        staff_id: ANNA as i64,
        client_id: 2,
        work_day: day("2026-11-03").0,
        minutes: 35,
        billable: false,
        deleted: false,
    });
    let c = compute(
        Some(&cols),
        &Prepared::new(office()),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(minutes_of(&c, Key::Group(ANNUAL)), Some((35, 1)));
    assert_eq!(c.total.minutes, 35 + 45 + 15);
}

#[test]
fn a_parent_of_disjoint_groups_adds_up_its_children_and_its_own_clients() {
    // Groups 1 and 2 share no client; group 3 holds them and client 4 directly (as a tree).
    let view = ReportView {
        clients: [1, 2, 3, 4].into_iter().collect(),
        groups: vec![
            group(ANNUAL, GroupKind::Clients, &[ALL_SEGMENTS], &[1], &[1]),
            group(ONE_TIME, GroupKind::Clients, &[ALL_SEGMENTS], &[2, 3], &[2, 3]),
            group(ALL_SEGMENTS, GroupKind::Groups, &[], &[4], &[1, 2, 3, 4]),
        ],
        org_clients: 4,
    };
    let prepared = Prepared::new(view);
    let c = compute(Some(&november()), &prepared, &query(ReportParams::default()), &[], None);
    assert_eq!(minutes_of(&c, Key::Group(ALL_SEGMENTS)), Some((150, 4)));
    let all = c.rows.iter().find(|r| r.key == Key::Group(ALL_SEGMENTS)).unwrap();
    assert_eq!(all.members, Some(4));
    assert_eq!(minutes_of(&c, Key::NoGroup), None);
}

#[test]
fn a_limit_keeps_the_rows_with_most_time_and_counts_them_all() {
    let c = compute(
        Some(&november()),
        &Prepared::new(office()),
        &query(ReportParams {
            by: Some("client".into()),
            ..Default::default()
        }),
        &[],
        Some(2),
    );
    assert_eq!(c.total_rows, 4);
    let keys: Vec<Key> = c.rows.iter().map(|r| r.key).collect();
    assert_eq!(keys, vec![Key::Client(ClientId(1)), Key::Client(ClientId(3))]);
}

#[test]
fn entries_written_after_the_load_count_with_the_loaded_ones() {
    let mut cols = november();
    // A new entry, then an edit and a deletion of loaded ones.
    for (id, client, minutes, deleted) in [(100, 4, 45, false), (2, 2, 10, false), (3, 3, 45, true)] {
        cols.upsert_for_test(&LedgerRow {
            seq: 20,
            id,
            organization_id: 1,
            staff_id: ANNA as i64,
            client_id: client,
            work_day: day("2026-11-20").0,
            minutes,
            billable: false,
            deleted,
        });
    }
    let c = compute(
        Some(&cols),
        &Prepared::new(office()),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(c.total.minutes, 60 + 10 + 15 + 45);
    assert_eq!(minutes_of(&c, Key::Group(ONE_TIME)), Some((10, 1)));
    assert_eq!(minutes_of(&c, Key::NoGroup), Some((60, 1)));
    // Folded together again, the answer is the same.
    cols.freeze_for_test();
    let again = compute(
        Some(&cols),
        &Prepared::new(office()),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(again, c);
}

/// A firm large enough for the passes to be shared out between workers: 300,000 entries over
/// 20,000 clients in two segments of 10,000 under one parent. The answer must be the one a plain
/// sum gives, with entries written after the load counted too, for an admin and for someone who
/// sees one segment.
#[test]
fn a_large_report_shared_out_between_workers_adds_up_like_a_plain_sum() {
    const CLIENTS: u32 = 20_000;
    const ENTRIES: usize = 300_000;
    let firm = |visible: &[u32]| ReportView {
        clients: visible.iter().copied().collect(),
        groups: vec![
            ReportGroup {
                id: ANNUAL,
                kind: GroupKind::Clients,
                parents: vec![ALL_SEGMENTS],
                direct: (1..=CLIENTS / 2).collect(),
                reach: (1..=CLIENTS / 2).collect(),
            },
            ReportGroup {
                id: ONE_TIME,
                kind: GroupKind::Clients,
                parents: vec![ALL_SEGMENTS],
                direct: (CLIENTS / 2 + 1..=CLIENTS).collect(),
                reach: (CLIENTS / 2 + 1..=CLIENTS).collect(),
            },
            ReportGroup {
                id: ALL_SEGMENTS,
                kind: GroupKind::Groups,
                parents: vec![],
                direct: RoaringBitmap::new(),
                reach: (1..=CLIENTS).collect(),
            },
        ],
        org_clients: CLIENTS as u64,
    };
    let mut cols = Columns::default();
    let mut expected = [0u64; 2];
    let mut billable = 0u64;
    // Each staff member's minutes and distinct clients.
    let mut by_staff: std::collections::BTreeMap<i64, (u64, std::collections::BTreeSet<u32>)> = Default::default();
    for i in 0..ENTRIES {
        let client = (i as u32 * 7919) % CLIENTS + 1;
        let minutes = (i % 90 + 1) as i32;
        let is_billable = i % 3 == 0;
        cols.upsert_for_test(&LedgerRow {
            seq: i as i64 + 1,
            id: i as i64 + 1,
            organization_id: 1,
            staff_id: (i % 50) as i64 + 1,
            client_id: client as i64,
            work_day: day("2026-11-01").0 + (i % 30) as i32,
            minutes,
            billable: is_billable,
            deleted: false,
        });
        expected[(client > CLIENTS / 2) as usize] += minutes as u64;
        billable += if is_billable { minutes as u64 } else { 0 };
        let mine = by_staff.entry((i % 50) as i64 + 1).or_default();
        mine.0 += minutes as u64;
        mine.1.insert(client);
    }
    cols.freeze_for_test();
    // Written since the load: they sit in the recent segment.
    cols.upsert_for_test(&LedgerRow {
        seq: ENTRIES as i64 + 1,
        id: ENTRIES as i64 + 1,
        organization_id: 1,
        staff_id: 1,
        client_id: 1,
        work_day: day("2026-11-15").0,
        minutes: 500,
        billable: true,
        deleted: false,
    });
    expected[0] += 500;
    billable += 500;
    by_staff.entry(1).or_default().0 += 500;
    by_staff.entry(1).or_default().1.insert(1);

    let everyone: Vec<u32> = (1..=CLIENTS).collect();
    let c = compute(
        Some(&cols),
        &Prepared::new(firm(&everyone)),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(minutes_of(&c, Key::Group(ANNUAL)).map(|m| m.0), Some(expected[0]));
    assert_eq!(minutes_of(&c, Key::Group(ONE_TIME)).map(|m| m.0), Some(expected[1]));
    assert_eq!(
        minutes_of(&c, Key::Group(ALL_SEGMENTS)),
        Some((expected[0] + expected[1], CLIENTS as u64))
    );
    assert_eq!(c.total.billable_minutes, billable);
    assert_eq!(c.total.entries, ENTRIES as u64 + 1);

    let first_half: Vec<u32> = (1..=CLIENTS / 2).collect();
    let c = compute(
        Some(&cols),
        &Prepared::new(firm(&first_half)),
        &query(ReportParams::default()),
        &[],
        None,
    );
    assert_eq!(c.total.minutes, expected[0]);
    assert_eq!(minutes_of(&c, Key::Group(ONE_TIME)), None);

    let by_client = compute(
        Some(&cols),
        &Prepared::new(firm(&everyone)),
        &query(ReportParams {
            by: Some("client".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    assert_eq!(by_client.total_rows, CLIENTS as usize);
    assert_eq!(
        by_client.rows.iter().map(|r| r.totals.minutes).sum::<u64>(),
        expected[0] + expected[1]
    );

    // By staff: each client counted once per staff member, whichever worker and segment.
    let staff_rows = compute(
        Some(&cols),
        &Prepared::new(firm(&everyone)),
        &query(ReportParams {
            by: Some("staff".into()),
            ..Default::default()
        }),
        &[],
        None,
    );
    for (staff, (minutes, clients)) in &by_staff {
        assert_eq!(
            minutes_of(&staff_rows, Key::Staff(StaffId(*staff))),
            Some((*minutes, clients.len() as u64)),
            "staff {staff}"
        );
    }
}
