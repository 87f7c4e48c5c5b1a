//! Business units: offices, locations, brands.

use clientele_domain::audit::Cause;
use clientele_domain::entities::BusinessUnit;
use clientele_domain::names::Name;
use clientele_domain::{BusinessUnitId, Error, ErrorCode, Result};
use clientele_store::Locked;
use clientele_store::business_units as store;

use crate::paging::{self, Cursor, Page};
use crate::{Actor, Admin, App, audit, check_version};

impl App {
    pub async fn business_units(
        &self,
        actor: &Actor,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<BusinessUnit>> {
        let limit = paging::limit(limit)?;
        let cursor = Cursor::decode(cursor)?;
        let mut conn = self.db.read().await?;
        let rows = store::list(&mut conn.conn(), actor.organization_id, cursor.as_after(), limit + 1).await?;
        Ok(paging::keyed_page(rows, limit, |b| b.id.0))
    }

    pub async fn business_unit(&self, actor: &Actor, id: BusinessUnitId) -> Result<BusinessUnit> {
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id)
            .await
            .map_err(Error::from)
    }

    pub async fn create_business_unit(&self, admin: Admin<'_>, name: &str) -> Result<BusinessUnit> {
        let actor = admin.actor();
        let name = Name::parse("name", name)?;
        let mut tx = self.begin().await?;
        if store::find_by_name(&mut tx.conn(), actor.organization_id, &name.key())
            .await?
            .is_some()
        {
            return Err(Error::new(
                ErrorCode::NameTaken,
                format!("a business unit named \"{}\" already exists", name.as_str()),
            )
            .with_field("name"));
        }
        let unit = store::insert(
            &mut tx.conn(),
            actor.organization_id,
            name.as_str(),
            &name.key(),
            self.clock.now(),
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "business_unit.created",
            object: ("business_unit", unit.id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: None,
            after: serde_json::to_value(&unit).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(unit)
    }

    pub async fn rename_business_unit(
        &self,
        admin: Admin<'_>,
        id: BusinessUnitId,
        name: &str,
        if_match: Option<i64>,
    ) -> Result<BusinessUnit> {
        let actor = admin.actor();
        let name = Name::parse("name", name)?;
        let mut tx = self.begin().await?;
        tx.conn().lock(Locked::BusinessUnit, id.0).await?;
        let before = store::get(&mut tx.conn(), actor.organization_id, id).await?;
        check_version(if_match, before.version)?;
        if let Some(other) = store::find_by_name(&mut tx.conn(), actor.organization_id, &name.key()).await?
            && other.id != id
        {
            return Err(Error::new(
                ErrorCode::NameTaken,
                format!("a business unit named \"{}\" already exists", name.as_str()),
            )
            .with_field("name"));
        }
        let after = store::rename(
            &mut tx.conn(),
            actor.organization_id,
            id,
            name.as_str(),
            &name.key(),
            self.clock.now(),
        )
        .await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "business_unit.renamed",
            object: ("business_unit", id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_business_unit(
        &self,
        admin: Admin<'_>,
        id: BusinessUnitId,
        if_match: Option<i64>,
    ) -> Result<()> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        tx.conn().lock(Locked::BusinessUnit, id.0).await?;
        let before = store::get(&mut tx.conn(), actor.organization_id, id).await?;
        check_version(if_match, before.version)?;
        let (groups, clients) = store::usage(&mut tx.conn(), id).await?;
        if groups > 0 || clients > 0 {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "\"{}\" still has {groups} group(s) and {clients} client(s); move them to another business unit first",
                    before.name
                ),
            ));
        }
        store::delete(&mut tx.conn(), actor.organization_id, id).await?;
        audit::Event {
            org: actor.organization_id,
            actor: Some(actor),
            action: "business_unit.deleted",
            object: ("business_unit", id.0),
            group: None,
            client: None,
            cause: Cause::Manual,
            before: serde_json::to_value(&before).ok(),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
