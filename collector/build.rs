//! Records the git commit that the collector is built from.
//!
//! Sets `AGENTLENS_GIT_COMMIT` to the short hash of `HEAD` and `AGENTLENS_VERSION_TEXT` to
//! the version that `agentlens --version` prints, such as `0.1.0 (abc1234)`. A build from
//! a checkout whose tracked Rust sources differ from `HEAD` gets `-dirty` after the hash,
//! so two builds of one commit with different code differ in their version text. In a build outside
//! a git checkout, such as one from crates.io, or without a working `git`, the script
//! leaves out the commit instead of failing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = git_commit();

    let text = match &commit {
        Some(commit) => {
            println!("cargo:rustc-env=AGENTLENS_GIT_COMMIT={commit}");
            format!("{version} ({commit})")
        }
        None => version,
    };
    println!("cargo:rustc-env=AGENTLENS_VERSION_TEXT={text}");
}

/// Returns the short hash of `HEAD`, and prints the `rerun-if-changed` lines that make
/// Cargo run this script again when `HEAD` moves. Returns `None` when the workspace root
/// has no `.git` or `git` fails.
fn git_commit() -> Option<String> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);

    // Only the workspace's own checkout counts. A package unpacked from crates.io has no
    // `.git` beside it, and a repository further up (a home directory kept in git, say)
    // would name a commit of some other project.
    let root = manifest_dir.parent()?;
    let dot_git = root.join(".git");
    if !dot_git.exists() {
        return None;
    }

    watch_head(root);
    let commit = git(root, &["rev-parse", "--short", "HEAD"])?;
    let is_hash = !commit.is_empty() && commit.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !is_hash {
        return None;
    }
    Some(if sources_changed(root) {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// Returns true when a tracked file under the crates' sources differs from `HEAD`, and
/// prints the `rerun-if-changed` lines that run this script again when one changes.
fn sources_changed(root: &Path) -> bool {
    let sources = [
        "agentlens-core/src",
        "collector/src",
        "Cargo.toml",
        "Cargo.lock",
    ];
    for source in sources {
        let path = root.join(source);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let mut args = vec!["diff", "--quiet", "HEAD", "--"];
    args.extend(sources);
    // `git diff --quiet` exits with 1 when the files differ.
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(&args)
        .status()
        .is_ok_and(|status| status.code() == Some(1))
}

/// Prints `rerun-if-changed` for `HEAD`, the branch file that it names, and
/// `packed-refs`, asking git for their paths because a worktree keeps `HEAD` apart from
/// the shared refs. Files that do not exist are left out, because Cargo would run the
/// script on every build for them.
fn watch_head(root: &Path) {
    let mut paths = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        paths.push(branch);
    }
    for name in paths {
        let Some(path) = git(root, &["rev-parse", "--git-path", &name]) else {
            continue;
        };
        let path = root.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// Runs `git` in `dir` and returns its trimmed output, or `None` when it fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned())
}
