"""Checks `litellm_prices.py` against the conversion that the Rust reader is tested with.

Run from the repository root with `python3 -m unittest scripts/test_litellm_prices.py`.
"""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import litellm_prices

TESTDATA = Path(__file__).resolve().parent.parent / "agentlens-core/src/pricing/litellm/testdata"


class ConvertFileTest(unittest.TestCase):
    def test_sample_matches_expected_file(self):
        sample = json.loads((TESTDATA / "sample.json").read_text(encoding="utf-8"))
        expected = json.loads((TESTDATA / "sample.expected.json").read_text(encoding="utf-8"))
        self.assertEqual(litellm_prices.convert_file(sample), expected)

    def test_compromised_releases_are_blocked(self):
        self.assertEqual(litellm_prices.BLOCKED_VERSIONS, {"1.82.7", "1.82.8"})
        self.assertNotIn(litellm_prices.VERSION, litellm_prices.BLOCKED_VERSIONS)

    def test_variant_keys_stay_out_of_standard_rates(self):
        entry = {"input_cost_per_token": 1e-06, "input_cost_per_token_batches": 5e-07,
                 "output_cost_per_token_above_200k_tokens_flex": 3e-06}
        self.assertEqual(litellm_prices.convert_rates(entry), {"input_mtok": "1"})
        self.assertEqual(litellm_prices.convert_variants(entry),
                         [{"when": {"processing": "batch"}, "rates": {"input_mtok": "0.5"}}])


if __name__ == "__main__":
    unittest.main()
