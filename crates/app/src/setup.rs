//! First start: an empty database gets an organisation, a business unit and an admin, so a firm
//! can sign in right after `clientele serve` with no other set-up.

use clientele_domain::audit::Cause;
use clientele_domain::entities::{Organization, Staff};
use clientele_domain::names::{Email, Name};
use clientele_domain::policy::Policies;
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, Result};
use clientele_store::{business_units, organizations, staff};

use crate::auth::{hash_password, new_secret};
use crate::{Actor, App, audit};

/// What the first start created; the password is shown once and never stored in clear.
#[derive(Debug)]
pub struct Bootstrapped {
    pub organization: Organization,
    pub admin: Staff,
    pub password: String,
}

impl App {
    /// The admin the command line acts as: the one with this e-mail, or else the first active
    /// admin of the first organisation.
    pub async fn cli_admin(&self, email: Option<&str>) -> Result<Actor> {
        let mut conn = self.db.read().await?;
        let org = organizations::first(&mut conn.conn())
            .await?
            .ok_or_else(|| Error::not_found("organisation (run `clientele serve` once to set one up)"))?;
        let admins = clientele_store::staff::active_admins(&mut conn.conn(), org.id).await?;
        let mut chosen = admins.first().copied();
        if let Some(email) = email {
            chosen = None;
            for id in &admins {
                let s = clientele_store::staff::get(&mut conn.conn(), org.id, *id).await?;
                if s.email.eq_ignore_ascii_case(email) {
                    chosen = Some(*id);
                }
            }
        }
        let staff_id = chosen.ok_or_else(|| Error::not_found("active admin"))?;
        Ok(Actor {
            staff_id,
            organization_id: org.id,
            role: StaffRole::Admin,
            request_id: None,
        })
    }

    /// Creates the first organisation and its admin when the database has none; returns `None`
    /// when the database was already set up.
    pub async fn bootstrap(&self, org_name: &str, admin_email: &str) -> Result<Option<Bootstrapped>> {
        let name = Name::parse("organization_name", org_name)?;
        let email = Email::parse("admin_email", admin_email)?;
        let mut tx = self.begin().await?;
        if organizations::first(&mut tx.conn()).await?.is_some() {
            return Ok(None);
        }
        let now = self.clock.now();
        let org = organizations::insert(&mut tx.conn(), name.as_str(), &Policies::default(), now).await?;
        let unit = Name::parse("name", "Main office")?;
        business_units::insert(&mut tx.conn(), org.id, unit.as_str(), &unit.key(), now).await?;
        let password = new_secret()[..20].to_string();
        let hash = hash_password(&password)?;
        let new = staff::NewStaff {
            email: email.as_str(),
            name: "Administrator",
            role: StaffRole::Admin,
            password_hash: Some(&hash),
        };
        let mut admin = staff::insert(&mut tx.conn(), org.id, &new, now).await?;
        // Printed on a terminal: it must be replaced at the first sign-in.
        clientele_store::credentials::set_password(&mut tx.conn(), admin.id, &hash, true, now).await?;
        admin.must_change_password = true;
        audit::Event {
            org: org.id,
            actor: None,
            action: "organization.created",
            object: ("organization", org.id.0),
            group: None,
            client: None,
            cause: Cause::Setup,
            before: None,
            after: Some(serde_json::json!({ "name": org.name, "admin": admin.email })),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(Some(Bootstrapped {
            organization: org,
            admin,
            password,
        }))
    }

    /// Creates a staff member from the command line (`clientele admin create`), in the first
    /// organisation, with a password when one is given.
    pub async fn create_staff_cli(
        &self,
        email: &str,
        name: &str,
        role: StaffRole,
        password: Option<&str>,
    ) -> Result<Staff> {
        let email = Email::parse("email", email)?;
        let name = Name::parse("name", name)?;
        let hash = match password {
            Some(p) => Some(self.hash_new_password(p, email.as_str()).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        let org = organizations::first(&mut tx.conn()).await?.ok_or_else(|| {
            Error::invalid(
                "database",
                "has no organisation yet; run `clientele serve` once to set it up",
            )
        })?;
        let new = staff::NewStaff {
            email: email.as_str(),
            name: name.as_str(),
            role,
            password_hash: hash.as_deref(),
        };
        let created = staff::insert(&mut tx.conn(), org.id, &new, self.clock.now()).await?;
        audit::Event {
            org: org.id,
            actor: None,
            action: "staff.created",
            object: ("staff", created.id.0),
            group: None,
            client: None,
            cause: Cause::Setup,
            before: None,
            after: Some(serde_json::to_value(&created).unwrap_or_default()),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(created)
    }
}
