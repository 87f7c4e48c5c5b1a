//! The set-based path for client rows (`import_clients`). A row that creates a client (no `id`,
//! and an `external_ref` that is empty or names no client yet) is checked in memory and goes out
//! with the batch's other new clients: one statement stepped per client, their audit events in
//! one multi-row insert. A row that names an existing client and changes nothing is answered
//! `unchanged` from the batch's one read of the clients it names (re-uploading an export is
//! mostly that). Any other row that names an existing client (an update) takes the per-row path,
//! `formats::client_row`, under a savepoint; before it runs, the new clients of earlier rows are
//! written, so it sees them (a file may name the same reference twice), and from then on the
//! client it changed is never answered from the batch's read, which it made stale.
//!
//! The checks and their order are `client_row`'s and `clients::create_in`'s: the business unit
//! by name, the expiry, status and relationship, then the fields' own rules (name, e-mail, ...),
//! then the external reference's uniqueness, which the batch's lookup of every reference it names
//! and its own new references answer.

use std::collections::{HashMap, HashSet};

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::entities::Client;
use clientele_domain::{BusinessUnitId, ErrorCode, Result};
use clientele_store::Tx;
use clientele_store::audit::{self as audit_store, EventRow};
use clientele_store::clients::{self as client_store, ClientFields};
use clientele_store::process_requests::RowOutcome;

use super::formats::{Ctx, Fields, client_input, client_row, unit_by_name};
use crate::clients::{ClientInput, client_change, merged_fields};

/// What a row comes to once it is read.
enum Plan {
    Create(ClientInput, Fields),
    /// The row names an existing client (or a new one of this batch).
    Existing(ClientInput, Fields),
}

/// What a row comes to once it is checked against the batch's read.
enum Step {
    /// A client to create with the batch's other new clients.
    New(ClientFields),
    /// An existing client (by id) that the row leaves as it is.
    Unchanged(i64),
    /// `formats::client_row`, under a savepoint.
    PerRow(Fields),
}

/// Applies a batch of client rows inside the caller's transaction; returns every row's outcome,
/// in order.
pub(crate) async fn client_rows(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    rows: Vec<(i64, Result<Fields>)>,
    changes: &mut Vec<Change>,
    phases: &mut super::rows::Phases,
) -> Result<Vec<(i64, RowOutcome)>> {
    let org = ctx.org.id;
    // The clients the rows name, by id or reference: one read for the batch.
    let mut ids: Vec<i64> = Vec::new();
    let mut references: Vec<String> = Vec::new();
    for v in rows.iter().filter_map(|(_, fields)| fields.as_ref().ok()) {
        match (v.get("id"), v.get("external_ref")) {
            ("", "") => {}
            ("", reference) => references.push(reference.to_string()),
            (text, _) => ids.extend(text.parse::<i64>().ok()),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    references.sort_unstable();
    references.dedup();
    let mut by_id: HashMap<i64, Client> = HashMap::new();
    let mut by_ref: HashMap<String, i64> = HashMap::new();
    for client in client_store::find_many(&mut tx.conn(), org, &ids, &references).await? {
        if let Some(reference) = &client.external_ref {
            by_ref.insert(reference.clone(), client.id.0);
        }
        by_id.insert(client.id.0, client);
    }
    // References in use: those read, and those of the batch's new clients as they come.
    let mut taken: HashSet<String> = by_ref.keys().cloned().collect();
    // Clients an earlier row of the batch changed: the read above is stale for them.
    let mut changed: HashSet<i64> = HashSet::new();
    phases.mark("lookups: clients");

    let mut units: HashMap<String, BusinessUnitId> = HashMap::new();
    let mut outcomes: Vec<(i64, RowOutcome)> = Vec::with_capacity(rows.len());
    // New clients not yet written: (index into `outcomes`, their fields).
    let mut pending: Vec<(usize, ClientFields)> = Vec::new();
    for (row_number, fields) in rows {
        let plan = match fields {
            Ok(v) => plan(tx, ctx, &mut units, &taken, v).await,
            Err(e) => Err(e),
        };
        let step = plan.and_then(|plan| match plan {
            Plan::Create(input, v) => input.into_fields(None).map(|fields| match &fields.external_ref {
                // Its reference as stored is taken after all (by an earlier row of the batch).
                Some(reference) if taken.contains(reference) => Step::PerRow(v),
                _ => Step::New(fields),
            }),
            Plan::Existing(input, v) => {
                let id = match (v.get("id"), v.get("external_ref")) {
                    ("", reference) => by_ref.get(reference).copied(),
                    (text, _) => text.parse::<i64>().ok(),
                };
                let before = id.and_then(|id| by_id.get(&id));
                Ok(match before {
                    Some(before)
                        if !changed.contains(&before.id.0)
                            && merged_fields(input, before).is_ok_and(|(wanted, current)| wanted == current) =>
                    {
                        Step::Unchanged(before.id.0)
                    }
                    _ => Step::PerRow(v),
                })
            }
        });
        let outcome = match step {
            Ok(Step::Unchanged(client)) => RowOutcome {
                outcome: "unchanged",
                client_id: Some(client),
                ..Default::default()
            },
            Ok(Step::New(fields)) => {
                if let Some(reference) = &fields.external_ref {
                    taken.insert(reference.clone());
                }
                pending.push((outcomes.len(), fields));
                RowOutcome::default()
            }
            Ok(Step::PerRow(v)) => {
                write_new(tx, ctx, &mut pending, &mut outcomes, changes).await?;
                let outcome = super::rows::under_savepoint(tx, changes, async |tx, changes| {
                    client_row(tx, ctx, &v, changes).await
                })
                .await?;
                changed.extend(outcome.client_id);
                outcome
            }
            Err(e) if e.code == ErrorCode::Internal => return Err(e),
            Err(e) => super::rows::rejected(&e),
        };
        outcomes.push((row_number, outcome));
    }
    phases.mark("rules");
    write_new(tx, ctx, &mut pending, &mut outcomes, changes).await?;
    phases.mark("clients and audit");
    Ok(outcomes)
}

/// Reads a row: its business unit (looked up once per name in the batch) and fields, and whether
/// it creates a client.
async fn plan(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    units: &mut HashMap<String, BusinessUnitId>,
    taken: &HashSet<String>,
    v: Fields,
) -> Result<Plan> {
    let unit = match v.get("business_unit") {
        "" => None,
        name => Some(match units.get(name) {
            Some(&unit) => unit,
            None => {
                let unit = unit_by_name(&mut tx.conn(), ctx.org.id, name).await?;
                units.insert(name.to_string(), unit);
                unit
            }
        }),
    };
    let input = client_input(&v, unit)?;
    Ok(match (v.get("id"), v.get("external_ref")) {
        ("", "") => Plan::Create(input, v),
        ("", reference) if !taken.contains(reference) => Plan::Create(input, v),
        _ => Plan::Existing(input, v),
    })
}

/// Writes the pending new clients, their audit events (`client.created`, as `create_in` writes
/// them) and access changes, and fills in their rows' outcomes.
async fn write_new(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    pending: &mut Vec<(usize, ClientFields)>,
    outcomes: &mut [(i64, RowOutcome)],
    changes: &mut Vec<Change>,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let org = ctx.org.id;
    let now = ctx.now;
    let fields: Vec<ClientFields> = pending.iter().map(|(_, f)| f.clone()).collect();
    let created = client_store::insert_many(&mut tx.conn(), org, &fields, now).await?;
    let mut events = Vec::with_capacity(created.len());
    for ((index, _), client) in pending.drain(..).zip(&created) {
        events.push(EventRow {
            organization_id: org,
            actor: Some(ctx.actor.staff_id),
            action: "client.created",
            object_type: "client",
            object_id: client.id.0,
            group: None,
            client: Some(client.id),
            cause: Cause::Import,
            before_json: None,
            after_json: serde_json::to_string(client).ok(),
        });
        changes.push(client_change(ctx.actor, client));
        if crate::clients::has_eligibility_limit(client) {
            changes.push(crate::clients::eligibility_change(org, &ctx.org.policies, client, now));
        }
        outcomes[index].1 = RowOutcome {
            outcome: "created",
            client_id: Some(client.id.0),
            ..Default::default()
        };
    }
    audit_store::record_many(&mut tx.conn(), events, ctx.actor.request_id.as_deref(), now).await?;
    Ok(())
}
