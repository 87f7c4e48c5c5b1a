//! A request's outcome in one sentence for people: "1 group created, 55 memberships added,
//! 2 rows refused" (seed 000's one-file upload), in the words of the request's operation.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ProcessRequest;
use crate::{Actor, App};
use clientele_domain::{Error, Result};
use clientele_store::process_requests as store;

/// How a request's rows ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Rows by outcome (`added`, `created`, `rejected`, ...).
    pub outcomes: BTreeMap<String, i64>,
    /// Groups the upload created (memberships files with `new_group_kind`).
    pub groups_created: i64,
    /// The same in words: "1 group created, 55 memberships added, 2 rows refused".
    pub text: String,
}

/// What one row of this operation is about, singular and plural.
fn noun(operation: &str) -> (&'static str, &'static str) {
    match operation {
        "import_clients" => ("client", "clients"),
        "import_groups" => ("group", "groups"),
        "import_time_entries" => ("time entry", "time entries"),
        "import_program_accounts" => ("program account", "program accounts"),
        _ => ("membership", "memberships"),
    }
}

fn counted(n: i64, (one, many): (&str, &str), what: &str, dry_run: bool) -> String {
    let thing = if n == 1 { one } else { many };
    if dry_run {
        format!("{n} {thing} would be {what}")
    } else {
        format!("{n} {thing} {what}")
    }
}

/// The sentence for these counts; outcomes in the order a reader cares about.
pub fn describe(operation: &str, dry_run: bool, outcomes: &BTreeMap<String, i64>, groups_created: i64) -> String {
    let item = noun(operation);
    let rows = ("row", "rows");
    let mut parts = Vec::new();
    if groups_created > 0 {
        parts.push(counted(groups_created, ("group", "groups"), "created", dry_run));
    }
    for (outcome, words, what) in [
        ("created", item, "created"),
        ("added", item, "added"),
        ("updated", item, "updated"),
        ("removed", item, "removed"),
        ("unchanged", item, "unchanged"),
        ("already_member", ("already a member", "already members"), ""),
        ("not_member", ("was not a member", "were not members"), ""),
        ("rejected", rows, "refused"),
    ] {
        let n = outcomes.get(outcome).copied().unwrap_or(0);
        if n == 0 {
            continue;
        }
        parts.push(match outcome {
            "unchanged" => counted(n, item, what, false),
            "already_member" | "not_member" => format!("{n} {}", if n == 1 { words.0 } else { words.1 }),
            _ => counted(n, words, what, dry_run),
        });
    }
    if parts.is_empty() {
        return "no rows".to_string();
    }
    parts.join(", ")
}

impl App {
    /// How a finished request's rows ended (admins, as the report); `None` while it runs.
    pub async fn process_request_summary(&self, actor: &Actor, request: &ProcessRequest) -> Result<Option<Summary>> {
        actor.admin()?;
        if request.status.is_active() {
            return Ok(None);
        }
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, request.id.0)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        let (counts, groups_created) = store::outcome_counts(&mut conn.conn(), request.id.0).await?;
        let outcomes: BTreeMap<String, i64> = counts.into_iter().collect();
        let text = describe(
            request.operation.as_str(),
            request.mode == super::Mode::Validate,
            &outcomes,
            groups_created,
        );
        Ok(Some(Summary {
            outcomes,
            groups_created,
            text,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn seed_000s_upload_reads_as_one_sentence() {
        let text = describe("import_memberships", false, &counts(&[("added", 55)]), 1);
        assert_eq!(text, "1 group created, 55 memberships added");
        let text = describe("import_memberships", true, &counts(&[("added", 1), ("rejected", 2)]), 0);
        assert_eq!(text, "1 membership would be added, 2 rows would be refused");
        let text = describe("import_clients", false, &counts(&[("created", 2), ("unchanged", 1)]), 0);
        assert_eq!(text, "2 clients created, 1 client unchanged");
        let text = describe("bulk_add", false, &counts(&[("already_member", 3)]), 0);
        assert_eq!(text, "3 already members");
        assert_eq!(describe("import_groups", false, &counts(&[]), 0), "no rows");
    }
}
