//! The access index kept in step with the database, and the access use cases ("My group
//! clients", checks, who can see a client).
//!
//! Freshness: every transaction that changes access records [`Change`]s in the same transaction
//! ([`record`]); after it commits, [`App::commit`] applies the log to this process's index before
//! the request answers, so the writer's next request sees its change. Other processes catch up on
//! a short poll, or at once when a request demands a sequence number (`Clientele-Min-Seq`), which
//! every write returns (`Clientele-Seq`).

use clientele_access::decide::{self, Permission};
use clientele_access::{AccessRole, Change, ChangeRow, ClientQuery, GrantPath, ListClients, Seeing};
use clientele_domain::client::ClientFilter;
use clientele_domain::client::ClientStatus;
use clientele_domain::entities::Client;
use clientele_domain::group::GroupKind;
use clientele_domain::staff::StaffRole;
use clientele_domain::{BusinessUnitId, ClientId, Error, GroupId, OrganizationId, Result, StaffId};
use clientele_store::{Conn, Tx, changes, clients, staff as staff_store};
use serde::Serialize;

use crate::paging::{self, Position};
use crate::{Actor, App};

/// How many log rows one catch-up step reads.
const CATCH_UP_BATCH: i64 = 20_000;

tokio::task_local! {
    /// The highest sequence number a request's writes recorded (see [`App::tracking_writes`]).
    static WRITTEN: std::cell::Cell<i64>;
}

/// Records access changes in the caller's transaction, under one new sequence number (returned;
/// `None` when there were none).
pub(crate) async fn record(c: &mut Conn<'_>, changes_made: &[Change]) -> Result<Option<i64>> {
    if changes_made.is_empty() {
        return Ok(None);
    }
    let seq = changes::next_seq(c).await?;
    // If the transaction rolls back instead, the number is never used and a later one covers it.
    let _ = WRITTEN.try_with(|written| written.set(written.get().max(seq)));
    // The change log records when a write happened, by the system clock; no rule reads it back.
    let now = clientele_domain::now_millis();
    let rows = Change::to_rows(changes_made);
    let new: Vec<changes::NewRow> = rows
        .iter()
        .map(|row| changes::NewRow {
            seq,
            kind: &row.kind,
            organization_id: row.organization_id,
            a: row.a,
            b: row.b,
            c: row.c,
            text: row.text.as_deref(),
            at: now,
        })
        .collect();
    // One multi-row statement per few thousand changes: a batch of an import records thousands.
    changes::insert_many(c, &new).await?;
    Ok(Some(seq))
}

/// A page with the exact number of matching rows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountedPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// The page before this one; `None` on the first page.
    pub prev_cursor: Option<String>,
    /// How many rows match in all (not just this page).
    pub total: u64,
}

impl<T> From<CountedPage<T>> for paging::Page<T> {
    fn from(page: CountedPage<T>) -> Self {
        paging::Page {
            items: page.items,
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
        }
    }
}

/// The answer to "may this staff member see this client, and why".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessAnswer {
    pub staff: StaffId,
    pub client: ClientId,
    pub allowed: bool,
    /// `admin`, `manager`, `editor` or `reader`; absent when not allowed.
    pub role: Option<String>,
    /// The assignments and nested groups that grant it (admins see everything, without paths).
    pub paths: Vec<GrantPath>,
}

/// Everyone who can see a client, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientAccess {
    pub client: ClientId,
    /// Admins of the organisation see every client.
    pub admins: Vec<StaffId>,
    /// Every grant through an assignment, with its path.
    pub grants: Vec<GrantPath>,
}

impl App {
    /// Builds the index from the tables, in one snapshot, then applies what committed since.
    pub(crate) async fn reload_access(&self) -> Result<()> {
        let _one_at_a_time = self.sync_lock.lock().await;
        // The sequence number first, then the tables, on two connections at once (start-up time is
        // mostly reading a million rows). A table read may already include changes committed
        // after `seq`; applying them again afterwards is harmless, because every change sets one
        // fact to a whole value and they are replayed in commit order.
        let seq = {
            let mut conn = self.db.read().await?;
            changes::current_seq(&mut conn.conn()).await?
        };
        let started = std::time::Instant::now();
        // Its own task, so decoding a million rows runs on another worker thread.
        let clients = tokio::spawn({
            let app = self.clone();
            async move { app.load_clients().await }
        });
        let mut state = self.load_structure().await?;
        let clients = clients
            .await
            .map_err(|e| Error::internal("loading clients failed").caused_by(e))??;
        let read = started.elapsed();
        state.extend(clients);
        self.access.load(seq, state);
        self.staff_cache.clear();
        tracing::info!(
            seq,
            bytes = self.access.approximate_bytes(),
            read_ms = read.as_millis() as u64,
            build_ms = (started.elapsed() - read).as_millis() as u64,
            "access index loaded"
        );
        Ok(())
    }

    /// Every client, as the index keeps it.
    async fn load_clients(&self) -> Result<Vec<Change>> {
        let mut tx = self.db.begin_snapshot().await?;
        let mut state = Vec::new();
        changes::each_client(&mut tx.conn(), |org, id, name_key, status, unit| {
            state.push(Change::Client {
                org: OrganizationId(org),
                client: ClientId(id),
                name_key,
                status: match status {
                    0 => ClientStatus::Active,
                    1 => ClientStatus::Inactive,
                    _ => ClientStatus::Closed,
                },
                unit: unit.map(BusinessUnitId),
            })
        })
        .await?;
        Ok(state)
    }

    /// Every group, membership, nesting and assignment, as the index keeps them.
    async fn load_structure(&self) -> Result<Vec<Change>> {
        let mut tx = self.db.begin_snapshot().await?;
        let mut c = tx.conn();
        let mut state = Vec::new();
        for (org, id, name_key, kind, unit) in changes::all_groups(&mut c).await? {
            state.push(Change::Group {
                org: OrganizationId(org),
                group: GroupId(id),
                name_key,
                kind: GroupKind::parse(&kind)?,
                unit: BusinessUnitId(unit),
            });
        }
        for (org, group, client) in changes::all_group_clients(&mut c).await? {
            state.push(Change::ClientAdded {
                org: OrganizationId(org),
                group: GroupId(group),
                client: ClientId(client),
            });
        }
        for (org, group, client, until) in changes::all_membership_validity(&mut c).await? {
            state.push(Change::MembershipValidity {
                org: OrganizationId(org),
                group: GroupId(group),
                client: ClientId(client),
                valid_until: Some(until),
            });
        }
        for (org, client, until) in changes::all_client_eligibility(&mut c).await? {
            state.push(Change::ClientEligibility {
                org: OrganizationId(org),
                client: ClientId(client),
                until: Some(until),
            });
        }
        for (org, parent, child) in changes::all_group_children(&mut c).await? {
            state.push(Change::ChildAdded {
                org: OrganizationId(org),
                parent: GroupId(parent),
                child: GroupId(child),
            });
        }
        for (org, staff, group, role, valid_until) in changes::all_assignments(&mut c).await? {
            let role = AccessRole::parse(&role).ok_or_else(|| Error::internal(format!("unknown role {role}")))?;
            state.push(Change::Assigned {
                org: OrganizationId(org),
                staff: StaffId(staff),
                group: GroupId(group),
                role,
                valid_until,
            });
        }
        Ok(state)
    }

    /// Applies every change committed since the index was last brought up to date; returns the
    /// sequence number the index now stands at.
    pub async fn sync_access(&self) -> Result<i64> {
        let reload = {
            let _one_at_a_time = self.sync_lock.lock().await;
            let mut conn = self.db.read().await?;
            let mut c = conn.conn();
            loop {
                let applied = self.access.applied();
                let mut rows = changes::since(&mut c, applied, CATCH_UP_BATCH).await?;
                if rows.len() as i64 == CATCH_UP_BATCH && rows.first().map(|r| r.seq) == rows.last().map(|r| r.seq) {
                    // One transaction larger than a step (a batch of a bulk import): read all of it,
                    // or the rest of it would be skipped as already applied.
                    rows = changes::of_seq(&mut c, rows[0].seq).await?;
                }
                let Some(last) = rows.last().map(|r| r.seq) else {
                    break false;
                };
                if rows[0].seq > applied + 1 {
                    // The log was pruned past what this process had applied.
                    break true;
                }
                // Never split one transaction's changes across two batches.
                let complete: Vec<&changes::Row> = if rows.len() as i64 == CATCH_UP_BATCH && rows[0].seq != last {
                    rows.iter().filter(|r| r.seq < last).collect()
                } else {
                    rows.iter().collect()
                };
                let upto = complete.last().map_or(last, |r| r.seq);
                let mut batch = Vec::with_capacity(complete.len());
                let mut unknown = false;
                for r in complete {
                    let row = ChangeRow {
                        kind: r.kind.clone(),
                        organization_id: r.organization_id,
                        a: r.a,
                        b: r.b,
                        c: r.c,
                        text: r.text.clone(),
                    };
                    if !Change::read_row(&row, &mut batch) {
                        unknown = true;
                    }
                }
                if unknown {
                    break true;
                }
                self.forget_staff(&batch);
                self.access.apply(upto, &batch);
            }
        };
        if reload {
            self.reload_access().await?;
        }
        Ok(self.access.applied())
    }

    /// Makes sure this process has applied every change up to `seq` (a sequence number some
    /// earlier write returned, possibly on another server).
    pub async fn sync_access_to(&self, seq: i64) -> Result<()> {
        if self.access.applied() >= seq {
            return Ok(());
        }
        if self.sync_access().await? < seq {
            return Err(Error::invalid(
                "Clientele-Min-Seq",
                "is ahead of every committed change",
            ));
        }
        Ok(())
    }

    /// Commits a writing transaction and brings this process's access index up to date before the
    /// request answers.
    pub(crate) async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.after_commit().await;
        Ok(())
    }

    /// Commits a transaction whose access changes [`record`] numbered `recorded`. When they are the
    /// next ones this process's index expects (nothing else committed in between, the usual case)
    /// they are applied from memory instead of being read back from the log: for a batch of an
    /// import that read was tens of thousands of rows.
    pub(crate) async fn commit_recorded(&self, tx: Tx, recorded: Option<i64>, changes: &[Change]) -> Result<()> {
        tx.commit().await?;
        if let Some(seq) = recorded {
            // Held so that no catch-up applies anything between the test and the apply.
            let _one_at_a_time = self.sync_lock.lock().await;
            if self.access.applied() == seq - 1 {
                self.forget_staff(changes);
                self.access.apply(seq, changes);
                return Ok(());
            }
        }
        self.after_commit().await;
        Ok(())
    }

    fn forget_staff(&self, changes: &[Change]) {
        for change in changes {
            if let Change::Staff { staff, .. } = change {
                self.staff_cache.forget(*staff);
            }
        }
    }

    /// What follows a commit: this process's index catches up with the change log.
    pub(crate) async fn after_commit(&self) {
        if let Err(e) = self.sync_access().await {
            // The write is durable. The request still answers with a `Clientele-Seq` covering it
            // (see `tracking_writes`), and the next request here catches up before it is served.
            self.catch_up_owed.store(true, std::sync::atomic::Ordering::Release);
            tracing::warn!(error = %e, "access index catch-up after commit failed");
        }
    }

    /// Runs `work` (a request) and says the highest sequence number its writes recorded, so the
    /// answer can name a number that covers them even when this process's index could not catch
    /// up after the commit.
    pub async fn tracking_writes<F: std::future::Future>(work: F) -> (F::Output, Option<i64>) {
        WRITTEN
            .scope(std::cell::Cell::new(0), async {
                let out = work.await;
                let written = WRITTEN.with(|w| w.get());
                (out, (written > 0).then_some(written))
            })
            .await
    }

    /// Catches up first if a catch-up after a commit failed: a request must never be answered
    /// from an index older than a write this process already confirmed.
    pub async fn settle_owed_catch_up(&self) -> Result<()> {
        if self.catch_up_owed.load(std::sync::atomic::Ordering::Acquire) {
            self.sync_access().await?;
            self.catch_up_owed.store(false, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }

    /// "My group clients" (seed 003): the clients of the groups the actor is assigned to, through
    /// any nesting. Admins may be assigned to groups too ("both seniors and non-seniors", seed
    /// 003): theirs are their groups' clients, though they see every client under Clients.
    /// Filtered before paging, with the exact total.
    pub async fn my_clients(
        &self,
        actor: &Actor,
        filter: &ClientFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<CountedPage<Client>> {
        self.list_seen(
            actor.organization_id,
            Seeing::Staff(actor.staff_id),
            &crate::clients::access_query(filter),
            cursor,
            limit,
        )
        .await
    }

    /// What a given staff member sees (admins, or the staff member themself).
    pub async fn staff_clients(
        &self,
        actor: &Actor,
        staff: StaffId,
        filter: &ClientFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<CountedPage<Client>> {
        if staff != actor.staff_id {
            actor.admin()?;
        }
        // Their group clients, admins included (see `my_clients`).
        self.staff_by_id(actor.organization_id, staff).await?;
        let query = crate::clients::access_query(filter);
        self.list_seen(actor.organization_id, Seeing::Staff(staff), &query, cursor, limit)
            .await
    }

    pub(crate) async fn list_seen(
        &self,
        org: OrganizationId,
        seeing: Seeing,
        filter: &ClientQuery,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<CountedPage<Client>> {
        let limit = paging::limit(limit)?;
        let position = Position::decode(cursor)?;
        let filter = &self.with_references(org, filter).await?;
        let page = self.access.list_clients(&ListClients {
            seeing,
            filter,
            after: position.after(),
            backward: position.backward,
            limit: limit as usize,
            now: self.clock.now(),
        });
        let mut conn = self.db.read().await?;
        let items = clients::by_ids(&mut conn.conn(), org, &page.ids).await?;
        let (next_cursor, prev_cursor) = paging::index_cursors(&page.keys, page.more, &position);
        Ok(CountedPage {
            items,
            next_cursor,
            prev_cursor,
            total: page.total,
        })
    }

    /// A search also finds a client by its exact external reference or e-mail (indexed in the
    /// database; the access index holds names only).
    async fn with_references(&self, org: OrganizationId, filter: &ClientQuery) -> Result<ClientQuery> {
        let mut filter = filter.clone();
        if let Some(text) = filter.text.as_deref().map(str::trim)
            && !text.is_empty()
            && filter.also.is_empty()
        {
            let mut conn = self.db.read().await?;
            filter.also = clients::matching_reference(&mut conn.conn(), org, text).await?;
        }
        Ok(filter)
    }

    /// The ids of every client `seeing` sees through `filter`, in name order (for bulk changes of
    /// "all clients matching this search"): the list's own filter, without loading the clients.
    pub(crate) async fn matching_ids(
        &self,
        org: OrganizationId,
        seeing: Seeing,
        filter: &ClientQuery,
    ) -> Result<Vec<ClientId>> {
        const PAGE: usize = 50_000;
        let filter = &self.with_references(org, filter).await?;
        let mut ids = Vec::new();
        let mut after = (String::new(), 0i64);
        loop {
            let page = self.access.list_clients(&ListClients {
                seeing,
                filter,
                after: (&after.0, after.1),
                backward: false,
                limit: PAGE,
                now: self.clock.now(),
            });
            ids.extend(page.ids);
            match (page.more, page.keys.last()) {
                (true, Some(last)) => after = last.clone(),
                _ => break,
            }
        }
        Ok(ids)
    }

    /// May `staff` see `client`, with which role, and through which assignments.
    pub async fn check_access(&self, actor: &Actor, staff: StaffId, client: ClientId) -> Result<AccessAnswer> {
        Ok(self.check_access_batch(actor, &[(staff, client)]).await?.remove(0))
    }

    /// Many checks in one call (admins; others may only ask about themselves).
    pub async fn check_access_batch(&self, actor: &Actor, pairs: &[(StaffId, ClientId)]) -> Result<Vec<AccessAnswer>> {
        if pairs.iter().any(|(s, _)| *s != actor.staff_id) {
            actor.admin()?;
        }
        if pairs.len() > 10_000 {
            return Err(Error::invalid("checks", "at most 10000 checks per call"));
        }
        let now = self.clock.now();
        let mut roles: std::collections::HashMap<StaffId, StaffRole> = Default::default();
        let mut answers = Vec::with_capacity(pairs.len());
        for &(staff, client) in pairs {
            let role = match roles.get(&staff) {
                Some(r) => *r,
                None => {
                    let s = self.staff_by_id(actor.organization_id, staff).await?;
                    let r = if s.active { s.role } else { StaffRole::Staff };
                    roles.insert(staff, r);
                    r
                }
            };
            let viewer = decide::Viewer {
                staff,
                admin: role == StaffRole::Admin,
            };
            let permission = decide::client_permission(&self.access, viewer, client, now);
            let in_org = self.access.client_org(client) == Some(actor.organization_id);
            let allowed = permission >= Permission::View && in_org;
            let role_name = match (allowed, permission) {
                (false, _) => None,
                (true, Permission::Admin) => Some("admin".to_string()),
                // The permission already is the strongest role along every path.
                (true, Permission::Manage) => Some(AccessRole::Manager.as_str().to_string()),
                (true, Permission::Edit) => Some(AccessRole::Editor.as_str().to_string()),
                (true, _) => Some(AccessRole::Reader.as_str().to_string()),
            };
            let paths = if allowed && !viewer.admin {
                self.access.paths(staff, client, now)
            } else {
                Vec::new()
            };
            answers.push(AccessAnswer {
                staff,
                client,
                allowed,
                role: role_name,
                paths,
            });
        }
        Ok(answers)
    }

    /// Who can see this client, and why (admins only).
    pub async fn client_access(&self, actor: &Actor, client: ClientId) -> Result<ClientAccess> {
        actor.admin()?;
        let mut conn = self.db.read().await?;
        clients::get(&mut conn.conn(), actor.organization_id, client).await?;
        let admins = staff_store::active_admins(&mut conn.conn(), actor.organization_id).await?;
        Ok(ClientAccess {
            client,
            admins,
            grants: self.access.who_can_see(client, self.clock.now()),
        })
    }
}
