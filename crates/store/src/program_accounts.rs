//! Program accounts: a client's sub-accounts (seed 004). Writes lock the owning client's row
//! first, so every change to a client's accounts is ordered with changes to the client.

use clientele_domain::program_account::{AccountStatus, ProgramAccount};
use clientele_domain::{ClientId, Error, Millis, OrganizationId, ProgramAccountId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: i64,
    number: String,
    program: String,
    status: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

/// The columns every statement returns, in `Row`'s order.
macro_rules! columns {
    () => {
        "id, client_id, number, program, status, version, created_at, updated_at"
    };
}

impl TryFrom<Row> for ProgramAccount {
    type Error = Error;
    fn try_from(r: Row) -> std::result::Result<Self, Error> {
        Ok(ProgramAccount {
            id: ProgramAccountId(r.id),
            client_id: ClientId(r.client_id),
            number: r.number,
            program: r.program,
            status: AccountStatus::parse(&r.status)?,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn convert(rows: Vec<Row>) -> Result<Vec<ProgramAccount>> {
    Ok(rows
        .into_iter()
        .map(ProgramAccount::try_from)
        .collect::<std::result::Result<_, _>>()?)
}

/// What a program account holds, validated by the caller.
pub struct Fields<'a> {
    pub number: &'a str,
    pub number_key: &'a str,
    pub program: &'a str,
    pub status: AccountStatus,
}

pub async fn insert(
    c: &mut Conn<'_>,
    org: OrganizationId,
    client: ClientId,
    f: &Fields<'_>,
    now: Millis,
) -> Result<ProgramAccount> {
    let sql = concat!(
        "INSERT INTO program_accounts (organization_id, client_id, number, number_key, program, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
        columns!()
    );
    let row = on!(c, c => sqlx::query_as::<_, Row>(sql)
        .bind(org.0).bind(client.0).bind(f.number).bind(f.number_key).bind(f.program).bind(f.status.as_str()).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(row.try_into()?)
}

pub async fn update(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: ProgramAccountId,
    f: &Fields<'_>,
    now: Millis,
) -> Result<ProgramAccount> {
    let sql = concat!(
        "UPDATE program_accounts SET number = $3, number_key = $4, program = $5, status = $6, version = version + 1,
         updated_at = $7 WHERE organization_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    let row = on!(c, c => sqlx::query_as::<_, Row>(sql)
        .bind(org.0).bind(id.0).bind(f.number).bind(f.number_key).bind(f.program).bind(f.status.as_str()).bind(now)
        .fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("program account"))?.try_into()?)
}

pub async fn delete(c: &mut Conn<'_>, org: OrganizationId, id: ProgramAccountId) -> Result<bool> {
    let done = on!(c, c => sqlx::query("DELETE FROM program_accounts WHERE organization_id = $1 AND id = $2")
        .bind(org.0).bind(id.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: ProgramAccountId) -> Result<ProgramAccount> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM program_accounts WHERE organization_id = $1 AND id = $2"
    );
    let row = on!(c, c => sqlx::query_as::<_, Row>(sql).bind(org.0).bind(id.0).fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("program account"))?.try_into()?)
}

/// The account with this number key, whoever's it is.
pub async fn find_by_number(c: &mut Conn<'_>, org: OrganizationId, number_key: &str) -> Result<Option<ProgramAccount>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM program_accounts WHERE organization_id = $1 AND number_key = $2"
    );
    let row = on!(c, c => sqlx::query_as::<_, Row>(sql).bind(org.0).bind(number_key).fetch_optional(&mut **c).await)?;
    Ok(row.map(ProgramAccount::try_from).transpose()?)
}

/// A client's accounts, by number.
pub async fn of_client(c: &mut Conn<'_>, org: OrganizationId, client: ClientId) -> Result<Vec<ProgramAccount>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM program_accounts WHERE organization_id = $1 AND client_id = $2 ORDER BY number_key"
    );
    let rows = on!(c, c => sqlx::query_as::<_, Row>(sql).bind(org.0).bind(client.0).fetch_all(&mut **c).await)?;
    convert(rows)
}

/// A page of the organisation's accounts by id, for exports: those after `after`, at most `limit`.
pub async fn page_by_id(c: &mut Conn<'_>, org: OrganizationId, after: i64, limit: i64) -> Result<Vec<ProgramAccount>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM program_accounts WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    let rows =
        on!(c, c => sqlx::query_as::<_, Row>(sql).bind(org.0).bind(after).bind(limit).fetch_all(&mut **c).await)?;
    convert(rows)
}

/// The accounts of these clients (a filtered export's page), by id.
pub async fn of_clients(c: &mut Conn<'_>, org: OrganizationId, clients: &[ClientId]) -> Result<Vec<ProgramAccount>> {
    let mut out = Vec::new();
    for chunk in clients.chunks(500) {
        let mut sql = crate::sql::Sql::for_backend(
            c.backend(),
            concat!("SELECT ", columns!(), " FROM program_accounts WHERE organization_id = "),
        );
        sql.bind(org.0)
            .push(" AND client_id IN ")
            .bind_list(chunk.iter().map(|c| c.0));
        let (text, params) = sql.into_parts();
        let rows: Vec<Row> =
            on!(c, c => crate::bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
        out.extend(convert(rows)?);
    }
    out.sort_unstable_by_key(|a| a.id.0);
    Ok(out)
}
