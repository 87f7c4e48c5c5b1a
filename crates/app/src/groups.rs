//! Client groups: create, edit, delete, logos.

use clientele_access::{Change, ListGroups, decide};
use clientele_domain::audit::Cause;
use clientele_domain::entities::{ClientGroup, GroupDetail, Organization};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::{DeletionFacts, GroupKind, delete_blockers};
use clientele_domain::logo::{Logo, LogoVariant};
use clientele_domain::names::{Name, optional_reference, optional_text};
use clientele_domain::{BusinessUnitId, Error, ErrorCode, GroupId, OrganizationId, Result};
use clientele_store::groups::{self as store, GroupFields};
use clientele_store::{Conn, Locked, Tx, business_units, organizations};

use crate::access::CountedPage;
use crate::members::{MemberRef, add_one};
use crate::paging::{self, Cursor, Position};
use crate::{Actor, Admin, App, access, audit, check_version};

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: String,
    pub kind: GroupKind,
    pub business_unit_id: BusinessUnitId,
    pub description: Option<String>,
    pub crm_id: Option<String>,
    pub protected: bool,
    /// Members to add at creation; the group is created only if every one of them can join.
    pub members: Vec<MemberRef>,
}

/// Changes to a group's settings; absent fields keep their value, an empty string clears
/// description or CRM id.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub business_unit_id: Option<BusinessUnitId>,
    pub description: Option<String>,
    pub crm_id: Option<String>,
    pub protected: Option<bool>,
}

/// What a viewer may do with a group (see [`App::group_actions`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupActions {
    /// Add and remove members: admins, and managers of the group or of a group above it.
    pub manage_members: bool,
    /// Change its settings and logos, assign staff: admins.
    pub administer: bool,
    /// Delete it: admins, when nothing blocks the deletion.
    pub delete: bool,
    /// Lift its protection from deletion: admins, on a protected group.
    pub lift_protection: bool,
}

impl App {
    pub async fn groups(
        &self,
        actor: &Actor,
        filter: &GroupFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<CountedPage<ClientGroup>> {
        let limit = paging::limit(limit)?;
        let position = Position::decode(cursor)?;
        let mut conn = self.db.read().await?;
        if !actor.viewer().admin {
            // Staff see the groups they are assigned to and those nested below: filtered by
            // access in the index, paged there, then loaded.
            let page = self.access.list_groups(&ListGroups {
                staff: actor.staff_id,
                kind: filter.kind,
                unit: filter.business_unit,
                text: filter.text.as_deref(),
                within: filter.within,
                order: filter.order,
                after: position.after(),
                backward: position.backward,
                limit: limit as usize,
                now: self.clock.now(),
            });
            let items = store::by_ids(&mut conn.conn(), actor.organization_id, &page.ids).await?;
            let (next_cursor, prev_cursor) = paging::index_cursors(&page.keys, page.more, &position);
            return Ok(CountedPage {
                items,
                next_cursor,
                prev_cursor,
                total: page.total,
            });
        }
        let rows = store::list(
            &mut conn.conn(),
            actor.organization_id,
            filter,
            position.after(),
            position.backward,
            limit + 1,
        )
        .await?;
        let total = store::count(&mut conn.conn(), actor.organization_id, filter).await?;
        let page = paging::directed_page(rows, limit, &position, |(g, key)| Cursor {
            key: key.clone(),
            id: g.id.0,
        });
        Ok(CountedPage {
            items: page.items.into_iter().map(|(g, _)| g).collect(),
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
            total: total as u64,
        })
    }

    /// A group with its parents and whether (and why not) it can be deleted.
    pub async fn group(&self, actor: &Actor, id: GroupId) -> Result<GroupDetail> {
        decide::view_group(&self.access, actor.viewer(), id, self.clock.now())?;
        let mut conn = self.db.read().await?;
        let org = organizations::get(&mut conn.conn(), actor.organization_id).await?;
        let group = store::get(&mut conn.conn(), actor.organization_id, id).await?;
        let detail = detail(&mut conn.conn(), &org.policies, group).await?;
        Ok(self.as_seen_by(actor, detail))
    }

    /// What the actor may do with this group: the very decisions the use cases take, so a screen
    /// offers exactly the actions that would be accepted.
    pub fn group_actions(&self, actor: &Actor, group: &GroupDetail) -> GroupActions {
        let now = self.clock.now();
        let id = group.group.id;
        let administer = decide::administer_group(&self.access, actor.viewer(), id, now).is_ok();
        GroupActions {
            manage_members: decide::manage_members(&self.access, actor.viewer(), id, now).is_ok(),
            administer,
            delete: administer && group.deletable,
            lift_protection: administer && group.group.protected,
        }
    }

    /// What of a group's detail the actor may see: parents they cannot see are left out (they
    /// are counted, not named, in the deletion blockers), so a group page never names them.
    fn as_seen_by(&self, actor: &Actor, mut detail: GroupDetail) -> GroupDetail {
        if actor.viewer().admin {
            return detail;
        }
        let now = self.clock.now();
        let (shown, hidden): (Vec<_>, Vec<_>) = std::mem::take(&mut detail.parents)
            .into_iter()
            .partition(|p| decide::view_group(&self.access, actor.viewer(), p.id, now).is_ok());
        if !hidden.is_empty() {
            for blocker in &mut detail.delete_blockers {
                if blocker.code == "nested_in_groups" {
                    let mut names: Vec<String> = shown.iter().map(|p| format!("\"{}\"", p.name)).collect();
                    names.push(format!("{} group(s) you cannot see", hidden.len()));
                    blocker.message = format!(
                        "This group is a member of other groups of client groups ({}); it must be removed from them first.",
                        names.join(", ")
                    );
                }
            }
        }
        detail.parents = shown;
        detail
    }

    /// [`App::group`] for a page of a list (whether each can be deleted, and why not), in a few
    /// statements for the whole page rather than a few per group.
    pub async fn group_details(&self, actor: &Actor, groups: Vec<ClientGroup>) -> Result<Vec<GroupDetail>> {
        let now = self.clock.now();
        for g in &groups {
            decide::view_group(&self.access, actor.viewer(), g.id, now)?;
        }
        let mut conn = self.db.read().await?;
        let org = organizations::get(&mut conn.conn(), actor.organization_id).await?;
        let ids: Vec<GroupId> = groups.iter().map(|g| g.id).collect();
        let mut parents: std::collections::HashMap<GroupId, Vec<clientele_domain::entities::GroupRef>> =
            std::collections::HashMap::new();
        for (child, parent) in store::parents_of(&mut conn.conn(), &ids).await? {
            parents.entry(child).or_default().push(parent);
        }
        let raw: Vec<i64> = ids.iter().map(|g| g.0).collect();
        let deleting: std::collections::HashMap<i64, i64> =
            clientele_store::process_requests::deleting_many(&mut conn.conn(), &raw)
                .await?
                .into_iter()
                .collect();
        Ok(groups
            .into_iter()
            .map(|group| {
                let parents = parents.remove(&group.id).unwrap_or_default();
                let being_deleted_by = deleting.get(&group.id.0).copied();
                self.as_seen_by(actor, assemble(&org.policies, group, parents, being_deleted_by))
            })
            .collect())
    }

    pub async fn create_group(&self, admin: Admin<'_>, new: NewGroup) -> Result<GroupDetail> {
        crate::retry_conflicts(|| self.create_group_once(admin, new.clone())).await
    }

    async fn create_group_once(&self, admin: Admin<'_>, new: NewGroup) -> Result<GroupDetail> {
        let actor = admin.actor();
        let nests = new.members.iter().any(|m| matches!(m, MemberRef::Group(_)));
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), actor.organization_id, nests).await?;
        let mut changes = Vec::new();
        let group = create_in(&mut tx, &org, actor, new, Cause::Manual, &mut changes, self.clock.now()).await?;
        let result = detail(&mut tx.conn(), &org.policies, group).await?;
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(result)
    }

    pub async fn update_group(
        &self,
        admin: Admin<'_>,
        id: GroupId,
        patch: GroupPatch,
        if_match: Option<i64>,
    ) -> Result<GroupDetail> {
        crate::retry_conflicts(|| self.update_group_once(admin, id, patch.clone(), if_match)).await
    }

    async fn update_group_once(
        &self,
        admin: Admin<'_>,
        id: GroupId,
        patch: GroupPatch,
        if_match: Option<i64>,
    ) -> Result<GroupDetail> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), actor.organization_id, false).await?;
        let mut changes = Vec::new();
        let after = update_in(
            &mut tx,
            org.id,
            actor,
            id,
            patch,
            if_match,
            Cause::Manual,
            &mut changes,
            self.clock.now(),
        )
        .await?;
        access::record(&mut tx.conn(), &changes).await?;
        let result = detail(&mut tx.conn(), &org.policies, after).await?;
        self.commit(tx).await?;
        Ok(result)
    }

    pub async fn put_logo(
        &self,
        admin: Admin<'_>,
        id: GroupId,
        variant: LogoVariant,
        png: Vec<u8>,
    ) -> Result<GroupDetail> {
        let actor = admin.actor();
        let logo = Logo::parse(&format!("logo_{}", variant.as_str()), png)?;
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), actor.organization_id, false).await?;
        store::get(&mut tx.conn(), org.id, id).await?;
        let now = self.clock.now();
        store::put_logo(&mut tx.conn(), id, variant, &logo, now).await?;
        store::touch(&mut tx.conn(), id, 0, Some(actor.staff_id), now).await?;
        audit::Event { org: org.id, actor: Some(actor), action: "group.logo_changed", object: ("group", id.0), group: Some(id), client: None, cause: Cause::Manual, before: None, after: Some(serde_json::json!({ "variant": variant, "width": logo.width, "height": logo.height, "bytes": logo.png.len() })) }.record(&mut tx.conn()).await?;
        let group = store::get(&mut tx.conn(), org.id, id).await?;
        let result = detail(&mut tx.conn(), &org.policies, group).await?;
        self.commit(tx).await?;
        Ok(result)
    }

    pub async fn delete_logo(&self, admin: Admin<'_>, id: GroupId, variant: LogoVariant) -> Result<()> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        store::get(&mut tx.conn(), actor.organization_id, id).await?;
        if store::delete_logo(&mut tx.conn(), id, variant).await? {
            store::touch(&mut tx.conn(), id, 0, Some(actor.staff_id), self.clock.now()).await?;
            audit::Event {
                org: actor.organization_id,
                actor: Some(actor),
                action: "group.logo_removed",
                object: ("group", id.0),
                group: Some(id),
                client: None,
                cause: Cause::Manual,
                before: Some(serde_json::json!({ "variant": variant })),
                after: None,
            }
            .record(&mut tx.conn())
            .await?;
        }
        self.commit(tx).await
    }

    /// The PNG and when it was stored.
    pub async fn logo(&self, actor: &Actor, id: GroupId, variant: LogoVariant) -> Result<(Vec<u8>, i64)> {
        decide::view_group(&self.access, actor.viewer(), id, self.clock.now())?;
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id).await?;
        store::logo(&mut conn.conn(), id, variant)
            .await?
            .ok_or_else(|| Error::not_found("logo"))
    }
}

/// Creates a group inside the caller's transaction (the organisation row already locked, for
/// nesting when `new.members` holds groups), with its members: every one must be able to join.
pub(crate) async fn create_in(
    tx: &mut Tx,
    org: &Organization,
    actor: &Actor,
    new: NewGroup,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<ClientGroup> {
    let name = Name::parse("name", &new.name)?;
    if org.policies.require_first_member && new.kind == GroupKind::Clients && new.members.is_empty() {
        return Err(Error::invalid(
            "client_ids",
            "select at least one available client: groups of clients are created with at least one member here",
        ));
    }
    let fields = GroupFields {
        name_key: name.key(),
        name: name.into_string(),
        description: optional_text("description", new.description.as_deref(), 2000)?,
        crm_id: optional_reference("crm_id", new.crm_id.as_deref())?,
        business_unit_id: new.business_unit_id,
        protected: new.protected,
    };
    check_business_unit(&mut tx.conn(), org.id, fields.business_unit_id).await?;
    check_name_free(&mut tx.conn(), org.id, &fields, None).await?;
    let id = store::insert(&mut tx.conn(), org.id, new.kind, &fields, actor.staff_id, now).await?;
    let mut group = store::get(&mut tx.conn(), org.id, id).await?;
    audit::Event {
        org: org.id,
        actor: Some(actor),
        action: "group.created",
        object: ("group", id.0),
        group: Some(id),
        client: None,
        cause,
        before: None,
        after: serde_json::to_value(&group).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    changes.push(group_change(org.id, &group));
    for (row, &member) in new.members.iter().enumerate() {
        add_one(tx, org, actor, &group, member, cause, changes, now)
            .await
            .map_err(|e| {
                let detail = format!("members[{row}]: {}", e.detail);
                Error {
                    detail,
                    field: Some(format!("members[{row}]")),
                    ..e
                }
            })?;
    }
    if !new.members.is_empty() {
        group = store::get(&mut tx.conn(), org.id, id).await?;
    }
    Ok(group)
}

/// The fields a patch would write over `before`, validated (imports compare them to tell
/// "unchanged" from "updated").
pub(crate) fn patched_fields(before: &ClientGroup, patch: &GroupPatch) -> Result<GroupFields> {
    let name = Name::parse("name", patch.name.as_deref().unwrap_or(&before.name))?;
    Ok(GroupFields {
        name_key: name.key(),
        name: name.into_string(),
        description: optional_text(
            "description",
            patch.description.as_deref().or(before.description.as_deref()),
            2000,
        )?,
        crm_id: optional_reference("crm_id", patch.crm_id.as_deref().or(before.crm_id.as_deref()))?,
        business_unit_id: patch.business_unit_id.unwrap_or(before.business_unit_id),
        protected: patch.protected.unwrap_or(before.protected),
    })
}

/// Changes a group's settings inside the caller's transaction; returns the group after.
#[expect(
    clippy::too_many_arguments,
    reason = "the transaction, who, what, and the audit cause"
)]
pub(crate) async fn update_in(
    tx: &mut Tx,
    org: OrganizationId,
    actor: &Actor,
    id: GroupId,
    patch: GroupPatch,
    if_match: Option<i64>,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<ClientGroup> {
    tx.conn().lock(Locked::Group, id.0).await?;
    let before = store::get(&mut tx.conn(), org, id).await?;
    check_version(if_match, before.version)?;
    let fields = patched_fields(&before, &patch)?;
    check_business_unit(&mut tx.conn(), org, fields.business_unit_id).await?;
    check_name_free(&mut tx.conn(), org, &fields, Some(id)).await?;
    store::update(&mut tx.conn(), org, id, &fields, actor.staff_id, now).await?;
    let after = store::get(&mut tx.conn(), org, id).await?;
    audit::Event {
        org,
        actor: Some(actor),
        action: "group.updated",
        object: ("group", id.0),
        group: Some(id),
        client: None,
        cause,
        before: serde_json::to_value(&before).ok(),
        after: serde_json::to_value(&after).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    changes.push(group_change(org, &after));
    Ok(after)
}

pub(crate) async fn detail(
    c: &mut Conn<'_>,
    policies: &clientele_domain::policy::Policies,
    group: ClientGroup,
) -> Result<GroupDetail> {
    let being_deleted_by = clientele_store::process_requests::deleting(c, group.id.0).await?;
    detail_with(c, policies, group, being_deleted_by).await
}

pub(crate) async fn detail_with(
    c: &mut Conn<'_>,
    policies: &clientele_domain::policy::Policies,
    group: ClientGroup,
    being_deleted_by: Option<i64>,
) -> Result<GroupDetail> {
    let parents = store::parents(c, group.id).await?;
    Ok(assemble(policies, group, parents, being_deleted_by))
}

/// A group with what its deletion depends on, and the blockers that follow.
fn assemble(
    policies: &clientele_domain::policy::Policies,
    group: ClientGroup,
    parents: Vec<clientele_domain::entities::GroupRef>,
    being_deleted_by: Option<i64>,
) -> GroupDetail {
    let facts = DeletionFacts {
        member_count: group.member_count,
        parent_names: parents.iter().map(|p| p.name.clone()).collect(),
        protected: group.protected,
        being_deleted_by,
    };
    let delete_blockers = delete_blockers(policies, &facts);
    GroupDetail {
        deletable: delete_blockers.is_empty(),
        delete_blockers,
        parents,
        group,
    }
}

async fn check_business_unit(c: &mut Conn<'_>, org: OrganizationId, unit: BusinessUnitId) -> Result<()> {
    business_units::get(c, org, unit)
        .await
        .map_err(Error::from)
        .map(|_| ())
        .map_err(|_| {
            Error::invalid(
                "business_unit_id",
                format!("no business unit {unit} in this organisation"),
            )
        })
}

/// Names are unique among live groups and, where the organisation never reuses names, among
/// deleted ones too (seed 004). The unique index is the backstop for races.
async fn check_name_free(c: &mut Conn<'_>, org: OrganizationId, f: &GroupFields, this: Option<GroupId>) -> Result<()> {
    if let Some(other) = store::find_by_name(c, org, &f.name_key).await?
        && Some(other.id) != this
    {
        return Err(Error::new(
            ErrorCode::NameTaken,
            format!("a client group named \"{}\" already exists", other.name),
        )
        .with_field("name"));
    }
    if store::name_reserved_by_tombstone(c, org, &f.name_key).await? {
        return Err(Error::new(
            ErrorCode::NameReserved,
            format!(
                "\"{}\" was the name of a deleted group; this organisation never reuses group names",
                f.name
            ),
        )
        .with_field("name"));
    }
    Ok(())
}

/// The group as the access index keeps it.
fn group_change(org: OrganizationId, group: &ClientGroup) -> Change {
    Change::Group {
        org,
        group: group.id,
        name_key: Name::parse("name", &group.name).map(|n| n.key()).unwrap_or_default(),
        kind: group.kind,
        unit: group.business_unit_id,
    }
}
