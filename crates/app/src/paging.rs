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
    /// Pass as `cursor` to get the page before this one; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
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

    /// A cursor to the page that ends just before this position (a "previous" link).
    pub fn encode_backward(&self) -> String {
        hex::encode(format!("<{}:{}", self.id, self.key))
    }
}

/// Where a page starts: after a cursor, or, for a "previous" link, just before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// `None`: the first page.
    pub cursor: Option<Cursor>,
    /// Read the rows before `cursor`, nearest first; the page shows them in the list's order.
    pub backward: bool,
}

impl Position {
    pub fn decode(raw: Option<&str>) -> Result<Position> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(Position::default());
        };
        let bad = || Error::invalid("cursor", "is not a cursor this server handed out");
        let text = String::from_utf8(hex::decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
        let (backward, text) = match text.strip_prefix('<') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let cursor = Cursor::decode(Some(&hex::encode(text)))?;
        Ok(Position {
            cursor: Some(cursor),
            backward,
        })
    }

    /// The key to read from (`("", 0)`: from the start).
    pub fn after(&self) -> (&str, i64) {
        self.cursor.as_ref().map_or(("", 0), Cursor::as_after)
    }
}

/// The next and previous cursors of a page the access index served: its rows' keys in the
/// list's order, and whether it read one row past the page in `position`'s direction.
pub fn index_cursors(keys: &[(String, i64)], more: bool, position: &Position) -> (Option<String>, Option<String>) {
    let (more_after, more_before) = if position.backward {
        (true, more)
    } else {
        (more, position.cursor.is_some())
    };
    let cursor_at = |(key, id): &(String, i64)| Cursor {
        key: key.clone(),
        id: *id,
    };
    (
        keys.last().filter(|_| more_after).map(|k| cursor_at(k).encode()),
        keys.first()
            .filter(|_| more_before)
            .map(|k| cursor_at(k).encode_backward()),
    )
}

/// Builds a page from up to `limit + 1` rows read from `position` in its direction (a backward
/// read arrives nearest first, so it is turned round): the extra row says whether there is more
/// that way, and the cursors lead on from the first and the last row.
pub fn directed_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    position: &Position,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if position.backward {
        rows.reverse();
    }
    let (more_after, more_before) = if position.backward {
        (true, more)
    } else {
        (more, position.cursor.is_some())
    };
    let next_cursor = rows.last().filter(|_| more_after).map(|r| cursor_of(r).encode());
    let prev_cursor = rows
        .first()
        .filter(|_| more_before)
        .map(|r| cursor_of(r).encode_backward());
    Page {
        items: rows,
        next_cursor,
        prev_cursor,
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
        prev_cursor: None,
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
        prev_cursor: page.prev_cursor,
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
    fn directed_pages_lead_both_ways() -> Result<()> {
        let cursor = |i: &i64| Cursor {
            key: format!("k{i}"),
            id: *i,
        };
        // The first page of 1..=10 by 3: a next link, no previous one.
        let first = directed_page(vec![1, 2, 3, 4], 3, &Position::default(), cursor);
        assert_eq!(first.items, vec![1, 2, 3]);
        assert!(first.prev_cursor.is_none());
        let next = Position::decode(first.next_cursor.as_deref())?;
        assert_eq!(next.after(), ("k3", 3));
        assert!(!next.backward);
        // The page after it has a previous link that reads backwards from its first row.
        let second = directed_page(vec![4, 5, 6, 7], 3, &next, cursor);
        let back = Position::decode(second.prev_cursor.as_deref())?;
        assert!(back.backward);
        assert_eq!(back.after(), ("k4", 4));
        // Read backwards, rows arrive nearest first and are turned round; without a fourth
        // row there is nothing before, so no previous link; a next link always.
        let again = directed_page(vec![3, 2, 1], 3, &back, cursor);
        assert_eq!(again.items, vec![1, 2, 3]);
        assert!(again.prev_cursor.is_none());
        assert_eq!(Position::decode(again.next_cursor.as_deref())?.after(), ("k3", 3));
        assert_eq!(
            Position::decode(Some("zz")).unwrap_err().field.as_deref(),
            Some("cursor")
        );
        Ok(())
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
