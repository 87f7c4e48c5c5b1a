//! Signing in to the web UI. A session is a random 32-byte token in an HttpOnly cookie; the
//! database keeps only its SHA-256, like API tokens. Failed sign-ins are counted per e-mail and
//! client address in a fixed window, in the database, so guessing is slowed down across restarts
//! and across servers sharing one PostgreSQL.

use clientele_domain::entities::Staff;
use clientele_domain::{Error, Millis, Result};
use clientele_store::{sessions as store, staff};
use sha2::{Digest, Sha256};

use crate::auth::{hash_token, new_secret, verify_password};
use crate::{Actor, App};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_MS: Millis = 12 * 60 * 60 * 1000;
/// Sign-in attempts allowed in one window, per e-mail and address: someone guessing one
/// person's password from one place.
pub const MAX_FAILURES: i64 = 5;
/// ... per client address, whatever the e-mail: one place trying many accounts (or random
/// e-mails, to make the server hash passwords).
pub const MAX_ATTEMPTS_PER_ADDRESS: i64 = 30;
/// ... per e-mail, whatever the address: many places guessing one person's password. Higher, so
/// that knowing a colleague's e-mail is not enough to lock them out from everywhere.
pub const MAX_ATTEMPTS_PER_ACCOUNT: i64 = 50;
/// The length of the counting window.
pub const FAILURE_WINDOW_MS: Millis = 15 * 60 * 1000;
/// How long a sign-in waits for its turn to hash before it is told to try again.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The threads password hashing runs on: a few of its own, one per core. Not tokio's blocking
/// pool: each of its many threads gets a malloc arena of its own, and an arena keeps the 19 MiB an
/// argon2 check used after it is freed, so a flood of sign-ins spread over dozens of blocking
/// threads kept hundreds of megabytes. Two threads keep two arenas.
#[derive(Debug)]
pub(crate) struct HashingThreads {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>>,
}

impl Default for HashingThreads {
    fn default() -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..std::thread::available_parallelism().map_or(2, usize::from) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        HashingThreads {
            jobs: std::sync::Mutex::new(jobs),
        }
    }
}

impl HashingThreads {
    /// Runs `work` (argon2) on a hashing thread and waits for it without blocking the runtime.
    pub(crate) async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| Error::internal("the password hashing threads stopped"))?;
        answered
            .await
            .map_err(|_| Error::internal("a password check was dropped"))
    }
}

/// Bounds the password hashing that runs at once. Argon2 takes 19 MiB and tens of milliseconds
/// per check by design; unbounded, a flood of sign-ins (with any e-mail) exhausts memory and
/// starves everyone else. At most one check per core runs, and at most one per client address,
/// so a flood from one place waits in its own line while sign-ins from elsewhere go on.
#[derive(Debug)]
pub(crate) struct HashingGate {
    cores: std::sync::Arc<tokio::sync::Semaphore>,
    per_address: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
}

impl Default for HashingGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        HashingGate {
            cores: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
            per_address: Default::default(),
        }
    }
}

/// A turn to hash, released when dropped.
pub(crate) struct HashingTurn {
    _core: tokio::sync::OwnedSemaphorePermit,
    _address: tokio::sync::OwnedSemaphorePermit,
}

impl HashingGate {
    /// Waits up to [`HASHING_WAIT`] for a turn; `None` when the server is too busy hashing.
    pub(crate) async fn turn(&self, address: &str) -> Option<HashingTurn> {
        let line = {
            let mut lines = self
                .per_address
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Lines nobody waits in are dropped as others are taken, so the map stays small.
            lines.retain(|_, line| std::sync::Arc::strong_count(line) > 1);
            lines
                .entry(address.to_string())
                .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)))
                .clone()
        };
        let wait = async {
            let address = line.acquire_owned().await.ok()?;
            let core = self.cores.clone().acquire_owned().await.ok()?;
            Some(HashingTurn {
                _core: core,
                _address: address,
            })
        };
        tokio::time::timeout(HASHING_WAIT, wait).await.ok().flatten()
    }
}

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
    /// Too many attempts for this e-mail or from this address; try again after this many seconds.
    TooManyAttempts {
        retry_after_secs: i64,
    },
    /// Too many sign-ins are being checked at once; try again in a moment.
    Busy,
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
        let keys = [
            (format!("{email}|{client_address}"), MAX_FAILURES),
            (format!("address|{client_address}"), MAX_ATTEMPTS_PER_ADDRESS),
            (format!("account|{email}"), MAX_ATTEMPTS_PER_ACCOUNT),
        ];
        let now = self.clock.now();
        let since = now - FAILURE_WINDOW_MS;
        // Every attempt is counted before it is checked, in its own transaction: concurrent
        // guesses cannot all pass a count read before any of them was recorded.
        let mut retry_after = None;
        {
            let mut tx = self.db.begin().await?;
            for (key, max) in &keys {
                let (attempts, window_start) = store::count_attempt(&mut tx.conn(), key, now, since).await?;
                if attempts > *max {
                    let retry = (window_start + FAILURE_WINDOW_MS - now).max(1000) / 1000;
                    retry_after = Some(retry_after.unwrap_or(0).max(retry));
                }
            }
            tx.commit().await?;
        }
        if let Some(retry_after_secs) = retry_after {
            tracing::warn!(client_address, "sign-in refused: too many attempts");
            self.audit_refused_sign_in(&email, client_address).await;
            return Ok(SignIn::TooManyAttempts { retry_after_secs });
        }
        let candidates = {
            let mut conn = self.db.read().await?;
            store::credentials(&mut conn.conn(), &email).await?
        };
        let Some(turn) = self.hashing.turn(client_address).await else {
            return Ok(SignIn::Busy);
        };
        // Argon2 is deliberately slow: keep it off the async workers.
        let password = password.to_string();
        let matched = self
            .hashing_threads
            .run(move || {
                let _turn = turn;
                if candidates.is_empty() {
                    verify_password(&password, DECOY_HASH);
                    return None;
                }
                candidates
                    .into_iter()
                    .find(|c| verify_password(&password, &c.password_hash))
            })
            .await?;
        let Some(found) = matched else {
            return Ok(SignIn::WrongCredentials);
        };
        let mut tx = self.begin().await?;
        // A success clears this person's counts and gives the address back its attempt.
        store::clear_failures(&mut tx.conn(), &keys[0].0).await?;
        store::clear_failures(&mut tx.conn(), &keys[2].0).await?;
        store::uncount_attempt(&mut tx.conn(), &keys[1].0).await?;
        store::purge_expired(&mut tx.conn(), now).await?;
        let token = new_secret();
        let expires_at = now + SESSION_LIFETIME_MS;
        store::insert(&mut tx.conn(), found.staff_id, &hash_token(&token), now, expires_at).await?;
        let staff = staff::get(&mut tx.conn(), found.organization_id, found.staff_id).await?;
        tx.commit().await?;
        Ok(SignIn::Opened(NewSession {
            token,
            staff,
            expires_at,
        }))
    }

    /// A refusal for too many attempts is in the audit trail of the account it was for (an
    /// unknown e-mail has no organisation to write it to: the log has it).
    async fn audit_refused_sign_in(&self, email: &str, client_address: &str) {
        let recorded = async {
            let accounts = {
                let mut conn = self.db.read().await?;
                store::credentials(&mut conn.conn(), email).await?
            };
            if accounts.is_empty() {
                return Ok(());
            }
            let mut tx = self.db.begin().await?;
            for account in accounts {
                crate::audit::Event {
                    org: account.organization_id,
                    actor: None,
                    action: "sign_in.refused",
                    object: ("staff", account.staff_id.0),
                    group: None,
                    client: None,
                    cause: clientele_domain::audit::Cause::Manual,
                    before: None,
                    after: Some(serde_json::json!({ "reason": "too many attempts", "client_address": client_address })),
                }
                .record(&mut tx.conn())
                .await?;
            }
            tx.commit().await.map_err(Error::from)
        };
        if let Err(e) = recorded.await {
            tracing::warn!(error = %e, "could not record a refused sign-in");
        }
    }

    /// The actor behind a session cookie, if the session is live and its staff member active.
    pub async fn session_actor(&self, token: &str, request_id: Option<String>) -> Result<Option<(Actor, Staff)>> {
        if token.len() != 64 {
            return Ok(None);
        }
        let mut conn = self.db.read().await?;
        let Some((staff_id, org)) = store::find(&mut conn.conn(), &hash_token(token), self.clock.now()).await? else {
            return Ok(None);
        };
        let staff = staff::get(&mut conn.conn(), org, staff_id).await?;
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
        store::delete(&mut tx.conn(), &hash_token(token)).await?;
        Ok(tx.commit().await?)
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
