//! Clients.

use clientele_domain::client::{ClientStatus, Relationship};
use clientele_domain::entities::Client;
use clientele_domain::{BusinessUnitId, ClientId, Error, Millis, OrganizationId};

use crate::sql::Sql;
use crate::{Conn, Result, bind_params, on};

crate::fast::row_struct! {
pub(crate) struct Row {
    id: i64,
    name: String,
    external_ref: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    status: String,
    relationship: String,
    relationship_expires_at: Option<i64>,
    business_unit_id: Option<i64>,
    notes: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}
}

impl Row {
    fn into_entity(self) -> Result<Client> {
        Ok(Client {
            id: ClientId(self.id),
            name: self.name,
            external_ref: self.external_ref,
            email: self.email,
            phone: self.phone,
            status: ClientStatus::parse(&self.status)?,
            relationship: Relationship::parse(&self.relationship)?,
            relationship_expires_at: self.relationship_expires_at,
            business_unit_id: self.business_unit_id.map(BusinessUnitId),
            notes: self.notes,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The fields a client is written with (create and full update alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFields {
    pub name: String,
    pub name_key: String,
    pub external_ref: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: ClientStatus,
    pub relationship: Relationship,
    pub relationship_expires_at: Option<Millis>,
    pub business_unit_id: Option<BusinessUnitId>,
    pub notes: Option<String>,
}

pub async fn insert(c: &mut Conn<'_>, org: OrganizationId, f: &ClientFields, now: Millis) -> Result<Client> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "INSERT INTO clients (organization_id, name, name_key, external_ref, email, phone, status, relationship,
            relationship_expires_at, business_unit_id, notes, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         RETURNING id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at")
        .bind(org.0).bind(&f.name).bind(&f.name_key).bind(&f.external_ref).bind(&f.email).bind(&f.phone)
        .bind(f.status.as_str()).bind(f.relationship.as_str()).bind(f.relationship_expires_at)
        .bind(f.business_unit_id.map(|b| b.0)).bind(&f.notes).bind(now)
        .fetch_one(&mut **c).await)?;
    row.into_entity()
}

/// Inserts many new clients (a batch of an import, their fields already checked), in order;
/// returns them as stored. On SQLite one prepared statement is stepped per client in the fast
/// lane; on PostgreSQL each goes through [`insert`].
pub async fn insert_many(
    c: &mut Conn<'_>,
    org: OrganizationId,
    clients: &[ClientFields],
    now: Millis,
) -> Result<Vec<Client>> {
    if let Conn::Sqlite(s) = c {
        let rows = crate::fast::with_sqlite(s, |db| {
            let mut stmt = db.prepare(
                "INSERT INTO clients (organization_id, name, name_key, external_ref, email, phone, status, relationship,
                    relationship_expires_at, business_unit_id, notes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
                 RETURNING id, version",
            )?;
            let mut rows = Vec::with_capacity(clients.len());
            for f in clients {
                let (id, version): (i64, i64) = stmt.query_row(
                    rusqlite::params![
                        org.0,
                        f.name,
                        f.name_key,
                        f.external_ref,
                        f.email,
                        f.phone,
                        f.status.as_str(),
                        f.relationship.as_str(),
                        f.relationship_expires_at,
                        f.business_unit_id.map(|b| b.0),
                        f.notes,
                        now,
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                rows.push(Row {
                    id,
                    name: f.name.clone(),
                    external_ref: f.external_ref.clone(),
                    email: f.email.clone(),
                    phone: f.phone.clone(),
                    status: f.status.as_str().to_string(),
                    relationship: f.relationship.as_str().to_string(),
                    relationship_expires_at: f.relationship_expires_at,
                    business_unit_id: f.business_unit_id.map(|b| b.0),
                    notes: f.notes.clone(),
                    version,
                    created_at: now,
                    updated_at: now,
                });
            }
            Ok(rows)
        })
        .await?;
        return rows.into_iter().map(Row::into_entity).collect();
    }
    let mut inserted = Vec::with_capacity(clients.len());
    for f in clients {
        inserted.push(insert(c, org, f, now).await?);
    }
    Ok(inserted)
}

pub async fn update(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: ClientId,
    f: &ClientFields,
    now: Millis,
) -> Result<Client> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "UPDATE clients SET name = $3, name_key = $4, external_ref = $5, email = $6, phone = $7, status = $8,
            relationship = $9, relationship_expires_at = $10, business_unit_id = $11, notes = $12,
            version = version + 1, updated_at = $13
         WHERE organization_id = $1 AND id = $2
         RETURNING id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at")
        .bind(org.0).bind(id.0).bind(&f.name).bind(&f.name_key).bind(&f.external_ref).bind(&f.email).bind(&f.phone)
        .bind(f.status.as_str()).bind(f.relationship.as_str()).bind(f.relationship_expires_at)
        .bind(f.business_unit_id.map(|b| b.0)).bind(&f.notes).bind(now)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("client"))?.into_entity()
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: ClientId) -> Result<Client> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at
         FROM clients WHERE organization_id = $1 AND id = $2")
        .bind(org.0).bind(id.0)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("client"))?.into_entity()
}

/// The organisation's clients whose relationship limits how long they may be in groups: an
/// expired one, or one with an expiry date.
pub async fn with_relationship_limit(c: &mut Conn<'_>, org: OrganizationId) -> Result<Vec<Client>> {
    let rows = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at
         FROM clients WHERE organization_id = $1 AND (relationship = 'expired' OR relationship_expires_at IS NOT NULL)")
        .bind(org.0)
        .fetch_all(&mut **c).await)?;
    rows.into_iter().map(Row::into_entity).collect()
}

pub async fn find_by_external_ref(c: &mut Conn<'_>, org: OrganizationId, external_ref: &str) -> Result<Option<Client>> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at
         FROM clients WHERE organization_id = $1 AND external_ref = $2")
        .bind(org.0).bind(external_ref)
        .fetch_optional(&mut **c).await)?;
    row.map(Row::into_entity).transpose()
}

/// Clients whose external reference is exactly `text`, or whose e-mail is `text` (case ignored):
/// what a search finds besides names.
pub async fn matching_reference(c: &mut Conn<'_>, org: OrganizationId, text: &str) -> Result<Vec<ClientId>> {
    let ids: Vec<i64> = on!(c, c => sqlx::query_scalar(
        "SELECT id FROM clients WHERE organization_id = $1 AND external_ref = $2
         UNION SELECT id FROM clients WHERE organization_id = $1 AND email = $3")
        .bind(org.0).bind(text).bind(text.to_lowercase()).fetch_all(&mut **c).await)?;
    Ok(ids.into_iter().map(ClientId).collect())
}

/// Clients still in groups although their relationship is no longer active at `now`.
pub async fn with_lapsed_relationship_in_groups(
    c: &mut Conn<'_>,
    now: Millis,
    limit: i64,
) -> Result<Vec<(OrganizationId, ClientId)>> {
    let rows: Vec<(i64, i64)> = on!(c, c => sqlx::query_as(
        "SELECT c.organization_id, c.id FROM clients c
         JOIN organizations o ON o.id = c.organization_id AND o.require_active_relationship
         WHERE (c.relationship = 'expired' OR (c.relationship_expires_at IS NOT NULL AND c.relationship_expires_at <= $1))
           AND EXISTS (SELECT 1 FROM group_clients gc WHERE gc.client_id = c.id)
         ORDER BY c.id LIMIT $2")
        .bind(now).bind(limit)
        .fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(o, c)| (OrganizationId(o), ClientId(c)))
        .collect())
}

/// The clients with these ids, in the order given (ids of other organisations are skipped).
pub async fn by_ids(c: &mut Conn<'_>, org: OrganizationId, ids: &[ClientId]) -> Result<Vec<Client>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at
         FROM clients WHERE organization_id = ",
    );
    sql.bind(org.0).push(" AND id IN ").bind_list(ids.iter().map(|id| id.0));
    let (text, params) = sql.into_parts();
    let rows = on!(c, c => bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
    let mut by_id: std::collections::HashMap<i64, Client> = rows
        .into_iter()
        .map(|r| r.into_entity().map(|e| (e.id.0, e)))
        .collect::<Result<_>>()?;
    Ok(ids.iter().filter_map(|id| by_id.remove(&id.0)).collect())
}

/// The organisation's clients with these ids or these external references, whole (a batch of a
/// client import compares its rows with them). Order is not kept; a client named both ways comes
/// twice.
pub async fn find_many(c: &mut Conn<'_>, org: OrganizationId, ids: &[i64], refs: &[String]) -> Result<Vec<Client>> {
    let columns = format!("SELECT {} FROM clients", Row::COLUMNS);
    let rows: Vec<Row> = match c {
        // Point lookups by key, prepared once, as `member_facts` does.
        Conn::Sqlite(s) => {
            crate::fast::with_sqlite(s, |db| {
                let mut by_id = db.prepare(&format!("{columns} WHERE organization_id = ?1 AND id = ?2"))?;
                let mut by_ref = db.prepare(&format!("{columns} WHERE organization_id = ?1 AND external_ref = ?2"))?;
                let read = Row::from_sqlite;
                let mut found = Vec::with_capacity(ids.len() + refs.len());
                for id in ids {
                    found.extend(rusqlite::OptionalExtension::optional(
                        by_id.query_row((org.0, id), read),
                    )?);
                }
                for reference in refs {
                    found.extend(rusqlite::OptionalExtension::optional(
                        by_ref.query_row((org.0, reference.as_str()), read),
                    )?);
                }
                Ok(found)
            })
            .await?
        }
        Conn::Postgres(pg) => {
            let sql = format!("{columns} WHERE organization_id = $1 AND (id = ANY($2) OR external_ref = ANY($3))");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(ids)
                .bind(refs)
                .fetch_all(&mut **pg)
                .await?
        }
    };
    rows.into_iter().map(Row::into_entity).collect()
}

crate::fast::row_struct! {
/// What a membership needs to know of a client: who it is and whether its relationship allows it
/// to join a group.
#[derive(Debug, Clone)]
pub struct MemberFacts {
    pub id: i64,
    pub name: String,
    pub external_ref: Option<String>,
    pub relationship: String,
    pub relationship_expires_at: Option<i64>,
}
}

/// [`MemberFacts`] of the organisation's clients with these ids or these external references (a
/// batch of an import resolves all its rows' clients at once).
pub async fn member_facts(
    c: &mut Conn<'_>,
    org: OrganizationId,
    ids: &[i64],
    refs: &[String],
) -> Result<Vec<MemberFacts>> {
    if let Conn::Sqlite(c) = c {
        // Point lookups by key, prepared once: no statement with 10,000 placeholders to parse.
        return crate::fast::with_sqlite(c, |db| {
            let columns = format!("SELECT {} FROM clients", MemberFacts::COLUMNS);
            let mut by_id = db.prepare(&format!("{columns} WHERE organization_id = ?1 AND id = ?2"))?;
            let mut by_ref = db.prepare(&format!("{columns} WHERE organization_id = ?1 AND external_ref = ?2"))?;
            let read = MemberFacts::from_sqlite;
            let mut found = Vec::with_capacity(ids.len() + refs.len());
            for id in ids {
                if let Some(f) = rusqlite::OptionalExtension::optional(by_id.query_row((org.0, id), read))? {
                    found.push(f);
                }
            }
            for reference in refs {
                if let Some(f) =
                    rusqlite::OptionalExtension::optional(by_ref.query_row((org.0, reference.as_str()), read))?
                {
                    found.push(f);
                }
            }
            Ok(found)
        })
        .await;
    }
    const CHUNK: usize = 10_000;
    let mut found = Vec::with_capacity(ids.len() + refs.len());
    let head =
        "SELECT id, name, external_ref, relationship, relationship_expires_at FROM clients WHERE organization_id = ";
    for chunk in ids.chunks(CHUNK) {
        let mut sql = Sql::for_backend(c.backend(), head);
        sql.bind(org.0).push(" AND id IN ").bind_list(chunk.iter().copied());
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, MemberFacts>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    for chunk in refs.chunks(CHUNK) {
        let mut sql = Sql::for_backend(c.backend(), head);
        sql.bind(org.0)
            .push(" AND external_ref IN ")
            .bind_list(chunk.iter().map(String::as_str));
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, MemberFacts>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    Ok(found)
}

/// A client as an export writes it, borrowed from the database's row: no allocation per row.
#[derive(Debug)]
pub struct ExportRow<'r> {
    pub id: i64,
    pub external_ref: Option<&'r str>,
    pub name: &'r str,
    pub email: Option<&'r str>,
    pub phone: Option<&'r str>,
    pub status: &'r str,
    pub relationship: &'r str,
    pub relationship_expires_at: Option<i64>,
    pub business_unit_id: Option<i64>,
    pub notes: Option<&'r str>,
}

/// Calls `each` with up to `limit` clients in id order after `after` (exports). Returns how many
/// there were.
///
/// The driver copies every value of every row and hands rows between threads one by one, which
/// made exports several times slower than the database. On SQLite the rows are stepped in place
/// on the connection's handle (`fast.rs`) and `each` borrows their text; on PostgreSQL the page
/// comes back as one JSON value built by the database (`json_agg`), read in place.
pub async fn each_by_id(
    c: &mut Conn<'_>,
    org: OrganizationId,
    after: i64,
    limit: i64,
    mut each: impl FnMut(&ExportRow<'_>),
) -> Result<i64> {
    use std::borrow::Cow;
    let pg = match c {
        Conn::Postgres(pg) => pg,
        Conn::Sqlite(c) => {
            return crate::fast::with_sqlite(c, |db| {
                let mut stmt = db.prepare(
                    "SELECT id, external_ref, name, email, phone, status, relationship, relationship_expires_at,
                    business_unit_id, notes
                 FROM clients WHERE organization_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                )?;
                let mut rows = stmt.query((org.0, after, limit))?;
                let mut n = 0;
                while let Some(r) = rows.next()? {
                    let text = |i: usize| -> rusqlite::Result<Option<&str>> {
                        r.get_ref(i)?.as_str_or_null().map_err(rusqlite::Error::from)
                    };
                    each(&ExportRow {
                        id: r.get(0)?,
                        external_ref: text(1)?,
                        name: text(2)?.unwrap_or_default(),
                        email: text(3)?,
                        phone: text(4)?,
                        status: text(5)?.unwrap_or_default(),
                        relationship: text(6)?.unwrap_or_default(),
                        relationship_expires_at: r.get(7)?,
                        business_unit_id: r.get(8)?,
                        notes: text(9)?,
                    });
                    n += 1;
                }
                Ok(n)
            })
            .await;
        }
    };
    #[derive(serde::Deserialize)]
    struct Json<'a>(
        i64,
        #[serde(borrow)] Option<Cow<'a, str>>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Option<Cow<'a, str>>,
        #[serde(borrow)] Option<Cow<'a, str>>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        Option<i64>,
        Option<i64>,
        #[serde(borrow)] Option<Cow<'a, str>>,
    );
    const POSTGRES: &str = "SELECT COALESCE(json_agg(json_build_array(id, external_ref, name, email, phone, status,
            relationship, relationship_expires_at, business_unit_id, notes) ORDER BY id)::text, '[]')
         FROM (SELECT * FROM clients WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3) page";
    let json: String = sqlx::query_scalar(POSTGRES)
        .bind(org.0)
        .bind(after)
        .bind(limit)
        .fetch_one(&mut **pg)
        .await?;
    let rows: Vec<Json<'_>> =
        serde_json::from_str(&json).map_err(|e| Error::internal("an export page could not be read").caused_by(e))?;
    for r in &rows {
        each(&ExportRow {
            id: r.0,
            external_ref: r.1.as_deref(),
            name: &r.2,
            email: r.3.as_deref(),
            phone: r.4.as_deref(),
            status: &r.5,
            relationship: &r.6,
            relationship_expires_at: r.7,
            business_unit_id: r.8,
            notes: r.9.as_deref(),
        });
    }
    Ok(rows.len() as i64)
}

/// Clients in id order after `after` (exports: stable across concurrent renames).
pub async fn page_by_id(c: &mut Conn<'_>, org: OrganizationId, after: i64, limit: i64) -> Result<Vec<Client>> {
    let rows = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, name_key, external_ref, email, phone, status, relationship, relationship_expires_at,
            business_unit_id, notes, version, created_at, updated_at
         FROM clients WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3")
        .bind(org.0).bind(after).bind(limit)
        .fetch_all(&mut **c).await)?;
    rows.into_iter().map(Row::into_entity).collect()
}
