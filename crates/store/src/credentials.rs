//! What staff sign in with: API tokens (hashed, with an expiry, revocable), passwords, sessions
//! to end, and one-time password resets.

use clientele_domain::{Millis, StaffId};

use crate::{Conn, Result, on};

/// An API token as its owner and admins see it (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub staff_id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, staff_id, label, created_at, last_used_at, expires_at, revoked_at";

pub async fn insert_token(
    c: &mut Conn<'_>,
    staff: StaffId,
    token_hash: &str,
    label: &str,
    now: Millis,
    expires_at: Option<Millis>,
) -> Result<TokenRow> {
    let sql = format!(
        "INSERT INTO api_tokens (staff_id, token_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING {TOKEN_COLUMNS}"
    );
    Ok(
        on!(c, c => sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(staff.0).bind(token_hash).bind(label).bind(now).bind(expires_at)
        .fetch_one(&mut **c).await)?,
    )
}

/// A staff member's tokens, newest first (revoked ones too, for the record).
pub async fn tokens_of(c: &mut Conn<'_>, staff: StaffId) -> Result<Vec<TokenRow>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE staff_id = $1 ORDER BY id DESC");
    Ok(
        on!(c, c => sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(sql.clone())).bind(staff.0).fetch_all(&mut **c).await)?,
    )
}

pub async fn token(c: &mut Conn<'_>, id: i64) -> Result<Option<TokenRow>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
    Ok(
        on!(c, c => sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut **c).await)?,
    )
}

/// Revokes one token; false when it already was.
pub async fn revoke_token(c: &mut Conn<'_>, id: i64, now: Millis) -> Result<bool> {
    let n = on!(c, c => sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Revokes every token of a staff member (deactivation); returns how many.
pub async fn revoke_tokens_of(c: &mut Conn<'_>, staff: StaffId, now: Millis) -> Result<u64> {
    Ok(
        on!(c, c => sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
        .bind(staff.0).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?,
    )
}

/// Notes that a token was used; returns true the first time it ever was.
pub async fn token_used(c: &mut Conn<'_>, id: i64, now: Millis) -> Result<bool> {
    let first: Option<i64> = on!(c, c => sqlx::query_scalar(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND last_used_at IS NULL RETURNING id")
        .bind(id).bind(now).fetch_optional(&mut **c).await)?;
    if first.is_none() {
        on!(c, c => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    }
    Ok(first.is_some())
}

/// The password hash a staff member signs in with.
pub async fn password_hash(c: &mut Conn<'_>, staff: StaffId) -> Result<Option<String>> {
    Ok(
        on!(c, c => sqlx::query_scalar("SELECT password_hash FROM staff WHERE id = $1")
        .bind(staff.0).fetch_optional(&mut **c).await)?
        .flatten(),
    )
}

/// Sets a new password (and whether it must be changed at the next sign-in).
pub async fn set_password(c: &mut Conn<'_>, staff: StaffId, hash: &str, must_change: bool, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "UPDATE staff SET password_hash = $2, must_change_password = $3, updated_at = $4 WHERE id = $1")
        .bind(staff.0).bind(hash).bind(must_change).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn must_change_password(c: &mut Conn<'_>, staff: StaffId) -> Result<bool> {
    Ok(
        on!(c, c => sqlx::query_scalar("SELECT must_change_password FROM staff WHERE id = $1")
        .bind(staff.0).fetch_optional(&mut **c).await)?
        .unwrap_or(false),
    )
}

/// Ends a staff member's sessions, all of them or all but one (the one changing the password).
pub async fn end_sessions(c: &mut Conn<'_>, staff: StaffId, keep_token_hash: Option<&str>) -> Result<u64> {
    Ok(
        on!(c, c => sqlx::query("DELETE FROM sessions WHERE staff_id = $1 AND token_hash <> COALESCE($2, '')")
        .bind(staff.0).bind(keep_token_hash).execute(&mut **c).await.map(|r| r.rows_affected()))?,
    )
}

pub async fn insert_reset(
    c: &mut Conn<'_>,
    staff: StaffId,
    code_hash: &str,
    issued_by: StaffId,
    now: Millis,
    expires_at: Millis,
) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO password_resets (staff_id, code_hash, issued_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(staff.0).bind(code_hash).bind(issued_by.0).bind(now).bind(expires_at)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whom a live reset code is for (unused and unexpired), without using it.
pub async fn reset_owner(c: &mut Conn<'_>, code_hash: &str, now: Millis) -> Result<Option<StaffId>> {
    let staff: Option<i64> = on!(c, c => sqlx::query_scalar(
        "SELECT staff_id FROM password_resets WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(code_hash).bind(now).fetch_optional(&mut **c).await)?;
    Ok(staff.map(StaffId))
}

/// Uses a reset code, once: the staff member it was for, if it is unused and unexpired. Two
/// redemptions at once: one gets the staff member, the other nothing.
pub async fn redeem_reset(c: &mut Conn<'_>, code_hash: &str, now: Millis) -> Result<Option<StaffId>> {
    let staff: Option<i64> = on!(c, c => sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING staff_id")
        .bind(code_hash).bind(now).fetch_optional(&mut **c).await)?;
    Ok(staff.map(StaffId))
}

/// Resets issued before this one and not used stop working when a new one is issued.
pub async fn cancel_resets(c: &mut Conn<'_>, staff: StaffId, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query("UPDATE password_resets SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL")
        .bind(staff.0).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
