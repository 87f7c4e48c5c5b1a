//! Stored answers to POST requests that carried an `Idempotency-Key`, so a retried request gets the
//! first answer instead of doing the work twice.

use clientele_domain::{Millis, StaffId};

use crate::{Conn, Result, on};

pub struct Stored {
    pub request_hash: String,
    pub status_code: i32,
    pub response_body: String,
}

pub async fn get(c: &mut Conn<'_>, staff: StaffId, key: &str) -> Result<Option<Stored>> {
    let row: Option<(String, i32, String)> = on!(c, c => sqlx::query_as(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE staff_id = $1 AND idempotency_key = $2")
        .bind(staff.0).bind(key).fetch_optional(&mut **c).await)?;
    Ok(row.map(|(request_hash, status_code, response_body)| Stored {
        request_hash,
        status_code,
        response_body,
    }))
}

/// Stores the answer; a concurrent twin that stored first wins and this one is dropped.
pub async fn put(c: &mut Conn<'_>, staff: StaffId, key: &str, s: &Stored, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO idempotency_keys (staff_id, idempotency_key, request_hash, status_code, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
        .bind(staff.0).bind(key).bind(&s.request_hash).bind(s.status_code).bind(&s.response_body).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets answers older than `before`.
pub async fn purge(c: &mut Conn<'_>, before: Millis) -> Result<u64> {
    let done = on!(c, c => sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(before).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
