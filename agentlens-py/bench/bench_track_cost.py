"""Measures the time one cost event costs the calling thread, for agentlens and agentlensai.

Run from the repository root, after `scripts/test-python.sh` has built `.venv`:

    .venv/bin/python agentlens-py/bench/bench_track_cost.py

The driver starts the collector (`target/debug/agentlens`, or `$AGENTLENS_BIN`) on a free
loopback port, then runs this file once per SDK in its own interpreter:

- `agentlens` from `.venv`: `Client.track_cost(...)`, which validates and queues the
  event; a native background thread sends it.
- `agentlensai` 0.12.0 from PyPI, in `target/bench/agentlensai-venv` (created when
  missing): `AgentLensClient.log_llm_call(...)`. It is that SDK's only public call that
  records a cost, and it sends an `llm_call` and an `llm_response` event in one blocking
  HTTP request before it returns.

Each call is timed alone with `time.perf_counter_ns()`, whose own overhead (about 0.1 µs)
is included. The driver prints one Markdown table row per SDK.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_VERSION = "0.12.0"
UPSTREAM_VENV = REPO_ROOT / "target" / "bench" / "agentlensai-venv"
API_KEY = "als_" + "be" * 32


def measure(call: Callable[[int], None], calls: int, warmup: int) -> dict[str, float]:
    """Time `calls` calls one by one after `warmup` untimed ones; return µs statistics."""
    for index in range(warmup):
        call(index)
    samples = []
    for index in range(calls):
        started = time.perf_counter_ns()
        call(index)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return {
        "calls": calls,
        "median_us": statistics.median(samples) / 1000,
        "p99_us": samples[int(len(samples) * 0.99) - 1] / 1000,
        "mean_us": statistics.fmean(samples) / 1000,
        "max_us": samples[-1] / 1000,
    }


def run_agentlens(url: str, calls: int) -> dict[str, Any]:
    import agentlens

    warmup = 1000
    client = agentlens.Client(url, API_KEY, queue_capacity=calls + warmup)

    def track(index: int) -> None:
        client.track_cost(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1200 + index % 100,
            output_tokens=300,
            cache_read_tokens=200,
            cost_usd="0.000360",
            session_id="ses_bench_agentlens",
        )

    result = measure(track, calls, warmup)
    pending = client.close(timeout=60)
    stats = client.stats
    result.update(sent=stats.sent, dropped=stats.dropped, failed=stats.failed, pending=pending)
    return result


def run_agentlensai(url: str, calls: int) -> dict[str, Any]:
    # Installed only in the upstream venv, never beside agentlens.
    from agentlensai import (  # type: ignore[import-not-found]
        AgentLensClient,
        LlmMessage,
        LogLlmCallParams,
        TokenUsage,
    )

    client = AgentLensClient(url, api_key=API_KEY)
    message = LlmMessage(role="user", content="hello")

    def log(index: int) -> None:
        client.log_llm_call(
            "ses_bench_agentlensai",
            "bench",
            LogLlmCallParams(
                provider="openai",
                model="gpt-4o-mini",
                messages=[message],
                completion="hi",
                finish_reason="stop",
                usage=TokenUsage(
                    input_tokens=1200 + index % 100,
                    output_tokens=300,
                    total_tokens=1500 + index % 100,
                    cache_read_tokens=200,
                ),
                cost_usd=0.00036,
                latency_ms=120.0,
            ),
        )

    result = measure(log, calls, warmup=50)
    client.close()
    result.update(sent=calls + 50, dropped=0, failed=0, pending=0)
    return result


def start_collector(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = Path(os.environ.get("AGENTLENS_BIN", REPO_ROOT / "target" / "debug" / "agentlens"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(binary), "serve", "--bind", f"127.0.0.1:{port}", "--db", str(directory / "bench.db")],
        env={**os.environ, "AGENTLENS_API_KEY": API_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"collector at {url} did not start")


def upstream_python() -> Path:
    python = UPSTREAM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(UPSTREAM_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"agentlensai=={UPSTREAM_VERSION}"],
            check=True,
        )
    return python


def run_sdk(python: Path, sdk: str, url: str, calls: int) -> dict[str, Any]:
    finished = subprocess.run(
        [str(python), __file__, "--sdk", sdk, "--url", url, "--calls", str(calls)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def drive(calls: int, upstream_calls: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        process, url = start_collector(Path(directory))
        try:
            results = {
                "agentlens track_cost": run_sdk(Path(sys.executable), "agentlens", url, calls),
                f"agentlensai {UPSTREAM_VERSION} log_llm_call": run_sdk(
                    upstream_python(), "agentlensai", url, upstream_calls
                ),
            }
        finally:
            process.terminate()
            process.wait()

    print("| SDK and call | calls | median | p99 | mean | max | sent | dropped | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(
            f"| {name} | {result['calls']} | {result['median_us']:.2f} µs "
            f"| {result['p99_us']:.2f} µs | {result['mean_us']:.2f} µs "
            f"| {result['max_us']:.0f} µs | {result['sent']} "
            f"| {result['dropped']} | {result['failed']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sdk", choices=["agentlens", "agentlensai"])
    parser.add_argument("--url")
    parser.add_argument("--calls", type=int, default=50_000, help="timed calls for agentlens")
    parser.add_argument(
        "--upstream-calls", type=int, default=2_000, help="timed calls for agentlensai"
    )
    arguments = parser.parse_args()

    if arguments.sdk is None:
        drive(arguments.calls, arguments.upstream_calls)
    elif arguments.sdk == "agentlens":
        print(json.dumps(run_agentlens(arguments.url, arguments.calls)))
    else:
        print(json.dumps(run_agentlensai(arguments.url, arguments.calls)))


if __name__ == "__main__":
    main()
