//! `agentlens keys create|list|revoke`: API key management on the database file, without
//! a running server.
//!
//! The commands open the same SQLite file as `agentlens serve`, so they also work while
//! the server runs: SQLite serialises the writes. They never create the file or write the
//! schema into a file without it: a key written to a new database elsewhere would be
//! rejected by the running server. A new key takes effect at once, because the server
//! looks keys up on every request.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::auth::{generate_key, hash_key};
use crate::db_lock::{DatabaseLock, DatabaseLockError};
use crate::handlers::keys::{check_key_fields, distinct_scopes, is_invalid_in_name};
use crate::store::keys::{ApiKeyRecord, Revocation};
use crate::store::{Store, StoreError, DEFAULT_TENANT};

/// Subcommands of `agentlens keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Creates a key and prints it once, because only its hash is stored.
    Create(CreateArgs),
    /// Lists the keys of a tenant: id, name, scopes, creation and revocation times.
    List(ListArgs),
    /// Revokes a key by id, so requests with it get 401 from then on.
    Revoke(RevokeArgs),
}

/// Options shared by every `keys` subcommand.
#[derive(Debug, Args)]
pub struct KeyStoreArgs {
    /// SQLite database file of the collector (the `--db` of `agentlens serve`); it must
    /// exist already.
    #[arg(long, env = "AGENTLENS_DB", default_value = "./agentlens.db")]
    pub db: PathBuf,
    /// Tenant whose keys to manage.
    #[arg(
        long,
        default_value = DEFAULT_TENANT,
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    pub tenant: String,
}

/// Options of `agentlens keys create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Database and tenant.
    #[command(flatten)]
    pub store: KeyStoreArgs,
    /// Name shown in listings, 1 to 255 characters.
    #[arg(long, default_value = "Unnamed Key")]
    pub name: String,
    /// Comma-separated scopes: `*` or `manage` (admin: also API keys), `write` (ingest,
    /// alert rules and read, as upstream), `audit` (audit and read) or `read` (read only).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub scopes: Vec<String>,
}

/// Options of `agentlens keys list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Database and tenant.
    #[command(flatten)]
    pub store: KeyStoreArgs,
}

/// Options of `agentlens keys revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Database and tenant.
    #[command(flatten)]
    pub store: KeyStoreArgs,
    /// Id of the key, as printed by `agentlens keys list`.
    pub id: String,
}

/// Errors of `agentlens keys`.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The database could not be opened or written.
    #[error("cannot use the database: {0}")]
    Store(#[from] StoreError),
    /// The file needs a schema upgrade while an `agentlens serve` runs on it.
    #[error(
        "database {} needs a schema upgrade, and an agentlens serve is running on it ({}); \
         stop that server, start this version's `agentlens serve` on the file, which \
         upgrades it, then run this command again",
        .database.display(),
        .holder.as_deref().unwrap_or("holder unknown")
    )]
    UpgradeWhileServed {
        /// Database file.
        database: PathBuf,
        /// Process id and listen address of the server, as it recorded them.
        holder: Option<String>,
    },
    /// The lock file next to the database could not be used.
    #[error(transparent)]
    Lock(DatabaseLockError),
    /// The database file does not exist.
    #[error(
        "database {} not found; pass --db with the database file of the running \
         collector (the --db of `agentlens serve`)",
        .0.display()
    )]
    MissingDatabase(PathBuf),
    /// The `--db` path is a directory.
    #[error(
        "--db {} is a directory; pass the database file of the running collector (the --db \
         of `agentlens serve`), such as {}",
        .0.display(),
        .0.join("agentlens.db").display()
    )]
    DatabaseIsDirectory(PathBuf),
    /// The file exists but has no collector schema, such as an empty file or another
    /// program's database.
    #[error(
        "{} is not a collector database ({reason}); pass --db with the database file of the \
         running collector (the --db of `agentlens serve`)",
        path.display()
    )]
    NotCollectorDatabase {
        /// Path of the file.
        path: PathBuf,
        /// The missing table, or the SQLite error that opening or reading the file returned.
        reason: String,
    },
    /// The name or scopes are outside the accepted bounds.
    #[error("invalid {field}: {message}")]
    InvalidField {
        /// `name` or `scopes`.
        field: String,
        /// Description of the violated bound.
        message: String,
    },
    /// No key of the tenant has the id.
    #[error("no key with id {id} in tenant {tenant}; run `agentlens keys list` to see the ids")]
    NotFound {
        /// Requested id.
        id: String,
        /// Tenant searched.
        tenant: String,
    },
    /// The key was revoked before.
    #[error("key {0} is already revoked")]
    AlreadyRevoked(String),
}

impl KeysCommand {
    /// Runs the subcommand and returns the text to print on stdout.
    ///
    /// # Errors
    ///
    /// Returns [`KeysError`] when the database fails, a field is invalid, or the key to
    /// revoke does not exist or is already revoked.
    pub async fn run(self) -> Result<String, KeysError> {
        match self {
            KeysCommand::Create(args) => create(args).await,
            KeysCommand::List(args) => list(args).await,
            KeysCommand::Revoke(args) => revoke(args).await,
        }
    }
}

async fn create(mut args: CreateArgs) -> Result<String, KeysError> {
    // `--scopes 'read, write'` and `--scopes read,read` mean `read,write` and `read`.
    args.scopes = distinct_scopes(args.scopes.iter().map(|s| s.trim().to_owned()).collect());
    check_key_fields(&args.name, &args.scopes).map_err(|issue| KeysError::InvalidField {
        field: issue.path,
        message: issue.message,
    })?;

    let store = open_existing(&args.store.db)?;
    let key = generate_key();
    let record = store
        .insert_api_key(hash_key(&key), args.name, args.scopes, &args.store.tenant)
        .await?;
    tracing::info!(api_key.id = %record.id, "api key created");
    let mut text = format!("{key}\n");
    let _ = writeln!(text, "id: {}", record.id);
    let _ = writeln!(text, "name: {}", record.name);
    let _ = writeln!(text, "scopes: {}", record.scopes.join(","));
    let _ = writeln!(text, "tenant: {}", record.tenant_id);
    text.push_str("Store the key now: it is not shown again.\n");
    Ok(text)
}

async fn list(args: ListArgs) -> Result<String, KeysError> {
    let store = open_existing(&args.store.db)?;
    let keys = store.list_api_keys(&args.store.tenant).await?;
    if keys.is_empty() {
        return Ok(format!(
            "no API keys in tenant {}; create one with `agentlens keys create`\n",
            args.store.tenant
        ));
    }
    Ok(key_table(&keys))
}

async fn revoke(args: RevokeArgs) -> Result<String, KeysError> {
    let store = open_existing(&args.store.db)?;
    let tenant = args.store.tenant;
    match store.revoke_api_key(&tenant, &args.id).await? {
        Revocation::Revoked => {
            tracing::info!(api_key.id = %args.id, "api key revoked");
            Ok(format!("revoked key {}\n", args.id))
        }
        Revocation::AlreadyRevoked => Err(KeysError::AlreadyRevoked(args.id)),
        Revocation::NotFound => Err(KeysError::NotFound {
            id: args.id,
            tenant,
        }),
    }
}

/// Opens the collector's database, which must exist and have the collector's schema, and
/// applies pending migrations.
fn open_existing(path: &Path) -> Result<Store, KeysError> {
    if path.is_dir() {
        return Err(KeysError::DatabaseIsDirectory(path.to_owned()));
    }
    if !path.is_file() {
        return Err(KeysError::MissingDatabase(path.to_owned()));
    }
    check_collector_schema(path)?;
    if !Store::needs_migration(path)? {
        return Ok(Store::open(path)?);
    }
    // An upgrade under a running collector of an older version would leave that collector
    // writing rows the way the old schema expects, so the command stops while one runs.
    let _lock = DatabaseLock::acquire(path, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).map_err(
        |error| match error {
            DatabaseLockError::Held {
                database, holder, ..
            } => KeysError::UpgradeWhileServed { database, holder },
            other => KeysError::Lock(other),
        },
    )?;
    Ok(Store::open(path)?)
}

/// Checks that `path` is a collector database with the `api_keys` table, so that no
/// command writes the schema into an empty file or another program's database.
fn check_collector_schema(path: &Path) -> Result<(), KeysError> {
    match Store::schema_problem(path, "api_keys") {
        None => Ok(()),
        Some(reason) => Err(KeysError::NotCollectorDatabase {
            path: path.to_owned(),
            reason,
        }),
    }
}

/// Returns a key name with the characters that [`check_key_fields`] rejects written as
/// escapes, such as `\t`, so that a key stored before the check keeps the table's rows
/// and columns.
fn printable_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if is_invalid_in_name(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Formats keys as a tab-separated table with a header. A `-` in REVOKED marks an active
/// key.
fn key_table(keys: &[ApiKeyRecord]) -> String {
    let mut table = String::from("ID\tNAME\tSCOPES\tCREATED\tREVOKED\n");
    for key in keys {
        let _ = writeln!(
            table,
            "{}\t{}\t{}\t{}\t{}",
            key.id,
            printable_name(&key.name),
            key.scopes.join(","),
            key.created_at,
            key.revoked_at.as_deref().unwrap_or("-")
        );
    }
    table
}
