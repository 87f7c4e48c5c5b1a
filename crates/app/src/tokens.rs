//! API tokens a firm controls (issue 17): created with a name and an optional expiry, listed with
//! when they were last used, revoked. A staff member manages their own; an admin anyone's. The
//! token itself is shown once and only its SHA-256 is kept.

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::entities::rfc3339_millis;
use clientele_domain::{Error, Millis, Result, StaffId};
use clientele_store::credentials::{self as store, TokenRow};
use serde::Serialize;

use crate::auth::{TOKEN_PREFIX, hash_token, new_secret};
use crate::{Actor, App, access, audit};

/// A token as listed: everything but the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub staff_id: StaffId,
    pub name: String,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Millis>,
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Millis>,
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Millis>,
    /// Neither revoked nor expired.
    pub live: bool,
}

/// A token just created: the only time `token` is ever shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub listed: ApiToken,
    pub token: String,
}

fn listed(row: TokenRow, now: Millis) -> ApiToken {
    ApiToken {
        id: row.id,
        staff_id: StaffId(row.staff_id),
        name: row.label,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        live: row.revoked_at.is_none() && row.expires_at.is_none_or(|at| at > now),
    }
}

impl App {
    /// Whose tokens the actor may manage: their own, or anyone's for an admin.
    fn token_owner(&self, actor: &Actor, staff: Option<StaffId>) -> Result<StaffId> {
        match staff {
            Some(other) if other != actor.staff_id => {
                actor.admin()?;
                Ok(other)
            }
            _ => Ok(actor.staff_id),
        }
    }

    /// A new token for the actor (or, for an admin, for `staff`), named, expiring at `expires_at`.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        staff: Option<StaffId>,
        name: &str,
        expires_at: Option<Millis>,
    ) -> Result<NewToken> {
        let owner = self.token_owner(actor, staff)?;
        let name = clientele_domain::names::Name::parse("name", name)?;
        let now = self.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        let person = self.staff_by_id(actor.organization_id, owner).await?;
        if !person.active {
            return Err(Error::forbidden(format!("{} is deactivated", person.email)));
        }
        let token = format!("{TOKEN_PREFIX}{}", new_secret());
        let mut tx = self.begin().await?;
        let row = store::insert_token(
            &mut tx.conn(),
            owner,
            &hash_token(&token),
            name.as_str(),
            now,
            expires_at,
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "token.created",
            object: ("api_token", row.id),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: Some(serde_json::json!({ "staff_id": owner, "name": name.as_str(), "expires_at": expires_at })),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(NewToken {
            listed: listed(row, now),
            token,
        })
    }

    /// The actor's tokens (or, for an admin, `staff`'s), newest first.
    pub async fn api_tokens(&self, actor: &Actor, staff: Option<StaffId>) -> Result<Vec<ApiToken>> {
        let owner = self.token_owner(actor, staff)?;
        self.staff_by_id(actor.organization_id, owner).await?;
        let mut conn = self.db.read().await?;
        let now = self.clock.now();
        Ok(store::tokens_of(&mut conn.conn(), owner)
            .await?
            .into_iter()
            .map(|row| listed(row, now))
            .collect())
    }

    /// Revokes a token at once, on every server: the actor's own, or anyone's for an admin.
    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken> {
        let not_found = || Error::not_found("API token");
        let row = {
            let mut conn = self.db.read().await?;
            store::token(&mut conn.conn(), id).await?.ok_or_else(not_found)?
        };
        let owner = StaffId(row.staff_id);
        // Another organisation's token, or someone else's for staff: as if it did not exist.
        let person = self
            .staff_by_id(actor.organization_id, owner)
            .await
            .map_err(|_| not_found())?;
        if owner != actor.staff_id && !actor.viewer().admin {
            return Err(not_found());
        }
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        if store::revoke_token(&mut tx.conn(), id, now).await? {
            audit::Event {
                org: actor.organization_id,
                actor: Some(actor),
                action: "token.revoked",
                object: ("api_token", id),
                group: None,
                client: None,
                cause: Cause::Manual,
                before: None,
                after: Some(serde_json::json!({ "staff_id": owner, "name": row.label })),
            }
            .record(&mut tx.conn())
            .await?;
            // Every process drops its cached credentials for this person.
            let change = Change::Staff {
                org: person.organization_id,
                staff: owner,
            };
            access::record(&mut tx.conn(), &[change]).await?;
        }
        self.commit(tx).await?;
        let mut conn = self.db.read().await?;
        let row = store::token(&mut conn.conn(), id).await?.ok_or_else(not_found)?;
        Ok(listed(row, now))
    }
}
