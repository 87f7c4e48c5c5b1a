//! A small builder for statements whose filters depend on the request. The text only ever gets
//! fixed fragments from our code; every value goes in as a bound parameter (`$n`, which both
//! backends accept).

use crate::Backend;

/// A value to bind.
#[derive(Debug, Clone)]
pub enum Param {
    I64(i64),
    /// For `INTEGER` columns: PostgreSQL refuses an 8-byte value for a 4-byte parameter.
    I32(i32),
    Text(String),
    Bool(bool),
    OptI64(Option<i64>),
    OptText(Option<String>),
    /// Fixed text from our code (an outcome, an action): bound without an allocation.
    Static(&'static str),
}

#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    params: Vec<Param>,
    /// Plain `?` placeholders (SQLite only), bound in the order they appear.
    positional: bool,
}

impl Sql {
    pub fn new(text: &'static str) -> Sql {
        Sql {
            text: text.to_string(),
            params: Vec::new(),
            positional: false,
        }
    }

    /// A statement with many parameters (bulk writes, long `IN` lists). On SQLite its
    /// placeholders are plain `?`: SQLite looks every `$n` (and `?n`) up by name in a list while
    /// parsing, and sqlx asks each one's name back while binding, both linear, so a statement with
    /// thousands of named parameters costs quadratic time; anonymous ones cost nothing. Every
    /// value is bound once, in order, so the meaning is the same as `$n`. Fixed fragments must then
    /// hold no placeholder of their own.
    pub fn for_backend(backend: Backend, text: &'static str) -> Sql {
        Sql {
            positional: backend == Backend::Sqlite,
            ..Sql::new(text)
        }
    }

    /// Parameters bound so far.
    pub fn params(&self) -> usize {
        self.params.len()
    }

    /// Appends a fixed fragment.
    pub fn push(&mut self, fragment: &'static str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        self.params.push(value.into());
        if self.positional {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.params.len().to_string());
        }
        self
    }

    /// Appends `(p1, p2, ...)` with a placeholder for each value (callers never pass none:
    /// `IN ()` is not valid SQL).
    pub fn bind_list<V: Into<Param>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    pub fn into_parts(self) -> (sqlx::AssertSqlSafe<String>, Vec<Param>) {
        // Safe: `text` is built only from `&'static str` fragments and numbered placeholders.
        (sqlx::AssertSqlSafe(self.text), self.params)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::I64(v)
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_string())
    }
}
impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Param::OptI64(v)
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::OptText(v)
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}

/// Binds every parameter of a built statement onto a `query`/`query_as`/`query_scalar`.
#[macro_export]
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                $crate::sql::Param::I64(v) => q.bind(v),
                $crate::sql::Param::I32(v) => q.bind(v),
                $crate::sql::Param::Text(v) => q.bind(v),
                $crate::sql::Param::Bool(v) => q.bind(v),
                $crate::sql::Param::OptI64(v) => q.bind(v),
                $crate::sql::Param::OptText(v) => q.bind(v),
                $crate::sql::Param::Static(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern and wraps it for a substring match.
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}
