//! What every list screen shares: sortable column headers, the total, previous and next pages,
//! the page size, and "select all N matching this filter". The list is sorted and paged by the
//! server (by cursor, so a deep page costs what the first does); these helpers only build the
//! links that keep the list's filters.

use serde::Deserialize;

use clientele_domain::GroupId;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::ClientStatus;

/// The page sizes a list offers.
pub const PAGE_SIZES: [i64; 4] = [25, 50, 100, 200];
const DEFAULT_PAGE_SIZE: i64 = 50;

/// The list controls of a query string: `sort`, `per_page`, `cursor`. Each screen's query
/// struct has these fields beside its filters (flattening would read numbers as text).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Controls {
    #[serde(default)]
    pub sort: String,
    pub per_page: Option<String>,
    pub cursor: Option<String>,
}

impl Controls {
    /// The page size asked for, if it is one the lists offer.
    pub fn per_page(&self) -> i64 {
        self.per_page
            .as_deref()
            .and_then(|n| n.parse().ok())
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// A list as its template draws the controls: where it lives, the filters its links keep, and
/// what the page holds.
pub struct ListView {
    path: String,
    /// The filters in force, as query pairs (empty values are left out of links).
    filters: Vec<(String, String)>,
    /// The current order as written in the query (`name`, `-name`, ...); empty for the default.
    pub sort: String,
    /// The order the list falls back to without `sort`.
    default_sort: &'static str,
    pub per_page: i64,
    pub total: u64,
    next: Option<String>,
    prev: Option<String>,
    /// What the list counts, singular and plural: "client", "clients".
    noun: (&'static str, &'static str),
}

impl ListView {
    #[expect(clippy::too_many_arguments, reason = "each list screen names every part once, here")]
    pub fn new(
        path: impl Into<String>,
        filters: &[(&str, &str)],
        controls: &Controls,
        default_sort: &'static str,
        total: u64,
        next_cursor: Option<String>,
        prev_cursor: Option<String>,
        noun: (&'static str, &'static str),
    ) -> ListView {
        let mut view = ListView {
            path: path.into(),
            filters: filters
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sort: controls.sort.clone(),
            default_sort,
            per_page: controls.per_page(),
            total,
            next: None,
            prev: None,
            noun,
        };
        view.next = next_cursor.map(|c| view.href(&[("cursor", &c)]));
        view.prev = prev_cursor.map(|c| view.href(&[("cursor", &c)]));
        view
    }

    /// A link to this list with its filters, order and page size, plus `extra`.
    fn href(&self, extra: &[(&str, &str)]) -> String {
        let per_page = self.per_page.to_string();
        let mut pairs: Vec<(&str, &str)> = self.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if !self.sort.is_empty() {
            pairs.push(("sort", &self.sort));
        }
        if self.per_page != DEFAULT_PAGE_SIZE {
            pairs.push(("per_page", &per_page));
        }
        pairs.extend_from_slice(extra);
        let query = super::query(&pairs);
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{query}", self.path)
        }
    }

    /// The link to this very page (its cursor kept), for "Back" after an action.
    pub fn href_here(&self, cursor: Option<&str>) -> String {
        match cursor {
            Some(c) => self.href(&[("cursor", c)]),
            None => self.href(&[]),
        }
    }

    fn current_sort(&self) -> &str {
        if self.sort.is_empty() {
            self.default_sort
        } else {
            &self.sort
        }
    }

    /// The link of a column header: sorts by the column, or the other way when it already is.
    /// The page starts again from the first.
    pub fn sort_href(&self, column: &str) -> String {
        let next = if self.current_sort() == column {
            format!("-{column}")
        } else {
            column.to_string()
        };
        let mut view = self.shallow();
        view.sort = next;
        view.href(&[])
    }

    /// `aria-sort` for a column header.
    pub fn aria_sort(&self, column: &str) -> &'static str {
        let current = self.current_sort();
        if current == column {
            "ascending"
        } else if current.strip_prefix('-') == Some(column) {
            "descending"
        } else {
            "none"
        }
    }

    pub fn next_href(&self) -> Option<&str> {
        self.next.as_deref()
    }

    pub fn prev_href(&self) -> Option<&str> {
        self.prev.as_deref()
    }

    /// "2,200 clients".
    pub fn total_text(&self) -> String {
        let noun = if self.total == 1 { self.noun.0 } else { self.noun.1 };
        format!("{} {noun}", thousands(self.total))
    }

    /// "All 2,200 clients matching these filters".
    pub fn all_matching_text(&self) -> String {
        let noun = if self.total == 1 { self.noun.0 } else { self.noun.1 };
        format!(
            "all {} {noun} matching these filters, on every page",
            thousands(self.total)
        )
    }

    /// Whether the matches fill more than one page (so selecting this page is not selecting
    /// them all).
    pub fn spans_pages(&self) -> bool {
        self.total > self.per_page as u64 || self.next.is_some() || self.prev.is_some()
    }

    /// The filters and order, for the hidden fields of the page-size form.
    pub fn kept(&self) -> Vec<(String, String)> {
        let mut out = self.filters.clone();
        if !self.sort.is_empty() {
            out.push(("sort".into(), self.sort.clone()));
        }
        out
    }

    pub fn sizes(&self) -> &'static [i64] {
        &PAGE_SIZES
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn shallow(&self) -> ListView {
        ListView {
            path: self.path.clone(),
            filters: self.filters.clone(),
            sort: self.sort.clone(),
            default_sort: self.default_sort,
            per_page: self.per_page,
            total: self.total,
            next: None,
            prev: None,
            noun: self.noun,
        }
    }
}

/// "Every client matching this filter", carried through a review page in one hidden field so
/// that the change applies to what matches when it is confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Matching {
    #[serde(default)]
    pub q: String,
    /// Group ids, comma-separated: clients reached through any of them.
    #[serde(default)]
    pub groups: String,
    #[serde(default)]
    pub include_inactive: bool,
    /// The candidates of this group's "add clients" picker.
    #[serde(default)]
    pub addable_to: Option<i64>,
}

impl Matching {
    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &str) -> Option<Matching> {
        serde_urlencoded::from_str(text).ok()
    }

    pub fn group_ids(&self) -> Vec<GroupId> {
        self.groups
            .split(',')
            .filter_map(|g| g.trim().parse().ok())
            .map(GroupId)
            .collect()
    }

    /// The client list's filter this stands for.
    pub fn client_filter(&self) -> ClientFilter {
        ClientFilter {
            text: Some(self.q.trim().to_string()).filter(|t| !t.is_empty()),
            statuses: if self.include_inactive {
                Vec::new()
            } else {
                vec![ClientStatus::Active]
            },
            groups: self.group_ids(),
            addable_to: self.addable_to.map(GroupId),
            ..ClientFilter::default()
        }
    }
}

/// 2200 -> "2,200".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A client and the groups it is directly in, for a list row.
pub struct ClientRow {
    pub c: clientele_domain::entities::Client,
    pub groups: Vec<clientele_domain::entities::GroupRef>,
}

/// Rows with their group badges: one statement for the page.
pub(super) async fn rows_with_groups(
    s: &crate::AppState,
    session: &super::Session,
    clients: Vec<clientele_domain::entities::Client>,
) -> Result<Vec<ClientRow>, super::UiError> {
    let ids: Vec<clientele_domain::ClientId> = clients.iter().map(|c| c.id).collect();
    let mut groups = s.app.groups_of_clients(&session.actor, &ids).await?;
    Ok(clients
        .into_iter()
        .map(|c| ClientRow {
            groups: groups.remove(&c.id).unwrap_or_default(),
            c,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(sort: &str, per_page: Option<i64>) -> ListView {
        let controls = Controls {
            sort: sort.into(),
            per_page: per_page.map(|n| n.to_string()),
            cursor: None,
        };
        ListView::new(
            "/clients",
            &[("q", "acme"), ("group", "")],
            &controls,
            "name",
            2200,
            Some("abc".into()),
            None,
            ("client", "clients"),
        )
    }

    #[test]
    fn headers_sort_one_way_then_the_other_and_keep_the_filters() {
        let v = view("", None);
        assert_eq!(v.aria_sort("name"), "ascending");
        assert_eq!(v.sort_href("name"), "/clients?q=acme&sort=-name");
        assert_eq!(v.sort_href("status"), "/clients?q=acme&sort=status");
        let v = view("-name", Some(100));
        assert_eq!(v.aria_sort("name"), "descending");
        assert_eq!(v.aria_sort("status"), "none");
        assert_eq!(v.sort_href("name"), "/clients?q=acme&sort=name&per_page=100");
        assert_eq!(
            v.next_href(),
            Some("/clients?q=acme&sort=-name&per_page=100&cursor=abc")
        );
    }

    #[test]
    fn only_offered_page_sizes_are_taken() {
        assert_eq!(view("", Some(7)).per_page, 50);
        assert_eq!(view("", Some(200)).per_page, 200);
        assert_eq!(view("", None).total_text(), "2,200 clients");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
