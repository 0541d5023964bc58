//! A small builder for `WHERE` clauses with bound parameters.

use rusqlite::types::Value;

/// Conditions joined with `AND`, and the parameters they bind, in order.
#[derive(Debug, Default)]
pub(crate) struct SqlFilter {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl SqlFilter {
    /// Creates a filter that starts with `tenant_id = tenant`.
    pub(crate) fn for_tenant(tenant: &str) -> SqlFilter {
        let mut filter = SqlFilter::default();
        filter.push("tenant_id = ?", [Value::Text(tenant.to_owned())]);
        filter
    }

    /// Adds a condition whose `?` placeholders take `params`.
    pub(crate) fn push(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.to_owned());
        self.params.extend(params);
    }

    /// Adds `column = value` when a value is given.
    pub(crate) fn eq(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(&format!("{column} = ?"), [Value::Text(value.to_owned())]);
        }
    }

    /// Adds `column >= value` when a value is given.
    pub(crate) fn at_least(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(&format!("{column} >= ?"), [Value::Text(value.to_owned())]);
        }
    }

    /// Adds `column <= value` when a value is given.
    pub(crate) fn at_most(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(&format!("{column} <= ?"), [Value::Text(value.to_owned())]);
        }
    }

    /// Adds `column LIKE '%term%'` when a term is given, with `%`, `_` and `\\` in the term
    /// matched literally. SQLite's `LIKE` ignores case for ASCII letters only.
    pub(crate) fn contains(&mut self, column: &str, term: Option<&str>) {
        let Some(term) = term else {
            return;
        };
        let mut pattern = String::with_capacity(term.len() + 2);
        pattern.push('%');
        for character in term.chars() {
            if matches!(character, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(character);
        }
        pattern.push('%');
        self.push(
            &format!("{column} LIKE ? ESCAPE '\\'"),
            [Value::Text(pattern)],
        );
    }

    /// Adds `column IN (...)` when the list is not empty.
    pub(crate) fn one_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let placeholders = vec!["?"; values.len()].join(", ");
        let params = values.iter().map(|value| Value::from(value.clone()));
        self.push(&format!("{column} IN ({placeholders})"), params);
    }

    /// Returns the conditions, each preceded by ` AND `, or nothing when there are none.
    pub(crate) fn and_sql(&self) -> String {
        self.clauses
            .iter()
            .map(|clause| format!(" AND {clause}"))
            .collect()
    }

    /// Returns true when the filter has no condition.
    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Appends the conditions and parameters of `other`.
    pub(crate) fn extend(&mut self, other: &SqlFilter) {
        self.clauses.extend(other.clauses.iter().cloned());
        self.params.extend(other.params.iter().cloned());
    }

    /// Returns the `WHERE ...` text.
    pub(crate) fn where_sql(&self) -> String {
        format!("WHERE {}", self.clauses.join(" AND "))
    }

    /// Returns the bound parameters followed by `extra`.
    pub(crate) fn params_with(&self, extra: &[i64]) -> Vec<Value> {
        let mut params = self.params.clone();
        params.extend(extra.iter().map(|value| Value::Integer(*value)));
        params
    }

    /// Returns the bound parameters.
    pub(crate) fn params(&self) -> &[Value] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_escapes_like_wildcards() {
        let mut filter = SqlFilter::default();
        filter.contains("payload", Some(r"50%_off\x"));
        assert_eq!(filter.where_sql(), r"WHERE payload LIKE ? ESCAPE '\'");
        assert_eq!(filter.params(), [Value::Text(r"%50\%\_off\\x%".to_owned())]);
    }

    #[test]
    fn contains_without_term_adds_nothing() {
        let mut filter = SqlFilter::for_tenant("t");
        filter.contains("payload", None);
        assert_eq!(filter.where_sql(), "WHERE tenant_id = ?");
    }
}
