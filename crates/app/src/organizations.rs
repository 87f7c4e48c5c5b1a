//! The caller's organisation and its policies.

use clientele_domain::audit::Cause;
use clientele_domain::entities::Organization;
use clientele_domain::policy::{MembershipMode, Policies};
use clientele_domain::{Error, ErrorCode, Result};
use clientele_store::{members, organizations as store};

use crate::{Actor, Admin, App, audit, check_version};

impl App {
    pub async fn organization(&self, actor: &Actor) -> Result<Organization> {
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id)
            .await
            .map_err(Error::from)
    }

    /// Changes the policies. Switching to exclusive membership is refused while some client is in
    /// several groups, and the refusal names them.
    pub async fn update_policies(
        &self,
        admin: Admin<'_>,
        policies: Policies,
        if_match: Option<i64>,
    ) -> Result<Organization> {
        policies.validate()?;
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let before = store::get_locked(&mut tx.conn(), actor.organization_id, true).await?;
        check_version(if_match, before.version)?;
        let to_exclusive = before.policies.membership_mode != MembershipMode::Exclusive
            && policies.membership_mode == MembershipMode::Exclusive;
        if to_exclusive {
            let conflicts = members::clients_in_several_groups(&mut tx.conn(), actor.organization_id, 20).await?;
            if !conflicts.is_empty() {
                let names: Vec<String> = conflicts
                    .iter()
                    .map(|(_, name, n)| format!("\"{name}\" ({n} groups)"))
                    .collect();
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!(
                        "cannot switch to exclusive membership: these clients are in several groups: {}; remove them from all but one group first",
                        names.join(", ")
                    ),
                )
                .with_field("membership_mode")
                .with_extra(serde_json::json!({ "clients": conflicts.iter().map(|(id, _, _)| id).collect::<Vec<_>>() })));
            }
        }
        if before.policies.membership_mode != policies.membership_mode {
            members::set_exclusive(
                &mut tx.conn(),
                actor.organization_id,
                policies.membership_mode == MembershipMode::Exclusive,
            )
            .await?;
        }
        let now = self.clock.now();
        let after = store::update_policies(&mut tx.conn(), actor.organization_id, &policies, now).await?;
        let mut changes = Vec::new();
        if before.policies.require_active_relationship != policies.require_active_relationship {
            // Whether a relationship's expiry takes clients out of their groups changed: every
            // client with one is told anew (the sweep deletes the memberships of expired ones).
            for client in
                clientele_store::clients::with_relationship_limit(&mut tx.conn(), actor.organization_id).await?
            {
                changes.push(crate::clients::eligibility_change(
                    after.id,
                    &after.policies,
                    &client,
                    now,
                ));
            }
        }
        crate::access::record(&mut tx.conn(), &changes).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "organization.policies_changed",
            object: ("organization", after.id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before.policies).ok(),
            after: serde_json::to_value(&after.policies).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(after)
    }
}
