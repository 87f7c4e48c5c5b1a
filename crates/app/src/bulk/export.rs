//! Exports: the same columns imports read, page by page in id order, so an export of any size is
//! streamed and a downloaded file uploads back unchanged (every row `unchanged` or
//! `already_member`).

use std::collections::HashMap;

use clientele_domain::client::ClientFilter;
use clientele_domain::entities::{Client, ClientGroup};
use clientele_domain::group::GroupFilter;
use clientele_domain::{ClientId, Error, OrganizationId, Result};
use clientele_store::{Conn, business_units, clients as client_store, groups as group_store};

use super::formats::{Format, format_instant};
use crate::cell;
use crate::{Admin, App};

/// Groups per page.
const PAGE: i64 = 1000;
/// Clients (and time entries) per page: one streaming query each, written as the rows arrive without copying them, so
/// a large page costs only its bytes (about 2 MB) and saves round trips.
const CLIENT_PAGE: i64 = 20_000;
/// Groups per page of the memberships export (each with all its members).
const GROUPS_PER_PAGE: i64 = 100;

async fn unit_names(c: &mut Conn<'_>, org: OrganizationId) -> Result<HashMap<i64, String>> {
    let mut names = HashMap::new();
    let mut after = (String::new(), 0i64);
    loop {
        let page = business_units::list(c, org, (&after.0, after.1), 500).await?;
        let Some((last, key)) = page.last() else { break };
        after = (key.clone(), last.id.0);
        let full = page.len() == 500;
        names.extend(page.into_iter().map(|(u, _)| (u.id.0, u.name)));
        if !full {
            break;
        }
    }
    Ok(names)
}

/// A page of the memberships export being written.
struct Members<'a> {
    page: &'a [ClientGroup],
    /// (parent, child's name), in the page's order.
    children: std::iter::Peekable<std::slice::Iter<'a, (i64, String)>>,
    /// The first group of the page not finished yet.
    next: usize,
    failed: Option<csv::Error>,
}

impl Members<'_> {
    /// A row, with the import-only columns (`new_group_kind`, `new_group_business_unit`) empty.
    fn record(&mut self, w: &mut csv::Writer<Vec<u8>>, [group_id, group, client_id, client_ref, child]: [&str; 5]) {
        let fields = [group_id, group, client_id, client_ref, child, "", ""];
        if let Err(e) = cell::write_record(w, fields)
            && self.failed.is_none()
        {
            self.failed = Some(e);
        }
    }

    /// Writes the nested groups of every group before `upto` (all, with `None`), ending them.
    fn finish_groups(&mut self, w: &mut csv::Writer<Vec<u8>>, upto: Option<i64>) {
        let page = self.page;
        while let Some(group) = page.get(self.next) {
            if upto.is_some_and(|g| group.id.0 >= g) {
                break;
            }
            let id = group.id.0.to_string();
            while let Some((_, name)) = self.children.next_if(|(parent, _)| *parent == group.id.0) {
                self.record(w, [id.as_str(), group.name.as_str(), "", "", name.as_str()]);
            }
            self.next += 1;
        }
    }
}

/// What an export covers: everything (the default), or what a list shows. Seed 000's "export
/// your business unit": the same filters as the lists, so a download is what was on screen.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// The clients export: the clients list's filter (search, statuses, groups, business unit,
    /// available).
    pub clients: Option<ClientFilter>,
    /// The groups and memberships exports: the groups list's filter (kind, business unit,
    /// search); memberships are those of the matching groups.
    pub groups: Option<GroupFilter>,
}

impl ExportFilter {
    pub fn is_everything(&self) -> bool {
        self.clients.is_none() && self.groups.is_none()
    }
}

/// An export's filters as the API, the UI's download links and the CLI give them: those of the
/// list the export comes from (none: everything).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Clients: part of the name, or an exact external reference or e-mail. Groups and
    /// memberships: part of the group's name or CRM ID.
    pub q: Option<String>,
    /// Clients: comma-separated statuses (`active,inactive,closed`); default every status.
    pub status: Option<String>,
    /// Clients: only those in one of these groups (comma-separated ids), directly or through
    /// the groups nested in them.
    pub group: Option<String>,
    /// Only clients, or groups (and their memberships), of this business unit.
    pub business_unit: Option<clientele_domain::BusinessUnitId>,
    /// Clients: only those that could join a group now (see `GET /api/v1/clients`).
    #[serde(default)]
    pub available: bool,
    /// Groups and memberships: `clients` or `groups`.
    pub kind: Option<String>,
}

impl ExportQuery {
    /// The filter these parameters describe for `format`.
    pub fn filter(&self, format: Format) -> Result<ExportFilter> {
        let text = self.q.clone().filter(|q| !q.trim().is_empty());
        let any = text.is_some()
            || self.status.is_some()
            || self.group.is_some()
            || self.business_unit.is_some()
            || self.available
            || self.kind.is_some();
        if !any {
            return Ok(ExportFilter::default());
        }
        match format {
            Format::Clients | Format::ProgramAccounts => {
                let statuses = match &self.status {
                    Some(list) => list
                        .split(',')
                        .map(|s| {
                            clientele_domain::client::ClientStatus::parse(s.trim()).map_err(|e| e.with_field("status"))
                        })
                        .collect::<std::result::Result<_, _>>()?,
                    None => Vec::new(),
                };
                let groups = match self.group.as_deref() {
                    None | Some("") => Vec::new(),
                    Some(list) => list
                        .split(',')
                        .map(|g| {
                            g.trim()
                                .parse()
                                .map(clientele_domain::GroupId)
                                .map_err(|_| Error::invalid("group", "must be group ids separated by commas"))
                        })
                        .collect::<std::result::Result<_, _>>()?,
                };
                Ok(ExportFilter {
                    clients: Some(clientele_domain::client::ClientFilter {
                        text,
                        statuses,
                        groups,
                        business_unit: self.business_unit,
                        available: self.available,
                        ..Default::default()
                    }),
                    groups: None,
                })
            }
            Format::Groups | Format::Memberships => {
                let kind = match self.kind.as_deref() {
                    None | Some("") => None,
                    Some(k) => Some(clientele_domain::group::GroupKind::parse(k).map_err(|e| e.with_field("kind"))?),
                };
                Ok(ExportFilter {
                    clients: None,
                    groups: Some(clientele_domain::group::GroupFilter {
                        kind,
                        business_unit: self.business_unit,
                        text,
                        ..Default::default()
                    }),
                })
            }
            Format::TimeEntries => Err(Error::invalid(
                "format",
                "time entries are exported whole; GET /api/v1/reports/time.csv exports time by filter",
            )),
        }
    }
}

/// A page's CSV writer; the first page (`after` = 0) starts with the format's header.
fn page_writer(format: Format, after: i64) -> Result<csv::Writer<Vec<u8>>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    if after == 0 {
        w.write_record(format.columns()).map_err(Error::internal)?;
    }
    Ok(w)
}

fn client_record(
    w: &mut csv::Writer<Vec<u8>>,
    c: &Client,
    units: &HashMap<i64, String>,
) -> std::result::Result<(), csv::Error> {
    let unit = c
        .business_unit_id
        .and_then(|u| units.get(&u.0))
        .map_or("", String::as_str);
    let expires = c.relationship_expires_at.map(format_instant).unwrap_or_default();
    cell::write_record(
        w,
        [
            c.id.0.to_string().as_str(),
            c.external_ref.as_deref().unwrap_or_default(),
            c.name.as_str(),
            c.email.as_deref().unwrap_or_default(),
            c.phone.as_deref().unwrap_or_default(),
            c.status.as_str(),
            c.relationship.as_str(),
            expires.as_str(),
            unit,
            c.notes.as_deref().unwrap_or_default(),
        ],
    )
}

/// Program accounts as rows, each with its client's reference and name.
async fn program_account_records(
    c: &mut Conn<'_>,
    org: OrganizationId,
    w: &mut csv::Writer<Vec<u8>>,
    accounts: &[clientele_domain::program_account::ProgramAccount],
) -> Result<()> {
    let mut owners: Vec<ClientId> = accounts.iter().map(|a| a.client_id).collect();
    owners.sort_unstable_by_key(|c| c.0);
    owners.dedup();
    let mut clients = HashMap::with_capacity(owners.len());
    for chunk in owners.chunks(1000) {
        clients.extend(
            client_store::by_ids(c, org, chunk)
                .await?
                .into_iter()
                .map(|c| (c.id, c)),
        );
    }
    for account in accounts {
        let client = clients.get(&account.client_id);
        cell::write_record(
            w,
            [
                account.client_id.0.to_string().as_str(),
                client.and_then(|c| c.external_ref.as_deref()).unwrap_or_default(),
                client.map_or("", |c| c.name.as_str()),
                account.number.as_str(),
                account.program.as_str(),
                account.status.as_str(),
            ],
        )
        .map_err(Error::internal)?;
    }
    Ok(())
}

impl App {
    /// One page of an export of what `filter` selects (see [`ExportFilter`]); with no filter,
    /// [`App::export_page`]. Pages go by id like the full export, so the cursor is the same.
    pub async fn export_filtered_page(
        &self,
        admin: Admin<'_>,
        format: Format,
        filter: &ExportFilter,
        after: i64,
    ) -> Result<(Vec<u8>, Option<i64>)> {
        if filter.is_everything() {
            return self.export_page(admin, format, after).await;
        }
        let actor = admin.actor();
        let org = actor.organization_id;
        let mut w = page_writer(format, after)?;
        let io = |e: csv::Error| Error::internal("writing the CSV failed").caused_by(e);
        let next = match format {
            Format::Clients | Format::ProgramAccounts => {
                let all = ClientFilter::default();
                let wanted = filter.clients.as_ref().unwrap_or(&all);
                // The access index answers the filter (as the list does), in id order here.
                let mut ids: Vec<ClientId> = self
                    .clients_matching(actor, wanted)
                    .await?
                    .into_iter()
                    .filter(|c| c.0 > after)
                    .collect();
                ids.sort_unstable_by_key(|c| c.0);
                let more = ids.len() > CLIENT_PAGE as usize;
                ids.truncate(CLIENT_PAGE as usize);
                let mut conn = self.db.read().await?;
                let c = &mut conn.conn();
                if format == Format::ProgramAccounts {
                    // The accounts of this page of matching clients.
                    let accounts = clientele_store::program_accounts::of_clients(c, org, &ids).await?;
                    program_account_records(c, org, &mut w, &accounts).await?;
                    let bytes = w
                        .into_inner()
                        .map_err(|e| Error::internal("writing the CSV failed").caused_by(e))?;
                    return Ok((bytes, more.then(|| ids.last().map(|c| c.0)).flatten()));
                }
                let units = unit_names(c, org).await?;
                let mut rows = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(1000) {
                    rows.extend(client_store::by_ids(c, org, chunk).await?);
                }
                rows.sort_unstable_by_key(|c| c.id.0);
                for client in &rows {
                    client_record(&mut w, client, &units).map_err(io)?;
                }
                more.then(|| ids.last().map(|c| c.0)).flatten()
            }
            Format::Groups | Format::Memberships => {
                let all = GroupFilter::default();
                let wanted = filter.groups.as_ref().unwrap_or(&all);
                let groups = self.groups_matching(org, wanted).await?;
                let ids: std::collections::HashSet<i64> = groups.iter().map(|g| g.id.0).collect();
                if format == Format::Groups {
                    let mut conn = self.db.read().await?;
                    let units = unit_names(&mut conn.conn(), org).await?;
                    // A firm has thousands of groups at most: one page holds them all.
                    if after == 0 {
                        for group in &groups {
                            cell::write_record(
                                &mut w,
                                [
                                    group.name.as_str(),
                                    group.kind.as_str(),
                                    units.get(&group.business_unit_id.0).map_or("", String::as_str),
                                    group.crm_id.as_deref().unwrap_or_default(),
                                    group.description.as_deref().unwrap_or_default(),
                                ],
                            )
                            .map_err(io)?;
                        }
                    }
                    None
                } else {
                    // The full export's pages, keeping the matching groups' rows only.
                    let (bytes, next) = self.export_page(admin, format, after).await?;
                    let text = String::from_utf8(bytes)
                        .map_err(|e| Error::internal("an export line was not UTF-8").caused_by(e))?;
                    let mut out = Vec::new();
                    for (i, line) in text.split_inclusive("\r\n").enumerate() {
                        if after == 0 && i == 0 {
                            continue; // the header, written above
                        }
                        let group: Option<i64> = line.split(',').next().and_then(|g| g.parse().ok());
                        if group.is_some_and(|g| ids.contains(&g)) {
                            out.extend_from_slice(line.as_bytes());
                        }
                    }
                    let mut head = w
                        .into_inner()
                        .map_err(|e| Error::internal("writing the CSV failed").caused_by(e))?;
                    head.extend(out);
                    return Ok((head, next));
                }
            }
            Format::TimeEntries => {
                return Err(Error::invalid(
                    "format",
                    "time entries are exported whole here; reports export time by filter (GET /api/v1/reports/time.csv)",
                ));
            }
        };
        let bytes = w
            .into_inner()
            .map_err(|e| Error::internal("writing the CSV failed").caused_by(e))?;
        Ok((bytes, next))
    }

    /// Every live group passing `filter`, by id.
    async fn groups_matching(&self, org: OrganizationId, filter: &GroupFilter) -> Result<Vec<ClientGroup>> {
        let mut conn = self.db.read().await?;
        let c = &mut conn.conn();
        let mut out = Vec::new();
        let mut after = (String::new(), 0i64);
        loop {
            let page = group_store::list(c, org, filter, (&after.0, after.1), false, 1000).await?;
            let full = page.len() == 1000;
            if let Some((g, key)) = page.last() {
                after = (key.clone(), g.id.0);
            }
            out.extend(page.into_iter().map(|(g, _)| g));
            if !full {
                break;
            }
        }
        out.sort_unstable_by_key(|g| g.id.0);
        Ok(out)
    }

    /// One page of an export as CSV bytes: the first page (`after` = 0) starts with the header.
    /// Returns where the next page starts, or `None` after the last.
    pub async fn export_page(&self, admin: Admin<'_>, format: Format, after: i64) -> Result<(Vec<u8>, Option<i64>)> {
        let org = admin.actor().organization_id;
        let mut conn = self.db.read().await?;
        let c = &mut conn.conn();
        let mut w = page_writer(format, after)?;
        let io = |e: csv::Error| Error::internal("writing the CSV failed").caused_by(e);
        let next = match format {
            Format::Clients => {
                let units = unit_names(c, org).await?;
                let mut last = after;
                let mut failed = None;
                let mut number = String::new();
                let rows = client_store::each_by_id(c, org, after, CLIENT_PAGE, |r| {
                    use std::fmt::Write as _;
                    last = r.id;
                    number.clear();
                    let _ = write!(number, "{}", r.id);
                    let unit = r
                        .business_unit_id
                        .and_then(|u| units.get(&u))
                        .map_or("", String::as_str);
                    let expires = r.relationship_expires_at.map(format_instant).unwrap_or_default();
                    let written = cell::write_record(
                        &mut w,
                        [
                            number.as_str(),
                            r.external_ref.unwrap_or_default(),
                            r.name,
                            r.email.unwrap_or_default(),
                            r.phone.unwrap_or_default(),
                            r.status,
                            r.relationship,
                            expires.as_str(),
                            unit,
                            r.notes.unwrap_or_default(),
                        ],
                    );
                    if let Err(e) = written {
                        failed.get_or_insert(e);
                    }
                })
                .await?;
                if let Some(e) = failed {
                    return Err(io(e));
                }
                (rows == CLIENT_PAGE).then_some(last)
            }
            Format::TimeEntries => {
                let mut last = after;
                let mut failed = None;
                let mut numbers = (String::new(), String::new(), String::new());
                let rows = clientele_store::time_entries::each_by_id(c, org, after, CLIENT_PAGE, |r| {
                    use std::fmt::Write as _;
                    last = r.id;
                    let (id, client, minutes) = &mut numbers;
                    id.clear();
                    client.clear();
                    minutes.clear();
                    let _ = write!(id, "{}", r.id);
                    let _ = write!(client, "{}", r.client_id);
                    let _ = write!(minutes, "{}", r.minutes);
                    let date = r.day.to_string();
                    let written = cell::write_record(
                        &mut w,
                        [
                            id.as_str(),
                            date.as_str(),
                            client.as_str(),
                            r.client_ref.unwrap_or_default(),
                            r.client_name,
                            r.staff_email,
                            r.staff_name,
                            minutes.as_str(),
                            if r.billable { "yes" } else { "no" },
                            r.service,
                            r.note,
                        ],
                    );
                    if let Err(e) = written {
                        failed.get_or_insert(e);
                    }
                })
                .await?;
                if let Some(e) = failed {
                    return Err(io(e));
                }
                (rows == CLIENT_PAGE).then_some(last)
            }
            Format::Groups => {
                let units = unit_names(c, org).await?;
                let page = group_store::page_by_id(c, org, after, PAGE).await?;
                for group in &page {
                    cell::write_record(
                        &mut w,
                        [
                            group.name.clone(),
                            group.kind.as_str().to_string(),
                            units.get(&group.business_unit_id.0).cloned().unwrap_or_default(),
                            group.crm_id.clone().unwrap_or_default(),
                            group.description.clone().unwrap_or_default(),
                        ],
                    )
                    .map_err(io)?;
                }
                (page.len() as i64 == PAGE)
                    .then(|| page.last().map(|g| g.id.0))
                    .flatten()
            }
            Format::ProgramAccounts => {
                let page = clientele_store::program_accounts::page_by_id(c, org, after, PAGE).await?;
                program_account_records(c, org, &mut w, &page).await?;
                (page.len() as i64 == PAGE)
                    .then(|| page.last().map(|a| a.id.0))
                    .flatten()
            }
            Format::Memberships => {
                let page = group_store::page_by_id(c, org, after, GROUPS_PER_PAGE).await?;
                let ids: Vec<i64> = page.iter().map(|g| g.id.0).collect();
                let children = clientele_store::members::children_names(c, &ids).await?;
                // Each group's clients, then the groups nested in it, group after group: the
                // clients stream in (group, client) order, and a group's children are written
                // when the stream moves past it.
                let mut out = Members {
                    page: &page,
                    children: children.iter().peekable(),
                    next: 0,
                    failed: None,
                };
                let mut number = (String::new(), String::new());

                clientele_store::members::each_client_member(c, &ids, |group, client, reference| {
                    use std::fmt::Write as _;
                    out.finish_groups(&mut w, Some(group));
                    let page = out.page;
                    let Some(g) = page.get(out.next) else { return };
                    number.0.clear();
                    number.1.clear();
                    let _ = write!(number.0, "{group}");
                    let _ = write!(number.1, "{client}");
                    out.record(
                        &mut w,
                        [
                            number.0.as_str(),
                            g.name.as_str(),
                            number.1.as_str(),
                            reference.unwrap_or_default(),
                            "",
                        ],
                    );
                })
                .await?;
                out.finish_groups(&mut w, None);
                if let Some(e) = out.failed {
                    return Err(io(e));
                }
                (page.len() as i64 == GROUPS_PER_PAGE)
                    .then(|| page.last().map(|g| g.id.0))
                    .flatten()
            }
        };
        let bytes = w
            .into_inner()
            .map_err(|e| Error::internal("writing the CSV failed").caused_by(e))?;
        Ok((bytes, next))
    }
}
