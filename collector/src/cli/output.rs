//! Command output on stdout that ends quietly when the reader goes away.
//!
//! `print!` panics when stdout is a pipe whose reader has exited, as in
//! `agentlens prices list | head -1`. The reader needs no more output, so these commands
//! stop writing and exit as if they had printed everything.

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout and flushes it. A closed pipe counts as success.
///
/// # Errors
///
/// Returns the I/O error when stdout cannot be written for another reason, such as a full
/// disk.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
