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

    /// Adds `column IN (...)` when the list is not empty.
    pub(crate) fn one_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let placeholders = vec!["?"; values.len()].join(", ");
        let params = values.iter().map(|value| Value::from(value.clone()));
        self.push(&format!("{column} IN ({placeholders})"), params);
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
