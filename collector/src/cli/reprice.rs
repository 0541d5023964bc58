//! `agentlens prices reprice`: prices the stored unpriced cost events with the current
//! price table, the embedded table with the `--prices` overrides applied as `agentlens
//! serve` applies them.
//!
//! The command takes the lock that `agentlens serve` holds on the database file, so it
//! fails while a server runs on the file. Stop the server, reprice, and start it again with
//! the same `--prices`, so that new events are priced with the table that priced the stored
//! ones.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

use super::prices::{PriceFileArgs, PricesError};
use crate::db_lock::DatabaseLock;
use crate::pricing::load_prices;
use crate::store::reprice::RepriceOutcome;
use crate::store::Store;

/// Options of `agentlens prices reprice`.
#[derive(Debug, Args)]
pub struct RepriceArgs {
    /// SQLite database file of the collector (the `--db` of `agentlens serve`); it must
    /// exist already, and no server may be running on it.
    #[arg(long, env = "AGENTLENS_DB", default_value = "./agentlens.db")]
    pub db: PathBuf,
    /// Price overrides.
    #[command(flatten)]
    pub prices: PriceFileArgs,
}

/// Reprices the stored unpriced events of `args.db` and returns the summary to print.
///
/// # Errors
///
/// Returns [`PricesError::MissingDatabase`] when the file does not exist,
/// [`PricesError::DatabaseIsDirectory`] when `--db` names a directory,
/// [`PricesError::NotCollectorDatabase`] when it has no collector schema (an empty file or
/// another program's database), which leaves the file unchanged, [`PricesError::Locked`] while a server has locked it, [`PricesError::Overrides`] for an
/// invalid overrides file, and [`PricesError::Store`] when the database cannot be opened
/// or written.
pub async fn run(args: RepriceArgs) -> Result<String, PricesError> {
    if args.db.is_dir() {
        return Err(PricesError::DatabaseIsDirectory(args.db));
    }
    if !args.db.is_file() {
        return Err(PricesError::MissingDatabase(args.db));
    }
    // `Store::open` would write the schema into an empty file, so check before it.
    if let Some(reason) = Store::schema_problem(&args.db, "events") {
        return Err(PricesError::NotCollectorDatabase {
            path: args.db,
            reason,
        });
    }
    let table = load_prices(args.prices.file.as_deref())?;
    // This command listens on no address, so the lock file records the unspecified one.
    let _lock = DatabaseLock::acquire(&args.db, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;

    let store = Store::open(&args.db)?;
    let version = table.version().to_owned();
    let outcome = store.reprice_unpriced(table).await?;
    Ok(summary(&outcome, &version))
}

/// Formats the counts of an outcome, one reason per line.
fn summary(outcome: &RepriceOutcome, version: &str) -> String {
    let still_unpriced: u64 = outcome.unpriced.values().sum();
    let mut text = format!(
        "priced {} events with price table {version}\n\
         {} llm_response events took the cost of a cost_tracked they supersede\n\
         {still_unpriced} events stay unpriced\n",
        outcome.priced, outcome.filled
    );
    for (reason, count) in &outcome.unpriced {
        let _ = writeln!(text, "  {count}\t{reason}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_each_reason() {
        let outcome = RepriceOutcome {
            priced: 3,
            filled: 1,
            unpriced: [("no price for model x".to_owned(), 2)].into(),
        };
        let text = summary(&outcome, "pv_1");
        assert!(
            text.starts_with("priced 3 events with price table pv_1\n"),
            "{text}"
        );
        assert!(text.contains("1 llm_response events took"), "{text}");
        assert!(text.contains("2 events stay unpriced\n"), "{text}");
        assert!(text.ends_with("  2\tno price for model x\n"), "{text}");
    }
}
