//! Program accounts (seed 004): the sub-accounts of a client's business account, such as the
//! import-export account `123456789RM0001` of business number `123456789`. They travel with their
//! client: a program account is never a member of a group on its own, and whoever sees (or may
//! change) the client sees (or may change) its program accounts.

use serde::{Deserialize, Serialize};

use crate::{ClientId, Error, Millis, ProgramAccountId, Result};

/// Whether the program account is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Inactive,
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
            AccountStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "active" => Ok(AccountStatus::Active),
            "inactive" => Ok(AccountStatus::Inactive),
            "closed" => Ok(AccountStatus::Closed),
            _ => Err(Error::invalid("status", "must be active, inactive or closed")),
        }
    }
}

/// A program account number as the firm writes it (`123456789 RM 0001`), and its key: the number
/// without spaces and hyphens, in capitals (`123456789RM0001`), unique in the organisation so the
/// same account cannot belong to two clients however it was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountNumber {
    shown: String,
    key: String,
}

impl AccountNumber {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str) -> Result<AccountNumber> {
        let shown = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if shown.is_empty() {
            return Err(Error::invalid("number", "is required"));
        }
        if shown.chars().count() > Self::MAX_CHARS {
            return Err(Error::invalid(
                "number",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if let Some(c) = shown
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '/' | '.')))
        {
            return Err(Error::invalid(
                "number",
                format!("may hold letters, digits, spaces, '-', '/' and '.' only (found \"{c}\")"),
            ));
        }
        let key: String = shown
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if key.is_empty() {
            return Err(Error::invalid("number", "must hold at least one letter or digit"));
        }
        Ok(AccountNumber { shown, key })
    }

    pub fn as_str(&self) -> &str {
        &self.shown
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// What the program is (`RM import-export`, `RT GST/HST`): free text, required.
pub fn parse_program(raw: &str) -> Result<String> {
    let program = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if program.is_empty() {
        return Err(Error::invalid("program", "is required"));
    }
    crate::names::refuse_control_characters("program", &program)?;
    if program.chars().count() > 100 {
        return Err(Error::invalid("program", "must be at most 100 characters"));
    }
    Ok(program)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProgramAccount {
    pub id: ProgramAccountId,
    pub client_id: ClientId,
    /// As the firm writes it; unique in the organisation once spaces, hyphens and case are ignored.
    pub number: String,
    /// What the program is, e.g. "RM import-export".
    pub program: String,
    pub status: AccountStatus,
    pub version: i64,
    #[serde(with = "crate::entities::rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::entities::rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_differently_are_the_same_account() -> Result<()> {
        let a = AccountNumber::parse("123456789 RM 0001")?;
        let b = AccountNumber::parse(" 123456789-rm-0001 ")?;
        assert_eq!(a.key(), "123456789RM0001");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "123456789 RM 0001");
        Ok(())
    }

    #[test]
    fn a_number_says_what_is_wrong_with_it() {
        let detail = |raw: &str| AccountNumber::parse(raw).err().map(|e| e.detail).unwrap_or_default();
        assert_eq!(detail("  "), "number: is required");
        let odd = detail("12<script>");
        assert!(odd.contains("found \"<\""), "{odd}");
        assert!(AccountNumber::parse(&"9".repeat(41)).is_err());
        assert!(AccountNumber::parse("--").is_err());
    }
}
