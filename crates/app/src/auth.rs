//! API tokens and passwords. Tokens are 32 random bytes shown once; only their SHA-256 is stored,
//! so a copy of the database does not let anyone sign in. Passwords use argon2.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};

use clientele_domain::entities::Staff;
use clientele_domain::{Error, ErrorCode, Result, now_millis};
use clientele_store::staff as store;

use crate::{App, st};

/// Prefix that makes a leaked token easy to recognise (secret scanners, logs).
pub(crate) const TOKEN_PREFIX: &str = "clt_";

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < crate::passwords::MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("must be at least {} characters", crate::passwords::MIN_PASSWORD_CHARS),
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match argon2::password_hash::phc::PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

impl App {
    /// Creates an API token for the staff member with this e-mail and returns it (the only time
    /// it is ever visible).
    pub async fn create_token(&self, email: &str, label: &str) -> Result<String> {
        let email = clientele_domain::names::Email::parse("email", email)?;
        let mut tx = self.begin().await?;
        let staff = st(store::find_by_email(&mut tx.conn(), email.as_str()).await)?.ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no staff member has the e-mail {}", email.as_str()),
            )
        })?;
        if !staff.active {
            return Err(Error::new(
                ErrorCode::Forbidden,
                format!("{} is deactivated", email.as_str()),
            ));
        }
        let token = format!("{TOKEN_PREFIX}{}", new_secret());
        let row = st(clientele_store::credentials::insert_token(
            &mut tx.conn(),
            staff.id,
            &hash_token(&token),
            label,
            now_millis(),
            None,
        )
        .await)?;
        crate::audit::record(
            &mut tx.conn(),
            staff.organization_id,
            None,
            "token.created",
            ("api_token", row.id),
            None,
            None,
            clientele_domain::audit::Cause::Setup,
            None,
            Some(serde_json::json!({ "staff_id": staff.id, "name": label })),
        )
        .await?;
        st(tx.commit().await)?;
        Ok(token)
    }

    /// The active staff member a bearer token belongs to.
    pub async fn authenticate_token(&self, token: &str) -> Result<Staff> {
        let unauthenticated = || Error::new(ErrorCode::Unauthenticated, "the bearer token is not valid");
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(unauthenticated());
        }
        self.staff_by_token_hash(&hash_token(token))
            .await?
            .ok_or_else(unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(hash_password("eleven char").is_err());
    }

    #[test]
    fn token_hashes_are_stable_and_hide_the_token() {
        assert_eq!(hash_token("clt_x"), hash_token("clt_x"));
        assert!(!hash_token("clt_x").contains("clt_x"));
    }
}
