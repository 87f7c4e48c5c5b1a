//! Rows of a time entries import (seed 001: a firm moving its timesheets in), set-based like the
//! membership rows: a batch's clients, staff and existing entries are read with a few statements,
//! every row is checked in memory with the rules and messages of a single entry
//! (`TimeEntryInput`, and `may_log`: a client of the organisation, an active staff member; the
//! import runs as an admin, who may log time for anyone on any client), and the new entries go
//! out as multi-row inserts with their audit events. A row with an `id` changes that entry; an
//! exported file uploads back with every row `unchanged`.

use std::collections::{HashMap, HashSet};

use clientele_domain::audit::Cause;
use clientele_domain::names::Email;
use clientele_domain::time_entry::{Day, TimeEntry, TimeEntryInput, parse_minutes};
use clientele_domain::{ClientId, Error, ErrorCode, Result, StaffId, TimeEntryId};
use clientele_store::audit::{self as audit_store, EventRow};
use clientele_store::process_requests::RowOutcome;
use clientele_store::{Tx, clients as client_store, staff as staff_store, time_entries};

use super::formats::{Ctx, Fields, id};

/// How a row names its client.
enum ClientKey {
    Id(i64),
    Ref(String),
}

/// A row as read: everything that can be checked without the database.
struct Parsed {
    entry: Option<i64>,
    client: ClientKey,
    staff: String,
    day: Day,
    minutes: i32,
    billable: bool,
    service: String,
    note: String,
}

/// `yes`/`no` as people write them in spreadsheets; empty is no.
fn parse_billable(raw: &str) -> Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Ok(false),
        "yes" | "y" | "true" | "1" => Ok(true),
        _ => Err(Error::invalid("billable", format!("must be yes or no, not {raw:?}"))),
    }
}

/// The checks of one row in the order of its columns, so a row with several mistakes is refused
/// for its first.
fn parse(v: &Fields) -> Result<Parsed> {
    let entry = match v.get("id") {
        "" => None,
        text => Some(id("id", text)?),
    };
    let date = v.get("date");
    if date.is_empty() {
        return Err(Error::invalid("date", "is required (YYYY-MM-DD)"));
    }
    let day = Day::parse("date", date)?;
    let client = match (v.get("client_id"), v.get("client_ref")) {
        ("", "") => {
            return Err(Error::invalid(
                "client_id",
                "name the client: client_id, or client_ref (its external reference)",
            ));
        }
        ("", reference) => ClientKey::Ref(reference.to_string()),
        (text, _) => ClientKey::Id(id("client_id", text)?),
    };
    let staff = match v.get("staff_email") {
        "" => return Err(Error::invalid("staff_email", "is required: whose time this is")),
        raw => Email::parse("staff_email", raw)?.into_string(),
    };
    let duration = v.get("duration");
    if duration.is_empty() {
        return Err(Error::invalid("duration", "is required"));
    }
    let minutes = parse_minutes("duration", duration)?;
    Ok(Parsed {
        entry,
        client,
        staff,
        day,
        minutes,
        billable: parse_billable(v.get("billable"))?,
        service: v.get("service").to_string(),
        note: v.raw("note").to_string(),
    })
}

fn created(client: ClientId) -> RowOutcome {
    RowOutcome {
        outcome: "created",
        client_id: Some(client.0),
        ..Default::default()
    }
}

/// Applies a batch of time entry rows inside the caller's transaction; returns every row's
/// outcome, in order.
pub(crate) async fn time_entry_rows(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    rows: Vec<(i64, Result<Fields>)>,
) -> Result<Vec<(i64, RowOutcome)>> {
    let org = ctx.org.id;
    let now = ctx.now;

    // 1. Read every row.
    let parsed: Vec<(i64, Result<Parsed>)> = rows
        .into_iter()
        .map(|(number, fields)| (number, fields.and_then(|v| parse(&v))))
        .collect();

    // 2. What the rows name, a few statements for the whole batch.
    let mut client_ids = Vec::new();
    let mut client_refs = Vec::new();
    let mut emails = Vec::new();
    let mut entry_ids = Vec::new();
    for p in parsed.iter().filter_map(|(_, p)| p.as_ref().ok()) {
        match &p.client {
            ClientKey::Id(c) => client_ids.push(*c),
            ClientKey::Ref(r) => client_refs.push(r.clone()),
        }
        emails.push(p.staff.clone());
        entry_ids.extend(p.entry);
    }
    for list in [&mut client_ids, &mut entry_ids] {
        list.sort_unstable();
        list.dedup();
    }
    for list in [&mut client_refs, &mut emails] {
        list.sort_unstable();
        list.dedup();
    }
    let mut clients: HashSet<i64> = HashSet::new();
    let mut by_ref: HashMap<String, i64> = HashMap::new();
    for f in client_store::member_facts(&mut tx.conn(), org, &client_ids, &client_refs).await? {
        if let Some(r) = f.external_ref {
            by_ref.insert(r, f.id);
        }
        clients.insert(f.id);
    }
    let staff: HashMap<String, (StaffId, bool)> = staff_store::by_emails(&mut tx.conn(), org, &emails)
        .await?
        .into_iter()
        .map(|s| (s.email, (StaffId(s.id), s.active)))
        .collect();
    let mut existing: HashMap<i64, TimeEntry> = time_entries::by_ids(&mut tx.conn(), org, &entry_ids)
        .await?
        .into_iter()
        .map(|e| (e.id.0, e))
        .collect();

    // 3. The rules, row by row; changes of existing entries are written as they come (they are
    // few), new entries wait for one insert at the end.
    let mut outcomes: Vec<(i64, RowOutcome)> = Vec::with_capacity(parsed.len());
    // New entries: (index into `outcomes`, the entry).
    let mut new: Vec<(usize, TimeEntryInput)> = Vec::new();
    let mut events = Vec::new();
    for (number, p) in parsed {
        let checked = p.and_then(|p| {
            let client = match &p.client {
                ClientKey::Id(c) if clients.contains(c) => ClientId(*c),
                ClientKey::Id(c) => {
                    return Err(
                        Error::new(ErrorCode::NotFound, format!("there is no client with id {c}"))
                            .with_field("client_id"),
                    );
                }
                ClientKey::Ref(r) => match by_ref.get(r) {
                    Some(c) => ClientId(*c),
                    None => {
                        return Err(Error::new(
                            ErrorCode::NotFound,
                            format!("there is no client with the external reference \"{r}\""),
                        )
                        .with_field("client_ref"));
                    }
                },
            };
            let who = match staff.get(&p.staff) {
                Some((who, true)) => *who,
                Some((_, false)) => return Err(Error::invalid("staff_email", "is not an active staff member")),
                None => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        format!("there is no staff member with the e-mail {}", p.staff),
                    )
                    .with_field("staff_email"));
                }
            };
            let input = TimeEntryInput::new(
                who,
                client,
                p.day,
                p.minutes,
                p.billable,
                Some(&p.service),
                Some(&p.note),
            )?;
            Ok((p.entry, input))
        });
        let outcome = match checked {
            Err(e) if e.code == ErrorCode::Internal => return Err(e),
            Err(e) => super::rows::rejected(&e),
            Ok((None, input)) => {
                new.push((outcomes.len(), input));
                created(ClientId(0))
            }
            Ok((Some(entry), input)) => match existing.get(&entry) {
                None => super::rows::rejected(
                    &Error::new(ErrorCode::NotFound, format!("there is no time entry with id {entry}"))
                        .with_field("id"),
                ),
                Some(current) if same(current, &input) => RowOutcome {
                    outcome: "unchanged",
                    client_id: Some(input.client.0),
                    ..Default::default()
                },
                Some(current) => {
                    let seq = time_entries::next_seq(&mut tx.conn()).await?;
                    let after = time_entries::update(&mut tx.conn(), TimeEntryId(entry), &input, seq, now).await?;
                    events.push(event(
                        ctx,
                        "time_entry.updated",
                        &after,
                        serde_json::to_string(current).ok(),
                    ));
                    existing.insert(entry, after);
                    RowOutcome {
                        outcome: "updated",
                        client_id: Some(input.client.0),
                        ..Default::default()
                    }
                }
            },
        };
        outcomes.push((number, outcome));
    }

    // 4. The new entries and their events.
    if !new.is_empty() {
        let first = time_entries::take_seqs(&mut tx.conn(), new.len() as i64).await?;
        let inputs: Vec<TimeEntryInput> = new.iter().map(|(_, e)| e.clone()).collect();
        let stored = time_entries::insert_many(&mut tx.conn(), org, &inputs, ctx.actor.staff_id, first, now).await?;
        if stored.len() != new.len() {
            return Err(Error::internal("an import batch's time entries did not all come back"));
        }
        for ((index, _), entry) in new.iter().zip(&stored) {
            outcomes[*index].1 = created(entry.client_id);
            events.push(event(ctx, "time_entry.created", entry, None));
        }
    }
    audit_store::record_many(&mut tx.conn(), events, ctx.actor.request_id.as_deref(), now).await?;
    Ok(outcomes)
}

/// Whether a row says what the entry already holds.
fn same(current: &TimeEntry, input: &TimeEntryInput) -> bool {
    current.staff_id == input.staff
        && current.client_id == input.client
        && current.date == input.day
        && current.minutes == input.minutes
        && current.billable == input.billable
        && current.service == input.service
        && current.note == input.note
}

/// The event a single entry's creation or change writes (`App::create_time_entry`).
fn event(ctx: &Ctx<'_>, action: &'static str, entry: &TimeEntry, before: Option<String>) -> EventRow {
    EventRow {
        organization_id: ctx.org.id,
        actor: Some(ctx.actor.staff_id),
        action,
        object_type: "time_entry",
        object_id: entry.id.0,
        group: None,
        client: Some(entry.client_id),
        cause: Cause::Import,
        before_json: before,
        after_json: serde_json::to_string(entry).ok(),
    }
}
