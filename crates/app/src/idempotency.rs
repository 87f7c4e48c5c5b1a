//! `Idempotency-Key` on POST: the first answer is stored and replayed to retries of the same
//! request; the same key with a different request is refused.

use clientele_domain::{Error, ErrorCode, Result, now_millis};
use clientele_store::idempotency::{self as store, Stored};
use sha2::{Digest, Sha256};

use crate::{Actor, App, st};

/// How long an answer is kept for replay.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

impl App {
    /// The stored answer for this key, if this exact request was answered before.
    pub async fn idempotent_replay(&self, actor: &Actor, key: &str, hash: &str) -> Result<Option<(u16, String)>> {
        let mut conn = st(self.db.read().await)?;
        match st(store::get(&mut conn.conn(), actor.staff_id, key).await)? {
            None => Ok(None),
            Some(s) if s.request_hash == hash => Ok(Some((s.status_code as u16, s.response_body))),
            Some(_) => Err(Error::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            )
            .with_field("Idempotency-Key")),
        }
    }

    pub async fn idempotent_store(&self, actor: &Actor, key: &str, hash: &str, status: u16, body: &str) -> Result<()> {
        let mut tx = st(self.db.begin().await)?;
        let now = now_millis();
        st(store::purge(&mut tx.conn(), now - RETENTION_MS).await)?;
        let stored = Stored {
            request_hash: hash.to_string(),
            status_code: status as i32,
            response_body: body.to_string(),
        };
        st(store::put(&mut tx.conn(), actor.staff_id, key, &stored, now).await)?;
        st(tx.commit().await)
    }
}
