//! Bulk work: CSV imports and exports, large bulk membership changes, and the durable background
//! "process requests" that carry them out.
//!
//! A request's input is stored row by row when it is accepted (`receive_import`, streaming), then
//! a worker claims the request (a lease of [`LEASE_MS`], renewed with every batch) and applies
//! [`BATCH`] rows per transaction. The rows' writes, their outcomes, the access changes and the new
//! position commit together, and only while the worker still holds the lease, so a crash or a
//! `kill -9` loses nothing and never applies a row twice: whoever claims the request next (after
//! the lease expires) resumes after the last committed row.
//!
//! `validate` runs the very same code and rolls each batch's writes back, keeping only the
//! outcomes; rows of one batch see each other's effects, rows of later batches do not see those of
//! earlier ones (a dry run of a file that creates a group in row 5 and fills it in row 5000 reports
//! the later rows against the database as it is).

use std::io::Read;

use clientele_domain::audit::Cause;
use clientele_domain::{Error, GroupId, Result};
use clientele_store::groups as group_store;
use clientele_store::process_requests::{self as store, InputRow, NewRequest};
use serde::Serialize;

use crate::members::{MemberOutcome, MemberRef};
use crate::process_requests::{Mode, ProcessRequest, RECEIVE_BATCH, ReportRow, SMALL, audit_state};
use crate::{Actor, Admin, App};
use rows::reason;

mod batch;
mod client_rows;
pub mod export;
pub mod formats;
pub mod read;
mod rows;
mod time_rows;
mod validated;
mod worker;

pub use formats::{Format, guide};

/// Rows applied per transaction by the per-row path (groups).
pub const BATCH: usize = 1000;
/// Rows applied per transaction by the set-based paths (clients, memberships, bulk additions and
/// removals, group deletions, time entries): the first batch's, and the bounds within which [`BatchSize`] moves.
pub const SET_BATCH: usize = 10_000;
const SET_BATCH_MIN: usize = 2_000;
const SET_BATCH_MAX: usize = 50_000;
/// What a set-based batch aims at: long enough that its commit's page writes are shared by many
/// rows, short enough that SQLite's one write lock is soon free for others.
const SET_BATCH_SECONDS: f64 = 1.5;

/// What an import answered: the request and, when it ran while the caller waited, every row's
/// outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportAnswer {
    pub request: ProcessRequest,
    /// Present when the request finished before the answer.
    pub rows: Option<Vec<ReportRow>>,
    /// Present when the request finished before the answer: "1 group created, 55 memberships
    /// added".
    pub summary: Option<crate::process_requests::summary::Summary>,
}

/// A bulk add or remove: small ones answer at once, large ones become a process request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkAnswer {
    /// Per-item outcomes when done at once.
    pub results: Option<Vec<MemberOutcome>>,
    /// The process request when queued.
    pub request: Option<ProcessRequest>,
}

impl App {
    /// Stores an uploaded file as a new process request, reading it once, streaming, in a
    /// blocking thread. A file that cannot be read at all (not UTF-8, an unknown column) refuses
    /// the upload with the reason; the stored request is then `failed` with it.
    pub async fn receive_import(
        &self,
        admin: Admin<'_>,
        format: Format,
        mode: Mode,
        replace: bool,
        input: impl Read + Send + 'static,
    ) -> Result<ProcessRequest> {
        let actor = admin.actor();
        if replace && format != Format::Memberships {
            return Err(Error::invalid("replace", "applies to the memberships format only"));
        }
        let new = NewRequest {
            organization_id: actor.organization_id,
            operation: format.operation(),
            mode: mode.as_str(),
            replace_members: replace,
            group_id: None,
            initiator: Some(actor.staff_id),
            retry_of: None,
        };
        let id = self.new_request(&new).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<InputRow>>(4);
        let columns = format.columns();
        let reader = tokio::task::spawn_blocking(move || {
            let mut next = 0i64;
            read::read_rows(input, RECEIVE_BATCH, |rows| {
                if next == 0
                    && let Some(header) = rows.first()
                {
                    formats::Header::new(columns, &header.fields)?;
                }
                let batch = rows
                    .into_iter()
                    .map(|r| {
                        let row = InputRow {
                            row_number: next,
                            line: r.line,
                            fields: serde_json::to_string(&r.fields).unwrap_or_else(|_| "[]".into()),
                        };
                        next += 1;
                        row
                    })
                    .collect();
                tx.blocking_send(batch)
                    .map_err(|_| Error::internal("the upload stopped while its rows were stored"))
            })
        });
        let mut stored = Ok(());
        while let Some(batch) = rx.recv().await {
            if stored.is_ok() {
                stored = self.store_rows(id, batch).await;
            }
            if stored.is_err() {
                // Stops the reader at its next batch.
                rx.close();
            }
        }
        let read = reader
            .await
            .map_err(|e| Error::internal("the CSV reader stopped").caused_by(e))?;
        let queued = match (read, stored) {
            (Ok(total), Ok(())) => self.queue(actor, id, total).await,
            (_, Err(e)) | (Err(e), _) => Err(e),
        };
        match queued {
            Ok(request) => Ok(request),
            // Unreadable, or a twin with the same Idempotency-Key was queued first: the rows
            // received stay, for the report, and the request ends with the reason.
            Err(e) => {
                let mut tx = self.db.begin().await?;
                store::fail_receiving(&mut tx.conn(), id, &reason(&e), self.clock.now()).await?;
                let failed = store::get_any(&mut tx.conn(), id).await?;
                audit_state(&mut tx.conn(), &failed, Some(actor), "process_request.failed").await?;
                tx.commit().await?;
                Err(e)
            }
        }
    }

    /// A large bulk add or remove becomes a process request over these members.
    pub async fn bulk_members(
        &self,
        actor: &Actor,
        group: GroupId,
        add: bool,
        items: &[MemberRef],
        if_match: Option<i64>,
    ) -> Result<BulkAnswer> {
        if items.len() as i64 <= SMALL {
            let results = if add {
                self.add_members(actor, group, items, Cause::Bulk, if_match).await?
            } else {
                self.remove_members(actor, group, items, Cause::Bulk, if_match).await?
            };
            return Ok(BulkAnswer {
                results: Some(results),
                request: None,
            });
        }
        let admin = actor.admin().map_err(|e| Error {
            detail: format!("more than {SMALL} members at once runs as a process request, which only admins start"),
            ..e
        })?;
        {
            let mut conn = self.db.read().await?;
            let target = group_store::get(&mut conn.conn(), actor.organization_id, group).await?;
            crate::check_version(if_match, target.version)?;
        }
        let request = self
            .queue_members(admin, if add { "bulk_add" } else { "bulk_remove" }, group, items)
            .await?;
        Ok(BulkAnswer {
            results: None,
            request: Some(request),
        })
    }
}
