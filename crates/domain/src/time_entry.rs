//! Time entries (seed 001): who worked for which client, on which day, how long, and whether it
//! is billable. Days are stored as [`Day`] numbers so both backends compare them as integers.

use serde::Serialize;

use crate::names::optional_text;
use crate::{ClientId, Error, Millis, Result, StaffId, TimeEntryId};

/// Days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Dates outside these years are typing mistakes, not work.
const FIRST_YEAR: i32 = 1990;
const LAST_YEAR: i32 = 2100;

/// The longest single entry: a day.
pub const MAX_MINUTES: i32 = 24 * 60;

impl Day {
    pub fn from_date(date: time::Date) -> Day {
        Day(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY)
    }

    pub fn date(self) -> time::Date {
        time::Date::from_julian_day(self.0 + UNIX_EPOCH_JULIAN_DAY).unwrap_or(time::Date::MIN)
    }

    /// The day an instant falls on (UTC).
    pub fn of_millis(ms: Millis) -> Day {
        Day(ms.div_euclid(86_400_000) as i32)
    }

    /// The first instant of the day (UTC).
    pub fn start_millis(self) -> Millis {
        self.0 as Millis * 86_400_000
    }

    /// Parses `YYYY-MM-DD`, naming `field` when it is not a plausible date.
    pub fn parse(field: &str, raw: &str) -> Result<Day> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(raw.trim(), &format).map_err(|_| {
            Error::invalid(
                field,
                format!("must be a date written YYYY-MM-DD, not {:?}", raw.trim()),
            )
        })?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
            return Err(Error::invalid(
                field,
                format!("must be between {FIRST_YEAR} and {LAST_YEAR}"),
            ));
        }
        Ok(Day::from_date(date))
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.date();
        write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses a duration as people type it: minutes (`90`), hours and minutes (`1:30`) or decimal
/// hours (`1.5h`).
pub fn parse_minutes(field: &str, raw: &str) -> Result<i32> {
    let raw = raw.trim();
    let bad = || {
        Error::invalid(
            field,
            format!("must be minutes (90), hours:minutes (1:30) or hours (1.5h), not {raw:?}"),
        )
    };
    let minutes = if let Some((h, m)) = raw.split_once(':') {
        let h: i32 = h.trim().parse().map_err(|_| bad())?;
        let m: i32 = m.trim().parse().map_err(|_| bad())?;
        if !(0..60).contains(&m) || h < 0 {
            return Err(bad());
        }
        h * 60 + m
    } else if let Some(h) = raw.strip_suffix(['h', 'H']) {
        let h: f64 = h.trim().parse().map_err(|_| bad())?;
        if !h.is_finite() || h < 0.0 {
            return Err(bad());
        }
        (h * 60.0).round() as i32
    } else {
        raw.parse().map_err(|_| bad())?
    };
    check_minutes(field, minutes)
}

pub fn check_minutes(field: &str, minutes: i32) -> Result<i32> {
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(Error::invalid(
            field,
            format!("must be between 1 minute and 24 hours ({MAX_MINUTES} minutes)"),
        ));
    }
    Ok(minutes)
}

/// A time entry as it is written: checked, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntryInput {
    pub staff: StaffId,
    pub client: ClientId,
    pub day: Day,
    pub minutes: i32,
    pub billable: bool,
    pub service: String,
    pub note: String,
}

impl TimeEntryInput {
    /// Checks the free-text fields (the rest is typed already).
    pub fn new(
        staff: StaffId,
        client: ClientId,
        day: Day,
        minutes: i32,
        billable: bool,
        service: Option<&str>,
        note: Option<&str>,
    ) -> Result<TimeEntryInput> {
        Ok(TimeEntryInput {
            staff,
            client,
            day,
            minutes: check_minutes("minutes", minutes)?,
            billable,
            service: optional_text("service", service, 100)?.unwrap_or_default(),
            note: optional_text("note", note, 2000)?.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeEntry {
    pub id: TimeEntryId,
    pub staff_id: StaffId,
    pub client_id: ClientId,
    /// `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub date: Day,
    pub minutes: i32,
    pub billable: bool,
    /// The service or task ("Bookkeeping", "VAT return").
    pub service: String,
    pub note: String,
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
    fn days_round_trip_through_dates() {
        let day = Day::parse("date", "2026-11-23").unwrap();
        assert_eq!(day.to_string(), "2026-11-23");
        assert_eq!(Day::parse("date", "1990-01-01").unwrap(), Day(7305));
        assert_eq!(Day::of_millis(Day(20_000).start_millis() + 5), Day(20_000));
        assert_eq!(Day::of_millis(-1), Day(-1));
    }

    #[test]
    fn a_bad_date_names_the_field_and_the_value() {
        let e = Day::parse("date", "23/11/2026").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("date"));
        assert!(e.detail.contains("23/11/2026"), "{}", e.detail);
        assert!(Day::parse("date", "0026-11-23").is_err());
    }

    #[test]
    fn durations_are_read_as_people_type_them() {
        assert_eq!(parse_minutes("d", "90").unwrap(), 90);
        assert_eq!(parse_minutes("d", "1:30").unwrap(), 90);
        assert_eq!(parse_minutes("d", "1.5h").unwrap(), 90);
        assert_eq!(parse_minutes("d", " 2H ").unwrap(), 120);
        for bad in ["0", "1:75", "-5", "25h", "abc", ""] {
            assert!(parse_minutes("d", bad).is_err(), "{bad}");
        }
    }
}
