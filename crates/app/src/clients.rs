//! Clients.

use clientele_access::{Change, Seeing, decide};
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::{ClientStatus, Relationship, relationship_is_active};
use clientele_domain::entities::{Client, GroupRef};
use clientele_domain::names::{Email, Name, optional_reference, optional_text};
use clientele_domain::{BusinessUnitId, ClientId, Error, ErrorCode, Millis, Result};
use clientele_store::clients::{self as store, ClientFields};
use clientele_store::{Locked, business_units, members};

use crate::access::CountedPage;
use crate::{Actor, Admin, App, access, audit, check_version};
use clientele_domain::policy::MembershipMode;

/// Input for creating a client, and (every field optional) for changing one. For optional text
/// fields an empty string clears the value.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: Option<String>,
    pub external_ref: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: Option<ClientStatus>,
    pub relationship: Option<Relationship>,
    /// `Some(None)` clears the expiry date.
    pub relationship_expires_at: Option<Option<Millis>>,
    /// `Some(None)` detaches the client from its business unit.
    pub business_unit_id: Option<Option<BusinessUnitId>>,
    pub notes: Option<String>,
}

impl ClientInput {
    /// Merges the input over `base` (absent fields keep their value) and validates the result.
    pub(crate) fn into_fields(self, base: Option<&Client>) -> Result<ClientFields> {
        let name = match (self.name.as_deref(), base) {
            (Some(n), _) => Name::parse("name", n)?,
            (None, Some(b)) => Name::parse("name", &b.name)?,
            (None, None) => return Err(Error::invalid("name", "is required")),
        };
        let keep = |new: Option<String>, old: Option<&Option<String>>| -> Option<String> {
            match new {
                Some(v) => Some(v),
                None => old.cloned().flatten(),
            }
        };
        let email = match keep(self.email, base.map(|b| &b.email)) {
            Some(e) if !e.trim().is_empty() => Some(Email::parse("email", &e)?.into_string()),
            _ => None,
        };
        Ok(ClientFields {
            name_key: name.key(),
            name: name.into_string(),
            external_ref: optional_reference(
                "external_ref",
                keep(self.external_ref, base.map(|b| &b.external_ref)).as_deref(),
            )?,
            email,
            phone: optional_text("phone", keep(self.phone, base.map(|b| &b.phone)).as_deref(), 50)?,
            status: self.status.or(base.map(|b| b.status)).unwrap_or(ClientStatus::Active),
            relationship: self
                .relationship
                .or(base.map(|b| b.relationship))
                .unwrap_or(Relationship::Active),
            relationship_expires_at: match self.relationship_expires_at {
                Some(v) => v,
                None => base.and_then(|b| b.relationship_expires_at),
            },
            business_unit_id: match self.business_unit_id {
                Some(v) => v,
                None => base.and_then(|b| b.business_unit_id),
            },
            notes: optional_text("notes", keep(self.notes, base.map(|b| &b.notes)).as_deref(), 10_000)?,
        })
    }
}

impl App {
    pub async fn clients(
        &self,
        actor: &Actor,
        filter: &ClientFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<CountedPage<Client>> {
        // Everyone's list comes from the access index, filtered before paging (staff: their
        // group clients; admins: the organisation; "available": the clients in no group), then
        // loaded by id: one way of filtering for all, a group meaning the clients reached through
        // it, and a search that never scans the table.
        let seeing = self.seeing_for(actor, filter).await?;
        self.list_seen(actor.organization_id, seeing, &access_query(filter), cursor, limit)
            .await
    }

    /// Every client of the list `filter` describes, in its order, without loading them: what
    /// "select all N matching this filter" selects, the N the list showed.
    pub async fn clients_matching(&self, actor: &Actor, filter: &ClientFilter) -> Result<Vec<ClientId>> {
        let seeing = self.seeing_for(actor, filter).await?;
        self.matching_ids(actor.organization_id, seeing, &access_query(filter))
            .await
    }

    /// Whether the organisation keeps each client in one group at most.
    async fn membership_is_exclusive(&self, org: clientele_domain::OrganizationId) -> Result<bool> {
        let mut conn = self.db.read().await?;
        let org = clientele_store::organizations::get(&mut conn.conn(), org).await?;
        Ok(org.policies.membership_mode == MembershipMode::Exclusive)
    }

    /// Whose clients a list starts from.
    async fn seeing_for(&self, actor: &Actor, filter: &ClientFilter) -> Result<Seeing> {
        let org = actor.organization_id;
        let now = self.clock.now();
        Ok(if let Some(group) = filter.addable_to {
            // The same decision as the change itself (`add_members` asks `add_client` per
            // client): admins may add anyone, a manager the clients they manage and those in no
            // group; under exclusive membership only clients in no group can join at all.
            decide::manage_members(&self.access, actor.viewer(), group, now)?;
            let exclusive = self.membership_is_exclusive(org).await?;
            if exclusive {
                Seeing::Ungrouped(org)
            } else if actor.viewer().admin {
                Seeing::All(org)
            } else {
                Seeing::Addable(actor.staff_id, org)
            }
        } else if filter.available {
            // Seed 004's "available" clients: those that could join a group now. An active
            // relationship always; under exclusive membership also in no group. A manager sees
            // the ones they could add (their own group clients, and those in no group).
            let admin = actor.viewer().admin;
            if !admin && !self.access.manages_any(actor.staff_id, now) {
                return Err(Error::forbidden(
                    "only admins and managers of a group can list the clients available to groups",
                )
                .with_field("available"));
            }
            let exclusive = self.membership_is_exclusive(org).await?;
            match (exclusive, admin) {
                (true, _) => Seeing::Ungrouped(org),
                (false, true) => Seeing::Eligible(org),
                (false, false) => Seeing::Addable(actor.staff_id, org),
            }
        } else if actor.viewer().admin {
            Seeing::All(org)
        } else {
            Seeing::Staff(actor.staff_id)
        })
    }

    pub async fn client(&self, actor: &Actor, id: ClientId) -> Result<Client> {
        decide::view_client(&self.access, actor.viewer(), id, self.clock.now())?;
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id)
            .await
            .map_err(Error::from)
    }

    /// The groups a client is directly in (seed 001: "visible on the client profile").
    /// Staff see only the groups they can see themselves.
    pub async fn groups_of_client(&self, actor: &Actor, id: ClientId) -> Result<Vec<GroupRef>> {
        let now = self.clock.now();
        decide::view_client(&self.access, actor.viewer(), id, now)?;
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id).await?;
        let groups = members::groups_of_client(&mut conn.conn(), id).await?;
        Ok(groups
            .into_iter()
            .filter(|g| decide::view_group(&self.access, actor.viewer(), g.id, now).is_ok())
            .collect())
    }

    /// The groups each of these clients is directly in, as the actor may see them (a list's
    /// group badges): one statement for the page.
    pub async fn groups_of_clients(
        &self,
        actor: &Actor,
        ids: &[ClientId],
    ) -> Result<std::collections::HashMap<ClientId, Vec<GroupRef>>> {
        let now = self.clock.now();
        for &id in ids {
            decide::view_client(&self.access, actor.viewer(), id, now)?;
        }
        let rows = {
            let mut conn = self.db.read().await?;
            members::groups_of_clients(&mut conn.conn(), ids, now).await?
        };
        let mut out: std::collections::HashMap<ClientId, Vec<GroupRef>> = std::collections::HashMap::new();
        for (client, group) in rows {
            if decide::view_group(&self.access, actor.viewer(), group.id, now).is_ok() {
                out.entry(client).or_default().push(group);
            }
        }
        Ok(out)
    }

    /// Whether the actor may change this client, answered by the same decision `update_client`
    /// takes (so the UI shows "Edit" exactly to those whose save would be accepted).
    pub fn may_edit_client(&self, actor: &Actor, id: ClientId) -> Result<()> {
        decide::edit_client(&self.access, actor.viewer(), id, self.clock.now()).map(|_| ())
    }

    pub async fn create_client(&self, admin: Admin<'_>, input: ClientInput) -> Result<Client> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let mut changes = Vec::new();
        let client = create_in(&mut tx, actor, input, Cause::Manual, &mut changes, self.clock.now()).await?;
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(client)
    }

    /// Changes a client (admins, and editors or managers of one of its groups). When the
    /// relationship stops being active and the organisation requires an active one, the client
    /// leaves every group in the same transaction (seed 004).
    pub async fn update_client(
        &self,
        actor: &Actor,
        id: ClientId,
        input: ClientInput,
        if_match: Option<i64>,
    ) -> Result<Client> {
        crate::retry_conflicts(|| self.update_client_once(actor, id, input.clone(), if_match)).await
    }

    async fn update_client_once(
        &self,
        actor: &Actor,
        id: ClientId,
        input: ClientInput,
        if_match: Option<i64>,
    ) -> Result<Client> {
        decide::edit_client(&self.access, actor.viewer(), id, self.clock.now())?;
        let mut tx = self.begin().await?;
        let org = clientele_store::organizations::get_locked(&mut tx.conn(), actor.organization_id, false).await?;
        let mut changes = Vec::new();
        let (before, after) = update_in(
            &mut tx,
            &org,
            actor,
            id,
            input,
            if_match,
            Cause::Manual,
            &mut changes,
            self.clock.now(),
        )
        .await?;
        let reaches_memberships = before.status != after.status
            || before.relationship != after.relationship
            || before.relationship_expires_at != after.relationship_expires_at;
        if reaches_memberships {
            // Checked against the index as it stood before this change; refused, the transaction
            // rolls back with everything `update_in` wrote.
            decide::change_memberships_of(&self.access, actor.viewer(), id, self.clock.now())?;
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(after)
    }
}

/// Creates a client inside the caller's transaction (the API, the UI and imports alike), pushing
/// the access change for the caller to record.
pub(crate) async fn create_in(
    tx: &mut clientele_store::Tx,
    actor: &Actor,
    input: ClientInput,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<Client> {
    let fields = input.into_fields(None)?;
    check_client_fields(tx, actor, &fields, None).await?;
    let client = store::insert(&mut tx.conn(), actor.organization_id, &fields, now).await?;
    audit::Event {
        org: actor.organization_id,
        actor: Some(actor),
        action: "client.created",
        object: ("client", client.id.0),
        group: None,
        client: Some(client.id),
        cause,
        before: None,
        after: serde_json::to_value(&client).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    changes.push(client_change(actor, &client));
    if has_eligibility_limit(&client) {
        let org = clientele_store::organizations::get(&mut tx.conn(), actor.organization_id).await?;
        changes.push(eligibility_change(org.id, &org.policies, &client, now));
    }
    Ok(client)
}

/// What an update would write, without writing: the merged, validated fields and the current
/// client. Imports use it to tell "unchanged" from "updated".
pub(crate) fn merged_fields(input: ClientInput, before: &Client) -> Result<(ClientFields, ClientFields)> {
    let current = ClientInput::default().into_fields(Some(before))?;
    Ok((input.into_fields(Some(before))?, current))
}

/// Changes a client inside the caller's transaction (access to it already decided); returns the
/// client before and after. When the relationship stops being active and the organisation
/// requires an active one, the client leaves every group in the same transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "the transaction, who, what, and the audit cause"
)]
pub(crate) async fn update_in(
    tx: &mut clientele_store::Tx,
    org: &clientele_domain::entities::Organization,
    actor: &Actor,
    id: ClientId,
    input: ClientInput,
    if_match: Option<i64>,
    cause: Cause,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<(Client, Client)> {
    tx.conn().lock(Locked::Client, id.0).await?;
    let before = store::get(&mut tx.conn(), actor.organization_id, id).await?;
    check_version(if_match, before.version)?;
    let fields = input.into_fields(Some(&before))?;
    check_client_fields(tx, actor, &fields, Some(id)).await?;
    let after = store::update(&mut tx.conn(), actor.organization_id, id, &fields, now).await?;
    audit::Event {
        org: actor.organization_id,
        actor: Some(actor),
        action: "client.updated",
        object: ("client", id.0),
        group: None,
        client: Some(id),
        cause,
        before: serde_json::to_value(&before).ok(),
        after: serde_json::to_value(&after).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    if org.policies.require_active_relationship
        && !relationship_is_active(before.relationship, before.relationship_expires_at, now)
        && relationship_is_active(after.relationship, after.relationship_expires_at, now)
    {
        // Renewed after it had expired: the client left its groups at the expiry (every answer
        // since said so), whether or not the sweep has deleted the rows yet; it does not slip
        // back into them.
        crate::members::remove_from_all_groups(
            &mut tx.conn(),
            actor.organization_id,
            id,
            Some(actor),
            Cause::RelationshipExpired,
            now,
        )
        .await?;
    }
    if before.relationship != after.relationship || before.relationship_expires_at != after.relationship_expires_at {
        changes.push(eligibility_change(org.id, &org.policies, &after, now));
    }
    if org.policies.require_active_relationship
        && !relationship_is_active(after.relationship, after.relationship_expires_at, now)
    {
        crate::members::remove_from_all_groups(
            &mut tx.conn(),
            actor.organization_id,
            id,
            Some(actor),
            Cause::RelationshipExpired,
            now,
        )
        .await?;
    }
    changes.push(client_change(actor, &after));
    Ok((before, after))
}

async fn check_client_fields(
    tx: &mut clientele_store::Tx,
    actor: &Actor,
    f: &ClientFields,
    this: Option<ClientId>,
) -> Result<()> {
    if let Some(unit) = f.business_unit_id {
        business_units::get(&mut tx.conn(), actor.organization_id, unit)
            .await
            .map_err(Error::from)
            .map_err(|_| {
                Error::invalid(
                    "business_unit_id",
                    format!("no business unit {unit} in this organisation"),
                )
            })?;
    }
    if let Some(reference) = &f.external_ref
        && let Some(other) = store::find_by_external_ref(&mut tx.conn(), actor.organization_id, reference).await?
        && Some(other.id) != this
    {
        // Only admins, who see every client, are told which one: staff must not learn the name
        // of a client they cannot see.
        let detail = if actor.viewer().admin {
            format!(
                "client \"{}\" already has the external reference {reference}",
                other.name
            )
        } else {
            format!("another client already has the external reference {reference}")
        };
        return Err(Error::new(ErrorCode::AlreadyExists, detail).with_field("external_ref"));
    }
    Ok(())
}

/// Until when the client may be in groups, as the access index keeps it: under a policy that
/// requires an active relationship, until its relationship expires (at once when it has);
/// otherwise for as long as it is a member.
pub(crate) fn eligibility_change(
    org: clientele_domain::OrganizationId,
    policies: &clientele_domain::policy::Policies,
    client: &Client,
    now: Millis,
) -> Change {
    let until = if !policies.require_active_relationship {
        None
    } else if client.relationship != clientele_domain::client::Relationship::Active {
        Some(now)
    } else {
        client.relationship_expires_at
    };
    Change::ClientEligibility {
        org,
        client: client.id,
        until,
    }
}

/// Whether the client's relationship limits how long it may be in groups.
pub(crate) fn has_eligibility_limit(client: &Client) -> bool {
    client.relationship != clientele_domain::client::Relationship::Active || client.relationship_expires_at.is_some()
}

/// The client as the access index keeps it.
pub(crate) fn client_change(actor: &Actor, client: &Client) -> Change {
    Change::Client {
        org: actor.organization_id,
        client: client.id,
        name_key: clientele_domain::names::Name::parse("name", &client.name)
            .map(|n| n.key())
            .unwrap_or_default(),
        status: client.status,
        unit: client.business_unit_id,
    }
}

/// The API's and the UI's client filter as the access index reads it.
pub(crate) fn access_query(filter: &ClientFilter) -> clientele_access::ClientQuery {
    clientele_access::ClientQuery {
        text: filter.text.clone(),
        also: Vec::new(),
        statuses: filter.statuses.clone(),
        groups: filter.groups.clone(),
        not_in: filter.addable_to,
        unit: filter.business_unit,
        order: filter.order,
    }
}
