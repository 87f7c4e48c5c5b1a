//! Web UI sessions (the SHA-256 of a random token, never the token) and the failed sign-in counter
//! that rate-limits password guessing.

use clientele_domain::{Millis, OrganizationId, StaffId};

use crate::{Conn, Result, on};

/// A staff member who may sign in with a password: the candidates for one e-mail address.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub staff_id: StaffId,
    pub organization_id: OrganizationId,
    pub password_hash: String,
}

/// Active staff with this e-mail and a password (e-mails are unique per organisation, so there can
/// be one per organisation).
pub async fn credentials(c: &mut Conn<'_>, email: &str) -> Result<Vec<Credentials>> {
    let rows: Vec<(i64, i64, String)> = on!(c, c => sqlx::query_as(
        "SELECT id, organization_id, password_hash FROM staff
         WHERE email = $1 AND active AND password_hash IS NOT NULL ORDER BY id")
        .bind(email).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, org, hash)| Credentials {
            staff_id: StaffId(id),
            organization_id: OrganizationId(org),
            password_hash: hash,
        })
        .collect())
}

pub async fn insert(c: &mut Conn<'_>, staff: StaffId, token_hash: &str, now: Millis, expires_at: Millis) -> Result<()> {
    on!(c, c => sqlx::query("INSERT INTO sessions (staff_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(staff.0).bind(token_hash).bind(now).bind(expires_at)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The active staff member of a live session.
pub async fn find(c: &mut Conn<'_>, token_hash: &str, now: Millis) -> Result<Option<(StaffId, OrganizationId)>> {
    let row: Option<(i64, i64)> = on!(c, c => sqlx::query_as(
        "SELECT st.id, st.organization_id FROM sessions s JOIN staff st ON st.id = s.staff_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND st.active")
        .bind(token_hash).bind(now).fetch_optional(&mut **c).await)?;
    Ok(row.map(|(s, o)| (StaffId(s), OrganizationId(o))))
}

pub async fn delete(c: &mut Conn<'_>, token_hash: &str) -> Result<()> {
    on!(c, c => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn purge_expired(c: &mut Conn<'_>, now: Millis) -> Result<u64> {
    Ok(
        on!(c, c => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?,
    )
}

/// Counts one attempt against `key` before it is checked, atomically, and returns the count in
/// the current window and when the window started (a window older than `since` starts again at
/// `now`). Forty guesses sent at once each get their own number, so only the first few are
/// checked at all.
pub async fn count_attempt(c: &mut Conn<'_>, key: &str, now: Millis, since: Millis) -> Result<(i64, Millis)> {
    let (n, at): (i32, i64) = on!(c, c => sqlx::query_as(
        "INSERT INTO login_attempts (attempt_key, failures, window_start) VALUES ($1, 1, $2)
         ON CONFLICT (attempt_key) DO UPDATE SET
            failures = CASE WHEN login_attempts.window_start < $3 THEN 1 ELSE login_attempts.failures + 1 END,
            window_start = CASE WHEN login_attempts.window_start < $3 THEN $2 ELSE login_attempts.window_start END
         RETURNING failures, window_start")
        .bind(key).bind(now).bind(since)
        .fetch_one(&mut **c).await)?;
    Ok((i64::from(n), at))
}

/// Takes back one counted attempt (it succeeded).
pub async fn uncount_attempt(c: &mut Conn<'_>, key: &str) -> Result<()> {
    on!(c, c => sqlx::query("UPDATE login_attempts SET failures = failures - 1 WHERE attempt_key = $1 AND failures > 0").bind(key)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn clear_failures(c: &mut Conn<'_>, key: &str) -> Result<()> {
    on!(c, c => sqlx::query("DELETE FROM login_attempts WHERE attempt_key = $1").bind(key)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
