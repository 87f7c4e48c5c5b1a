//! Exports: the same columns imports read, page by page in id order, so an export of any size is
//! streamed and a downloaded file uploads back unchanged (every row `unchanged` or
//! `already_member`).

use std::collections::HashMap;

use clientele_domain::entities::ClientGroup;
use clientele_domain::{Error, OrganizationId, Result};
use clientele_store::{Conn, business_units, clients as client_store, groups as group_store};

use super::cell;
use super::formats::{Format, format_instant};
use crate::{Admin, App, st};

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
        let page = st(business_units::list(c, org, (&after.0, after.1), 500).await)?;
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
    fn record(&mut self, w: &mut csv::Writer<Vec<u8>>, fields: [&str; 5]) {
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

impl App {
    /// One page of an export as CSV bytes: the first page (`after` = 0) starts with the header.
    /// Returns where the next page starts, or `None` after the last.
    pub async fn export_page(&self, admin: Admin<'_>, format: Format, after: i64) -> Result<(Vec<u8>, Option<i64>)> {
        let org = admin.actor().organization_id;
        let mut conn = st(self.db.read().await)?;
        let c = &mut conn.conn();
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let io = |e: csv::Error| Error::internal(e);
        if after == 0 {
            w.write_record(format.columns()).map_err(io)?;
        }
        let next = match format {
            Format::Clients => {
                let units = unit_names(c, org).await?;
                let mut last = after;
                let mut failed = None;
                let mut number = String::new();
                let rows = st(client_store::each_by_id(c, org, after, CLIENT_PAGE, |r| {
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
                .await)?;
                if let Some(e) = failed {
                    return Err(io(e));
                }
                (rows == CLIENT_PAGE).then_some(last)
            }
            Format::TimeEntries => {
                let mut last = after;
                let mut failed = None;
                let mut numbers = (String::new(), String::new(), String::new());
                let rows = st(
                    clientele_store::time_entries::each_by_id(c, org, after, CLIENT_PAGE, |r| {
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
                    .await,
                )?;
                if let Some(e) = failed {
                    return Err(io(e));
                }
                (rows == CLIENT_PAGE).then_some(last)
            }
            Format::Groups => {
                let units = unit_names(c, org).await?;
                let page = st(group_store::page_by_id(c, org, after, PAGE).await)?;
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
            Format::Memberships => {
                let page = st(group_store::page_by_id(c, org, after, GROUPS_PER_PAGE).await)?;
                let ids: Vec<i64> = page.iter().map(|g| g.id.0).collect();
                let children = st(clientele_store::members::children_names(c, &ids).await)?;
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
                st(
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
                    .await,
                )?;
                out.finish_groups(&mut w, None);
                if let Some(e) = out.failed {
                    return Err(io(e));
                }
                (page.len() as i64 == GROUPS_PER_PAGE)
                    .then(|| page.last().map(|g| g.id.0))
                    .flatten()
            }
        };
        let bytes = w.into_inner().map_err(|e| Error::internal(e.to_string()))?;
        Ok((bytes, next))
    }
}
