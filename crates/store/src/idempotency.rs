//! Requests that carried an `Idempotency-Key`: claimed by the first write transaction of the
//! request, answered once the response is rendered, and replayed to retries of the same request.

use clientele_domain::{Millis, StaffId};

use crate::{Conn, Result, on};

/// What is known of a key.
#[derive(Debug)]
pub struct Claimed {
    pub request_hash: String,
    pub claim_token: String,
    pub claimed_at: Millis,
    /// `None` while the request runs (or when its answer was lost).
    pub answer: Option<Answer>,
}

/// A stored response.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status_code: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

type Row = (String, String, i64, Option<i32>, Option<String>, Option<Vec<u8>>);

pub async fn get(c: &mut Conn<'_>, staff: StaffId, key: &str) -> Result<Option<Claimed>> {
    let row: Option<Row> = on!(c, c => sqlx::query_as(
        "SELECT request_hash, claim_token, claimed_at, status_code, content_type, response_body
         FROM idempotent_requests WHERE staff_id = $1 AND idempotency_key = $2")
        .bind(staff.0).bind(key).fetch_optional(&mut **c).await)?;
    Ok(row.map(
        |(request_hash, claim_token, claimed_at, status, content_type, body)| Claimed {
            request_hash,
            claim_token,
            claimed_at,
            answer: status.map(|status| Answer {
                status_code: u16::try_from(status).unwrap_or(500),
                content_type,
                body: body.unwrap_or_default(),
            }),
        },
    ))
}

/// Claims the key for the request holding `token`, inside the caller's write transaction. True
/// when the key is this request's: newly claimed, or claimed by one of its own earlier
/// transactions that committed. False when another request holds it. On PostgreSQL an insert
/// that meets a twin's uncommitted claim waits for that transaction to end, then finds the key
/// taken (or free, if the twin rolled back).
pub async fn claim(
    c: &mut Conn<'_>,
    staff: StaffId,
    key: &str,
    request_hash: &str,
    token: &str,
    now: Millis,
) -> Result<bool> {
    let inserted = on!(c, c => sqlx::query(
        "INSERT INTO idempotent_requests (staff_id, idempotency_key, request_hash, claim_token, claimed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
        .bind(staff.0).bind(key).bind(request_hash).bind(token).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(true);
    }
    let holder: Option<String> = on!(c, c => sqlx::query_scalar(
        "SELECT claim_token FROM idempotent_requests WHERE staff_id = $1 AND idempotency_key = $2")
        .bind(staff.0).bind(key).fetch_optional(&mut **c).await)?;
    Ok(holder.as_deref() == Some(token))
}

/// Stores the answer of the request that holds the claim; false when it holds none (nothing it
/// did committed).
pub async fn answer(c: &mut Conn<'_>, staff: StaffId, key: &str, token: &str, answer: &Answer) -> Result<bool> {
    let done = on!(c, c => sqlx::query(
        "UPDATE idempotent_requests SET status_code = $4, content_type = $5, response_body = $6
         WHERE staff_id = $1 AND idempotency_key = $2 AND claim_token = $3")
        .bind(staff.0).bind(key).bind(token)
        .bind(i32::from(answer.status_code)).bind(answer.content_type.as_deref()).bind(&answer.body)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Forgets requests claimed before `before`.
pub async fn purge(c: &mut Conn<'_>, before: Millis) -> Result<u64> {
    let done = on!(c, c => sqlx::query("DELETE FROM idempotent_requests WHERE claimed_at < $1").bind(before).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
