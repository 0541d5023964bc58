"""Runs every Python example of README.md against the real collector."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import Collector

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXAMPLES = PYTHON_BLOCK.findall(README.read_text())


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"block{index}" for index in range(len(EXAMPLES))]
)
def test_readme_example_runs(
    example: str, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLENS_SERVER_URL", collector.url)
    monkeypatch.setenv("AGENTLENS_API_KEY", collector.api_key)

    exec(compile(example, str(README), "exec"), {"__name__": "readme_example"})
