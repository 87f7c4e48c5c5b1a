//! `Idempotency-Key` on POST: a request with a key is done at most once; retries of the same
//! request get its answer again, the same key with a different request is refused.
//!
//! The key is claimed by the request's first write transaction ([`App::begin`]), in that
//! transaction, so a claim exists exactly when something the request did committed. A twin sent
//! at the same moment meets the claim (on PostgreSQL its insert waits for the first transaction to
//! end) and is told the key is in use; the web face then waits for the first answer and replays
//! it. A crash between the commit and the stored answer leaves a claim without an answer: a retry
//! is refused instead of doing the work twice. The web face sets the claim in scope around the
//! handler ([`App::within_claim`]); the use cases know nothing of it.

use std::sync::{Arc, OnceLock};

use clientele_domain::{Error, ErrorCode, Result, StaffId};
use clientele_store::Tx;
use clientele_store::idempotency as store;
/// The stored answer to a key and what claiming one found: part of this module's interface.
pub use clientele_store::idempotency::{Answer, Claimed};
use sha2::{Digest, Sha256};

use crate::App;

/// How long an answer is kept for replay.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

tokio::task_local! {
    static CLAIM: IdempotencyClaim;
}

/// The key a request carries, for its first write transaction to claim.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub staff: StaffId,
    pub key: String,
    /// Tells this request's claim from a twin's.
    token: String,
    /// The request's hash ([`RequestHasher`]). Known before the handler runs when the body was
    /// read whole; for a streamed upload it is set when the body ends, so the claim waits for the
    /// first write after the whole file arrived (receiving rows is not the work to protect).
    hash: Arc<OnceLock<String>>,
}

impl IdempotencyClaim {
    pub fn new(staff: StaffId, key: String, hash: Arc<OnceLock<String>>) -> IdempotencyClaim {
        IdempotencyClaim {
            staff,
            key,
            token: crate::auth::new_secret(),
            hash,
        }
    }

    pub fn hash(&self) -> Option<&str> {
        self.hash.get().map(String::as_str)
    }

    /// Whether a stored claim is this request's own.
    pub fn holds(&self, claimed: &Claimed) -> bool {
        claimed.claim_token == self.token
    }
}

/// SHA-256 over the method, the path with its query (`?mode=validate` and `?mode=apply` are
/// different requests) and the body, fed as it streams.
pub struct RequestHasher(Sha256);

impl RequestHasher {
    pub fn new(method: &str, path_and_query: &str) -> RequestHasher {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(b" ");
        h.update(path_and_query.as_bytes());
        h.update(b"\n");
        RequestHasher(h)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The refusal a twin gets while the first request with its key runs.
pub fn in_progress() -> Error {
    Error::new(
        ErrorCode::IdempotencyKeyInProgress,
        "another request with this Idempotency-Key is running; its answer will be replayed to retries",
    )
    .with_field("Idempotency-Key")
}

impl App {
    /// Runs `work` (a request's handler) with `claim` in scope for [`App::begin`].
    pub async fn within_claim<F: std::future::Future>(claim: IdempotencyClaim, work: F) -> F::Output {
        CLAIM.scope(claim, work).await
    }

    /// `work` with the current request's claim in scope, for a task the request spawns (an upload
    /// is received in a task of its own, so that it ends even if the client goes away).
    pub fn carrying_claim<F: std::future::Future>(work: F) -> impl std::future::Future<Output = F::Output> {
        let claim = CLAIM.try_with(Clone::clone).ok();
        async move {
            match claim {
                Some(claim) => CLAIM.scope(claim, work).await,
                None => work.await,
            }
        }
    }

    /// Starts a write transaction. Inside a request that carries an `Idempotency-Key` (see
    /// [`App::within_claim`]) whose hash is known, the transaction claims the key first; a key
    /// another request holds refuses the work with `idempotency_key_in_progress`.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        let mut tx = self.db.begin().await?;
        let pending = CLAIM
            .try_with(|claim| claim.hash().map(|hash| (claim.clone(), hash.to_string())))
            .ok()
            .flatten();
        if let Some((claim, hash)) = pending {
            let ours = store::claim(
                &mut tx.conn(),
                claim.staff,
                &claim.key,
                &hash,
                &claim.token,
                self.clock.now(),
            )
            .await?;
            if !ours {
                return Err(in_progress());
            }
        }
        Ok(tx)
    }

    /// What is known of a key: nothing, a claim still running (or whose answer was lost), or a
    /// stored answer.
    pub async fn idempotent_request(&self, staff: StaffId, key: &str) -> Result<Option<Claimed>> {
        let mut conn = self.db.read().await?;
        Ok(store::get(&mut conn.conn(), staff, key).await?)
    }

    /// Stores the answer of a request whose claim committed; returns false (and stores nothing)
    /// when nothing it did committed, so the client may correct the request and send it again
    /// with the same key. Old answers are forgotten on the way.
    pub async fn answer_claim(&self, claim: &IdempotencyClaim, answer: &Answer) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        store::purge(&mut tx.conn(), self.clock.now() - RETENTION_MS).await?;
        let stored = store::answer(&mut tx.conn(), claim.staff, &claim.key, &claim.token, answer).await?;
        tx.commit().await?;
        Ok(stored)
    }
}
