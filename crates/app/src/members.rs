//! Membership changes: clients into groups of clients, groups into groups of groups. One item's
//! refusal never stops the others: each item gets its own outcome.

use clientele_access::{Change, decide};
use clientele_domain::audit::Cause;
use clientele_domain::entities::{ClientGroup, Member, Organization};
use clientele_domain::membership::{Admission, ClientJoining, admit_client, place, takes_clients};
use clientele_domain::nesting::{NestingNode, check_nesting};
use clientele_domain::policy::MembershipMode;
use clientele_domain::{ClientId, Error, ErrorCode, GroupId, Millis, OrganizationId, Result};
use clientele_store::members::Provenance;
use clientele_store::{Conn, Locked, Tx, clients, groups, members as store, organizations};
use serde::Serialize;

use crate::paging::{self, Cursor, Page};
use crate::{Actor, App, access, audit, check_version};

pub use clientele_domain::group::MemberRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Added,
    AlreadyMember,
    Removed,
    NotMember,
    Rejected,
}

/// What happened to one item of a batch.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberOutcome {
    pub member: MemberRef,
    pub outcome: Outcome,
    /// Stable error code when rejected.
    pub code: Option<ErrorCode>,
    /// Why it was rejected, in words.
    pub detail: Option<String>,
}

impl MemberOutcome {
    fn ok(member: MemberRef, outcome: Outcome) -> Self {
        MemberOutcome {
            member,
            outcome,
            code: None,
            detail: None,
        }
    }
    fn rejected(member: MemberRef, e: Error) -> Self {
        MemberOutcome {
            member,
            outcome: Outcome::Rejected,
            code: Some(e.code),
            detail: Some(e.detail),
        }
    }
}

impl App {
    /// Adds members to a group, each item on its own terms; the group's version advances once.
    /// Admins and the group's managers (seed 004's Program Account Manager) may do it; a manager
    /// may only add clients and groups they can already see.
    pub async fn add_members(
        &self,
        actor: &Actor,
        group: GroupId,
        items: &[MemberRef],
        cause: Cause,
        if_match: Option<i64>,
    ) -> Result<Vec<MemberOutcome>> {
        self.add_members_until(actor, group, items, cause, if_match, None).await
    }

    /// [`App::add_members`], with the clients' memberships ending by themselves at `valid_until`
    /// (issue 3). A client already in the group gets the new end (or none).
    pub async fn add_members_until(
        &self,
        actor: &Actor,
        group: GroupId,
        items: &[MemberRef],
        cause: Cause,
        if_match: Option<i64>,
        valid_until: Option<Millis>,
    ) -> Result<Vec<MemberOutcome>> {
        check_batch_size(items)?;
        crate::retry_conflicts(|| self.add_members_once(actor, group, items, cause, if_match, valid_until)).await
    }

    async fn add_members_once(
        &self,
        actor: &Actor,
        group: GroupId,
        items: &[MemberRef],
        cause: Cause,
        if_match: Option<i64>,
        valid_until: Option<Millis>,
    ) -> Result<Vec<MemberOutcome>> {
        let now = self.clock.now();
        if let Some(until) = valid_until
            && until <= now
        {
            return Err(Error::invalid("valid_until", "must be in the future"));
        }
        decide::manage_members(&self.access, actor.viewer(), group, now)?;
        let nests = items.iter().any(|m| matches!(m, MemberRef::Group(_)));
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), actor.organization_id, nests).await?;
        tx.conn().lock(Locked::Group, group.0).await?;
        let target = groups::get(&mut tx.conn(), actor.organization_id, group).await?;
        check_version(if_match, target.version)?;
        let mut results = Vec::with_capacity(items.len());
        let mut changes = Vec::new();
        for (index, item) in in_lock_order(items) {
            // The actor must already manage what they add (or the client is in no group).
            let visible = match item {
                MemberRef::Client(c) => {
                    decide::add_client(&self.access, actor.viewer(), org.id, group, c, now).map(|_| ())
                }
                MemberRef::Group(g) => decide::nest(&self.access, actor.viewer(), group, g, now).map(|_| ()),
            };
            let outcome = match visible {
                Ok(()) => {
                    if let MemberRef::Client(client) = item {
                        end_lapsed_memberships(&mut tx.conn(), org.id, client, now, &mut changes).await?;
                    }
                    let added = add_one(
                        &mut tx,
                        &org,
                        actor,
                        &target,
                        item,
                        cause,
                        &mut changes,
                        self.clock.now(),
                    )
                    .await;
                    match (added, item) {
                        (Ok(o), MemberRef::Client(client)) if valid_until.is_some() || o == Outcome::AlreadyMember => {
                            set_validity(
                                &mut tx.conn(),
                                org.id,
                                actor,
                                group,
                                client,
                                valid_until,
                                o,
                                &mut changes,
                            )
                            .await
                            .map(|()| o)
                        }
                        (other, _) => other,
                    }
                }
                Err(e) => Err(e),
            };
            results.push((
                index,
                match outcome {
                    Ok(o) => MemberOutcome::ok(item, o),
                    Err(e) if e.code == ErrorCode::Internal || e.is_transient() => return Err(e),
                    Err(e) if !actor.viewer().admin => MemberOutcome::rejected(item, without_hidden_groups(e)),
                    Err(e) => MemberOutcome::rejected(item, e),
                },
            ));
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(in_request_order(results))
    }

    /// Removes members from a group (admins and the group's managers).
    pub async fn remove_members(
        &self,
        actor: &Actor,
        group: GroupId,
        items: &[MemberRef],
        cause: Cause,
        if_match: Option<i64>,
    ) -> Result<Vec<MemberOutcome>> {
        check_batch_size(items)?;
        crate::retry_conflicts(|| self.remove_members_once(actor, group, items, cause, if_match)).await
    }

    async fn remove_members_once(
        &self,
        actor: &Actor,
        group: GroupId,
        items: &[MemberRef],
        cause: Cause,
        if_match: Option<i64>,
    ) -> Result<Vec<MemberOutcome>> {
        decide::manage_members(&self.access, actor.viewer(), group, self.clock.now())?;
        let mut tx = self.begin().await?;
        let org = actor.organization_id;
        organizations::get_locked(&mut tx.conn(), org, false).await?;
        tx.conn().lock(Locked::Group, group.0).await?;
        let target = groups::get(&mut tx.conn(), org, group).await?;
        check_version(if_match, target.version)?;
        let mut results = Vec::with_capacity(items.len());
        let mut changes = Vec::new();
        for (index, item) in in_lock_order(items) {
            let outcome = remove_one(&mut tx, org, actor, group, item, cause, &mut changes, self.clock.now()).await?;
            results.push((index, MemberOutcome::ok(item, outcome)));
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(in_request_order(results))
    }

    /// A page of a group's direct members, by name.
    pub async fn group_members(
        &self,
        actor: &Actor,
        group: GroupId,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<Member>> {
        decide::view_group(&self.access, actor.viewer(), group, self.clock.now())?;
        let limit = paging::limit(limit)?;
        let cursor = Cursor::decode(cursor)?;
        let mut conn = self.db.read().await?;
        let g = groups::get(&mut conn.conn(), actor.organization_id, group).await?;
        let rows = store::list(
            &mut conn.conn(),
            group,
            g.kind,
            cursor.as_after(),
            limit + 1,
            self.clock.now(),
        )
        .await?;
        Ok(paging::keyed_page(rows, limit, |m| match m {
            Member::Client { id, .. } => id.0,
            Member::Group { id, .. } => id.0,
        }))
    }
}

/// A nesting refusal as staff may read it: its chain of groups runs through groups above the
/// target that the actor may not see, so it names none of them (admins get the chain).
fn without_hidden_groups(e: Error) -> Error {
    match e.code {
        ErrorCode::NestingCycle => Error::new(
            e.code,
            "nesting this group here would make a group contain itself, through groups above this one; ask an admin",
        ),
        ErrorCode::NestingTooDeep => {
            let max = e
                .extra
                .as_ref()
                .and_then(|x| x["max_depth"].as_i64())
                .unwrap_or_default();
            Error::new(
                e.code,
                format!(
                    "nesting this group here would make groups nested deeper than this organisation allows ({max} levels)"
                ),
            )
        }
        _ => e,
    }
}

/// The most members one call changes in its own transaction; more go to a process request
/// (`POST /groups/{id}/members/bulk`), so one call cannot hold the write lock for seconds.
pub const MAX_SYNC_ITEMS: usize = crate::process_requests::SMALL as usize;

fn check_batch_size(items: &[MemberRef]) -> Result<()> {
    if items.len() > MAX_SYNC_ITEMS {
        return Err(Error::invalid(
            "client_ids",
            format!(
                "at most {MAX_SYNC_ITEMS} members per call ({} were sent); send larger changes to \
                 POST /api/v1/groups/{{id}}/members/bulk, which runs them as a process request",
                items.len()
            ),
        ));
    }
    Ok(())
}

/// The items of a call in the order their rows are locked: groups before clients, each by id.
/// Two calls that change overlapping members of different groups (an exclusive client moving,
/// say) then take the members' locks in the same order and wait for each other instead of
/// deadlocking. Each item keeps its index in the request, so answers go back in the caller's order.
fn in_lock_order(items: &[MemberRef]) -> Vec<(usize, MemberRef)> {
    let mut ordered: Vec<(usize, MemberRef)> = items.iter().copied().enumerate().collect();
    ordered.sort_by_key(|&(index, item)| match item {
        MemberRef::Group(g) => (0, g.0, index),
        MemberRef::Client(c) => (1, c.0, index),
    });
    ordered
}

fn in_request_order(mut results: Vec<(usize, MemberOutcome)>) -> Vec<MemberOutcome> {
    results.sort_by_key(|&(index, _)| index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Adds one member inside the caller's transaction, pushing the access change to record. `Err` is
/// a refusal of this item only.
#[expect(
    clippy::too_many_arguments,
    reason = "a single edit and a batch row name the same facts; grouping them would only rename them"
)]
pub(crate) async fn add_one(
    tx: &mut Tx,
    org: &Organization,
    actor: &Actor,
    target: &ClientGroup,
    item: MemberRef,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<Outcome> {
    let how = Provenance {
        by: Some(actor.staff_id),
        cause,
        at: now,
    };
    match item {
        MemberRef::Client(client_id) => {
            takes_clients(&target.name, target.kind)?;
            let client = clients::get(&mut tx.conn(), org.id, client_id)
                .await
                .map_err(Error::from)
                .map_err(|_| Error::new(ErrorCode::NotFound, format!("client {client_id} not found")))?;
            let facts = ClientJoining {
                group_name: &target.name,
                group_kind: target.kind,
                client_name: &client.name,
                relationship: client.relationship,
                relationship_expires_at: client.relationship_expires_at,
                already_member: false,
                other_group: None,
            };
            admit_client(&org.policies, &facts, now)?;
            // Membership itself is learnt from the insert, which a concurrent writer cannot slip
            // past: on a conflict, the rule is asked again with what the conflict was.
            let exclusive = org.policies.membership_mode == MembershipMode::Exclusive;
            if !store::add_client(&mut tx.conn(), org.id, target.id, client_id, exclusive, how).await? {
                let already_member = store::is_client_member(&mut tx.conn(), target.id, client_id).await?;
                let other = if already_member {
                    None
                } else {
                    store::group_of_exclusive_client(&mut tx.conn(), client_id).await?
                };
                let other = other.map(|g| g.name).unwrap_or_default();
                return match place(&org.policies, &client.name, already_member, Some(&other))? {
                    Admission::AlreadyMember => Ok(Outcome::AlreadyMember),
                    Admission::Joins => Err(Error::internal("a membership insert conflicted with nothing")),
                };
            }
        }
        MemberRef::Group(child_id) => {
            let child = groups::get(&mut tx.conn(), org.id, child_id)
                .await
                .map_err(Error::from)
                .map_err(|_| Error::new(ErrorCode::NotFound, format!("client group {child_id} not found")))?;
            let graph = groups::neighbourhood(&mut tx.conn(), target.id, child_id).await?;
            let node = |g: &ClientGroup| NestingNode {
                id: g.id,
                name: g.name.clone(),
                kind: g.kind,
            };
            check_nesting(&node(target), &node(&child), &graph, org.policies.max_nesting_depth)?;
            if !store::add_child(&mut tx.conn(), org.id, target.id, child_id, how).await? {
                return Ok(Outcome::AlreadyMember);
            }
        }
    }
    let event = MembershipEvent {
        org: org.id,
        group: target.id,
        item,
        cause,
        added: true,
    };
    event.record(&mut tx.conn(), Some(actor), changes).await?;
    groups::touch(&mut tx.conn(), target.id, 1, Some(actor.staff_id), now).await?;
    Ok(Outcome::Added)
}

/// Removes one member inside the caller's transaction (never deletes the client or group itself).
#[expect(
    clippy::too_many_arguments,
    reason = "a single edit and a batch row name the same facts; grouping them would only rename them"
)]
pub(crate) async fn remove_one(
    tx: &mut Tx,
    org: OrganizationId,
    actor: &Actor,
    group: GroupId,
    item: MemberRef,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<Outcome> {
    let removed = match item {
        MemberRef::Client(client) => store::remove_client(&mut tx.conn(), group, client, now).await?,
        MemberRef::Group(child) => store::remove_child(&mut tx.conn(), group, child).await?,
    };
    if !removed {
        return Ok(Outcome::NotMember);
    }
    let event = MembershipEvent {
        org,
        group,
        item,
        cause,
        added: false,
    };
    event.record(&mut tx.conn(), Some(actor), changes).await?;
    groups::touch(&mut tx.conn(), group, -1, Some(actor.staff_id), now).await?;
    Ok(Outcome::Removed)
}

/// A membership that began or ended: written to the audit trail, and pushed as an access change.
pub(crate) struct MembershipEvent {
    pub org: OrganizationId,
    pub group: GroupId,
    pub item: MemberRef,
    pub cause: Cause,
    pub added: bool,
}

impl MembershipEvent {
    pub(crate) async fn record(
        &self,
        c: &mut Conn<'_>,
        actor: Option<&Actor>,
        changes: &mut Vec<Change>,
    ) -> Result<()> {
        let (org, group) = (self.org, self.group);
        let (client, object, change) = match (self.item, self.added) {
            (MemberRef::Client(id), true) => (
                Some(id),
                ("membership", id.0),
                Change::ClientAdded { org, group, client: id },
            ),
            (MemberRef::Client(id), false) => (
                Some(id),
                ("membership", id.0),
                Change::ClientRemoved { org, group, client: id },
            ),
            (MemberRef::Group(id), true) => (
                None,
                ("nesting", id.0),
                Change::ChildAdded {
                    org,
                    parent: group,
                    child: id,
                },
            ),
            (MemberRef::Group(id), false) => (
                None,
                ("nesting", id.0),
                Change::ChildRemoved {
                    org,
                    parent: group,
                    child: id,
                },
            ),
        };
        changes.push(change);
        let state = serde_json::json!({ "group_id": group, "member": self.item });
        let (action, before, after) = if self.added {
            ("membership.added", None, Some(state))
        } else {
            ("membership.removed", Some(state), None)
        };
        audit::Event {
            org,
            actor,
            action,
            object,
            group: Some(group),
            client,
            cause: self.cause,
            before,
            after,
        }
        .record(c)
        .await
    }
}

/// Takes a client out of every group (its relationship lapsed), recording why.
pub(crate) async fn remove_from_all_groups(
    c: &mut Conn<'_>,
    org: OrganizationId,
    client: ClientId,
    actor: Option<&Actor>,
    cause: Cause,
    now: clientele_domain::Millis,
) -> Result<usize> {
    let groups_left = store::remove_client_everywhere(c, client, now).await?;
    let mut changes = Vec::with_capacity(groups_left.len());
    for &group in &groups_left {
        let event = MembershipEvent {
            org,
            group,
            item: MemberRef::Client(client),
            cause,
            added: false,
        };
        event.record(c, actor, &mut changes).await?;
        groups::touch(c, group, -1, actor.map(|a| a.staff_id), now).await?;
    }
    access::record(c, &changes).await?;
    Ok(groups_left.len())
}

/// Memberships of `client` whose validity ended by `now` but which the sweep has not deleted yet:
/// deleted now, so that they neither block exclusive membership nor pass for current ones.
async fn end_lapsed_memberships(
    c: &mut Conn<'_>,
    org: OrganizationId,
    client: ClientId,
    now: Millis,
    changes: &mut Vec<Change>,
) -> Result<()> {
    for (o, group, lapsed_client) in store::lapsed_of_client(c, client, now).await? {
        if o == org {
            end_membership(c, o, group, lapsed_client, changes, now).await?;
        }
    }
    Ok(())
}

/// Ends one lapsed membership: deleted, audited as `validity_ended`, and removed from the index.
pub(crate) async fn end_membership(
    c: &mut Conn<'_>,
    org: OrganizationId,
    group: GroupId,
    client: ClientId,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<bool> {
    if !store::remove_client(c, group, client, now).await? {
        return Ok(false);
    }
    let event = MembershipEvent {
        org,
        group,
        item: MemberRef::Client(client),
        cause: Cause::ValidityEnded,
        added: false,
    };
    event.record(c, None, changes).await?;
    groups::touch(c, group, -1, None, now).await?;
    Ok(true)
}

/// Sets when a membership ends by itself, audited as a change of the membership.
#[expect(
    clippy::too_many_arguments,
    reason = "who, where, which member, the new end and what came before"
)]
async fn set_validity(
    c: &mut Conn<'_>,
    org: OrganizationId,
    actor: &Actor,
    group: GroupId,
    client: ClientId,
    valid_until: Option<Millis>,
    outcome: Outcome,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let before = store::valid_until(c, group, client).await?.flatten();
    if outcome == Outcome::AlreadyMember && before == valid_until {
        return Ok(());
    }
    store::set_valid_until(c, group, client, valid_until).await?;
    changes.push(Change::MembershipValidity {
        org,
        group,
        client,
        valid_until,
    });
    audit::Event {
        org,
        actor: Some(actor),
        action: "membership.validity_set",
        object: ("membership", client.0),
        group: Some(group),
        client: Some(client),
        cause: Cause::Manual,
        before: Some(serde_json::json!({ "valid_until": before })),
        after: Some(serde_json::json!({ "valid_until": valid_until })),
    }
    .record(c)
    .await
}

impl App {
    /// Deletes memberships whose validity ended (the index already stopped counting them at
    /// that instant); returns how many. `serve` runs it every minute.
    pub async fn sweep_lapsed_memberships(&self) -> Result<usize> {
        let mut ended = 0;
        loop {
            let mut tx = self.begin().await?;
            let batch = store::lapsed(&mut tx.conn(), self.clock.now(), 500).await?;
            if batch.is_empty() {
                return Ok(ended);
            }
            let mut changes = Vec::with_capacity(batch.len());
            for (org, group, client) in batch {
                if end_membership(&mut tx.conn(), org, group, client, &mut changes, self.clock.now()).await? {
                    ended += 1;
                }
            }
            access::record(&mut tx.conn(), &changes).await?;
            self.commit(tx).await?;
        }
    }
}
