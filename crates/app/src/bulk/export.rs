//! Exports: the same columns imports read, page by page in id order, so an export of any size is
//! streamed and a downloaded file uploads back unchanged (every row `unchanged` or
//! `already_member`).

use std::collections::HashMap;

use clientele_domain::{ClientId, Error, GroupId, OrganizationId, Result};
use clientele_store::{Conn, business_units, clients as client_store, groups as group_store};

use super::formats::{Format, format_instant};
use crate::{Admin, App, st};

/// Clients or groups per page.
const PAGE: i64 = 1000;
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
                let page = st(client_store::page_by_id(c, org, after, PAGE).await)?;
                for client in &page {
                    let unit = client
                        .business_unit_id
                        .and_then(|u| units.get(&u.0).cloned())
                        .unwrap_or_default();
                    w.write_record([
                        client.id.0.to_string(),
                        client.external_ref.clone().unwrap_or_default(),
                        client.name.clone(),
                        client.email.clone().unwrap_or_default(),
                        client.phone.clone().unwrap_or_default(),
                        client.status.as_str().to_string(),
                        client.relationship.as_str().to_string(),
                        client.relationship_expires_at.map(format_instant).unwrap_or_default(),
                        unit,
                        client.notes.clone().unwrap_or_default(),
                    ])
                    .map_err(io)?;
                }
                (page.len() as i64 == PAGE)
                    .then(|| page.last().map(|c| c.id.0))
                    .flatten()
            }
            Format::Groups => {
                let units = unit_names(c, org).await?;
                let page = st(group_store::page_by_id(c, org, after, PAGE).await)?;
                for group in &page {
                    w.write_record([
                        group.name.clone(),
                        group.kind.as_str().to_string(),
                        units.get(&group.business_unit_id.0).cloned().unwrap_or_default(),
                        group.crm_id.clone().unwrap_or_default(),
                        group.description.clone().unwrap_or_default(),
                    ])
                    .map_err(io)?;
                }
                (page.len() as i64 == PAGE)
                    .then(|| page.last().map(|g| g.id.0))
                    .flatten()
            }
            Format::Memberships => {
                let page = st(group_store::page_by_id(c, org, after, GROUPS_PER_PAGE).await)?;
                for group in &page {
                    let (clients, children) = st(clientele_store::process_requests::member_ids(c, group.id.0).await)?;
                    let ids: Vec<ClientId> = clients.into_iter().map(ClientId).collect();
                    for chunk in ids.chunks(PAGE as usize) {
                        for client in st(client_store::by_ids(c, org, chunk).await)? {
                            w.write_record([
                                group.id.0.to_string(),
                                group.name.clone(),
                                client.id.0.to_string(),
                                client.external_ref.unwrap_or_default(),
                                String::new(),
                            ])
                            .map_err(io)?;
                        }
                    }
                    let ids: Vec<GroupId> = children.into_iter().map(GroupId).collect();
                    for child in st(group_store::by_ids(c, org, &ids).await)? {
                        w.write_record([
                            group.id.0.to_string(),
                            group.name.clone(),
                            String::new(),
                            String::new(),
                            child.name,
                        ])
                        .map_err(io)?;
                    }
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
