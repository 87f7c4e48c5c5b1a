//! Staff management.

use clientele_domain::audit::Cause;
use clientele_domain::entities::{Colleague, Staff};
use clientele_domain::names::{Email, Name};
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, ErrorCode, Result, StaffId};
use clientele_store::Locked;
use clientele_store::staff as store;

use crate::paging::{self, Cursor, Page};
use crate::{Actor, Admin, App, audit, check_version};

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct StaffPatch {
    pub name: Option<String>,
    pub role: Option<StaffRole>,
    pub active: Option<bool>,
}

fn colleague(s: Staff) -> Colleague {
    Colleague { id: s.id, name: s.name }
}

impl App {
    /// Every staff member with their e-mail, role and status (admins).
    pub async fn staff_list(&self, actor: &Actor, cursor: Option<&str>, limit: Option<i64>) -> Result<Page<Staff>> {
        actor.admin()?;
        let limit = paging::limit(limit)?;
        let cursor = Cursor::decode(cursor)?;
        let mut conn = self.db.read().await?;
        let rows = store::list(&mut conn.conn(), actor.organization_id, cursor.as_after(), limit + 1).await?;
        Ok(paging::page(rows, limit, |s| Cursor {
            key: s.email.clone(),
            id: s.id.0,
        }))
    }

    /// A staff member's record (admins, or the staff member themself).
    pub async fn staff(&self, actor: &Actor, id: StaffId) -> Result<Staff> {
        if id != actor.staff_id {
            actor.admin()?;
        }
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id)
            .await
            .map_err(Error::from)
    }

    /// The colleague directory every staff member may read: names, by name.
    pub async fn colleagues(&self, actor: &Actor, cursor: Option<&str>, limit: Option<i64>) -> Result<Page<Colleague>> {
        let page = {
            let limit = paging::limit(limit)?;
            let cursor = Cursor::decode(cursor)?;
            let mut conn = self.db.read().await?;
            let rows = store::list(&mut conn.conn(), actor.organization_id, cursor.as_after(), limit + 1).await?;
            paging::page(rows, limit, |s| Cursor {
                key: s.email.clone(),
                id: s.id.0,
            })
        };
        Ok(Page {
            items: page.items.into_iter().filter(|s| s.active).map(colleague).collect(),
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
        })
    }

    /// One colleague, by id (names in histories and lists).
    pub async fn colleague(&self, actor: &Actor, id: StaffId) -> Result<Colleague> {
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id)
            .await
            .map_err(Error::from)
            .map(colleague)
    }

    /// The organisation's staff member with this e-mail (admins: "whose time" on the Log time form).
    pub async fn staff_by_email(&self, admin: Admin<'_>, field: &str, email: &str) -> Result<Staff> {
        let org = admin.actor().organization_id;
        let email = Email::parse(field, email)?;
        let mut conn = self.db.read().await?;
        let found = store::by_emails(&mut conn.conn(), org, &[email.as_str().to_string()]).await?;
        match found.first() {
            Some(s) => store::get(&mut conn.conn(), org, StaffId(s.id))
                .await
                .map_err(Error::from),
            None => Err(Error::invalid(
                field,
                format!("no staff member has the e-mail {}", email.as_str()),
            )),
        }
    }

    pub async fn create_staff(&self, admin: Admin<'_>, new: NewStaff) -> Result<Staff> {
        let actor = admin.actor();
        let email = Email::parse("email", &new.email)?;
        let name = Name::parse("name", &new.name)?;
        let hash = match new.password.as_deref() {
            Some(p) => Some(self.hash_new_password(p, email.as_str()).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        let record = store::NewStaff {
            email: email.as_str(),
            name: name.as_str(),
            role: new.role,
            password_hash: hash.as_deref(),
        };
        let staff = store::insert(&mut tx.conn(), actor.organization_id, &record, self.clock.now()).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "staff.created",
            object: ("staff", staff.id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: serde_json::to_value(&staff).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(staff)
    }

    pub async fn update_staff(
        &self,
        admin: Admin<'_>,
        id: StaffId,
        patch: StaffPatch,
        if_match: Option<i64>,
    ) -> Result<Staff> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        // Exclusive: two admins demoting each other at once must not both pass the last-admin
        // check below.
        clientele_store::organizations::get_locked(&mut tx.conn(), actor.organization_id, true).await?;
        tx.conn().lock(Locked::Staff, id.0).await?;
        let before = store::get(&mut tx.conn(), actor.organization_id, id).await?;
        check_version(if_match, before.version)?;
        let name = match &patch.name {
            Some(n) => Name::parse("name", n)?.into_string(),
            None => before.name.clone(),
        };
        let role = patch.role.unwrap_or(before.role);
        let active = patch.active.unwrap_or(before.active);
        let loses_admin = before.role == StaffRole::Admin && before.active && (role != StaffRole::Admin || !active);
        if loses_admin && store::count_active_admins(&mut tx.conn(), actor.organization_id).await? <= 1 {
            return Err(Error::new(
                ErrorCode::Conflict,
                "this is the last active admin; make someone else an admin first",
            )
            .with_field("role"));
        }
        let now = self.clock.now();
        let after = store::update(&mut tx.conn(), actor.organization_id, id, &name, role, active, now).await?;
        if before.active && !active {
            // Deactivation ends every way in, for good: reactivating does not bring back old
            // sessions or tokens.
            let sessions = clientele_store::credentials::end_sessions(&mut tx.conn(), id, None).await?;
            let tokens = clientele_store::credentials::revoke_tokens_of(&mut tx.conn(), id, now).await?;
            audit::Event {
                org: actor.organization_id,
                actor: Some(actor),
                action: "staff.credentials_ended",
                object: ("staff", id.0),
                group: None,
                client: None,
                cause: Cause::Manual,
                before: None,
                after: Some(serde_json::json!({ "sessions_ended": sessions, "tokens_revoked": tokens })),
            }
            .record(&mut tx.conn())
            .await?;
        }
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "staff.updated",
            object: ("staff", id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        // Every process drops its cached credentials for this person.
        let change = clientele_access::Change::Staff {
            org: actor.organization_id,
            staff: id,
        };
        crate::access::record(&mut tx.conn(), &[change]).await?;
        self.commit(tx).await?;
        Ok(after)
    }
}
