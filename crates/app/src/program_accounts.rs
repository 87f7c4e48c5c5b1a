//! Program accounts (seed 004): a client's sub-accounts. They carry no access of their own: whoever
//! may see the client sees its accounts, and whoever may change the client (admins, editors and
//! managers of one of its groups) may add, change and remove them. They are never members of a
//! group; the client's membership carries them, so no write here touches the access index.

use clientele_access::decide;
use clientele_domain::audit::Cause;
use clientele_domain::program_account::{AccountNumber, AccountStatus, ProgramAccount, parse_program};
use clientele_domain::{ClientId, Error, ErrorCode, ProgramAccountId, Result};
use clientele_store::program_accounts::{self as store, Fields};
use clientele_store::{Locked, Tx, clients as client_store};
use serde::Deserialize;

use crate::{Actor, App, audit, check_version};

/// A program account's fields as sent: every one optional on a change (an absent field keeps its
/// value); `number` and `program` are required on creation, `status` defaults to active.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramAccountInput {
    /// The account number, e.g. "123456789RM0001"; unique in the organisation once spaces,
    /// hyphens and case are ignored.
    pub number: Option<String>,
    /// What the program is, e.g. "RM import-export".
    pub program: Option<String>,
    pub status: Option<AccountStatus>,
}

/// The validated fields of an account: the input merged over what is stored.
struct Checked {
    number: AccountNumber,
    program: String,
    status: AccountStatus,
}

impl Checked {
    fn fields(&self) -> Fields<'_> {
        Fields {
            number: self.number.as_str(),
            number_key: self.number.key(),
            program: &self.program,
            status: self.status,
        }
    }

    fn of(input: &ProgramAccountInput, before: Option<&ProgramAccount>) -> Result<Checked> {
        let number = match (&input.number, before) {
            (Some(n), _) => AccountNumber::parse(n)?,
            (None, Some(b)) => AccountNumber::parse(&b.number)?,
            (None, None) => return Err(Error::invalid("number", "is required")),
        };
        let program = match (&input.program, before) {
            (Some(p), _) => parse_program(p)?,
            (None, Some(b)) => b.program.clone(),
            (None, None) => return Err(Error::invalid("program", "is required")),
        };
        let status = input
            .status
            .or(before.map(|b| b.status))
            .unwrap_or(AccountStatus::Active);
        Ok(Checked {
            number,
            program,
            status,
        })
    }

    fn same_as(&self, account: &ProgramAccount) -> bool {
        self.number.as_str() == account.number && self.program == account.program && self.status == account.status
    }
}

/// What a CSV row did to an account.
pub(crate) enum Upserted {
    Created(ProgramAccount),
    Updated(ProgramAccount),
    Unchanged(ProgramAccount),
}

impl App {
    /// A client's program accounts, by number (refused as "not found" to whoever cannot see it).
    pub async fn program_accounts(&self, actor: &Actor, client: ClientId) -> Result<Vec<ProgramAccount>> {
        decide::view_client(&self.access, actor.viewer(), client, self.clock.now())?;
        let mut conn = self.db.read().await?;
        client_store::get(&mut conn.conn(), actor.organization_id, client).await?;
        Ok(store::of_client(&mut conn.conn(), actor.organization_id, client).await?)
    }

    pub async fn program_account(&self, actor: &Actor, id: ProgramAccountId) -> Result<ProgramAccount> {
        let mut conn = self.db.read().await?;
        let account = store::get(&mut conn.conn(), actor.organization_id, id).await?;
        decide::view_client(&self.access, actor.viewer(), account.client_id, self.clock.now())
            .map_err(|_| Error::not_found("program account"))?;
        Ok(account)
    }

    /// Adds a program account to a client.
    pub async fn create_program_account(
        &self,
        actor: &Actor,
        client: ClientId,
        input: ProgramAccountInput,
    ) -> Result<ProgramAccount> {
        crate::retry_conflicts(|| async {
            decide::edit_client(&self.access, actor.viewer(), client, self.clock.now())?;
            let checked = Checked::of(&input, None)?;
            let mut tx = self.begin().await?;
            let account = create_in(&mut tx, actor, client, &checked, Cause::Manual, self.clock.now()).await?;
            self.commit(tx).await?;
            Ok(account)
        })
        .await
    }

    /// Changes a program account's number, program or status (`if_match`: the version read).
    pub async fn update_program_account(
        &self,
        actor: &Actor,
        id: ProgramAccountId,
        input: ProgramAccountInput,
        if_match: Option<i64>,
    ) -> Result<ProgramAccount> {
        crate::retry_conflicts(|| async {
            let mut tx = self.begin().await?;
            let before = self.lock_account(&mut tx, actor, id).await?;
            check_version(if_match, before.version)?;
            let checked = Checked::of(&input, Some(&before))?;
            let after = update_in(&mut tx, actor, &before, &checked, Cause::Manual, self.clock.now()).await?;
            self.commit(tx).await?;
            Ok(after)
        })
        .await
    }

    /// Removes a program account from its client.
    pub async fn delete_program_account(
        &self,
        actor: &Actor,
        id: ProgramAccountId,
        if_match: Option<i64>,
    ) -> Result<()> {
        crate::retry_conflicts(|| async {
            let mut tx = self.begin().await?;
            let before = self.lock_account(&mut tx, actor, id).await?;
            check_version(if_match, before.version)?;
            store::delete(&mut tx.conn(), actor.organization_id, id).await?;
            audit::Event {
                org: actor.organization_id,
                actor: Some(actor),
                action: "program_account.deleted",
                object: ("program_account", id.0),
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
        })
        .await
    }

    /// Reads an account for a change under its client's row lock, after deciding that the actor
    /// may change that client (an account of a client the actor cannot see is "not found").
    async fn lock_account(&self, tx: &mut Tx, actor: &Actor, id: ProgramAccountId) -> Result<ProgramAccount> {
        let org = actor.organization_id;
        let seen = store::get(&mut tx.conn(), org, id).await?;
        let now = self.clock.now();
        decide::view_client(&self.access, actor.viewer(), seen.client_id, now)
            .map_err(|_| Error::not_found("program account"))?;
        decide::edit_client(&self.access, actor.viewer(), seen.client_id, now)?;
        tx.conn().lock(Locked::Client, seen.client_id.0).await?;
        // Read again under the lock: the version checked is the one the write replaces.
        Ok(store::get(&mut tx.conn(), org, id).await?)
    }
}

/// Refuses a number another account already has, naming that account's client only to admins
/// (a number typed by staff must not reveal clients they cannot see).
async fn number_is_free(
    tx: &mut Tx,
    actor: &Actor,
    number: &AccountNumber,
    owner: ClientId,
    own: Option<ProgramAccountId>,
) -> Result<()> {
    let org = actor.organization_id;
    match store::find_by_number(&mut tx.conn(), org, number.key()).await? {
        Some(existing) if Some(existing.id) != own => Err(taken(tx, actor, &existing, owner).await),
        _ => Ok(()),
    }
}

/// Why `existing` keeps its number.
async fn taken(tx: &mut Tx, actor: &Actor, existing: &ProgramAccount, owner: ClientId) -> Error {
    let detail = if existing.client_id == owner {
        format!("this client already has the program account {}", existing.number)
    } else if actor.viewer().admin {
        match client_store::get(&mut tx.conn(), actor.organization_id, existing.client_id).await {
            Ok(holder) => format!(
                "{} is a program account of {} (client {}); an account moves only with its client",
                existing.number, holder.name, holder.id
            ),
            Err(e) => return e.into(),
        }
    } else {
        format!("{} is a program account of another client", existing.number)
    };
    Error::new(ErrorCode::AlreadyExists, detail).with_field("number")
}

async fn create_in(
    tx: &mut Tx,
    actor: &Actor,
    client: ClientId,
    checked: &Checked,
    cause: Cause,
    now: clientele_domain::Millis,
) -> Result<ProgramAccount> {
    let org = actor.organization_id;
    tx.conn().lock(Locked::Client, client.0).await?;
    client_store::get(&mut tx.conn(), org, client).await?;
    number_is_free(tx, actor, &checked.number, client, None).await?;
    insert_in(tx, actor, client, checked, cause, now).await
}

/// Writes a new account whose client is locked and whose number is known to be free, with its
/// audit event.
async fn insert_in(
    tx: &mut Tx,
    actor: &Actor,
    client: ClientId,
    checked: &Checked,
    cause: Cause,
    now: clientele_domain::Millis,
) -> Result<ProgramAccount> {
    let org = actor.organization_id;
    let account = store::insert(&mut tx.conn(), org, client, &checked.fields(), now).await?;
    audit::Event {
        org,
        actor: Some(actor),
        action: "program_account.created",
        object: ("program_account", account.id.0),
        group: None,
        client: Some(client),
        cause,
        before: None,
        after: serde_json::to_value(&account).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    Ok(account)
}

async fn update_in(
    tx: &mut Tx,
    actor: &Actor,
    before: &ProgramAccount,
    checked: &Checked,
    cause: Cause,
    now: clientele_domain::Millis,
) -> Result<ProgramAccount> {
    let org = actor.organization_id;
    if AccountNumber::parse(&before.number)?.key() != checked.number.key() {
        number_is_free(tx, actor, &checked.number, before.client_id, Some(before.id)).await?;
    }
    let after = store::update(&mut tx.conn(), org, before.id, &checked.fields(), now).await?;
    audit::Event {
        org,
        actor: Some(actor),
        action: "program_account.updated",
        object: ("program_account", before.id.0),
        group: None,
        client: Some(before.client_id),
        cause,
        before: serde_json::to_value(before).ok(),
        after: serde_json::to_value(&after).ok(),
    }
    .record(&mut tx.conn())
    .await?;
    Ok(after)
}

/// One row of a program accounts upload (admins only, so every client is visible): the account
/// with this number is created for `client`, or its program and status are changed. An account
/// never moves to another client.
pub(crate) async fn upsert_in(
    tx: &mut Tx,
    actor: &Actor,
    client: ClientId,
    input: &ProgramAccountInput,
    now: clientele_domain::Millis,
) -> Result<Upserted> {
    let org = actor.organization_id;
    let number = AccountNumber::parse(input.number.as_deref().unwrap_or_default())?;
    tx.conn().lock(Locked::Client, client.0).await?;
    match store::find_by_number(&mut tx.conn(), org, number.key()).await? {
        None => {
            // The caller found the client, and the lock above and this lookup cover the rest.
            let checked = Checked::of(input, None)?;
            Ok(Upserted::Created(
                insert_in(tx, actor, client, &checked, Cause::Import, now).await?,
            ))
        }
        Some(held) if held.client_id != client => Err(taken(tx, actor, &held, client).await),
        Some(before) => {
            // The number matched by its key: the account keeps it as first written.
            let change = ProgramAccountInput {
                number: None,
                ..input.clone()
            };
            let checked = Checked::of(&change, Some(&before))?;
            if checked.same_as(&before) {
                return Ok(Upserted::Unchanged(before));
            }
            Ok(Upserted::Updated(
                update_in(tx, actor, &before, &checked, Cause::Import, now).await?,
            ))
        }
    }
}
