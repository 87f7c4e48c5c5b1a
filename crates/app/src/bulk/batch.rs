//! The set-based path for membership rows (`import_memberships`, and the items of a large bulk
//! add; [`removal_rows`] for those of a bulk removal or a group's deletion): a whole batch is
//! resolved with a few reads, its rules are checked in memory, and its writes go out as
//! multi-row statements, instead of a dozen round trips to the database per row.
//!
//! The rules and their order are those of `members::add_one` after resolving the row's names,
//! row by row, and rows see the effects of earlier rows of the batch (a client added by row 3 is
//! `already_member` in row 9, and under exclusive membership occupies its slot). What is checked:
//! the group (by id or name) and the member (by id or external reference) exist, the group holds
//! clients, the relationship is active when the policies require it, exclusive membership. Rows
//! that nest a group run through `add_one` itself under a savepoint: they are rare, and the nesting
//! rule needs the graph around each edge. A refused row leaves nothing behind and stops nothing;
//! every added membership gets its audit event and its access change, as in a single edit.

use std::collections::{HashMap, HashSet};

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::client::Relationship;
use clientele_domain::group::GroupKind;
use clientele_domain::membership::{Admission, ClientJoining, admit_client, place, takes_clients};
use clientele_domain::names::Name;
use clientele_domain::policy::MembershipMode;
use clientele_domain::{ClientId, Error, ErrorCode, GroupId, Result};
use clientele_store::audit::{self as audit_store, EventRow};
use clientele_store::clients::{self as client_store, MemberFacts};
use clientele_store::members::{self as member_store, Provenance};
use clientele_store::process_requests::RowOutcome;
use clientele_store::{Tx, groups as group_store};

use super::formats::{Ctx, Fields, id, member_outcome};
use crate::Actor;
use crate::members::{MemberRef, Outcome, add_one, remove_one};

/// How a row names its group.
enum Target {
    Id(i64),
    Key { name: String, key: String },
}

/// How a row names its member.
enum Member {
    ClientId(i64),
    ClientRef(String),
    Child {
        name: String,
        key: String,
    },
    /// A bulk add's group item, by id.
    GroupId(i64),
}

/// A row as read, before anything is looked up. The errors are kept apart so that a row is refused
/// for the same reason, checked in the same order, as the per-row path would give.
struct Parsed {
    row_number: i64,
    /// Refuses the row before its group is looked up.
    early: Option<Error>,
    target: Result<Target>,
    member: Result<Member>,
    /// The group to create when `target` names one that does not exist (`new_group_kind`).
    create: Option<Result<NewGroupSpec>>,
}

/// What a row says of the group it creates: its kind and business unit (by name; empty: the
/// organisation's only one).
struct NewGroupSpec {
    kind: GroupKind,
    unit: String,
}

fn parse_create(v: &Fields) -> Option<Result<NewGroupSpec>> {
    let kind = v.get("new_group_kind");
    if kind.is_empty() {
        return None;
    }
    Some(
        GroupKind::parse(kind)
            .map_err(|_| Error::invalid("new_group_kind", "must be clients or groups"))
            .map(|kind| NewGroupSpec {
                kind,
                unit: v.get("new_group_business_unit").to_string(),
            }),
    )
}

fn parse_import(v: &Fields) -> (Result<Target>, Result<Member>) {
    let target = match (v.get("group_id"), v.get("group")) {
        ("", "") => Err(Error::invalid("group", "name the group (column group, or group_id)")),
        ("", name) => Name::parse("group", name).map(|n| Target::Key {
            name: name.to_string(),
            key: n.key(),
        }),
        (text, _) => id("group_id", text).map(Target::Id),
    };
    let member = match (v.get("client_id"), v.get("client_ref"), v.get("child_group")) {
        ("", "", "") => Err(Error::invalid(
            "client_id",
            "name the member: client_id, client_ref or child_group",
        )),
        ("", "", child) => Name::parse("child_group", child).map(|n| Member::Child {
            name: child.to_string(),
            key: n.key(),
        }),
        ("", reference, _) => Ok(Member::ClientRef(reference.to_string())),
        (text, _, _) => id("client_id", text).map(Member::ClientId),
    };
    (target, member)
}

/// A bulk item (an addition's or a removal's): `member_type` and `member_id`, into or out of the
/// request's group. Its errors come before the group is looked up: a malformed row is refused for
/// what it says, even when the group is gone.
fn parse_bulk(group: GroupId, v: &Fields) -> (Option<Error>, Result<Target>, Result<Member>) {
    let member = id("member_id", v.get("member_id")).and_then(|member| match v.get("member_type") {
        "client" => Ok(Member::ClientId(member)),
        "group" => Ok(Member::GroupId(member)),
        _ => Err(Error::invalid("member_type", "must be client or group")),
    });
    match member {
        Ok(m) => (None, Ok(Target::Id(group.0)), Ok(m)),
        Err(e) => (Some(e), Ok(Target::Id(group.0)), Err(Error::internal("never read"))),
    }
}

/// Creates the group a memberships row names, under a savepoint: `Ok(Err(..))` is the refusal
/// (name taken, unknown business unit, a policy), which leaves nothing behind.
async fn create_group(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    name: &str,
    spec: &NewGroupSpec,
    cause: Cause,
    changes: &mut Vec<Change>,
) -> Result<Result<clientele_domain::entities::ClientGroup>> {
    let mark = changes.len();
    clientele_store::process_requests::execute(&mut tx.conn(), "SAVEPOINT create_group").await?;
    let made: Result<clientele_domain::entities::ClientGroup> = async {
        let unit = if spec.unit.is_empty() {
            let units = clientele_store::business_units::list(&mut tx.conn(), ctx.org.id, ("", 0), 2).await?;
            match units.as_slice() {
                [(only, _)] => only.id,
                _ => {
                    return Err(Error::invalid(
                        "new_group_business_unit",
                        "name the new group's business unit: the organisation has several",
                    ));
                }
            }
        } else {
            super::formats::unit_by_name(&mut tx.conn(), ctx.org.id, &spec.unit)
                .await
                .map_err(|e| e.with_field("new_group_business_unit"))?
        };
        let new = crate::groups::NewGroup {
            name: name.to_string(),
            kind: spec.kind,
            business_unit_id: unit,
            description: None,
            crm_id: None,
            protected: false,
            members: Vec::new(),
        };
        // Under `require_first_member` the group's first client comes from the batch's rows: the
        // caller checks that one was added (`FirstMembers`) and otherwise undoes the creation, so
        // the single-edit check is not asked here.
        let mut org = ctx.org.clone();
        org.policies.require_first_member = false;
        crate::groups::create_in(tx, &org, ctx.actor, new, cause, changes, ctx.now).await
    }
    .await;
    match made {
        Ok(g) => {
            clientele_store::process_requests::execute(&mut tx.conn(), "RELEASE SAVEPOINT create_group").await?;
            Ok(Ok(g))
        }
        Err(e) if e.code == ErrorCode::Internal => Err(e),
        Err(e) => {
            clientele_store::process_requests::execute(&mut tx.conn(), "ROLLBACK TO SAVEPOINT create_group").await?;
            clientele_store::process_requests::execute(&mut tx.conn(), "RELEASE SAVEPOINT create_group").await?;
            changes.truncate(mark);
            Ok(Err(e))
        }
    }
}

fn no_group_named(column: &str, name: &str) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("there is no client group named \"{name}\""),
    )
    .with_field(column)
}

/// Groups of clients a memberships upload creates must start with a member when the organisation
/// requires it (seed 004). A batch lists the groups of clients it created; the caller checks that
/// an accepted row added a client to each, and otherwise undoes the batch and runs it again
/// refusing to create the empty ones (`refused`).
#[derive(Debug, Default)]
pub(crate) struct FirstMembers {
    /// Names (by key) not to create, with the reason every row naming them is refused.
    pub refused: HashMap<String, Error>,
    /// Groups of clients this batch created: (key, id).
    pub created: Vec<(String, GroupId)>,
}

/// Applies a batch of membership rows (each with its row number and its fields, or why its fields
/// could not be read) inside the caller's transaction; returns every row's outcome, in order.
pub(crate) async fn membership_rows(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    bulk_add: bool,
    rows: Vec<(i64, Result<Fields>)>,
    changes: &mut Vec<Change>,
    phases: &mut super::rows::Phases,
    first_members: &mut FirstMembers,
) -> Result<Vec<(i64, RowOutcome)>> {
    let org = ctx.org.id;
    let cause = if bulk_add { Cause::Bulk } else { Cause::Import };
    let now = ctx.now;

    // 1. Read every row.
    let mut parsed = Vec::with_capacity(rows.len());
    for (row_number, fields) in rows {
        let p = match fields {
            Err(e) => Parsed {
                row_number,
                early: Some(e),
                target: Err(Error::internal("never read")),
                member: Err(Error::internal("never read")),
                create: None,
            },
            Ok(v) if bulk_add => {
                let group = ctx
                    .group
                    .ok_or_else(|| Error::internal("a bulk request without a group"))?;
                let (early, target, member) = parse_bulk(group, &v);
                Parsed {
                    row_number,
                    early,
                    target,
                    member,
                    create: None,
                }
            }
            Ok(v) => {
                let (target, member) = parse_import(&v);
                Parsed {
                    row_number,
                    early: None,
                    target,
                    member,
                    create: parse_create(&v),
                }
            }
        };
        parsed.push(p);
    }

    // 2. Look up what the rows name, a few statements for the whole batch.
    let mut group_ids: HashSet<i64> = HashSet::new();
    let mut group_keys: HashSet<&str> = HashSet::new();
    let mut client_ids: HashSet<i64> = HashSet::new();
    let mut client_refs: HashSet<&str> = HashSet::new();
    for p in parsed.iter().filter(|p| p.early.is_none()) {
        match &p.target {
            Ok(Target::Id(g)) => {
                group_ids.insert(*g);
            }
            Ok(Target::Key { key, .. }) => {
                group_keys.insert(key);
            }
            Err(_) => {}
        }
        match &p.member {
            Ok(Member::ClientId(c)) => {
                client_ids.insert(*c);
            }
            Ok(Member::ClientRef(r)) => {
                client_refs.insert(r);
            }
            Ok(Member::Child { key, .. }) => {
                group_keys.insert(key);
            }
            Ok(Member::GroupId(_)) | Err(_) => {}
        }
    }
    // Every key list is sorted: neighbouring lookups then walk neighbouring pages of the index.
    let mut ids: Vec<i64> = group_ids.into_iter().collect();
    ids.sort_unstable();
    let mut keys: Vec<String> = group_keys.iter().map(|k| k.to_string()).collect();
    keys.sort_unstable();
    let mut groups: HashMap<i64, Group> = HashMap::new();
    let mut by_key: HashMap<String, i64> = HashMap::new();
    for g in group_store::facts(&mut tx.conn(), org, &ids, &keys).await? {
        by_key.insert(g.name_key, g.id);
        groups.insert(
            g.id,
            Group {
                id: GroupId(g.id),
                name: g.name,
                kind: GroupKind::parse(&g.kind)?,
            },
        );
    }
    // Groups the file asks to create (seed 000: one upload makes a group with its clients): the
    // first row naming a missing group with `new_group_kind` creates it, through the single-edit
    // use case (names, policies, audit) under a savepoint; a refusal refuses every row naming it.
    // The row that created each group, and the group's name, for its report line.
    let mut created: HashMap<usize, String> = HashMap::new();
    let mut not_created: HashMap<String, Error> = HashMap::new();
    for (i, p) in parsed.iter().enumerate().filter(|(_, p)| p.early.is_none()) {
        let (Ok(Target::Key { name, key }), Some(spec)) = (&p.target, &p.create) else {
            continue;
        };
        if by_key.contains_key(key) || not_created.contains_key(key) {
            continue;
        }
        if let Some(why) = first_members.refused.get(key) {
            not_created.insert(key.clone(), why.clone());
            continue;
        }
        let made = match spec {
            Err(e) => Err(e.clone()),
            Ok(spec) => create_group(tx, ctx, name, spec, cause, changes).await?,
        };
        match made {
            Ok(g) => {
                if g.kind == GroupKind::Clients {
                    first_members.created.push((key.clone(), g.id));
                }
                by_key.insert(key.clone(), g.id.0);
                groups.insert(
                    g.id.0,
                    Group {
                        id: g.id,
                        name: g.name,
                        kind: g.kind,
                    },
                );
                created.insert(i, name.clone());
            }
            Err(e) => {
                not_created.insert(key.clone(), e);
            }
        }
    }
    phases.mark("lookups: groups");
    let mut ids: Vec<i64> = client_ids.into_iter().collect();
    ids.sort_unstable();
    let mut refs: Vec<String> = client_refs.iter().map(|r| r.to_string()).collect();
    refs.sort_unstable();
    let mut clients: HashMap<i64, MemberFacts> = HashMap::new();
    let mut by_ref: HashMap<String, i64> = HashMap::new();
    for f in client_store::member_facts(&mut tx.conn(), org, &ids, &refs).await? {
        if let Some(r) = &f.external_ref {
            by_ref.insert(r.clone(), f.id);
        }
        clients.insert(f.id, f);
    }
    phases.mark("lookups: clients");
    // Their memberships: "already a member" and, under exclusive membership, the one group each
    // client occupies. Rows of this batch add to both as they go.
    let exclusive = ctx.org.policies.membership_mode == MembershipMode::Exclusive;
    let mut member_of: HashSet<(i64, i64)> = HashSet::new();
    let mut occupant: HashMap<i64, i64> = HashMap::new();
    if exclusive {
        // At most one membership per client.
        let mut known: Vec<i64> = clients.keys().copied().collect();
        known.sort_unstable();
        for (group, client, slot) in member_store::memberships_of_clients(&mut tx.conn(), &known).await? {
            member_of.insert((group, client));
            if slot {
                occupant.insert(client, group);
            }
        }
    } else {
        // Only the pairs the rows name: a client may be in thousands of groups.
        let mut pairs: HashSet<(i64, i64)> = HashSet::new();
        for p in parsed.iter().filter(|p| p.early.is_none()) {
            let target = match &p.target {
                Ok(Target::Id(g)) => groups.contains_key(g).then_some(*g),
                Ok(Target::Key { key, .. }) => by_key.get(key).copied(),
                Err(_) => None,
            };
            let client = match &p.member {
                Ok(Member::ClientId(c)) => clients.contains_key(c).then_some(*c),
                Ok(Member::ClientRef(r)) => by_ref.get(r).copied(),
                _ => None,
            };
            if let (Some(g), Some(c)) = (target, client) {
                pairs.insert((g, c));
            }
        }
        let mut pairs: Vec<(i64, i64)> = pairs.into_iter().collect();
        pairs.sort_unstable();
        member_of.extend(member_store::existing_memberships(&mut tx.conn(), &pairs).await?);
    }
    let occupied: Vec<GroupId> = occupant
        .values()
        .filter(|g| !groups.contains_key(g))
        .map(|&g| GroupId(g))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut occupant_names: HashMap<i64, String> = HashMap::new();
    if exclusive && !occupied.is_empty() {
        let occupied: Vec<i64> = occupied.iter().map(|g| g.0).collect();
        for g in group_store::facts(&mut tx.conn(), org, &occupied, &[]).await? {
            occupant_names.insert(g.id, g.name);
        }
    }

    phases.mark("lookups: memberships");

    // 3. The rules, row by row, in memory.
    let mut outcomes: Vec<(i64, RowOutcome)> = Vec::with_capacity(parsed.len());
    // Rows to insert: (index into `outcomes`, group, client).
    let mut adds: Vec<(usize, GroupId, ClientId)> = Vec::new();
    let rejected = |e: Error| super::rows::rejected(&e);
    for (i, p) in parsed.into_iter().enumerate() {
        let row_number = p.row_number;
        let result: Result<Step> = (|| {
            if let Some(e) = p.early {
                return Err(e);
            }
            let target = match p.target? {
                Target::Id(g) => groups.get(&g).ok_or_else(|| {
                    if bulk_add {
                        Error::not_found("client group")
                    } else {
                        Error::new(
                            ErrorCode::NotFound,
                            format!("there is no client group with id {}", GroupId(g)),
                        )
                    }
                })?,
                Target::Key { name, key } => match by_key.get(&key).and_then(|g| groups.get(g)) {
                    Some(g) => g,
                    None => {
                        return Err(match not_created.get(&key) {
                            Some(why) => why.clone(),
                            None => no_group_named("group", &name),
                        });
                    }
                },
            };
            let client = match p.member? {
                Member::GroupId(child) => return Ok(Step::Nest(target.id, GroupId(child))),
                Member::Child { name, key } => {
                    let child = by_key.get(&key).ok_or_else(|| no_group_named("child_group", &name))?;
                    return Ok(Step::Nest(target.id, GroupId(*child)));
                }
                Member::ClientRef(reference) => match by_ref.get(&reference) {
                    Some(&c) => c,
                    None => {
                        return Err(Error::new(
                            ErrorCode::NotFound,
                            format!("there is no client with the external reference \"{reference}\""),
                        )
                        .with_field("client_ref"));
                    }
                },
                Member::ClientId(c) => c,
            };
            let client_id = ClientId(client);
            // The rule of a single edit (`members::add_one`), over the facts read for the batch.
            takes_clients(&target.name, target.kind)?;
            let facts = clients
                .get(&client)
                .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("client {client_id} not found")))?;
            let other_group = occupant.get(&client).map(|other| {
                groups
                    .get(other)
                    .map(|g| g.name.as_str())
                    .or_else(|| occupant_names.get(other).map(String::as_str))
                    .unwrap_or_default()
            });
            let joining = ClientJoining {
                group_name: &target.name,
                group_kind: target.kind,
                client_name: &facts.name,
                relationship: Relationship::parse(&facts.relationship)?,
                relationship_expires_at: facts.relationship_expires_at,
                already_member: member_of.contains(&(target.id.0, client)),
                other_group,
            };
            match admit_client(&ctx.org.policies, &joining, now)? {
                Admission::AlreadyMember => Ok(Step::Done(target.id, client_id, Outcome::AlreadyMember)),
                Admission::Joins => Ok(Step::Add(target.id, client_id)),
            }
        })();
        let outcome = match result {
            Ok(Step::Done(group, client, outcome)) => member_outcome(group, MemberRef::Client(client), outcome),
            Ok(Step::Add(group, client)) => {
                member_of.insert((group.0, client.0));
                if exclusive {
                    occupant.insert(client.0, group.0);
                }
                adds.push((outcomes.len(), group, client));
                member_outcome(group, MemberRef::Client(client), Outcome::Added)
            }
            Ok(Step::Nest(target, child)) => {
                let target = group_store::get(&mut tx.conn(), org, target).await?;
                let item = MemberRef::Group(child);
                super::rows::under_savepoint(tx, changes, async |tx, changes| {
                    let outcome = add_one(tx, ctx.org, ctx.actor, &target, item, cause, changes, ctx.now).await?;
                    Ok(member_outcome(target.id, item, outcome))
                })
                .await?
            }
            Err(e) if e.code == ErrorCode::Internal => return Err(e),
            Err(e) => rejected(e),
        };
        let mut outcome = outcome;
        if let Some(name) = created.get(&i) {
            // The report says which row made the group (its member may still be refused).
            let said = format!("created the group \"{name}\"");
            outcome.reason = Some(match outcome.reason.take() {
                Some(why) => format!("{said}; {why}"),
                None => said,
            });
        }
        outcomes.push((row_number, outcome));
    }

    phases.mark("rules");

    // 4. The writes: the memberships, then for each one inserted its audit event, its access change
    // and its group's count and version.
    if adds.is_empty() {
        return Ok(outcomes);
    }
    let how = Provenance {
        by: Some(ctx.actor.staff_id),
        cause,
        at: now,
    };
    let pairs: Vec<(GroupId, ClientId)> = adds.iter().map(|&(_, g, c)| (g, c)).collect();
    let inserted: HashSet<(GroupId, ClientId)> = member_store::add_clients(&mut tx.conn(), org, &pairs, exclusive, how)
        .await?
        .into_iter()
        .collect();
    phases.mark("memberships");
    let mut events = Vec::with_capacity(inserted.len());
    let mut added_to: HashMap<GroupId, i64> = HashMap::new();
    for &(index, group, client) in &adds {
        if !inserted.contains(&(group, client)) {
            // Another writer got there between our read and our insert (PostgreSQL): the answer
            // `members::add_one` gives when its insert finds a conflict.
            let already_member = member_store::is_client_member(&mut tx.conn(), group, client).await?;
            let other = if already_member {
                None
            } else {
                member_store::group_of_exclusive_client(&mut tx.conn(), client).await?
            };
            let other = other.map(|g| g.name).unwrap_or_default();
            let name = clients.get(&client.0).map(|f| f.name.as_str()).unwrap_or_default();
            outcomes[index].1 = match place(&ctx.org.policies, name, already_member, Some(&other)) {
                Ok(Admission::AlreadyMember) => {
                    member_outcome(group, MemberRef::Client(client), Outcome::AlreadyMember)
                }
                Ok(Admission::Joins) => return Err(Error::internal("a membership insert conflicted with nothing")),
                Err(e) => rejected(e),
            };
            continue;
        }
        // The same event `members::MembershipEvent` writes for a single addition.
        let state = serde_json::json!({ "group_id": group, "member": MemberRef::Client(client) });
        events.push(EventRow {
            organization_id: org,
            actor: Some(ctx.actor.staff_id),
            action: "membership.added",
            object_type: "membership",
            object_id: client.0,
            group: Some(group),
            client: Some(client),
            cause,
            before_json: None,
            after_json: Some(state.to_string()),
        });
        changes.push(Change::ClientAdded { org, group, client });
        *added_to.entry(group).or_default() += 1;
    }
    audit_store::record_many(&mut tx.conn(), events, ctx.actor.request_id.as_deref(), now).await?;
    phases.mark("audit");
    let mut touched: Vec<(GroupId, i64)> = added_to.into_iter().collect();
    // A fixed order, so concurrent batches on PostgreSQL lock groups in the same order.
    touched.sort();
    group_store::touch_many(&mut tx.conn(), &touched, Some(ctx.actor.staff_id), now).await?;
    Ok(outcomes)
}

/// Applies a batch of a bulk removal's or a group deletion's rows (`member_type`, `member_id`,
/// out of the request's group) inside the caller's transaction, with the outcomes, audit events
/// and access changes `members::remove_one` gives row by row: the clients go out in one pass, a
/// repeated client is `not_member` after its first row, and rows that detach a nested group take
/// the per-row path (they are few).
pub(crate) async fn removal_rows(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    cause: Cause,
    rows: Vec<(i64, Result<Fields>)>,
    changes: &mut Vec<Change>,
    phases: &mut super::rows::Phases,
) -> Result<Vec<(i64, RowOutcome)>> {
    let org = ctx.org.id;
    let group = ctx
        .group
        .ok_or_else(|| Error::internal("a bulk request without a group"))?;
    // The per-row path looks the group up for every row that names its member well; its refusal
    // (the group is gone) is every such row's.
    let gone = match group_store::get(&mut tx.conn(), org, group).await.map_err(Error::from) {
        Ok(_) => None,
        Err(e) if e.code == ErrorCode::Internal => return Err(e),
        Err(e) => Some(e),
    };
    let mut outcomes: Vec<(i64, RowOutcome)> = Vec::with_capacity(rows.len());
    // Rows that remove a client: (index into `outcomes`, client).
    let mut removals: Vec<(usize, ClientId)> = Vec::new();
    for (row_number, fields) in rows {
        let member = fields.and_then(|v| match parse_bulk(group, &v) {
            (Some(e), _, _) => Err(e),
            (None, _, member) => member,
        });
        let outcome = match (member, &gone) {
            (Err(e), _) if e.code == ErrorCode::Internal => return Err(e),
            (Err(e), _) => super::rows::rejected(&e),
            (Ok(_), Some(gone)) => super::rows::rejected(gone),
            (Ok(Member::ClientId(client)), None) => {
                removals.push((outcomes.len(), ClientId(client)));
                member_outcome(group, MemberRef::Client(ClientId(client)), Outcome::Removed)
            }
            (Ok(Member::GroupId(child)), None) => {
                let item = MemberRef::Group(GroupId(child));
                super::rows::under_savepoint(tx, changes, async |tx, changes| {
                    let outcome = remove_one(tx, org, ctx.actor, group, item, cause, changes, ctx.now).await?;
                    Ok(member_outcome(group, item, outcome))
                })
                .await?
            }
            (Ok(_), None) => return Err(Error::internal("a bulk row names its member by id")),
        };
        outcomes.push((row_number, outcome));
    }
    phases.mark("rules");
    if removals.is_empty() {
        return Ok(outcomes);
    }
    let clients: Vec<ClientId> = removals.iter().map(|&(_, c)| c).collect();
    let mut were_members = remove_clients(tx, ctx.actor, group, cause, &clients, changes, ctx.now).await?;
    phases.mark("memberships and audit");
    for &(index, client) in &removals {
        // The first row naming a member removes it; any later one finds it gone.
        if !were_members.remove(&client) {
            outcomes[index].1 = member_outcome(group, MemberRef::Client(client), Outcome::NotMember);
        }
    }
    Ok(outcomes)
}

/// Takes `clients` out of `group` in one pass, writing for each member the audit event, access
/// change and count step that `members::remove_one` writes for a single removal, in the order of
/// `clients`. Returns the clients that were members.
pub(crate) async fn remove_clients(
    tx: &mut Tx,
    actor: &Actor,
    group: GroupId,
    cause: Cause,
    clients: &[ClientId],
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<HashSet<ClientId>> {
    let org = actor.organization_id;
    let were_members: HashSet<ClientId> = member_store::remove_clients(&mut tx.conn(), group, clients, now)
        .await?
        .into_iter()
        .collect();
    let mut recorded: HashSet<ClientId> = HashSet::with_capacity(were_members.len());
    let mut events = Vec::with_capacity(were_members.len());
    for &client in clients {
        if !were_members.contains(&client) || !recorded.insert(client) {
            continue;
        }
        // The same event `members::MembershipEvent` writes for a single removal.
        let state = serde_json::json!({ "group_id": group, "member": MemberRef::Client(client) });
        events.push(EventRow {
            organization_id: org,
            actor: Some(actor.staff_id),
            action: "membership.removed",
            object_type: "membership",
            object_id: client.0,
            group: Some(group),
            client: Some(client),
            cause,
            before_json: Some(state.to_string()),
            after_json: None,
        });
        changes.push(Change::ClientRemoved { org, group, client });
    }
    let removed = events.len() as i64;
    audit_store::record_many(&mut tx.conn(), events, actor.request_id.as_deref(), now).await?;
    if removed > 0 {
        group_store::touch_many(&mut tx.conn(), &[(group, -removed)], Some(actor.staff_id), now).await?;
    }
    Ok(were_members)
}

/// What a row comes to once its rules are checked.
enum Step {
    /// Nothing to write.
    Done(GroupId, ClientId, Outcome),
    /// A membership to insert.
    Add(GroupId, ClientId),
    /// A group to nest: the per-row path.
    Nest(GroupId, GroupId),
}

/// A group as the rows of a batch see it.
struct Group {
    id: GroupId,
    name: String,
    kind: GroupKind,
}
