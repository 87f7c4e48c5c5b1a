//! What a team would write by hand without an access index: recursive CTEs over the same tables,
//! run on the same database in the same run. Used only to measure ours against.

use axum::extract::{Query, State};
use axum::routing::get;
use clientele_store::{Conn, Db, on};
use serde::Deserialize;

/// The strongest role (3 manager, 2 editor, 1 reader) a staff member has on a client, if any.
const CHECK: &str = "WITH RECURSIVE reach(id, rank) AS (
        SELECT group_id, CASE role WHEN 'manager' THEN 3 WHEN 'editor' THEN 2 ELSE 1 END
        FROM assignments WHERE staff_id = $1 AND (valid_until IS NULL OR valid_until > $3)
        UNION
        SELECT gc.child_id, reach.rank FROM group_children gc JOIN reach ON gc.parent_id = reach.id)
    SELECT MAX(reach.rank) FROM reach JOIN group_clients m ON m.group_id = reach.id WHERE m.client_id = $2";

/// One page of a staff member's clients by name, after a (name_key, id) cursor.
const LIST: &str = "WITH RECURSIVE reach(id) AS (
        SELECT group_id FROM assignments WHERE staff_id = $1 AND (valid_until IS NULL OR valid_until > $5)
        UNION
        SELECT gc.child_id FROM group_children gc JOIN reach ON gc.parent_id = reach.id)
    SELECT c.id, c.name_key FROM clients c
    WHERE c.status = 'active' AND c.id IN (SELECT m.client_id FROM group_clients m WHERE m.group_id IN (SELECT id FROM reach))
      AND (c.name_key > $2 OR (c.name_key = $2 AND c.id > $3))
    ORDER BY c.name_key, c.id LIMIT $4";

/// The exact total that goes with a page.
const COUNT: &str = "WITH RECURSIVE reach(id) AS (
        SELECT group_id FROM assignments WHERE staff_id = $1 AND (valid_until IS NULL OR valid_until > $2)
        UNION
        SELECT gc.child_id FROM group_children gc JOIN reach ON gc.parent_id = reach.id)
    SELECT COUNT(*) FROM clients c
    WHERE c.status = 'active' AND c.id IN (SELECT m.client_id FROM group_clients m WHERE m.group_id IN (SELECT id FROM reach))";

pub async fn check(c: &mut Conn<'_>, staff: i64, client: i64) -> anyhow::Result<Option<i32>> {
    let now = clientele_domain::now_millis();
    let rank: Option<i32> =
        on!(c, c => sqlx::query_scalar(CHECK).bind(staff).bind(client).bind(now).fetch_one(&mut **c).await)?;
    Ok(rank)
}

/// A page and the exact total, like "My group clients".
pub async fn list(
    c: &mut Conn<'_>,
    staff: i64,
    after: (&str, i64),
    limit: i64,
) -> anyhow::Result<(Vec<(i64, String)>, i64)> {
    let now = clientele_domain::now_millis();
    let rows: Vec<(i64, String)> = on!(c, c => sqlx::query_as(LIST).bind(staff).bind(after.0).bind(after.1).bind(limit).bind(now)
        .fetch_all(&mut **c).await)?;
    let total: i64 = on!(c, c => sqlx::query_scalar(COUNT).bind(staff).bind(now).fetch_one(&mut **c).await)?;
    Ok((rows, total))
}

#[derive(Deserialize)]
struct CheckQuery {
    staff: i64,
    client: i64,
}

#[derive(Deserialize)]
struct ListQuery {
    staff: i64,
}

#[derive(Deserialize)]
struct ToggleQuery {
    group: i64,
    client: i64,
}

/// The hand-written service: the same requests, answered by the CTEs.
pub fn router(db: Db) -> axum::Router {
    async fn check_route(State(db): State<Db>, Query(q): Query<CheckQuery>) -> axum::Json<serde_json::Value> {
        let mut conn = db.read().await.expect("connection");
        let rank = check(&mut conn.conn(), q.staff, q.client).await.ok().flatten();
        axum::Json(serde_json::json!({ "allowed": rank.is_some(), "rank": rank }))
    }
    async fn list_route(State(db): State<Db>, Query(q): Query<ListQuery>) -> axum::Json<serde_json::Value> {
        let mut conn = db.read().await.expect("connection");
        let (rows, total) = list(&mut conn.conn(), q.staff, ("", 0), 50).await.unwrap_or_default();
        axum::Json(serde_json::json!({ "items": rows.len(), "total": total }))
    }
    async fn toggle_route(State(db): State<Db>, Query(q): Query<ToggleQuery>) -> axum::Json<serde_json::Value> {
        let mut tx = db.begin().await.expect("transaction");
        let removed = {
            let mut c = tx.conn();
            let removed =
                on!(&mut c, c => sqlx::query("DELETE FROM group_clients WHERE group_id = $1 AND client_id = $2")
                .bind(q.group).bind(q.client).execute(&mut **c).await.map(|r| r.rows_affected()))
                .unwrap_or(0);
            if removed == 0 {
                let _ = on!(&mut c, c => sqlx::query("INSERT INTO group_clients (group_id, client_id, organization_id, added_at, cause) VALUES ($1, $2, 1, 0, 'manual') ON CONFLICT DO NOTHING")
                    .bind(q.group).bind(q.client).execute(&mut **c).await.map(|r| r.rows_affected()));
            }
            removed
        };
        let _ = tx.commit().await;
        axum::Json(serde_json::json!({ "removed": removed }))
    }
    axum::Router::new()
        .route("/check", get(check_route))
        .route("/list", get(list_route))
        .route("/toggle", axum::routing::post(toggle_route))
        .with_state(db)
}

/// Time by client group over a date range, as a team would write it in SQL: every group's
/// closure by recursive CTE, each (group, client) pair once (diamonds must not double count),
/// then a GROUP BY over the time entries. Returns (group, minutes) for groups with time.
const REPORT_BY_GROUP: &str = "WITH RECURSIVE reach(top, grp) AS (
        SELECT id, id FROM client_groups WHERE organization_id = 1 AND deleted_at IS NULL
        UNION
        SELECT reach.top, gc.child_id FROM group_children gc JOIN reach ON gc.parent_id = reach.grp),
    pairs AS (SELECT DISTINCT reach.top, m.client_id FROM reach JOIN group_clients m ON m.group_id = reach.grp)
    SELECT pairs.top, CAST(SUM(te.minutes) AS BIGINT) FROM pairs JOIN time_entries te ON te.client_id = pairs.client_id
    WHERE te.work_day BETWEEN $1 AND $2 AND te.deleted_at IS NULL
    GROUP BY pairs.top";

pub async fn report_by_group(c: &mut Conn<'_>, from: i32, to: i32) -> anyhow::Result<Vec<(i64, i64)>> {
    let mut rows: Vec<(i64, i64)> =
        on!(c, c => sqlx::query_as(REPORT_BY_GROUP).bind(from).bind(to).fetch_all(&mut **c).await)?;
    rows.sort_unstable();
    Ok(rows)
}
