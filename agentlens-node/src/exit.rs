//! The `beforeExit` flush and the once-per-kind warnings about lost events.
//!
//! Node emits `beforeExit` when its event loop has nothing left to do. The first client
//! created registers one listener, which flushes every live client that still has events
//! pending on a libuv worker thread; that task keeps the process alive until it finishes.
//! Each client is flushed at most [`MAX_EXIT_FLUSHES`] times this way, so a collector
//! that never answers cannot keep the process alive forever.
//!
//! NOTE: `process.exit()` and fatal signals skip `beforeExit`, so events queued just
//! before them are lost unless the program awaits `client.close()` first.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use agentlens_core::client::Client;
use napi::bindgen_prelude::*;

use crate::tasks::{Wait, WaitTask};

/// Arguments of `process.on(event, listener)`.
type OnArgs<'env> = FnArgs<(String, Function<'env, (), ()>)>;

/// Deadline of one flush started by `beforeExit`.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Flushes per client that `beforeExit` may start.
const MAX_EXIT_FLUSHES: u32 = 2;

/// A live client and how often `beforeExit` flushed it.
struct Registered {
    client: Weak<Client>,
    exit_flushes: AtomicU32,
}

static CLIENTS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
static LISTENER_ADDED: AtomicBool = AtomicBool::new(false);

/// Registers a client for the `beforeExit` flush, adding the listener on first use.
///
/// NOTE: the listener is added to the first JavaScript environment that creates a client.
/// Clients created in worker threads are flushed by that listener only while the main
/// thread is still running.
pub(crate) fn register(env: &Env, client: &Arc<Client>) -> Result<()> {
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    clients.retain(|entry| entry.client.strong_count() > 0);
    clients.push(Registered {
        client: Arc::downgrade(client),
        exit_flushes: AtomicU32::new(0),
    });
    drop(clients);

    if LISTENER_ADDED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let listener = env.create_function_from_closure("agentlensBeforeExit", |context| {
        flush_pending(context.env)
    })?;
    let process: Object = env.get_global()?.get_named_property("process")?;
    let on: Function<OnArgs, Unknown> = process.get_named_property("on")?;
    on.apply(process, FnArgs::from(("beforeExit".to_owned(), listener)))?;
    Ok(())
}

/// Starts a flush task for every live client with pending events.
fn flush_pending(env: &Env) -> Result<()> {
    let clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    for entry in clients.iter() {
        let Some(client) = entry.client.upgrade() else {
            continue;
        };
        if client.pending() == 0 {
            continue;
        }
        if entry.exit_flushes.fetch_add(1, Ordering::SeqCst) >= MAX_EXIT_FLUSHES {
            continue;
        }
        env.spawn(WaitTask {
            client,
            wait: Wait::Flush,
            timeout: EXIT_FLUSH_TIMEOUT,
        })?;
    }
    Ok(())
}

/// Kinds of loss already reported through `console.warn`, one flag per kind.
#[derive(Debug, Default)]
pub(crate) struct Warned {
    failed: AtomicBool,
    dropped: AtomicBool,
}

static WARNED: Warned = Warned {
    failed: AtomicBool::new(false),
    dropped: AtomicBool::new(false),
};

/// Writes one `console.warn` line per kind of loss (failed sends, dropped events) the
/// first time it is seen. Warnings are best effort: an error while writing is ignored,
/// because a lost warning must not turn into an exception in the host program.
pub(crate) fn warn_about_losses(env: &Env, client: &Client) {
    let failed = client.failed();
    if failed > 0 && !WARNED.failed.swap(true, Ordering::Relaxed) {
        let reason = client.last_failure().unwrap_or_default();
        let message = format!(
            "agentlens: {failed} event(s) could not be sent to the collector and were \
             discarded ({reason}); check the server URL and API key (client.stats() counts \
             further failures without warning again)"
        );
        let _ = console_warn(env, &message);
    }
    let dropped = client.dropped();
    if dropped > 0 && !WARNED.dropped.swap(true, Ordering::Relaxed) {
        let message = format!(
            "agentlens: {dropped} event(s) were dropped because the client queue was full \
             or closed (client.stats() counts further drops without warning again)"
        );
        let _ = console_warn(env, &message);
    }
}

fn console_warn(env: &Env, message: &str) -> Result<()> {
    let console: Object = env.get_global()?.get_named_property("console")?;
    let warn: Function<String, Unknown> = console.get_named_property("warn")?;
    warn.apply(console, message.to_owned())?;
    Ok(())
}
