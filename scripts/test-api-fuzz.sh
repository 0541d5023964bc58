#!/usr/bin/env bash
# Fuzzes the collector's HTTP API with schemathesis, driven by the OpenAPI document the
# collector serves at /api/openapi.json.
#
# Starts `agentlens serve` on a loopback port with an empty database and a preset key,
# then runs schemathesis' coverage, fuzzing and stateful phases with a fixed seed, so a
# failure can be replayed. The run fails on any 5xx, on a status code or content type the
# document does not list, on a response body that does not match its schema, and on a
# schema-valid request that the collector rejects. It also fails when the server log shows
# a panic.
#
# Some rules cannot be stated in a schema, such as `from` not later than `to`.
# scripts/api_fuzz_hooks.py keeps schema-valid requests that break them from being
# generated. scripts/api-fuzz.toml lets the acceptance check allow a 400 for POST
# /api/events and POST /api/pricing/quote, whose rules depend on the event type or the
# provider, and a 406 for POST /mcp, whose Accept header rule OpenAPI cannot state. The
# hooks also replace every generated webhook URL with a closed port on 127.0.0.1, so no
# request leaves the machine.
#
# Before the fuzz run, openapi-spec-validator checks the document itself against the
# OpenAPI 3.1 specification (unique operation ids, valid references and schemas).
#
# Needs python3 with venv and pip. Installs schemathesis and openapi-spec-validator into
# target/fuzz-venv.
#
# The collector binary is $AGENTLENS_BIN, by default debug/agentlens in cargo's target
# directory: $CARGO_TARGET_DIR (absolute or relative to the current directory), else target/.
set -euo pipefail
# shellcheck source=scripts/target-dir.sh
source "$(dirname "$0")/target-dir.sh"
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
SPEC_VALIDATOR_VERSION="0.9.0"
SEED="${AGENTLENS_FUZZ_SEED:-20261204}"
MAX_EXAMPLES="${AGENTLENS_FUZZ_EXAMPLES:-60}"
VENV=target/fuzz-venv

echo "== collector binary"
cargo build -p agentlens-collector --bin agentlens
BIN="${AGENTLENS_BIN:-$TARGET_DIR/debug/agentlens}"

echo "== schemathesis $SCHEMATHESIS_VERSION"
if [[ ! -x "$VENV/bin/schemathesis" ]] ||
  ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [[ ! -x "$VENV/bin/openapi-spec-validator" ]] ||
  ! "$VENV/bin/python" -m pip show openapi-spec-validator | grep -q "^Version: $SPEC_VALIDATOR_VERSION$"; then
  "$VENV/bin/python" -m pip install --quiet "openapi-spec-validator==$SPEC_VALIDATOR_VERSION"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
KEY="als_$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
BASE="http://127.0.0.1:$PORT"

echo "== collector on $BASE"
AGENTLENS_API_KEY="$KEY" "$BIN" serve --db "$WORK/fuzz.db" --bind "127.0.0.1:$PORT" \
  --rate-limit 0 --allow-private-webhooks >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if curl --silent --fail "$BASE/api/health" >/dev/null; then
    break
  fi
  sleep 0.1
done

echo "== openapi-spec-validator $SPEC_VALIDATOR_VERSION"
curl --silent --fail "$BASE/api/openapi.json" >"$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

echo "== schemathesis run (seed $SEED, $MAX_EXAMPLES examples per operation)"
# DELETE /api/keys/{id} is left out: the stateful phase would find the run's own key id
# through GET /api/keys and revoke it, and every later request would get a 401.
status=0
SCHEMATHESIS_HOOKS=scripts/api_fuzz_hooks.py \
  "$VENV/bin/schemathesis" --config-file scripts/api-fuzz.toml run "$BASE/api/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,use_after_free,ensure_resource_availability,positive_data_acceptance \
  --exclude-path-regex '^/api/keys/' \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --no-color || status=$?

if grep -n "panicked" "$WORK/server.log"; then
  echo "the collector panicked during the fuzz run; its log is above" >&2
  status=1
fi
if [[ "$status" -ne 0 ]]; then
  echo "== last lines of the collector log" >&2
  tail -n 40 "$WORK/server.log" >&2
fi
exit "$status"
