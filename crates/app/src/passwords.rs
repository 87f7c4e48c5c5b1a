//! Passwords a firm controls (issue 17): the rules a new password must meet, changing one's own,
//! and one-time resets an admin issues for staff who forgot theirs. A change or a reset ends the
//! person's other sessions; the first admin's printed password must be changed at first sign-in.

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::{Error, ErrorCode, Millis, Result, StaffId};
use clientele_store::credentials as store;
use clientele_store::staff as staff_store;
use serde::Serialize;

use crate::auth::{hash_token, new_secret, verify_password};
use crate::{Actor, Admin, App, access, audit};

pub use crate::auth::MIN_PASSWORD_CHARS;
/// How long a reset code works.
pub const RESET_LIFETIME_MS: Millis = 24 * 60 * 60 * 1000;

/// The 10,000 most common passwords, lower-cased (see the file's header for where they come from).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// The list without its header (the `#` lines it starts with; a password may start with `#`).
fn common_passwords() -> impl Iterator<Item = &'static str> {
    COMMON_PASSWORDS.lines().skip_while(|l| l.starts_with('#'))
}

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    common_passwords().any(|common| common == lower)
}

/// Refuses a password a guesser would try early: shorter than 12 characters, one of the 10,000
/// most common, or holding the person's e-mail address (or the part before the `@`).
pub fn check_password(password: &str, email: &str) -> Result<()> {
    let field = "password";
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if is_common(password) {
        return Err(Error::invalid(
            field,
            "is one of the most common passwords, which are tried first; choose another",
        ));
    }
    let lower = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower.contains(&email) || (local.len() >= 4 && lower.contains(local))) {
        return Err(Error::invalid(field, "must not contain your e-mail address"));
    }
    Ok(())
}

/// A reset just issued: the code is shown once, to the admin, who passes it on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedReset {
    pub staff_id: StaffId,
    /// The one-time code; the staff member sets a new password with it at `/reset-password`.
    pub code: String,
    /// The page where it is used, relative to this server.
    pub path: String,
    #[serde(with = "clientele_domain::entities::rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Millis,
}

impl App {
    /// Hashes a password on the password threads (argon2 is slow by design).
    pub(crate) async fn hash_new_password(&self, password: &str, email: &str) -> Result<String> {
        check_password(password, email)?;
        let password = password.to_string();
        self.hashing_threads
            .run(move || crate::auth::hash_password(&password))
            .await?
    }

    /// Changes the actor's own password, checking the current one; every other session of theirs
    /// ends (`keep_session` is the session making the change, if any).
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let me = self.staff_by_id(actor.organization_id, actor.staff_id).await?;
        let stored = {
            let mut conn = self.db.read().await?;
            store::password_hash(&mut conn.conn(), actor.staff_id).await?
        };
        let Some(turn) = self.hashing.turn(&format!("staff:{}", actor.staff_id)).await else {
            return Err(Error::new(
                ErrorCode::TransactionConflict,
                "too many password checks at once; try again",
            ));
        };
        if new == current {
            return Err(Error::invalid("password", "must differ from the current one"));
        }
        let current = current.to_string();
        let matches = self
            .hashing_threads
            .run(move || {
                let _turn = turn;
                stored.is_some_and(|hash| verify_password(&current, &hash))
            })
            .await?;
        if !matches {
            return Err(Error::invalid("current_password", "is not your current password"));
        }
        let hash = self.hash_new_password(new, &me.email).await?;
        let mut tx = self.begin().await?;
        store::set_password(&mut tx.conn(), actor.staff_id, &hash, false, self.clock.now()).await?;
        let keep = keep_session.map(hash_token);
        let ended = store::end_sessions(&mut tx.conn(), actor.staff_id, keep.as_deref()).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "staff.password_changed",
            object: ("staff", actor.staff_id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: Some(serde_json::json!({ "other_sessions_ended": ended })),
        }
        .record(&mut tx.conn())
        .await?;
        let change = Change::Staff {
            org: actor.organization_id,
            staff: actor.staff_id,
        };
        access::record(&mut tx.conn(), &[change]).await?;
        self.commit(tx).await
    }

    /// Issues a one-time reset code for a staff member who forgot their password (admins). Codes
    /// issued before for the same person stop working.
    pub async fn issue_password_reset(&self, admin: Admin<'_>, staff: StaffId) -> Result<IssuedReset> {
        let actor = admin.actor();
        let person = self.staff_by_id(actor.organization_id, staff).await?;
        if !person.active {
            return Err(
                Error::new(ErrorCode::Conflict, format!("{} is deactivated", person.email)).with_field("staff_id"),
            );
        }
        let code = new_secret();
        let now = self.clock.now();
        let expires_at = now + RESET_LIFETIME_MS;
        let mut tx = self.begin().await?;
        store::cancel_resets(&mut tx.conn(), staff, now).await?;
        store::insert_reset(
            &mut tx.conn(),
            staff,
            &hash_token(&code),
            actor.staff_id,
            now,
            expires_at,
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "staff.password_reset_issued",
            object: ("staff", staff.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: Some(serde_json::json!({ "expires_at": expires_at })),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(IssuedReset {
            staff_id: staff,
            path: format!("/reset-password?code={code}"),
            code,
            expires_at,
        })
    }

    /// Sets a new password with a reset code, once; every session of the person ends. A code that
    /// is unknown, used or expired is refused the same way.
    pub async fn redeem_password_reset(&self, code: &str, new: &str) -> Result<()> {
        let refused = || {
            Error::invalid(
                "code",
                "this reset link is not valid: it was used, it expired, or a newer one was issued",
            )
        };
        let now = self.clock.now();
        let staff = {
            let mut conn = self.db.read().await?;
            clientele_store::credentials::reset_owner(&mut conn.conn(), &hash_token(code), now).await?
        }
        .ok_or_else(refused)?;
        let person = {
            let mut conn = self.db.read().await?;
            staff_store::get_any(&mut conn.conn(), staff).await?
        };
        // Checked before the code is used up, so a refused password does not cost the link.
        let hash = self.hash_new_password(new, &person.email).await?;
        let mut tx = self.begin().await?;
        if store::redeem_reset(&mut tx.conn(), &hash_token(code), now).await? != Some(staff) {
            return Err(refused());
        }
        store::set_password(&mut tx.conn(), staff, &hash, false, now).await?;
        let ended = store::end_sessions(&mut tx.conn(), staff, None).await?;
        let user = Actor {
            staff_id: staff,
            organization_id: person.organization_id,
            role: person.role,
            request_id: None,
        };
        audit::Event {
            org: person.organization_id,
            actor: Some(&user),
            action: "staff.password_reset_used",
            object: ("staff", staff.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: Some(serde_json::json!({ "sessions_ended": ended })),
        }
        .record(&mut tx.conn())
        .await?;
        let change = Change::Staff {
            org: person.organization_id,
            staff,
        };
        access::record(&mut tx.conn(), &[change]).await?;
        self.commit(tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        let why = |p: &str| check_password(p, "ann.smith@firm.example").unwrap_err().detail;
        assert!(why("short pass").contains("12 characters"));
        assert!(why("qwerty123456").contains("common"), "{}", why("qwerty123456"));
        assert!(why("ANN.SMITH@firm.example!!").contains("e-mail"));
        assert!(why("my name is ann.smith ok").contains("e-mail"));
        assert!(check_password("correct horse battery staple", "ann.smith@firm.example").is_ok());
    }

    #[test]
    fn the_common_list_is_the_ten_thousand_it_says() {
        let entries = common_passwords().count();
        assert_eq!(entries, 10_000);
        assert!(is_common("Password1"));
    }
}
