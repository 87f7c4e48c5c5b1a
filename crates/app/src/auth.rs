//! API tokens and passwords. Tokens are 32 random bytes shown once; only their SHA-256 is stored,
//! so a copy of the database does not let anyone sign in. Passwords use argon2.

use argon2::Argon2;
use argon2::password_hash::PasswordHasher;
use rand::RngCore;
use sha2::{Digest, Sha256};

use clientele_domain::entities::Staff;
use clientele_domain::{Error, ErrorCode, Result};
use clientele_store::staff as store;

use crate::App;

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

/// The shortest password accepted: hashing refuses a shorter one whatever the caller checked
/// (`passwords::check_password` holds the other rules).
pub const MIN_PASSWORD_CHARS: usize = 12;

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("password hashing failed").caused_by(e))
}

thread_local! {
    /// Argon2's working memory (19 MiB at the default cost), kept by each thread that checks
    /// passwords and used again for the next check. Allocated afresh per check, it landed in the
    /// malloc arena of whichever thread ran it, and glibc keeps a freed block that large in the
    /// arena: a flood of sign-ins grew the server by hundreds of megabytes it never gave back.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches a PHC-format argon2 hash. The hash is recomputed with the stored
/// algorithm, version, cost and salt into this thread's reused working memory, and the outputs
/// are compared in constant time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::{Algorithm, Params, Version};
    let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let blocks_needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.as_bytes().len()];
    let hashed = BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, argon2::Block::default());
        }
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut computed,
                &mut blocks[..blocks_needed],
            )
            .is_ok()
    });
    hashed && subtle::ConstantTimeEq::ct_eq(computed.as_slice(), expected.as_bytes()).into()
}

impl App {
    /// Creates an API token for the staff member with this e-mail and returns it (the only time
    /// it is ever visible).
    pub async fn create_token(&self, email: &str, label: &str) -> Result<String> {
        let email = clientele_domain::names::Email::parse("email", email)?;
        let mut tx = self.begin().await?;
        let staff = store::find_by_email(&mut tx.conn(), email.as_str())
            .await?
            .ok_or_else(|| {
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
        let row = clientele_store::credentials::insert_token(
            &mut tx.conn(),
            staff.id,
            &hash_token(&token),
            label,
            self.clock.now(),
            None,
        )
        .await?;
        crate::audit::Event {
            org: staff.organization_id,
            actor: None,
            action: "token.created",
            object: ("api_token", row.id),
            group: None,
            client: None,
            cause: clientele_domain::audit::Cause::Setup,
            before: None,
            after: Some(serde_json::json!({ "staff_id": staff.id, "name": label })),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
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
