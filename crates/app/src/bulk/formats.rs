//! The CSV formats: their columns, their guides, and what one row does. A row is applied through
//! the same in-transaction use-case functions as a single edit (`clients::create_in`,
//! `groups::create_in`, `members::add_one`, ...), so every rule holds exactly as it does in the API
//! and the UI; nothing here decides whether a client may join a group.

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::client::{ClientStatus, Relationship};
use clientele_domain::entities::Organization;
use clientele_domain::group::GroupKind;
use clientele_domain::names::Name;
use clientele_domain::program_account::AccountStatus;
use clientele_domain::{BusinessUnitId, ClientId, Error, ErrorCode, GroupId, OrganizationId, Result};
use clientele_store::process_requests::RowOutcome;
use clientele_store::{Conn, Tx, business_units, clients as client_store, groups as group_store};
use serde::{Deserialize, Serialize};

use crate::Actor;
use crate::clients::{ClientInput, create_in as create_client, merged_fields, update_in as update_client};
use crate::groups::{GroupPatch, NewGroup, create_in as create_group, patched_fields, update_in as update_group};
use crate::members::{MemberRef, Outcome};
use crate::program_accounts::{ProgramAccountInput, Upserted, upsert_in};

/// A CSV format: what one row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Clients,
    Groups,
    Memberships,
    TimeEntries,
    ProgramAccounts,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "clients" => Ok(Format::Clients),
            "groups" => Ok(Format::Groups),
            "memberships" => Ok(Format::Memberships),
            "time_entries" => Ok(Format::TimeEntries),
            "program_accounts" => Ok(Format::ProgramAccounts),
            _ => Err(Error::invalid(
                "format",
                "must be clients, groups, memberships, time_entries or program_accounts",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Clients => "clients",
            Format::Groups => "groups",
            Format::Memberships => "memberships",
            Format::TimeEntries => "time_entries",
            Format::ProgramAccounts => "program_accounts",
        }
    }

    /// The columns, in the order exports write them. Imports accept them in any order, and any
    /// column may be left out (it reads as empty).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Format::Clients => CLIENT_COLUMNS,
            Format::Groups => GROUP_COLUMNS,
            Format::Memberships => MEMBERSHIP_COLUMNS,
            Format::TimeEntries => TIME_ENTRY_COLUMNS,
            Format::ProgramAccounts => PROGRAM_ACCOUNT_COLUMNS,
        }
    }

    pub(crate) fn operation(self) -> &'static str {
        match self {
            Format::Clients => "import_clients",
            Format::Groups => "import_groups",
            Format::Memberships => "import_memberships",
            Format::TimeEntries => "import_time_entries",
            Format::ProgramAccounts => "import_program_accounts",
        }
    }
}

pub const CLIENT_COLUMNS: &[&str] = &[
    "id",
    "external_ref",
    "name",
    "email",
    "phone",
    "status",
    "relationship",
    "relationship_expires_at",
    "business_unit",
    "notes",
];
pub const GROUP_COLUMNS: &[&str] = &["name", "kind", "business_unit", "crm_id", "description"];
/// `new_group_kind` and `new_group_business_unit` are read only by imports: a row that names a
/// group by name that does not exist creates it when `new_group_kind` is given (seed 000: one
/// file creates a group with its clients). Exports leave them empty.
pub const MEMBERSHIP_COLUMNS: &[&str] = &[
    "group_id",
    "group",
    "client_id",
    "client_ref",
    "child_group",
    "new_group_kind",
    "new_group_business_unit",
];
/// `client_name` and `staff_name` are written by exports for the people who read the file;
/// imports ignore them (the client and the staff member are named by id, reference and e-mail).
pub const TIME_ENTRY_COLUMNS: &[&str] = &[
    "id",
    "date",
    "client_id",
    "client_ref",
    "client_name",
    "staff_email",
    "staff_name",
    "duration",
    "billable",
    "service",
    "note",
];
/// A client's program accounts (seed 004), one row each; `client_name` is written by exports for
/// reading and ignored on upload.
pub const PROGRAM_ACCOUNT_COLUMNS: &[&str] = &["client_id", "client_ref", "client_name", "number", "program", "status"];

/// A row's values by column name, whatever the order of the file's columns.
#[derive(Clone)]
pub(crate) struct Fields {
    values: Vec<String>,
    names: &'static [&'static str],
}

/// Where each of the file's columns goes among the format's columns.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    positions: Vec<usize>,
    names: &'static [&'static str],
}

impl Header {
    /// Maps the header row onto the format's columns; an unknown or repeated column refuses the
    /// whole file (every row would be misread).
    pub(crate) fn new(names: &'static [&'static str], header: &[String]) -> Result<Header> {
        let mut positions = Vec::with_capacity(header.len());
        for raw in header {
            let wanted = raw.trim().to_ascii_lowercase();
            let Some(i) = names.iter().position(|n| *n == wanted) else {
                return Err(Error::invalid(
                    "file",
                    format!(
                        "has an unknown column \"{}\"; the columns are {}",
                        raw.trim(),
                        names.join(", ")
                    ),
                ));
            };
            if positions.contains(&i) {
                return Err(Error::invalid("file", format!("has the column \"{wanted}\" twice")));
            }
            positions.push(i);
        }
        Ok(Header { positions, names })
    }

    /// A row's values in the format's order; a row with another number of fields than the header is
    /// refused.
    pub(crate) fn fields(&self, raw: Vec<String>) -> Result<Fields> {
        if raw.len() != self.positions.len() {
            return Err(Error::invalid(
                "row",
                format!("has {} fields where the header has {}", raw.len(), self.positions.len()),
            ));
        }
        let mut values = vec![String::new(); self.names.len()];
        for (value, &i) in raw.into_iter().zip(&self.positions) {
            let column = self.names[i];
            if let Some(bytes) = super::read::oversized(&value) {
                return Err(Error::invalid(
                    column,
                    format!(
                        "is {bytes} bytes long; a field may be at most {} bytes",
                        super::read::MAX_FIELD_BYTES
                    ),
                ));
            }
            clientele_domain::names::refuse_control_characters(column, &value)?;
            values[i] = match crate::cell::from_cell(&value) {
                unquoted if unquoted.len() == value.len() => value,
                unquoted => unquoted.to_string(),
            };
        }
        Ok(Fields {
            values,
            names: self.names,
        })
    }

    /// Values given in the format's order, put in the file's column order (for rows the request
    /// makes up, so the report has one layout).
    pub(crate) fn to_file_order(&self, values: &[String]) -> Vec<String> {
        self.positions.iter().map(|&i| values[i].clone()).collect()
    }
}

impl Fields {
    /// The value of a column, trimmed; empty when the file has no such column.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.names
            .iter()
            .position(|n| *n == name)
            .map_or("", |i| self.values[i].trim())
    }

    /// The value as written (text fields such as notes keep their spaces and line breaks).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.names
            .iter()
            .position(|n| *n == name)
            .map_or("", |i| self.values[i].as_str())
    }
}

/// Whom a row is applied for, and how.
pub(crate) struct Ctx<'a> {
    pub org: &'a Organization,
    pub actor: &'a Actor,
    /// The group of a bulk add or remove.
    pub group: Option<GroupId>,
    /// The batch's instant, from the service's clock.
    pub now: clientele_domain::Millis,
}

fn done(outcome: &'static str) -> RowOutcome {
    RowOutcome {
        outcome,
        ..Default::default()
    }
}

pub(crate) fn id(column: &str, value: &str) -> Result<i64> {
    value
        .parse::<i64>()
        .map_err(|_| Error::invalid(column, format!("\"{value}\" is not an id (a whole number)")))
}

pub(crate) async fn unit_by_name(c: &mut Conn<'_>, org: OrganizationId, name: &str) -> Result<BusinessUnitId> {
    let key = Name::parse("business_unit", name)?.key();
    match business_units::find_by_name(c, org, &key).await? {
        Some(unit) => Ok(unit.id),
        None => Err(Error::invalid(
            "business_unit",
            format!("there is no business unit named \"{name}\""),
        )),
    }
}

/// A client row's fields as the input of a create or an update (its business unit already found),
/// refused by the first field that does not read.
pub(crate) fn client_input(v: &Fields, unit: Option<BusinessUnitId>) -> Result<ClientInput> {
    let expires = match v.get("relationship_expires_at") {
        "" => None,
        text => Some(parse_instant(text)?),
    };
    Ok(ClientInput {
        name: Some(v.raw("name").to_string()),
        external_ref: Some(v.get("external_ref").to_string()),
        email: Some(v.get("email").to_string()),
        phone: Some(v.get("phone").to_string()),
        status: match v.get("status") {
            "" => None,
            s => Some(ClientStatus::parse(s)?),
        },
        relationship: match v.get("relationship") {
            "" => None,
            s => Some(Relationship::parse(s)?),
        },
        relationship_expires_at: Some(expires),
        business_unit_id: Some(unit),
        notes: Some(v.raw("notes").to_string()),
    })
}

/// A client: `id` (or else `external_ref`) names an existing client to change; otherwise a new one.
pub(crate) async fn client_row(
    tx: &mut Tx,
    ctx: &Ctx<'_>,
    v: &Fields,
    changes: &mut Vec<Change>,
) -> Result<RowOutcome> {
    let org = ctx.org.id;
    let unit = match v.get("business_unit") {
        "" => None,
        name => Some(unit_by_name(&mut tx.conn(), org, name).await?),
    };
    let input = client_input(v, unit)?;
    let existing = match (v.get("id"), v.get("external_ref")) {
        ("", "") => None,
        ("", reference) => client_store::find_by_external_ref(&mut tx.conn(), org, reference).await?,
        (text, _) => {
            let client = ClientId(id("id", text)?);
            Some(
                client_store::get(&mut tx.conn(), org, client)
                    .await
                    .map_err(Error::from)
                    .map_err(|_| Error::new(ErrorCode::NotFound, format!("there is no client with id {client}")))?,
            )
        }
    };
    let Some(before) = existing else {
        let client = create_client(tx, ctx.actor, input, Cause::Import, changes, ctx.now).await?;
        return Ok(RowOutcome {
            client_id: Some(client.id.0),
            ..done("created")
        });
    };
    let (wanted, current) = merged_fields(input.clone(), &before)?;
    if wanted == current {
        return Ok(RowOutcome {
            client_id: Some(before.id.0),
            ..done("unchanged")
        });
    }
    update_client(
        tx,
        ctx.org,
        ctx.actor,
        before.id,
        input,
        None,
        Cause::Import,
        changes,
        ctx.now,
    )
    .await?;
    Ok(RowOutcome {
        client_id: Some(before.id.0),
        ..done("updated")
    })
}

/// A group, named by its name: created, or its settings changed (its kind never changes).
pub(crate) async fn group_row(tx: &mut Tx, ctx: &Ctx<'_>, v: &Fields, changes: &mut Vec<Change>) -> Result<RowOutcome> {
    let org = ctx.org.id;
    let name = v.get("name");
    let kind = GroupKind::parse(v.get("kind")).map_err(|_| Error::invalid("kind", "must be clients or groups"))?;
    let unit = match v.get("business_unit") {
        "" => return Err(Error::invalid("business_unit", "is required")),
        unit => unit_by_name(&mut tx.conn(), org, unit).await?,
    };
    let key = Name::parse("name", name)?.key();
    match group_store::find_by_name(&mut tx.conn(), org, &key).await? {
        None if ctx.org.policies.require_first_member && kind == GroupKind::Clients => Err(Error::invalid(
            "kind",
            "groups of clients are created with at least one member here: create this group with the \
             memberships format (new_group_kind = clients), which adds its first client in the same upload",
        )),
        None => {
            let new = NewGroup {
                name: name.to_string(),
                kind,
                business_unit_id: unit,
                description: Some(v.raw("description").to_string()).filter(|d| !d.trim().is_empty()),
                crm_id: Some(v.get("crm_id").to_string()).filter(|c| !c.is_empty()),
                protected: false,
                members: Vec::new(),
            };
            let group = create_group(tx, ctx.org, ctx.actor, new, Cause::Import, changes, ctx.now).await?;
            Ok(RowOutcome {
                group_id: Some(group.id.0),
                ..done("created")
            })
        }
        Some(group) => {
            if group.kind != kind {
                return Err(Error::new(
                    ErrorCode::KindMismatch,
                    format!(
                        "\"{}\" is a group of {}; a group's kind cannot change",
                        group.name,
                        if group.kind == GroupKind::Clients {
                            "clients"
                        } else {
                            "client groups"
                        }
                    ),
                )
                .with_field("kind"));
            }
            let patch = GroupPatch {
                business_unit_id: Some(unit),
                description: Some(v.raw("description").to_string()),
                crm_id: Some(v.get("crm_id").to_string()),
                ..Default::default()
            };
            if patched_fields(&group, &patch)? == patched_fields(&group, &GroupPatch::default())? {
                return Ok(RowOutcome {
                    group_id: Some(group.id.0),
                    ..done("unchanged")
                });
            }
            update_group(
                tx,
                org,
                ctx.actor,
                group.id,
                patch,
                None,
                Cause::Import,
                changes,
                ctx.now,
            )
            .await?;
            Ok(RowOutcome {
                group_id: Some(group.id.0),
                ..done("updated")
            })
        }
    }
}

/// A program account of a client named by `client_id` or `client_ref`: created, or its program
/// and status changed (see `program_accounts::upsert_in`).
pub(crate) async fn program_account_row(tx: &mut Tx, ctx: &Ctx<'_>, v: &Fields) -> Result<RowOutcome> {
    let org = ctx.org.id;
    let client = match (v.get("client_id"), v.get("client_ref")) {
        ("", "") => return Err(Error::invalid("client_id", "or client_ref is required")),
        ("", reference) => {
            client_store::find_by_external_ref(&mut tx.conn(), org, reference)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "client_ref",
                        format!("there is no client with the reference \"{reference}\""),
                    )
                })?
                .id
        }
        (text, _) => {
            let client = ClientId(id("client_id", text)?);
            client_store::get(&mut tx.conn(), org, client)
                .await
                .map_err(|_| Error::invalid("client_id", format!("there is no client with id {client}")))?
                .id
        }
    };
    let input = ProgramAccountInput {
        number: Some(v.get("number").to_string()),
        program: Some(v.get("program").to_string()).filter(|p| !p.is_empty()),
        status: match v.get("status") {
            "" => None,
            s => Some(AccountStatus::parse(s)?),
        },
    };
    let (outcome, account) = match upsert_in(tx, ctx.actor, client, &input, ctx.now).await? {
        Upserted::Created(a) => ("created", a),
        Upserted::Updated(a) => ("updated", a),
        Upserted::Unchanged(a) => ("unchanged", a),
    };
    Ok(RowOutcome {
        client_id: Some(account.client_id.0),
        ..done(outcome)
    })
}

pub(crate) fn member_outcome(group: GroupId, item: MemberRef, outcome: Outcome) -> RowOutcome {
    let (client_id, child_id) = match item {
        MemberRef::Client(c) => (Some(c.0), None),
        MemberRef::Group(g) => (None, Some(g.0)),
    };
    RowOutcome {
        outcome: outcome_name(outcome),
        reason: None,
        group_id: Some(group.0),
        client_id,
        child_id,
    }
}

pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Added => "added",
        Outcome::AlreadyMember => "already_member",
        Outcome::Removed => "removed",
        Outcome::NotMember => "not_member",
        Outcome::Rejected => "rejected",
    }
}

/// A date-time as RFC 3339 (`2026-12-31T00:00:00Z`) or a plain date (`2026-12-31`, midnight UTC).
fn parse_instant(text: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(clientele_domain::to_millis(at));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format)
        .map(|d| clientele_domain::to_millis(d.midnight().assume_utc()))
        .map_err(|_| {
            Error::invalid(
                "relationship_expires_at",
                "must be a date (2026-12-31) or an RFC 3339 date-time (2026-12-31T00:00:00Z)",
            )
        })
}

/// How exports write an instant (imports read it back to the same millisecond).
pub(crate) fn format_instant(ms: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    clientele_domain::from_millis(ms).format(&Rfc3339).unwrap_or_default()
}

/// The guide of a format: `#` lines with the rules, then the header, then one example row per
/// case. Lines starting with `#` before the header are skipped on upload, so the guide itself
/// uploads as it is (try it with `mode=validate`).
pub fn guide(format: Format) -> String {
    let rules: &[&str] = match format {
        Format::Clients => &[
            "Clientele CSV guide: clients. One row per client.",
            "id: empty for a new client; a client's id (from an export) to change that client.",
            "external_ref: your own reference for the client, unique in the organisation; with id empty, a row whose",
            "  external_ref is already known changes that client instead of creating a new one.",
            "name: required. email, phone, notes: optional; an empty value clears it on an existing client.",
            "status: active, inactive or closed (empty: active for a new client, unchanged otherwise).",
            "relationship: active or expired (empty: active for a new client, unchanged otherwise).",
            "relationship_expires_at: empty, a date (2026-12-31) or an RFC 3339 date-time (2026-12-31T00:00:00Z).",
            "business_unit: the name of one of the organisation's business units, or empty.",
        ],
        Format::Groups => &[
            "Clientele CSV guide: groups. One row per client group.",
            "name: required; names are unique in the organisation (case and spaces ignored). A row naming an",
            "  existing group changes its business unit, CRM ID and description.",
            "kind: clients (a group of clients) or groups (a group of client groups); it cannot change later.",
            "business_unit: required, the name of one of the organisation's business units.",
            "crm_id, description: optional; an empty value clears it on an existing group.",
            "Members are added with the memberships format.",
        ],
        Format::Memberships => &[
            "Clientele CSV guide: memberships. One row per member of a group.",
            "group_id or group: the group, by id or by name (group_id wins when both are given).",
            "The member, exactly one of: client_id (a client's id), client_ref (a client's external reference),",
            "  child_group (the name of a group to nest; the target must then be a group of client groups).",
            "Every rule of a single edit holds: exclusive membership (a client in at most one group when the",
            "  organisation says so), an active business relationship where required, no nesting cycles, the",
            "  organisation's nesting depth.",
            "new_group_kind: optional; clients or groups. When the group named in `group` does not exist, the",
            "  row creates it with this kind (every later row naming it then adds to it); empty: such a row is",
            "  refused. new_group_business_unit: the new group's business unit by name (empty: the organisation's",
            "  only business unit). A created group has no CRM ID or description; set them with the groups format.",
            "With replace=true each group named in the file ends with exactly the file's members: members it",
            "  does not list are removed (never deleted). Without it, members are only added.",
        ],
        Format::ProgramAccounts => &[
            "Clientele CSV guide: program accounts. One row per program account of a client.",
            "client_id or client_ref: the client, by id or by its external reference (client_id wins).",
            "number: required, the account number (100000001RM0001); spaces, hyphens and case are ignored when",
            "  numbers are compared, so a row naming a known number changes that account's program and status.",
            "  An account belongs to one client for good: a row giving another client's account is refused.",
            "program: what the account is for (RM import-export); required for a new account.",
            "status: active, inactive or closed (empty: active for a new account, unchanged otherwise).",
            "client_name: written by exports for reading; ignored on upload.",
            "Program accounts are never members of a group: they are in every group their client is in.",
            "Accounts are never deleted by an upload; remove them from the client's page or the API.",
        ],
        Format::TimeEntries => &[
            "Clientele CSV guide: time entries. One row per piece of work.",
            "id: empty for a new entry; an entry's id (from an export) to change that entry.",
            "date: required, the day of the work as YYYY-MM-DD.",
            "client_id or client_ref: the client, by id or by its external reference (client_id wins).",
            "staff_email: required, the e-mail of the active staff member whose time it is.",
            "duration: required, minutes (90), hours:minutes (1:30) or hours (1.5h); at most 24 hours.",
            "billable: yes or no (empty: no). service: optional, at most 100 characters. note: optional.",
            "client_name, staff_name: written by exports for reading; ignored on upload.",
            "Entries are never deleted by an upload; delete them from the client's page or the API.",
        ],
    };
    let common: &[&str] = &[
        "The file: UTF-8 (a byte-order mark is fine); fields separated by , or ; (taken from the header line);",
        "  quote a field that holds the separator, a quote or a line break (\"like \"\"this\"\"\"). Columns may come",
        "  in any order and may be left out. Lines starting with # before the header are ignored.",
        "A refused row never stops the others: the report lists every row with its line and the reason.",
        "Upload with POST /api/v1/csv/FORMAT/import?mode=validate (a dry run) or mode=apply, or with",
        "  clientele import FORMAT FILE --mode validate|apply. An export uploads back unchanged.",
    ];
    let examples: &[&[&str]] = match format {
        Format::Clients => &[
            &[
                "",
                "CRM-1001",
                "Example Bakery Ltd",
                "orders@bakery.example",
                "+44 20 7946 0000",
                "active",
                "active",
                "",
                "Head office",
                "new client",
            ],
            &[
                "",
                "CRM-1002",
                "Smith & Sons; Builders",
                "",
                "",
                "inactive",
                "expired",
                "2026-12-31",
                "",
                "\"quoted\" name with a separator",
            ],
            &[
                "42",
                "",
                "Renamed Client Co.",
                "",
                "",
                "",
                "",
                "",
                "",
                "changes client 42",
            ],
        ],
        Format::Groups => &[
            &["VIP", "clients", "Head office", "CRM-G-1", "Our most important clients"],
            &[
                "North region",
                "groups",
                "Head office",
                "",
                "groups of clients in the north",
            ],
        ],
        Format::Memberships => &[
            &["", "VIP", "", "CRM-1001", "", "", ""],
            &["7", "", "42", "", "", "", ""],
            &["", "North region", "", "", "VIP", "", ""],
            &["", "Spring campaign", "", "CRM-1001", "", "clients", "Head office"],
        ],
        Format::ProgramAccounts => &[
            &["", "CRM-1001", "", "100000001RM0001", "RM import-export", "active"],
            &["", "CRM-1001", "", "100000001 RT 0001", "RT GST/HST", "closed"],
            &["42", "", "", "100000002RM0001", "RM import-export", ""],
        ],
        Format::TimeEntries => &[
            &[
                "",
                "2026-03-02",
                "",
                "CRM-1001",
                "",
                "ann@firm.example",
                "",
                "1:30",
                "yes",
                "Bookkeeping",
                "March ledger",
            ],
            &[
                "",
                "2026-03-03",
                "42",
                "",
                "",
                "bob@firm.example",
                "",
                "45",
                "no",
                "",
                "call about \"the audit\", see notes",
            ],
            &[
                "1234",
                "2026-03-04",
                "42",
                "",
                "",
                "bob@firm.example",
                "",
                "2h",
                "yes",
                "Payroll",
                "changes entry 1234",
            ],
        ],
    };
    let mut out = String::new();
    for line in rules.iter().chain(common) {
        out.push_str("# ");
        out.push_str(line);
        out.push_str("\r\n");
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = writer.write_record(format.columns());
    for row in examples {
        let _ = writer.write_record(*row);
    }
    let body = writer.into_inner().unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&body));
    out
}
