//! Parse, don't validate: text that enters the system becomes one of these types at the edge, and
//! code further in never sees a raw, unchecked string for these fields.

use crate::{Error, Result};

/// A display name (group, business unit, client, staff). Surrounding whitespace is dropped and inner
/// runs of whitespace collapse to one space, so "  VIP   clients " and "VIP clients" are the same
/// name; control characters are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, raw: &str) -> Result<Name> {
        if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        let normalised = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if normalised.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if normalised.chars().count() > Self::MAX_CHARS {
            return Err(Error::invalid(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Name(normalised))
    }

    /// The key under which names are unique: case-insensitive and whitespace-normalised.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An e-mail address, lower-cased. Checked for shape only: delivery is not our business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Email> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
                }
                None => false,
            };
        if !valid {
            return Err(Error::invalid(field, "must be an e-mail address like name@example.com"));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Optional free text (description, notes, phone, CRM id): trimmed, empty becomes `None`, and a
/// length limit applies.
pub fn optional_text(field: &str, raw: Option<&str>, max_chars: usize) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("must be at most {max_chars} characters")));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(Some(trimmed.to_string()))
}

/// An identifier taken from another system (CRM id, external reference): no inner whitespace.
pub fn optional_reference(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let value = optional_text(field, raw, 100)?;
    if let Some(v) = &value
        && v.chars().any(char::is_whitespace)
    {
        return Err(Error::invalid(field, "must not contain spaces"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_unique_regardless_of_case_and_spacing() {
        let a = Name::parse("name", "  VIP   Clients ").unwrap();
        let b = Name::parse("name", "vip clients").unwrap();
        assert_eq!(a.as_str(), "VIP Clients");
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn empty_and_control_character_names_are_refused_with_the_field() {
        let e = Name::parse("name", "   ").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        assert!(Name::parse("name", "a\u{0}b").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked_for_shape() {
        assert_eq!(
            Email::parse("email", " Ann@Firm.EXAMPLE ").unwrap().as_str(),
            "ann@firm.example"
        );
        for bad in ["", "ann", "ann@", "@firm.example", "ann@firm", "a nn@firm.example"] {
            assert!(Email::parse("email", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn references_refuse_spaces_and_blank_becomes_none() {
        assert_eq!(optional_reference("crm_id", Some("  ")).unwrap(), None);
        assert_eq!(
            optional_reference("crm_id", Some(" CRM-1 ")).unwrap().as_deref(),
            Some("CRM-1")
        );
        assert!(optional_reference("crm_id", Some("CRM 1")).is_err());
    }
}
