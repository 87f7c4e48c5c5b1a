//! Parse, don't validate: text that enters the system becomes one of these types at the edge, and
//! code further in never sees a raw, unchecked string for these fields.

use crate::{Error, Result};

/// The first character of `text` that no one types: a control character other than tab, line
/// feed and carriage return (C0, DEL, C1). Refused wherever text enters, whatever the field:
/// PostgreSQL cannot store NUL at all, and the others only ever come from broken or hostile input.
pub fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The refusal of a field holding a control character.
pub fn refuse_control_characters(field: &str, text: &str) -> Result<()> {
    match control_character(text) {
        Some(c) => Err(Error::invalid(
            field,
            format!("must not contain control characters (found U+{:04X})", c as u32),
        )),
        None => Ok(()),
    }
}

/// Bidirectional formatting characters: they reorder how the text around them is displayed, so a
/// name could be shown as a different one ("Trojan Source"). Refused, not dropped.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, stable since Unicode 5):
/// characters that display as nothing (zero-width space and joiners, soft hyphen, the byte-order
/// mark, variation selectors, tags). "Acme" and "Ac\u{200B}me" look the same, so they are the same
/// name. Written out here because the crates that hold the table keep it private.
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF
        | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// A display name (group, business unit, client, staff), in the form two names that look the same
/// share: compatibility-normalised (NFKC: full-width letters, ligatures and the like become their
/// plain form), characters that display as nothing dropped, surrounding whitespace dropped and
/// inner runs collapsed to one space, so "  VIP   clients " and "VIP clients" are the same name.
/// Refused: control characters, bidirectional controls, names with no visible character, and a
/// word that mixes the letters of several scripts (a Cyrillic "А" in "Аcme": how look-alikes of
/// another name are made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, raw: &str) -> Result<Name> {
        use unicode_normalization::UnicodeNormalization;
        use unicode_security::MixedScript;

        if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        if raw.chars().any(is_bidi_control) {
            return Err(Error::invalid(
                field,
                "must not contain bidirectional control characters (they change how a name is displayed)",
            ));
        }
        let visible: String = raw.nfkc().filter(|&c| !is_default_ignorable(c)).collect();
        let normalised = visible.split_whitespace().collect::<Vec<_>>().join(" ");
        if normalised.is_empty() {
            let why = if raw.trim().is_empty() {
                "must not be empty"
            } else {
                "must contain a visible character"
            };
            return Err(Error::invalid(field, why));
        }
        if let Some(word) = normalised.split(' ').find(|w| !w.is_single_script()) {
            return Err(Error::invalid(
                field,
                format!(
                    "mixes the letters of several scripts in one word (\"{word}\"), as look-alikes of other names do; \
                     write each word in one script"
                ),
            ));
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
    fn names_that_look_the_same_are_the_same_name() {
        let key = |raw: &str| Name::parse("name", raw).unwrap().key();
        assert_eq!(key("Acme"), key("Ac\u{200B}me"), "a zero-width space");
        assert_eq!(
            key("Acme"),
            key("\u{FEFF}Acme\u{00AD}"),
            "a byte-order mark and a soft hyphen"
        );
        assert_eq!(key("Acme"), key("Ａｃｍｅ"), "full-width letters");
        assert_eq!(key("office"), key("o\u{FB03}ce"), "a ligature");
        assert_eq!(Name::parse("name", "Ｃａｆé").unwrap().as_str(), "Café");
        // Genuine names in other scripts are fine, and stay distinct.
        assert_ne!(key("Acme"), key("Асме"));
        assert!(Name::parse("name", "東京 オフィス").is_ok());
        assert!(Name::parse("name", "Müller & Söhne GmbH").is_ok());
    }

    #[test]
    fn look_alike_tricks_are_refused() {
        for (raw, why) in [
            ("\u{202E}emcA", "bidirectional"),
            ("Ac\u{2066}me", "bidirectional"),
            ("\u{200B}\u{200B}", "visible"),
            ("\u{00AD}", "visible"),
            ("\u{0410}cme", "scripts"),
        ] {
            let e = Name::parse("name", raw).unwrap_err();
            assert!(e.detail.contains(why), "{raw:?}: {}", e.detail);
            assert_eq!(e.field.as_deref(), Some("name"));
        }
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
