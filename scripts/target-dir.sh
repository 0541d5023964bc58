# Sourced by the test scripts before they change directory. Sets TARGET_DIR to cargo's
# target directory: $CARGO_TARGET_DIR when set, else target/ in the workspace.
#
# cargo reads a relative CARGO_TARGET_DIR against its working directory, and the scripts
# run cargo (and napi, which runs cargo) from other directories than the caller's. So a
# relative path is made absolute against the caller's working directory and exported.
# NOTE: `build.target-dir` in a Cargo config file is not read here; set CARGO_TARGET_DIR
# instead.

if [[ -n "${CARGO_TARGET_DIR:-}" && "$CARGO_TARGET_DIR" != /* ]]; then
  CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
fi
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR
  TARGET_DIR="$CARGO_TARGET_DIR"
else
  TARGET_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target"
fi
