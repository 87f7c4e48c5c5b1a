//! Cursor paging. A cursor carries the sort key of the last row served, so the next page is an
//! index range scan from there: deep pages cost what the first page costs, and rows inserted
//! meanwhile never shift a page.

use clientele_domain::{Error, Result};
use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The position after which a page starts: a sort key and the id that breaks ties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        hex::encode(format!("{}:{}", self.id, self.key))
    }

    pub fn decode(raw: Option<&str>) -> Result<Cursor> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(Cursor::default());
        };
        let bad = || Error::invalid("cursor", "is not a cursor this server handed out");
        let text = String::from_utf8(hex::decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
        let (id, key) = text.split_once(':').ok_or_else(bad)?;
        Ok(Cursor {
            key: key.to_string(),
            id: id.parse().map_err(|_| bad())?,
        })
    }

    pub fn as_after(&self) -> (&str, i64) {
        (&self.key, self.id)
    }
}

/// Clamps a requested page size.
pub fn limit(requested: Option<i64>) -> Result<i64> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says whether there is more,
/// and only the last row served needs a cursor.
pub fn page<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| cursor_of(r).encode())
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// [`page`] for rows the store returns with their sort key (`name_key`).
pub fn keyed_page<T>(rows: Vec<(T, String)>, limit: i64, id_of: impl Fn(&T) -> i64) -> Page<T> {
    let page = page(rows, limit, |(row, key)| Cursor {
        key: key.clone(),
        id: id_of(row),
    });
    Page {
        items: page.items.into_iter().map(|(row, _)| row).collect(),
        next_cursor: page.next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            key: "vip: clients".into(),
            id: 42,
        };
        assert_eq!(Cursor::decode(Some(&c.encode())).unwrap(), c);
        assert_eq!(Cursor::decode(None).unwrap(), Cursor::default());
        assert_eq!(Cursor::decode(Some("zz")).unwrap_err().field.as_deref(), Some("cursor"));
    }

    #[test]
    fn a_page_says_whether_more_rows_follow() {
        let rows = |n: i64| (0..n).collect::<Vec<_>>();
        let cursor = |i: &i64| Cursor {
            key: String::new(),
            id: *i,
        };
        assert!(page(rows(3), 3, cursor).next_cursor.is_none());
        let p = page(rows(4), 3, cursor);
        assert_eq!(p.items, vec![0, 1, 2]);
        assert_eq!(Cursor::decode(p.next_cursor.as_deref()).unwrap().id, 2);
        let keyed = keyed_page(vec![(7, "a".to_string()), (8, "b".to_string())], 1, |i| *i);
        assert_eq!(keyed.items, vec![7]);
        assert_eq!(
            Cursor::decode(keyed.next_cursor.as_deref()).unwrap(),
            Cursor { key: "a".into(), id: 7 }
        );
    }
}
