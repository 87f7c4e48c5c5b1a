//! Spreadsheet-safe CSV cells. Excel and LibreOffice run a cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return as a formula (CSV injection), so a client named
//! `=HYPERLINK(...)` would run in whoever opens an export. Every CSV this service writes puts a `'`
//! in front of such a value (spreadsheets show the text and hide the quote), and the importer takes
//! exactly that `'` off again, so an export uploads back unchanged. A value that already starts
//! with quotes and then a trigger gets one more, so the round trip is exact for every value.

use std::borrow::Cow;

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(value: &str) -> bool {
    value.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The value as a cell to write.
pub fn to_cell(value: &str) -> Cow<'_, str> {
    if needs_quote(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value of a cell read back: [`to_cell`] undone.
pub fn from_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(cell) => rest,
        _ => cell,
    }
}

/// Writes a record of cells made safe (without allocating for the usual value that needs nothing).
pub fn write_record<W, I, T>(w: &mut csv::Writer<W>, values: I) -> csv::Result<()>
where
    W: std::io::Write,
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    for value in values {
        w.write_field(to_cell(value.as_ref()).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_come_back_unchanged() {
        for value in [
            "=HYPERLINK(\"http://x\")",
            "+44 20 7946 0000",
            "-1",
            "@SUM(A1)",
            "\tTab",
            "\rReturn",
            "'=already quoted",
            "''+twice",
            "'plain quote",
            "'",
            "",
            "Bakery - North",
            "O'Brien",
        ] {
            let cell = to_cell(value);
            assert!(!cell.starts_with(TRIGGERS), "{value:?} -> {cell:?}");
            assert_eq!(from_cell(&cell), value, "{value:?} -> {cell:?}");
        }
        assert_eq!(to_cell("=1+1"), "'=1+1");
        assert_eq!(to_cell("Acme"), "Acme");
    }
}
