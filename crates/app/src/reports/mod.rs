//! Time entries, reports of work time by client group / client / staff, and saved reports
//! (seed 001). Reports are computed in memory: the [`ledger`] holds every time entry as columns,
//! the access index says who reaches which client through which groups, and the [`engine`] adds
//! up. Every report covers only the clients its reader may see.

use std::sync::{Arc, Mutex, PoisonError};

use clientele_access::{Seeing, decide};
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientStatus;
use clientele_domain::group::GroupKind;
use clientele_domain::report::{Grouping, MembershipBasis, ReportParams, SavedReport, Visibility, report_name};
use clientele_domain::time_entry::{Day, TimeEntry, TimeEntryInput, parse_minutes};
use clientele_domain::{BusinessUnitId, ClientId, Error, OrganizationId, Result, SavedReportId, StaffId, TimeEntryId};
use clientele_store::labels::{self, Named};
use clientele_store::{Conn, Locked, members, saved_reports, time_entries};
use serde::Serialize;

use crate::paging::{self, Cursor, Page};
use crate::{Actor, App, audit, check_version};

pub mod chart;
pub mod engine;
pub mod ledger;

use engine::Key;

/// The in-memory side of reports: the ledger, and the last access view a report used (reports
/// are often asked again and again with other filters while nothing else changes).
#[derive(Debug, Default)]
pub struct Reports {
    pub ledger: ledger::Ledger,
    /// The view, its key, and the instant it stops being true by itself (an assignment or a
    /// membership running out, with no change in the log to say so).
    view: Mutex<Option<(ViewKey, clientele_domain::Millis, Arc<engine::Prepared>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ViewKey {
    seeing: (bool, i64),
    statuses: Vec<ClientStatus>,
    unit: Option<BusinessUnitId>,
    applied: i64,
}

/// A time entry as written through the API, the UI or an import: text where people type text.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct TimeEntryFields {
    pub client_id: ClientId,
    /// Whose time; only admins log time for someone else. Default: the caller.
    #[serde(default)]
    pub staff_id: Option<StaffId>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Minutes (`90`), hours and minutes (`1:30`) or hours (`1.5h`).
    pub duration: String,
    #[serde(default)]
    pub billable: bool,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A time entry as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct TimeEntryLine {
    pub entry: TimeEntry,
    pub staff_name: String,
    pub client_name: String,
    /// Whether the reader may edit or delete it.
    pub may_change: bool,
}

/// One row of a report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// `group`, `no_group`, `client` or `staff`.
    pub kind: &'static str,
    pub id: Option<i64>,
    pub name: String,
    /// Group rows: `clients` or `groups`.
    pub group_kind: Option<GroupKind>,
    pub minutes: u64,
    pub billable_minutes: u64,
    pub entries: u64,
    /// Distinct clients with time in this row.
    pub clients_with_time: u64,
    /// Group rows: clients in the group (through nesting) that the report may count.
    pub members: Option<u64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportTotals {
    pub minutes: u64,
    pub billable_minutes: u64,
    pub entries: u64,
    pub clients_with_time: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeReport {
    #[schema(value_type = String, format = Date)]
    pub from: Day,
    #[schema(value_type = String, format = Date)]
    pub to: Day,
    pub by: Grouping,
    pub basis: MembershipBasis,
    /// Most time first.
    pub rows: Vec<ReportRow>,
    /// Every row's count, including those past `limit`.
    pub total_rows: usize,
    pub total: ReportTotals,
    /// The request as it was understood, for links and saving.
    pub params: ReportParams,
}

/// What a saved report is made of.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct SavedReportFields {
    pub name: String,
    #[serde(default = "private")]
    pub visibility: Visibility,
    #[serde(default)]
    pub params: ReportParams,
}

fn private() -> Visibility {
    Visibility::Private
}

impl App {
    /// Today, by the service's clock (reports' relative periods count from it).
    fn today(&self) -> Day {
        Day::of_millis(self.clock.now())
    }
}

impl TimeEntryFields {
    fn check(&self, actor: &Actor) -> Result<TimeEntryInput> {
        TimeEntryInput::new(
            self.staff_id.unwrap_or(actor.staff_id),
            self.client_id,
            Day::parse("date", &self.date)?,
            parse_minutes("duration", &self.duration)?,
            self.billable,
            self.service.as_deref(),
            self.note.as_deref(),
        )
    }
}

impl App {
    /// Makes sure the client is one of the organisation's and the actor may edit it, and that
    /// only admins log time for someone else.
    async fn may_log(&self, actor: &Actor, e: &TimeEntryInput) -> Result<()> {
        if self.access.client_org(e.client) != Some(actor.organization_id) {
            return Err(Error::not_found("client").with_field("client_id"));
        }
        decide::edit_client(&self.access, actor.viewer(), e.client, self.clock.now())
            .map_err(|err| err.with_field("client_id"))?;
        if e.staff != actor.staff_id {
            actor
                .admin()
                .map_err(|_| Error::forbidden("only admins log time for someone else").with_field("staff_id"))?;
            let staff = self
                .staff_by_id(actor.organization_id, e.staff)
                .await
                .map_err(|err| err.with_field("staff_id"))?;
            if !staff.active {
                return Err(Error::invalid("staff_id", "is not an active staff member"));
            }
        }
        Ok(())
    }

    pub async fn create_time_entry(&self, actor: &Actor, fields: &TimeEntryFields) -> Result<TimeEntry> {
        let input = fields.check(actor)?;
        self.may_log(actor, &input).await?;
        let mut tx = self.begin().await?;
        let seq = time_entries::next_seq(&mut tx.conn()).await?;
        let entry = time_entries::insert(
            &mut tx.conn(),
            actor.organization_id,
            &input,
            actor.staff_id,
            seq,
            self.clock.now(),
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "time_entry.created",
            object: ("time_entry", entry.id.0),
            group: None,
            client: Some(entry.client_id),
            cause: Cause::Manual,
            before: None,
            after: serde_json::to_value(&entry).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(entry)
    }

    /// Whether the actor may edit or delete this entry: the very check `update_time_entry` and
    /// `delete_time_entry` make, so the UI offers "Edit" and "Delete" exactly where they succeed.
    /// `not_found` when the actor may not see the entry's client, `forbidden` when it is someone
    /// else's (and the actor is no admin) or the client is only theirs to read.
    pub fn may_change_time_entry(&self, actor: &Actor, entry: &TimeEntry) -> Result<()> {
        let now = self.clock.now();
        decide::view_client(&self.access, actor.viewer(), entry.client_id, now)
            .map_err(|_| Error::not_found("time entry"))?;
        if entry.staff_id != actor.staff_id && !actor.viewer().admin {
            return Err(Error::forbidden(
                "only the staff member who logged this time, or an admin, can change it",
            ));
        }
        decide::edit_client(&self.access, actor.viewer(), entry.client_id, now)?;
        Ok(())
    }

    pub async fn time_entry(&self, actor: &Actor, id: TimeEntryId) -> Result<TimeEntry> {
        let mut conn = self.db.read().await?;
        let entry = time_entries::get(&mut conn.conn(), actor.organization_id, id).await?;
        decide::view_client(&self.access, actor.viewer(), entry.client_id, self.clock.now())
            .map_err(|_| Error::not_found("time entry"))?;
        Ok(entry)
    }

    pub async fn update_time_entry(
        &self,
        actor: &Actor,
        id: TimeEntryId,
        fields: &TimeEntryFields,
        if_match: Option<i64>,
    ) -> Result<TimeEntry> {
        let mut tx = self.begin().await?;
        tx.conn().lock(Locked::TimeEntry, id.0).await?;
        let current = time_entries::get(&mut tx.conn(), actor.organization_id, id).await?;
        self.may_change_time_entry(actor, &current)?;
        check_version(if_match, current.version)?;
        let mut fields = fields.clone();
        fields.staff_id = fields.staff_id.or(Some(current.staff_id));
        let input = fields.check(actor)?;
        self.may_log(actor, &input).await?;
        let seq = time_entries::next_seq(&mut tx.conn()).await?;
        let after = time_entries::update(&mut tx.conn(), id, &input, seq, self.clock.now()).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "time_entry.updated",
            object: ("time_entry", id.0),
            group: None,
            client: Some(after.client_id),
            cause: Cause::Manual,
            before: serde_json::to_value(&current).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(after)
    }

    pub async fn delete_time_entry(&self, actor: &Actor, id: TimeEntryId) -> Result<()> {
        let mut tx = self.begin().await?;
        let before = time_entries::get(&mut tx.conn(), actor.organization_id, id).await?;
        self.may_change_time_entry(actor, &before)?;
        let seq = time_entries::next_seq(&mut tx.conn()).await?;
        if !time_entries::delete(&mut tx.conn(), id, seq, self.clock.now()).await? {
            return Err(Error::not_found("time entry"));
        }
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "time_entry.deleted",
            object: ("time_entry", id.0),
            group: None,
            client: Some(before.client_id),
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Time entries of a client (the actor must see it) or of a staff member (themself, or any
    /// for admins), newest day first.
    pub async fn time_entries(
        &self,
        actor: &Actor,
        client: Option<ClientId>,
        staff: Option<StaffId>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<TimeEntry>> {
        match (client, staff) {
            (Some(c), _) => {
                decide::view_client(&self.access, actor.viewer(), c, self.clock.now())?;
            }
            (None, Some(s)) if s == actor.staff_id => {}
            _ => {
                actor.admin()?;
            }
        }
        let limit = paging::limit(limit)?;
        let cursor = Cursor::decode(cursor)?;
        let after = if cursor.id == 0 {
            None
        } else {
            let day = cursor
                .key
                .parse()
                .map_err(|_| Error::invalid("cursor", "is not a cursor this server handed out"))?;
            Some((day, cursor.id))
        };
        let mut conn = self.db.read().await?;
        let rows = time_entries::list(&mut conn.conn(), actor.organization_id, client, staff, after, limit + 1).await?;
        // The page and its cursor are cut from the rows read, before any are hidden below: hiding
        // first would take a page shortened by hidden rows for the last one and end the list there.
        let mut page = paging::page(rows, limit, |e| Cursor {
            id: e.id.0,
            key: e.date.0.to_string(),
        });
        if !actor.viewer().admin && client.is_none() {
            // A staff member's own entries on clients they no longer see stay hidden.
            let now = self.clock.now();
            page.items
                .retain(|e| decide::view_client(&self.access, actor.viewer(), e.client_id, now).is_ok());
        }
        Ok(page)
    }

    /// [`App::time_entries`] with what a list shows beside each entry: the staff member's and
    /// the client's names, and whether the actor may change it ([`App::may_change_time_entry`]).
    pub async fn time_entry_lines(
        &self,
        actor: &Actor,
        client: Option<ClientId>,
        staff: Option<StaffId>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<TimeEntryLine>> {
        let page = self.time_entries(actor, client, staff, cursor, limit).await?;
        Ok(Page {
            items: self.lines(actor, page.items).await?,
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
        })
    }

    /// One entry the actor may see, as [`App::time_entry_lines`] shows it.
    pub async fn time_entry_line(&self, actor: &Actor, id: TimeEntryId) -> Result<TimeEntryLine> {
        let entry = self.time_entry(actor, id).await?;
        let mut lines = self.lines(actor, vec![entry]).await?;
        lines.pop().ok_or_else(|| Error::not_found("time entry"))
    }

    async fn lines(&self, actor: &Actor, entries: Vec<TimeEntry>) -> Result<Vec<TimeEntryLine>> {
        let ids = |pick: fn(&TimeEntry) -> i64| {
            let mut ids: Vec<i64> = entries.iter().map(pick).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let (staff_ids, client_ids) = (ids(|e| e.staff_id.0), ids(|e| e.client_id.0));
        let mut conn = self.db.read().await?;
        let mut c = conn.conn();
        let staff_names = labels::names(&mut c, Named::Staff, actor.organization_id, &staff_ids).await?;
        let client_names = labels::names(&mut c, Named::Clients, actor.organization_id, &client_ids).await?;
        Ok(entries
            .into_iter()
            .map(|entry| TimeEntryLine {
                staff_name: staff_names.get(&entry.staff_id.0).cloned().unwrap_or_default(),
                client_name: client_names.get(&entry.client_id.0).cloned().unwrap_or_default(),
                may_change: self.may_change_time_entry(actor, &entry).is_ok(),
                entry,
            })
            .collect())
    }

    /// Loads the report ledger ahead of the first report (`serve` calls this in the background).
    pub async fn warm_reports(&self) -> Result<()> {
        self.reports.ledger.catch_up(&self.db).await
    }

    fn report_view(
        &self,
        actor: &Actor,
        statuses: &[ClientStatus],
        unit: Option<BusinessUnitId>,
    ) -> Arc<engine::Prepared> {
        let admin = actor.viewer().admin;
        let key = ViewKey {
            seeing: (
                admin,
                if admin {
                    actor.organization_id.0
                } else {
                    actor.staff_id.0
                },
            ),
            statuses: statuses.to_vec(),
            unit,
            applied: self.access.applied(),
        };
        let now = self.clock.now();
        if let Some((k, valid_until, view)) = &*self.reports.view.lock().unwrap_or_else(PoisonError::into_inner)
            && *k == key
            && now < *valid_until
        {
            return view.clone();
        }
        let seeing = if admin {
            Seeing::All(actor.organization_id)
        } else {
            Seeing::Staff(actor.staff_id)
        };
        let valid_until = self.access.unchanged_until(seeing, now);
        let view = Arc::new(engine::Prepared::new(
            self.access.report_view(seeing, statuses, unit, now),
        ));
        *self.reports.view.lock().unwrap_or_else(PoisonError::into_inner) = Some((key, valid_until, view.clone()));
        view
    }

    /// Time by client group, client or staff over a date range, covering only the clients the
    /// actor may see. `limit` caps the rows returned (`total_rows` says how many there are).
    pub async fn time_report(&self, actor: &Actor, params: &ReportParams, limit: Option<usize>) -> Result<TimeReport> {
        let query = params.parse(self.today())?;
        if let Some(unit) = query.unit {
            let mut conn = self.db.read().await?;
            clientele_store::business_units::get(&mut conn.conn(), actor.organization_id, unit)
                .await
                .map_err(Error::from)
                .map_err(|_| Error::invalid("unit", format!("no business unit {unit} in this organisation")))?;
        }
        self.reports.ledger.catch_up(&self.db).await?;
        let view = self.report_view(actor, &query.statuses, query.unit);
        for g in &query.groups {
            if !view.shows(*g) {
                return Err(Error::invalid("groups", format!("no group {g} that you can see")));
            }
        }
        let history = if query.by == Grouping::Group && query.basis == MembershipBasis::WorkDate {
            let mut conn = self.db.read().await?;

            members::periods_changed_since(&mut conn.conn(), actor.organization_id, query.from.start_millis())
                .await?
                .into_iter()
                .map(|p| engine::Period {
                    group: p.group,
                    client: p.client,
                    started_at: p.started_at,
                    ended_at: p.ended_at,
                })
                .collect()
        } else {
            Vec::new()
        };
        // Tens of milliseconds of arithmetic (on worker threads of its own when the range is
        // large): the runtime's thread is handed over to other requests meanwhile.
        let compute = || {
            let ledger = self.reports.ledger.read();
            engine::compute(ledger.org(actor.organization_id.0), &view, &query, &history, limit)
        };
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let computed = if multi_threaded {
            tokio::task::block_in_place(compute)
        } else {
            compute()
        };
        let total_rows = computed.total_rows;
        let rows = self.name_rows(actor.organization_id, &view, &computed.rows).await?;
        let t = computed.total;
        Ok(TimeReport {
            from: query.from,
            to: query.to,
            by: query.by,
            basis: query.basis,
            rows,
            total_rows,
            total: ReportTotals {
                minutes: t.minutes,
                billable_minutes: t.billable_minutes,
                entries: t.entries,
                clients_with_time: t.clients,
            },
            params: params.clone(),
        })
    }

    async fn name_rows(
        &self,
        org: OrganizationId,
        view: &engine::Prepared,
        rows: &[engine::Row],
    ) -> Result<Vec<ReportRow>> {
        let ids = |pick: fn(&Key) -> Option<i64>| rows.iter().filter_map(|r| pick(&r.key)).collect::<Vec<i64>>();
        let mut conn = self.db.read().await?;
        let mut c = conn.conn();
        let groups = labels::names(
            &mut c,
            Named::Groups,
            org,
            &ids(|k| match k {
                Key::Group(g) => Some(g.0),
                _ => None,
            }),
        )
        .await?;
        let clients = labels::names(
            &mut c,
            Named::Clients,
            org,
            &ids(|k| match k {
                Key::Client(x) => Some(x.0),
                _ => None,
            }),
        )
        .await?;
        let staff = labels::names(
            &mut c,
            Named::Staff,
            org,
            &ids(|k| match k {
                Key::Staff(s) => Some(s.0),
                _ => None,
            }),
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (kind, id, name, group_kind) = match r.key {
                    Key::Group(g) => (
                        "group",
                        Some(g.0),
                        groups.get(&g.0).cloned().unwrap_or_default(),
                        view.kind_of(g),
                    ),
                    Key::NoGroup => ("no_group", None, "(no group)".to_string(), None),
                    Key::Client(c) => (
                        "client",
                        Some(c.0),
                        clients.get(&c.0).cloned().unwrap_or_default(),
                        None,
                    ),
                    Key::Staff(s) => ("staff", Some(s.0), staff.get(&s.0).cloned().unwrap_or_default(), None),
                };
                ReportRow {
                    kind,
                    id,
                    name,
                    group_kind,
                    minutes: r.totals.minutes,
                    billable_minutes: r.totals.billable_minutes,
                    entries: r.totals.entries,
                    clients_with_time: r.totals.clients,
                    members: r.members,
                }
            })
            .collect())
    }

    /// Saves a report under a name, for the owner or the whole office.
    pub async fn create_saved_report(&self, actor: &Actor, fields: &SavedReportFields) -> Result<SavedReport> {
        let name = report_name(&fields.name)?;
        fields.params.parse(self.today())?;
        let mut tx = self.begin().await?;
        let key = name.key();
        let stored = saved_reports::Fields {
            name: name.as_str(),
            name_key: &key,
            visibility: fields.visibility,
            params: &fields.params,
        };
        let saved = saved_reports::insert(
            &mut tx.conn(),
            actor.organization_id,
            actor.staff_id,
            &stored,
            self.clock.now(),
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "saved_report.created",
            object: ("saved_report", saved.id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: serde_json::to_value(&saved).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(saved)
    }

    /// The reports the actor may open: their own and the office's.
    pub async fn saved_reports(&self, actor: &Actor) -> Result<Vec<SavedReport>> {
        let mut conn = self.db.read().await?;
        saved_reports::list_visible(&mut conn.conn(), actor.organization_id, actor.staff_id)
            .await
            .map_err(Error::from)
    }

    pub async fn saved_report(&self, actor: &Actor, id: SavedReportId) -> Result<SavedReport> {
        let mut conn = self.db.read().await?;
        visible_report(&mut conn.conn(), actor, id).await
    }

    /// Whether the actor may rename, share or delete this saved report: its owner or an admin.
    pub fn may_change_saved_report(actor: &Actor, saved: &SavedReport) -> bool {
        saved.owner_id == actor.staff_id || actor.viewer().admin
    }

    /// Renames a saved report, changes who sees it, or replaces its filters.
    pub async fn update_saved_report(
        &self,
        actor: &Actor,
        id: SavedReportId,
        fields: &SavedReportFields,
        if_match: Option<i64>,
    ) -> Result<SavedReport> {
        let name = report_name(&fields.name)?;
        fields.params.parse(self.today())?;
        let mut tx = self.begin().await?;
        let before = changeable_report(&mut tx.conn(), actor, id).await?;
        check_version(if_match, before.version)?;
        let key = name.key();
        let stored = saved_reports::Fields {
            name: name.as_str(),
            name_key: &key,
            visibility: fields.visibility,
            params: &fields.params,
        };
        let after = saved_reports::update(&mut tx.conn(), id, &stored, self.clock.now()).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "saved_report.updated",
            object: ("saved_report", id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(after)
    }

    pub async fn delete_saved_report(&self, actor: &Actor, id: SavedReportId) -> Result<()> {
        let mut tx = self.begin().await?;
        let before = changeable_report(&mut tx.conn(), actor, id).await?;
        saved_reports::delete(&mut tx.conn(), id).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "saved_report.deleted",
            object: ("saved_report", id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
        self.commit(tx).await?;
        Ok(())
    }
}

/// A saved report the actor may open: their own, or one shared with the office.
async fn visible_report(c: &mut Conn<'_>, actor: &Actor, id: SavedReportId) -> Result<SavedReport> {
    let saved = saved_reports::get(c, actor.organization_id, id).await?;
    if saved.owner_id != actor.staff_id && saved.visibility == Visibility::Private {
        return Err(Error::not_found("saved report"));
    }
    Ok(saved)
}

/// A saved report the actor may change (their own, or any they can open if they are an admin),
/// locked for the rest of the write transaction `c` belongs to.
async fn changeable_report(c: &mut Conn<'_>, actor: &Actor, id: SavedReportId) -> Result<SavedReport> {
    c.lock(Locked::SavedReport, id.0).await?;
    let saved = visible_report(c, actor, id).await?;
    if !App::may_change_saved_report(actor, &saved) {
        return Err(Error::forbidden(
            "only its owner or an admin can change this saved report",
        ));
    }
    Ok(saved)
}

/// A report as CSV: one line per row, hours with two decimals beside the minutes.
pub fn report_csv(report: &TimeReport) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "kind",
        "id",
        "name",
        "hours",
        "minutes",
        "billable_minutes",
        "entries",
        "clients_with_time",
        "members",
    ];
    w.write_record(header).map_err(Error::internal)?;
    let hours = |m: u64| format!("{:.2}", m as f64 / 60.0);
    for r in &report.rows {
        w.write_record([
            r.kind.to_string(),
            r.id.map(|i| i.to_string()).unwrap_or_default(),
            crate::cell::to_cell(&r.name).into_owned(),
            hours(r.minutes),
            r.minutes.to_string(),
            r.billable_minutes.to_string(),
            r.entries.to_string(),
            r.clients_with_time.to_string(),
            r.members.map(|m| m.to_string()).unwrap_or_default(),
        ])
        .map_err(Error::internal)?;
    }
    let t = &report.total;
    w.write_record([
        "total".to_string(),
        String::new(),
        String::new(),
        hours(t.minutes),
        t.minutes.to_string(),
        t.billable_minutes.to_string(),
        t.entries.to_string(),
        t.clients_with_time.to_string(),
        String::new(),
    ])
    .map_err(Error::internal)?;
    w.into_inner().map_err(Error::internal)
}
