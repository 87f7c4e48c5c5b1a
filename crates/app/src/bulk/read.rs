//! Reading an uploaded CSV file, streaming: UTF-8 checked as it passes (the first bad byte is
//! named by its offset in the file), a byte-order mark skipped, `#` lines before the header skipped
//! (so a guide uploads as it is), `,` or `;` taken from whichever the header line uses more, quoted
//! fields with separators and line breaks, CRLF or LF. Only the first 64 KiB are looked at before
//! parsing starts; after that the file passes through in the csv crate's buffer, so a file of any
//! size is read in constant memory.

use std::io::{self, Cursor, Read};

use clientele_domain::{Error, Result};

/// How much of the start of the file is read to find the header line and its separator.
const PEEK: usize = 64 * 1024;

/// The longest field kept. Every column is far shorter (notes are at most a few thousand
/// characters); a longer field is not stored (a 100 MB field would be kept, twice, until the
/// request's input is purged) but replaced by a marker that refuses its row with the length.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// What an oversized field is stored as: a control character first, so no value read from a file
/// (control characters refuse their row) can be taken for it.
const OVERSIZED: &str = "\u{1}oversized:";

/// The length of the field a stored value stands for, if it was too long to keep.
pub fn oversized(value: &str) -> Option<u64> {
    value.strip_prefix(OVERSIZED)?.parse().ok()
}

/// Remembers where the `"` that pass are, from the start of the record being parsed on: a
/// well-formed record has an even number of them (quoted fields open and close their quotes, and
/// a quote inside one is doubled).
struct QuoteCount<R> {
    inner: R,
    /// Bytes passed so far.
    passed: u64,
    /// Offsets of the quotes at or after the start of the current record.
    quotes: std::collections::VecDeque<u64>,
}

impl<R: Read> Read for QuoteCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for i in memchr::memchr_iter(b'"', &buf[..n]) {
            self.quotes.push_back(self.passed + i as u64);
        }
        self.passed += n as u64;
        Ok(n)
    }
}

impl<R> QuoteCount<R> {
    /// Forgets the quotes before `offset` (where the record just read starts) and says how many
    /// remain: the record's own, and those of the bytes read ahead of it.
    fn quotes_from(&mut self, offset: u64) -> usize {
        while self.quotes.front().is_some_and(|&q| q < offset) {
            self.quotes.pop_front();
        }
        self.quotes.len()
    }
}

/// Passes bytes through, failing at the first byte that is not UTF-8 with its offset in the file.
pub struct Utf8Check<R> {
    inner: R,
    /// Bytes handed to the reader so far.
    passed: u64,
    /// The last bytes of the previous read when they were the start of an incomplete character.
    carry: Vec<u8>,
    check: Vec<u8>,
}

impl<R: Read> Utf8Check<R> {
    pub fn new(inner: R) -> Self {
        Utf8Check {
            inner,
            passed: 0,
            carry: Vec::new(),
            check: Vec::new(),
        }
    }
}

/// The message of a non-UTF-8 file (the web layer and the CLI show it as it is).
fn not_utf8(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "is not UTF-8: byte offset {offset} (counting from 0) starts an invalid sequence; save the file as UTF-8 and upload it again"
        ),
    )
}

impl<R: Read> Read for Utf8Check<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.passed - self.carry.len() as u64;
        if n == 0 {
            if !self.carry.is_empty() {
                return Err(not_utf8(start));
            }
            return Ok(0);
        }
        self.check.clear();
        self.check.extend_from_slice(&self.carry);
        self.check.extend_from_slice(&buf[..n]);
        self.carry.clear();
        if let Err(e) = std::str::from_utf8(&self.check) {
            match e.error_len() {
                Some(_) => return Err(not_utf8(start + e.valid_up_to() as u64)),
                // A character cut by the end of this read: checked with the next one.
                None => self.carry.extend_from_slice(&self.check[e.valid_up_to()..]),
            }
        }
        self.passed += n as u64;
        Ok(n)
    }
}

/// One data row as read: where it starts and its fields.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: i64,
    pub fields: Vec<String>,
}

/// Reads `input` and hands its rows to `sink` in batches of `batch` rows; the first row handed over
/// is the header. Returns the number of data rows.
pub fn read_rows<R: Read>(input: R, batch: usize, mut sink: impl FnMut(Vec<RawRow>) -> Result<()>) -> Result<i64> {
    let mut input = Utf8Check::new(input);
    let mut prefix = Vec::with_capacity(PEEK);
    (&mut input)
        .take(PEEK as u64)
        .read_to_end(&mut prefix)
        .map_err(file_error)?;
    let mut start = 0;
    if prefix.starts_with(b"\xEF\xBB\xBF") {
        start = 3;
    }
    // `#` lines and blank lines before the header: the guide's explanations.
    let mut skipped_lines = 0i64;
    loop {
        let rest = &prefix[start..];
        let end = rest.iter().position(|&b| b == b'\n');
        let line = &rest[..end.unwrap_or(rest.len())];
        let blank = line.iter().all(|b| b.is_ascii_whitespace());
        if (line.first() == Some(&b'#') || blank) && end.is_some() {
            start += end.unwrap_or(0) + 1;
            skipped_lines += 1;
        } else {
            break;
        }
    }
    let rest = &prefix[start..];
    let header_line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    let count = |sep: u8| header_line.iter().filter(|&&b| b == sep).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let body = QuoteCount {
        inner: Cursor::new(prefix[start..].to_vec()).chain(input),
        passed: 0,
        quotes: Default::default(),
    };
    // Records end at `\n` only: with the csv crate's default (CR, LF or CRLF), a record ending in
    // CRLF is reported as starting on the line before, so line numbers drifted. The CR of a CRLF
    // is taken off the last field below.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let mut rows = Vec::with_capacity(batch);
    let mut data_rows = -1i64;
    // Where the last record started (line, byte) and whether one of its fields ran over several
    // lines.
    let mut last = (0i64, 0u64, false);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(e)),
        }
        let line = record.position().map_or(0, |p| p.line() as i64) + skipped_lines;
        let count = record.len();
        let fields = record
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = if i + 1 == count {
                    f.strip_suffix(b"\r").unwrap_or(f)
                } else {
                    f
                };
                if f.len() > MAX_FIELD_BYTES {
                    format!("{OVERSIZED}{}", f.len())
                } else {
                    String::from_utf8_lossy(f).into_owned()
                }
            })
            .collect::<Vec<String>>();
        let byte = record.position().map_or(0, |p| p.byte());
        reader.get_mut().quotes_from(byte);
        last = (line, byte, fields.iter().any(|f| f.contains('\n')));
        if fields.len() == 1 && fields[0].is_empty() {
            // A blank line (CRLF files' blank lines reach here as a lone CR).
            continue;
        }
        rows.push(RawRow { line, fields });
        data_rows += 1;
        if rows.len() >= batch {
            sink(std::mem::take(&mut rows))?;
        }
    }
    if data_rows < 0 {
        return Err(Error::invalid("file", "is empty; the first line must be the header"));
    }
    // A quote opened and never closed makes the parser read the rest of the file as one field:
    // the last record ran over several lines and holds an odd number of quotes.
    if last.2 && reader.get_mut().quotes_from(last.1) % 2 == 1 {
        return Err(Error::invalid(
            "file",
            format!(
                "line {}: a quoted field starts on this line and is never closed, so the rest of the file \
                 would be read as one value; close the quote (or double a quote inside a field: \"\")",
                last.0
            ),
        ));
    }
    if !rows.is_empty() {
        sink(rows)?;
    }
    Ok(data_rows)
}

fn file_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::FileTooLarge {
        return Error::new(clientele_domain::ErrorCode::PayloadTooLarge, e.to_string());
    }
    Error::invalid("file", e.to_string())
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => file_error(io),
        other => Error::invalid("file", format!("cannot be read as CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<RawRow>> {
        let mut all = Vec::new();
        read_rows(bytes, 2, |rows| {
            all.extend(rows);
            Ok(())
        })?;
        Ok(all)
    }

    #[test]
    fn bom_semicolons_crlf_and_quoted_line_breaks() {
        let rows = read(
            "\u{feff}# a guide line\r\nname;notes\r\n\"Smith; Sons\";\"two\r\nlines\"\r\n\r\nBäcker;x\r\n\r\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(rows[0].fields, ["name", "notes"]);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].fields, ["Smith; Sons", "two\r\nlines"]);
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[2].fields, ["Bäcker", "x"]);
        assert_eq!(rows[2].line, 6);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn an_unclosed_quote_is_named_by_its_line_and_a_quote_inside_a_field_is_fine() {
        let e = read(b"name,notes\nAcme,ok\n\"Broken,x\nBeta,y\nGamma,z\n").unwrap_err();
        assert!(e.detail.contains("line 3"), "{}", e.detail);
        let rows = read(b"name,notes\nScreen 5\" wide,ok\n\"Two\nlines\",x\n").unwrap();
        assert_eq!(rows[1].fields, ["Screen 5\" wide", "ok"]);
        assert_eq!(rows[2].fields, ["Two\nlines", "x"]);
    }

    #[test]
    fn an_oversized_field_is_kept_as_its_length() {
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let rows = read(format!("name,notes\n{long},ok\n").as_bytes()).unwrap();
        assert_eq!(oversized(&rows[1].fields[0]), Some(MAX_FIELD_BYTES as u64 + 1));
        assert_eq!(rows[1].fields[1], "ok");
    }

    #[test]
    fn a_non_utf8_byte_is_named_by_its_offset() {
        let e = read(b"name,notes\nok,fine\nM\xfcller,x\n").unwrap_err();
        assert!(e.detail.contains("byte offset 20"), "{}", e.detail);
    }

    #[test]
    fn a_character_cut_between_reads_is_fine() {
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = String::new();
        Utf8Check::new(Slow("Müller €".as_bytes()))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "Müller €");
        let mut bad = String::new();
        let e = Utf8Check::new(Slow(b"ab\xe2\x82"))
            .read_to_string(&mut bad)
            .unwrap_err();
        assert!(e.to_string().contains("byte offset 2"), "{e}");
    }
}
