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

/// Writes a line to stdout for a reader who needs it once, such as the API key that
/// `agentlens serve` creates, and flushes it.
///
/// Unlike [`print_stdout`], a closed pipe is an error here, because the line is lost.
///
/// # Errors
///
/// Returns the I/O error when stdout cannot be written, and an error of kind
/// [`ErrorKind::NotConnected`] when stdout is `/dev/null`. The Rust runtime puts
/// `/dev/null` there when the process starts with stdout closed (`>&-`).
pub fn print_line_once(text: &str) -> std::io::Result<()> {
    if stdout_is_null() {
        return Err(std::io::Error::new(
            ErrorKind::NotConnected,
            "stdout is closed or /dev/null",
        ));
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").and_then(|()| stdout.flush())
}

/// Returns true when stdout is the `/dev/null` device.
#[cfg(unix)]
fn stdout_is_null() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    let Ok(null) = std::fs::metadata("/dev/null") else {
        return false;
    };
    let Ok(stdout) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(stdout).metadata() {
        Ok(stdout) => stdout.file_type() == null.file_type() && stdout.rdev() == null.rdev(),
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn stdout_is_null() -> bool {
    false
}
