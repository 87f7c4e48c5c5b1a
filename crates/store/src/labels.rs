//! Display names by id, for reports and lists that hold ids (from the in-memory indexes) and must
//! show names.

use std::collections::HashMap;

use clientele_domain::OrganizationId;

use crate::sql::Sql;
use crate::{Conn, Result, bind_params, on};

/// What is being named.
#[derive(Debug, Clone, Copy)]
pub enum Named {
    Clients,
    Groups,
    Staff,
}

/// The names of these ids within the organisation (unknown ids are left out), 500 at a time.
pub async fn names(c: &mut Conn<'_>, what: Named, org: OrganizationId, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::for_backend(
            c.backend(),
            match what {
                Named::Clients => "SELECT id, name FROM clients WHERE organization_id = ",
                Named::Groups => "SELECT id, name FROM client_groups WHERE organization_id = ",
                Named::Staff => "SELECT id, name FROM staff WHERE organization_id = ",
            },
        );
        sql.bind(org.0).push(" AND id IN ").bind_list(chunk.iter().copied());
        let (text, params) = sql.into_parts();
        let rows: Vec<(i64, String)> =
            on!(c, c => bind_params!(sqlx::query_as::<_, (i64, String)>(text), params).fetch_all(&mut **c).await)?;
        out.extend(rows);
    }
    Ok(out)
}
