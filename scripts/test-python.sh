#!/usr/bin/env bash
# Builds the Python package `agentlens` from agentlens-py/ into .venv and runs its checks:
# ruff, the stub check (mypy stubtest against the compiled module), mypy over the package,
# tests and benchmark, and pytest, which starts the real collector on loopback ports.
#
# Needs python3 (3.9 or newer) with pip and venv, and the Rust toolchain. Tests that read
# recorded provider responses use $AGENTLENS_TEST_DATA (default: ../shared/data/real
# beside this checkout) and are skipped when it is missing.
#
# Environment:
#   CARGO_TARGET_DIR     cargo's target directory, absolute or relative to the current
#                        directory (default: target/ in the workspace)
#   AGENTLENS_BIN        collector binary for the tests (default: debug/agentlens in the
#                        target directory)
set -euo pipefail
# shellcheck source=scripts/target-dir.sh
source "$(dirname "$0")/target-dir.sh"
cd "$(dirname "$0")/.."

if [[ -z "${AGENTLENS_TEST_DATA:-}" && -d ../shared/data/real ]]; then
  AGENTLENS_TEST_DATA="$(cd ../shared/data/real && pwd)"
fi
export AGENTLENS_TEST_DATA="${AGENTLENS_TEST_DATA:-}"

echo "== collector binary"
cargo build -p agentlens-collector --bin agentlens
export AGENTLENS_BIN="${AGENTLENS_BIN:-$TARGET_DIR/debug/agentlens}"

echo "== virtualenv"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" "ruff==0.17.6"

echo "== build and install agentlens-py"
# --no-build-isolation reuses the maturin installed above instead of fetching it again.
python -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./agentlens-py

echo "== ruff"
(cd agentlens-py && ruff check python tests bench && ruff format --check python tests bench)

echo "== stubtest"
python -m mypy.stubtest agentlens._native

echo "== mypy"
(cd agentlens-py && python -m mypy)

echo "== pytest"
# pytest exits with 5 when it collected no tests, which fails this script like any error.
(cd agentlens-py && python -m pytest -q tests)
