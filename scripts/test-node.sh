#!/usr/bin/env bash
# Builds and tests the Node.js addon (agentlens-node) and the WebAssembly package
# (agentlens-wasm): npm ci, a debug napi build, wasm-bindgen-cli installed into a cache
# folder when missing, the wasm build for Node.js and browsers, every node test suite
# against a real collector, and the README type check.
#
# Usage: scripts/test-node.sh    (needs Node.js 20+, npm and a Rust toolchain)
#
# Environment:
#   AGENTLENS_TOOLS      folder for wasm-bindgen-cli (default: $HOME/.cache/agentlens-tools)
#   AGENTLENS_TEST_DATA  recorded provider responses (default: ../shared/data/real)
#   CARGO_TARGET_DIR     cargo's target directory, absolute or relative to the current
#                        directory (default: target/ in the workspace)
#   AGENTLENS_BIN        collector binary for the tests (default: debug/agentlens in the
#                        target directory)
set -euo pipefail

# shellcheck source=scripts/target-dir.sh
source "$(dirname "$0")/target-dir.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

WASM_BINDGEN_VERSION=0.2.130
TOOLS=${AGENTLENS_TOOLS:-$HOME/.cache/agentlens-tools}
export PATH="$TOOLS/bin:$PATH"
export AGENTLENS_TEST_DATA=${AGENTLENS_TEST_DATA:-$(cd "$ROOT/.." && pwd)/shared/data/real}

step() {
  local started=$SECONDS
  echo "==> $*"
  "$@"
  echo "    done in $((SECONDS - started)) s"
}

install_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    return
  fi
  # --locked fails for this version: its lock file pins a webpki-roots that the
  # registry no longer resolves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
}

add_wasm_target() {
  if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
    rustup target add wasm32-unknown-unknown
  fi
}

WASM_FILE=$TARGET_DIR/wasm32-unknown-unknown/release/agentlens_wasm.wasm
export AGENTLENS_BIN="${AGENTLENS_BIN:-$TARGET_DIR/debug/agentlens}"

step cargo build -p agentlens-collector --bin agentlens
step bash -c 'cd agentlens-node && npm ci --no-audit --no-fund'
step bash -c 'cd agentlens-node && npx napi build --platform'
step add_wasm_target
step install_wasm_bindgen
step cargo build -p agentlens-wasm --target wasm32-unknown-unknown --release
step wasm-bindgen --target nodejs --out-dir agentlens-wasm/pkg "$WASM_FILE"
step wasm-bindgen --target web --out-dir agentlens-wasm/pkg-web "$WASM_FILE"
step bash -c 'cd agentlens-node && node --test test/*.test.js'
step node --test agentlens-wasm/test/
