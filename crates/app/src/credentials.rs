//! Staff members and their API tokens, cached in memory so that authenticating a request costs no
//! database round trip. The cache is exactly as fresh as the access index: a change to a staff
//! member (role, activity) is a `Change::Staff` in the ordered change log, and applying it drops
//! the entry on every process.

use std::collections::HashMap;
use std::sync::RwLock;

use clientele_domain::entities::Staff;
use clientele_domain::{OrganizationId, Result, StaffId};
use clientele_store::staff as store;

use crate::{App, st};

#[derive(Debug, Default)]
pub(crate) struct StaffCache {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<String, StaffId>,
    by_id: HashMap<StaffId, Staff>,
}

impl StaffCache {
    fn by_token(&self, token_hash: &str) -> Option<Staff> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner
            .by_token
            .get(token_hash)
            .and_then(|id| inner.by_id.get(id))
            .cloned()
    }

    fn by_id(&self, id: StaffId) -> Option<Staff> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(&id)
            .cloned()
    }

    fn insert(&self, token_hash: Option<&str>, staff: Staff) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(hash) = token_hash {
            inner.by_token.insert(hash.to_string(), staff.id);
        }
        inner.by_id.insert(staff.id, staff);
    }

    pub(crate) fn forget(&self, staff: StaffId) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.by_id.remove(&staff);
        inner.by_token.retain(|_, id| *id != staff);
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.by_id.clear();
        inner.by_token.clear();
    }
}

impl App {
    /// The active staff member a token hash belongs to.
    pub(crate) async fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<Staff>> {
        if let Some(staff) = self.staff_cache.by_token(token_hash) {
            return Ok(Some(staff));
        }
        let seen = self.access.applied();
        let mut conn = st(self.db.read().await)?;
        let staff = st(store::by_token_hash(&mut conn.conn(), token_hash).await)?;
        if let Some(s) = &staff {
            self.remember(seen, Some(token_hash), s.clone());
        }
        Ok(staff)
    }

    /// A staff member of the organisation (from the cache when possible).
    pub(crate) async fn staff_by_id(&self, org: OrganizationId, id: StaffId) -> Result<Staff> {
        if let Some(staff) = self.staff_cache.by_id(id).filter(|s| s.organization_id == org) {
            return Ok(staff);
        }
        let seen = self.access.applied();
        let mut conn = st(self.db.read().await)?;
        let staff = st(store::get(&mut conn.conn(), org, id).await)?;
        self.remember(seen, None, staff.clone());
        Ok(staff)
    }

    /// Caches what was read, unless changes were applied meanwhile: the read may then predate a
    /// change whose eviction already ran.
    fn remember(&self, seen: i64, token_hash: Option<&str>, staff: Staff) {
        if self.access.applied() == seen {
            self.staff_cache.insert(token_hash, staff);
        }
    }
}
