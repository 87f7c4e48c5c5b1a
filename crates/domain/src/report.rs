//! Reports of work time by client group, by client or by staff (seed 001), and the saved reports
//! that keep their filters under a name. A report is asked for with [`ReportParams`] (text, as a
//! query string or a saved report carries it) and answered from a checked [`ReportQuery`].

use serde::{Deserialize, Serialize};

use crate::client::ClientStatus;
use crate::names::Name;
use crate::time_entry::Day;
use crate::{BusinessUnitId, Error, GroupId, Millis, Result, SavedReportId, StaffId};

/// The longest range one report covers.
pub const MAX_DAYS: i32 = 366 * 10;

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// One row per client group; nested groups roll up into their parents.
    #[default]
    Group,
    Client,
    Staff,
}

/// How the group filter combines its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupMatch {
    /// Clients in at least one of the groups.
    #[default]
    Any,
    /// Clients in every one of the groups.
    All,
    /// Clients in none of the groups.
    None,
}

/// Which memberships decide the groups a time entry counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipBasis {
    /// The groups the client is in now.
    #[default]
    Current,
    /// The groups the client was in on the date of the work.
    WorkDate,
}

/// A report request as text: the API's query string, the UI's form and a saved report's stored
/// query. Lists are comma-separated ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// First day, `YYYY-MM-DD` (default: the first of the current month).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last day, inclusive (default: today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `group` (default), `client` or `staff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Group ids, comma-separated: only clients in these groups (through any nesting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// `any` (default), `all` or `none` of `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_match: Option<String>,
    /// Staff ids, comma-separated: only their time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// Only clients of this business unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `true` or `false`: only billable, or only non-billable time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<String>,
    /// Client statuses, comma-separated (default: every status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `current` (default): the groups clients are in now; `work_date`: the groups they were in on
    /// the date of the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// A checked report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: Day,
    pub to: Day,
    pub by: Grouping,
    pub groups: Vec<GroupId>,
    pub group_match: GroupMatch,
    pub staff: Vec<StaffId>,
    pub unit: Option<BusinessUnitId>,
    pub billable: Option<bool>,
    /// Empty: every status.
    pub statuses: Vec<ClientStatus>,
    pub basis: MembershipBasis,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn ids<T>(field: &str, raw: Option<&str>, make: fn(i64) -> T) -> Result<Vec<T>> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map(make)
                .map_err(|_| Error::invalid(field, format!("must be ids separated by commas; {s:?} is not an id")))
        })
        .collect()
}

fn choice<T: for<'de> Deserialize<'de> + Default>(field: &str, raw: Option<&str>, allowed: &str) -> Result<T> {
    match raw {
        None => Ok(T::default()),
        Some(s) => serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
            .map_err(|_| Error::invalid(field, format!("must be {allowed}, not {s:?}"))),
    }
}

impl ReportParams {
    /// Checks the request; `today` fills the default range (this month so far).
    pub fn parse(&self, today: Day) -> Result<ReportQuery> {
        let to = match blank(&self.to) {
            Some(s) => Day::parse("to", s)?,
            None => today,
        };
        let from = match blank(&self.from) {
            Some(s) => Day::parse("from", s)?,
            None => {
                let d = to.date();
                Day::from_date(d.replace_day(1).unwrap_or(d))
            }
        };
        if from > to {
            return Err(Error::invalid(
                "from",
                format!("must not be after to ({from} is after {to})"),
            ));
        }
        if to.0 - from.0 >= MAX_DAYS {
            return Err(Error::invalid("to", format!("a report covers at most {MAX_DAYS} days")));
        }
        let billable = match blank(&self.billable) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(Error::invalid(
                    "billable",
                    format!("must be true or false, not {other:?}"),
                ));
            }
        };
        let statuses = match blank(&self.status) {
            None => Vec::new(),
            Some(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| ClientStatus::parse(s).map_err(|e| e.with_field("status")))
                .collect::<Result<_>>()?,
        };
        let unit = match blank(&self.unit) {
            None => None,
            Some(s) => Some(BusinessUnitId(s.parse().map_err(|_| {
                Error::invalid("unit", format!("must be a business unit id, not {s:?}"))
            })?)),
        };
        let groups = ids("groups", blank(&self.groups), GroupId)?;
        let group_match = choice("group_match", blank(&self.group_match), "any, all or none")?;
        if groups.is_empty() && group_match != GroupMatch::Any {
            return Err(Error::invalid(
                "groups",
                "name at least one group to match all or none of",
            ));
        }
        Ok(ReportQuery {
            from,
            to,
            by: choice("by", blank(&self.by), "group, client or staff")?,
            groups,
            group_match,
            staff: ids("staff", blank(&self.staff), StaffId)?,
            unit,
            billable,
            statuses,
            basis: choice("basis", blank(&self.basis), "current or work_date")?,
        })
    }
}

/// Who may open a saved report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Its owner alone.
    Private,
    /// The entire office (seed 001).
    Organization,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Organization => "organization",
        }
    }
    pub fn parse(s: &str) -> Result<Visibility> {
        match s {
            "private" => Ok(Visibility::Private),
            "organization" => Ok(Visibility::Organization),
            _ => Err(Error::invalid("visibility", "must be private or organization")),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedReport {
    pub id: SavedReportId,
    pub owner_id: StaffId,
    pub name: String,
    pub visibility: Visibility,
    pub params: ReportParams,
    pub version: i64,
    #[serde(with = "crate::entities::rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::entities::rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

/// A saved report's name: the usual name rules.
pub fn report_name(raw: &str) -> Result<Name> {
    Name::parse("name", raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Day {
        Day::parse("t", "2026-11-23").unwrap()
    }

    #[test]
    fn the_default_report_is_this_month_by_group_on_current_memberships() {
        let q = ReportParams::default().parse(today()).unwrap();
        assert_eq!(q.from.to_string(), "2026-11-01");
        assert_eq!(q.to, today());
        assert_eq!(q.by, Grouping::Group);
        assert_eq!(q.basis, MembershipBasis::Current);
        assert!(q.groups.is_empty() && q.staff.is_empty() && q.statuses.is_empty());
    }

    #[test]
    fn every_field_is_read_and_bad_ones_are_named() {
        let p = ReportParams {
            from: Some("2026-01-01".into()),
            to: Some("2026-03-31".into()),
            by: Some("staff".into()),
            groups: Some("3, 4".into()),
            group_match: Some("none".into()),
            staff: Some("7".into()),
            unit: Some("2".into()),
            billable: Some("true".into()),
            status: Some("active,closed".into()),
            basis: Some("work_date".into()),
        };
        let q = p.parse(today()).unwrap();
        assert_eq!(q.groups, vec![GroupId(3), GroupId(4)]);
        assert_eq!(q.group_match, GroupMatch::None);
        assert_eq!(q.by, Grouping::Staff);
        assert_eq!(q.basis, MembershipBasis::WorkDate);
        assert_eq!(q.statuses, vec![ClientStatus::Active, ClientStatus::Closed]);
        assert_eq!(q.billable, Some(true));

        for (params, field) in [
            (
                ReportParams {
                    by: Some("week".into()),
                    ..Default::default()
                },
                "by",
            ),
            (
                ReportParams {
                    groups: Some("1,x".into()),
                    ..Default::default()
                },
                "groups",
            ),
            (
                ReportParams {
                    from: Some("2026-12-01".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                ReportParams {
                    status: Some("gone".into()),
                    ..Default::default()
                },
                "status",
            ),
            (
                ReportParams {
                    group_match: Some("all".into()),
                    ..Default::default()
                },
                "groups",
            ),
            (
                ReportParams {
                    from: Some("2000-01-01".into()),
                    ..Default::default()
                },
                "to",
            ),
        ] {
            let e = params.parse(today()).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{params:?}: {e}");
        }
    }
}
