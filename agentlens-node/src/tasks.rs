//! `flush` and `close` as libuv async tasks, so their blocking waits never run on the
//! JavaScript thread.

use std::sync::Arc;
use std::time::Duration;

use agentlens_core::client::Client;
use napi::bindgen_prelude::*;

/// What a task asks of the core client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// `Client::flush`.
    Flush,
    /// `Client::shutdown`.
    Shutdown,
}

/// Runs a flush or a shutdown on a libuv worker thread and resolves to the number of
/// events still pending.
#[derive(Debug)]
pub struct WaitTask {
    pub(crate) client: Arc<Client>,
    pub(crate) wait: Wait,
    pub(crate) timeout: Duration,
}

impl Task for WaitTask {
    type Output = usize;
    type JsValue = u32;

    fn compute(&mut self) -> Result<usize> {
        Ok(match self.wait {
            Wait::Flush => self.client.flush(self.timeout),
            Wait::Shutdown => self.client.shutdown(self.timeout),
        })
    }

    fn resolve(&mut self, env: Env, pending: usize) -> Result<u32> {
        crate::exit::warn_about_losses(&env, &self.client);
        Ok(u32::try_from(pending).unwrap_or(u32::MAX))
    }
}
