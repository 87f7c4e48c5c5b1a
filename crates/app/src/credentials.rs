//! Staff members and their API tokens, cached in memory so that authenticating a request costs no
//! database round trip. The cache is exactly as fresh as the access index: a change to a staff
//! member (role, activity) is a `Change::Staff` in the ordered change log, and applying it drops
//! the entry on every process.

use std::collections::HashMap;
use std::sync::RwLock;

use clientele_domain::entities::Staff;
use clientele_domain::{Millis, OrganizationId, Result, StaffId};
use clientele_store::staff as store;

use crate::App;

#[derive(Debug, Default)]
pub(crate) struct StaffCache {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<String, CachedToken>,
    by_id: HashMap<StaffId, Staff>,
}

/// A token as the cache keeps it: whose, until when, and when its use was last written down.
#[derive(Debug, Clone, Copy)]
struct CachedToken {
    staff: StaffId,
    token_id: i64,
    expires_at: Option<Millis>,
    last_used_written: Millis,
}

/// How often a token's "last used" is written: once a minute at most, so authenticating stays a
/// memory lookup.
const LAST_USED_EVERY_MS: Millis = 60_000;

impl StaffCache {
    /// The live token's owner and, when its use is due to be written down again, its id.
    fn by_token(&self, token_hash: &str, now: Millis) -> Option<(Staff, Option<i64>)> {
        let (token, staff) = {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            let token = *inner.by_token.get(token_hash)?;
            (token, inner.by_id.get(&token.staff)?.clone())
        };
        if token.expires_at.is_some_and(|at| at <= now) {
            return None;
        }
        let due = now - token.last_used_written >= LAST_USED_EVERY_MS;
        if due {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = inner.by_token.get_mut(token_hash) {
                t.last_used_written = now;
            }
        }
        Some((staff, due.then_some(token.token_id)))
    }

    fn by_id(&self, id: StaffId) -> Option<Staff> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(&id)
            .cloned()
    }

    fn insert(&self, token: Option<(&str, CachedToken)>, staff: Staff) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some((hash, token)) = token {
            inner.by_token.insert(hash.to_string(), token);
        }
        inner.by_id.insert(staff.id, staff);
    }

    pub(crate) fn forget(&self, staff: StaffId) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.by_id.remove(&staff);
        inner.by_token.retain(|_, token| token.staff != staff);
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.by_id.clear();
        inner.by_token.clear();
    }
}

impl App {
    /// The active staff member a live token hash belongs to (not revoked, not expired).
    pub(crate) async fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<Staff>> {
        let now = self.clock.now();
        if let Some((staff, used)) = self.staff_cache.by_token(token_hash, now) {
            if let Some(token_id) = used {
                self.note_token_use(&staff, token_id, now);
            }
            return Ok(Some(staff));
        }
        let seen = self.access.applied();
        let owner = {
            let mut conn = self.db.read().await?;
            store::by_token_hash(&mut conn.conn(), token_hash, now).await?
        };
        let Some(owner) = owner else { return Ok(None) };
        if owner.last_used_at.is_none_or(|at| now - at >= LAST_USED_EVERY_MS) {
            self.note_token_use(&owner.staff, owner.token_id, now);
        }
        let token = CachedToken {
            staff: owner.staff.id,
            token_id: owner.token_id,
            expires_at: owner.expires_at,
            last_used_written: now,
        };
        self.remember(seen, Some((token_hash, token)), owner.staff.clone());
        Ok(Some(owner.staff))
    }

    /// Writes down that a token was used, off the request's path; its first use is an audit event.
    fn note_token_use(&self, staff: &Staff, token_id: i64, now: Millis) {
        let (app, staff) = (self.clone(), staff.clone());
        tokio::spawn(async move {
            let noted = async {
                let mut tx = app.db.begin().await?;
                if clientele_store::credentials::token_used(&mut tx.conn(), token_id, now).await? {
                    let user = crate::Actor {
                        staff_id: staff.id,
                        organization_id: staff.organization_id,
                        role: staff.role,
                        request_id: None,
                    };
                    crate::audit::Event {
                        org: staff.organization_id,
                        actor: Some(&user),
                        action: "token.first_used",
                        object: ("api_token", token_id),
                        group: None,
                        client: None,
                        cause: clientele_domain::audit::Cause::Manual,
                        before: None,
                        after: Some(serde_json::json!({ "staff_id": staff.id })),
                    }
                    .record(&mut tx.conn())
                    .await?;
                }
                Ok::<(), clientele_domain::Error>(tx.commit().await?)
            };
            if let Err(e) = noted.await {
                tracing::debug!(error = %e, "could not note a token's use");
            }
        });
    }

    /// A staff member of the organisation (from the cache when possible).
    pub(crate) async fn staff_by_id(&self, org: OrganizationId, id: StaffId) -> Result<Staff> {
        if let Some(staff) = self.staff_cache.by_id(id).filter(|s| s.organization_id == org) {
            return Ok(staff);
        }
        let seen = self.access.applied();
        let mut conn = self.db.read().await?;
        let staff = store::get(&mut conn.conn(), org, id).await?;
        self.remember(seen, None, staff.clone());
        Ok(staff)
    }

    /// Caches what was read, unless changes were applied meanwhile: the read may then predate a
    /// change whose eviction already ran.
    fn remember(&self, seen: i64, token: Option<(&str, CachedToken)>, staff: Staff) {
        if self.access.applied() == seen {
            self.staff_cache.insert(token, staff);
        }
    }
}
