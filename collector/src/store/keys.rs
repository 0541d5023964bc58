//! API keys: only the SHA-256 hex of each full key text is stored.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{now_text, Store, StoreError};

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Key id (ULID).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Granted scopes, such as `*`, `write` or `read`.
    pub scopes: Vec<String>,
    /// Tenant the key acts for.
    pub tenant_id: String,
    /// Creation time.
    pub created_at: String,
    /// Revocation time; revoked keys authenticate nothing.
    pub revoked_at: Option<String>,
}

impl ApiKeyRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
        let scopes: String = row.get(2)?;
        Ok(ApiKeyRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            scopes: serde_json::from_str(&scopes).map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    error.into(),
                )
            })?,
            tenant_id: row.get(3)?,
            created_at: row.get(4)?,
            revoked_at: row.get(5)?,
        })
    }
}

/// Outcome of a revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The key was active and is now revoked.
    Revoked,
    /// The key was revoked before.
    AlreadyRevoked,
    /// No key of the tenant has that id.
    NotFound,
}

const COLUMNS: &str = "id, name, scopes, tenant_id, created_at, revoked_at";

impl Store {
    /// Stores a key by its hash and returns the record.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the insert fails, for example for a hash already stored.
    pub async fn insert_api_key(
        &self,
        key_hash: String,
        name: String,
        scopes: Vec<String>,
        tenant: &str,
    ) -> Result<ApiKeyRecord, StoreError> {
        let tenant = tenant.to_owned();
        self.write(move |context| {
            let record = ApiKeyRecord {
                id: context.next_id(),
                name,
                scopes,
                tenant_id: tenant,
                created_at: now_text(),
                revoked_at: None,
            };
            let scopes = serde_json::to_string(&record.scopes).unwrap_or_else(|_| "[]".to_owned());
            context.conn.execute(
                &format!("INSERT INTO api_keys (key_hash, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"),
                params![key_hash, record.id, record.name, scopes, record.tenant_id, record.created_at],
            )?;
            Ok(record)
        })
        .await
    }

    /// Returns the active key with this hash, if any.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn active_api_key(
        &self,
        key_hash: String,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL"
            );
            Ok(conn
                .query_row(&sql, [key_hash], ApiKeyRecord::from_row)
                .optional()?)
        })
        .await
    }

    /// Returns true when a key with this hash is stored, revoked or not.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn api_key_exists(&self, key_hash: String) -> Result<bool, StoreError> {
        self.read(move |conn| {
            let sql = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE key_hash = ?1)";
            Ok(conn.query_row(sql, [key_hash], |row| row.get(0))?)
        })
        .await
    }

    /// Counts the keys that are not revoked, over all tenants.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn count_active_api_keys(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            let sql = "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL";
            Ok(conn.query_row(sql, [], |row| row.get(0))?)
        })
        .await
    }

    /// Lists a tenant's keys, oldest first.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn list_api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let tenant = tenant.to_owned();
        self.read(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY id");
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map([tenant], ApiKeyRecord::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Revokes a tenant's key.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the update fails.
    pub async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<Revocation, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |context| {
            let conn = &context.conn;
            let revoked_at: Option<Option<String>> = conn
                .query_row(
                    "SELECT revoked_at FROM api_keys WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant, id],
                    |row| row.get(0),
                )
                .optional()?;
            match revoked_at {
                None => Ok(Revocation::NotFound),
                Some(Some(_)) => Ok(Revocation::AlreadyRevoked),
                Some(None) => {
                    conn.execute(
                        "UPDATE api_keys SET revoked_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
                        params![now_text(), tenant, id],
                    )?;
                    Ok(Revocation::Revoked)
                }
            }
        })
        .await
    }
}
