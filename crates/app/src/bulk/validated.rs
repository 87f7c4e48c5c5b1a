//! "Apply this file" after a dry run: the validated request's stored rows become a new `apply`
//! request, so the file is read and stored once and the uploader never sends it twice. Only the
//! stored input is copied (header and data rows, with their numbers and lines); the dry run's
//! outcomes and the rows a replace made up stay with the dry run.

use clientele_domain::{Error, ErrorCode, Result};
use clientele_store::process_requests::{InputRow, NewRequest};

use super::BATCH;
use super::rows::reason;
use crate::process_requests::{Mode, ProcessRequest, RequestStatus, audit_state};
use crate::{Admin, App};
use clientele_store::process_requests as store;

impl ProcessRequest {
    /// Whether this is a finished dry run of an import whose rows can be applied as they are.
    pub fn can_apply(&self) -> bool {
        self.mode == Mode::Validate
            && self.status == RequestStatus::Completed
            && self.operation.is_import()
            && !self.input_purged
    }
}

impl App {
    /// Starts a new `apply` request over the rows a completed `validate` import stored (admins).
    /// The new request is `pending`, like an upload that has just been received.
    pub async fn apply_validated(&self, admin: Admin<'_>, id: i64) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let source = {
            let mut conn = self.db.read().await?;
            store::get(&mut conn.conn(), actor.organization_id, id)
                .await?
                .ok_or_else(|| Error::not_found("process request"))?
        };
        if source.input_purged_at.is_some() {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "the uploaded rows of process request {id} were purged after the retention period; upload the file again"
                ),
            ));
        }
        if !ProcessRequest::try_from(source.clone())?.can_apply() {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "process request {id} is not a completed dry run of an import ({} {}, {}); upload the file with mode apply instead",
                    source.operation, source.mode, source.status
                ),
            ));
        }
        let new = NewRequest {
            organization_id: actor.organization_id,
            operation: &source.operation,
            mode: "apply",
            replace_members: source.replace_members,
            group_id: source.group_id,
            initiator: Some(actor.staff_id),
            retry_of: None,
        };
        let new_id = self.new_request(&new).await?;
        if let Err(e) = self.copy_input(id, new_id, source.total_rows).await {
            // Like an upload that broke off: the copy ends `failed` with the reason, never
            // `receiving` for ever.
            let mut tx = self.begin().await?;
            store::fail_receiving(&mut tx.conn(), new_id, &reason(&e), self.clock.now()).await?;
            let failed = store::get_any(&mut tx.conn(), new_id).await?;
            audit_state(&mut tx.conn(), &failed, Some(actor), "process_request.failed").await?;
            tx.commit().await?;
            return Err(e);
        }
        self.queue(actor, new_id, source.total_rows).await
    }

    /// Copies rows 0 (the header) to `total` of `from` into `into`, a batch per transaction.
    async fn copy_input(&self, from: i64, into: i64, total: i64) -> Result<()> {
        let mut after = -1;
        loop {
            let rows = {
                let mut conn = self.db.read().await?;
                store::rows(&mut conn.conn(), from, after, total, BATCH as i64).await?
            };
            let Some(last) = rows.last() else { return Ok(()) };
            after = last.row_number;
            let input = rows
                .into_iter()
                .map(|r| InputRow {
                    row_number: r.row_number,
                    line: r.line,
                    fields: r.fields,
                })
                .collect();
            self.store_rows(into, input).await?;
        }
    }
}
