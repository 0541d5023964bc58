#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, unit, integration and
# end-to-end tests (which start the real collector on loopback ports), doc tests, the unit
# tests of the price table generator, a schemathesis run against the collector's OpenAPI
# document, and the Python, Node.js and WebAssembly packages.
#
# Real usage data is read from $AGENTLENS_TEST_DATA, by default ../shared/data/real beside
# this checkout. Tests that need it print a note and check nothing when it is missing.
#
# A relative CARGO_TARGET_DIR is read against the current directory, as cargo reads it.
set -euo pipefail
# shellcheck source=scripts/target-dir.sh
source "$(dirname "$0")/target-dir.sh"
cd "$(dirname "$0")/.."

if [[ -z "${AGENTLENS_TEST_DATA:-}" && -d ../shared/data/real ]]; then
  AGENTLENS_TEST_DATA="$(cd ../shared/data/real && pwd)"
fi
export AGENTLENS_TEST_DATA="${AGENTLENS_TEST_DATA:-}"

echo "== rustfmt"
cargo fmt --all --check

echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build"
cargo build --workspace --locked --bins

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

echo "== doc tests"
cargo test --workspace --locked --doc

echo "== price table generator"
python3 -m unittest scripts/test_litellm_prices.py scripts/test_build_prices.py

echo "== API fuzzing"
./scripts/test-api-fuzz.sh

echo "== python package"
./scripts/test-python.sh

echo "== node and wasm packages"
./scripts/test-node.sh
