//! Signing in to the web UI. A session is a random 32-byte token in an HttpOnly cookie; the
//! database keeps only its SHA-256, like API tokens. Failed sign-ins are counted per e-mail and
//! client address in a fixed window, in the database, so guessing is slowed down across restarts
//! and across servers sharing one PostgreSQL.

use clientele_domain::entities::Staff;
use clientele_domain::{Error, Millis, Result, now_millis};
use clientele_store::{sessions as store, staff};
use sha2::{Digest, Sha256};

use crate::auth::{hash_token, new_secret, verify_password};
use crate::{Actor, App, st};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_MS: Millis = 12 * 60 * 60 * 1000;
/// Failed sign-ins allowed per e-mail and address in one window.
pub const MAX_FAILURES: i64 = 5;
/// The length of the counting window.
pub const FAILURE_WINDOW_MS: Millis = 15 * 60 * 1000;

/// A session that was just opened: the token goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub staff: Staff,
    pub expires_at: Millis,
}

/// What a sign-in attempt came to.
#[derive(Debug, Clone)]
pub enum SignIn {
    Opened(NewSession),
    /// Unknown e-mail, wrong password or deactivated account: deliberately indistinguishable.
    WrongCredentials,
    /// Too many failures for this e-mail from this address; try again after this many seconds.
    TooManyAttempts {
        retry_after_secs: i64,
    },
}

/// The anti-CSRF token of a session: derived from the secret session token, so it needs no storage,
/// differs per session, and cannot be computed by a page that cannot read the HttpOnly cookie.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(format!("clientele-csrf:{session_token}").as_bytes()))
}

/// A hash that never verifies, checked when no account matches so that a wrong e-mail costs as
/// much time as a wrong password.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2rW7LxRbXd2dBbGqSt3aCHvTt6TeiJ1ohKHt2xP7yQk";

impl App {
    pub async fn sign_in(&self, email: &str, password: &str, client_address: &str) -> Result<SignIn> {
        let email = email.trim().to_lowercase();
        let key = format!("{email}|{client_address}");
        let now = now_millis();
        let since = now - FAILURE_WINDOW_MS;
        let candidates = {
            let mut conn = st(self.db.read().await)?;
            let (failures, window_start) = st(store::failures(&mut conn.conn(), &key, since).await)?;
            if failures >= MAX_FAILURES {
                let retry = (window_start + FAILURE_WINDOW_MS - now).max(1000) / 1000;
                return Ok(SignIn::TooManyAttempts {
                    retry_after_secs: retry,
                });
            }
            st(store::credentials(&mut conn.conn(), &email).await)?
        };
        // Argon2 is deliberately slow: keep it off the async workers.
        let password = password.to_string();
        let matched = tokio::task::spawn_blocking(move || {
            if candidates.is_empty() {
                verify_password(&password, DECOY_HASH);
                return None;
            }
            candidates
                .into_iter()
                .find(|c| verify_password(&password, &c.password_hash))
        })
        .await
        .map_err(Error::internal)?;
        let mut tx = self.begin().await?;
        let Some(found) = matched else {
            st(store::record_failure(&mut tx.conn(), &key, now, since).await)?;
            st(tx.commit().await)?;
            return Ok(SignIn::WrongCredentials);
        };
        st(store::clear_failures(&mut tx.conn(), &key).await)?;
        st(store::purge_expired(&mut tx.conn(), now).await)?;
        let token = new_secret();
        let expires_at = now + SESSION_LIFETIME_MS;
        st(store::insert(&mut tx.conn(), found.staff_id, &hash_token(&token), now, expires_at).await)?;
        let staff = st(staff::get(&mut tx.conn(), found.organization_id, found.staff_id).await)?;
        st(tx.commit().await)?;
        Ok(SignIn::Opened(NewSession {
            token,
            staff,
            expires_at,
        }))
    }

    /// The actor behind a session cookie, if the session is live and its staff member active.
    pub async fn session_actor(&self, token: &str, request_id: Option<String>) -> Result<Option<(Actor, Staff)>> {
        if token.len() != 64 {
            return Ok(None);
        }
        let mut conn = st(self.db.read().await)?;
        let Some((staff_id, org)) = st(store::find(&mut conn.conn(), &hash_token(token), now_millis()).await)? else {
            return Ok(None);
        };
        let staff = st(staff::get(&mut conn.conn(), org, staff_id).await)?;
        Ok(Some((
            Actor {
                staff_id,
                organization_id: org,
                role: staff.role,
                request_id,
            },
            staff,
        )))
    }

    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        st(store::delete(&mut tx.conn(), &hash_token(token)).await)?;
        st(tx.commit().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_do_not_reveal_it() {
        let a = csrf_token("a".repeat(64).as_str());
        assert_ne!(a, csrf_token("b".repeat(64).as_str()));
        assert!(!a.contains("aaaa"));
    }

    #[test]
    fn the_decoy_hash_parses_and_never_verifies() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify_password("", DECOY_HASH));
    }
}
