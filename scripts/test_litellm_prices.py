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

    def test_tool_fees_become_per_thousand_rates(self):
        entry = {"input_cost_per_token": 1e-06, "file_search_cost_per_1k_calls": 2.5,
                 "code_interpreter_cost_per_session": 0.03}
        rates = litellm_prices.convert_rates(entry)
        self.assertEqual(rates["storage_searches_kcount"], "2.5")
        self.assertEqual(rates["code_interpreter_sessions_kcount"], "30")

    def test_container_fee_applies_to_models_without_their_own(self):
        entries = {
            "gpt-5": {"litellm_provider": "openai", "input_cost_per_token": 1e-06},
            "gpt-x": {"litellm_provider": "openai", "input_cost_per_token": 1e-06,
                      "code_interpreter_cost_per_session": 0.05},
            "openai/container": {"litellm_provider": "openai",
                                 "code_interpreter_cost_per_session": 0.03},
        }
        converted = litellm_prices.convert_file(entries)["openai"]
        self.assertEqual(converted["gpt-5"]["rates"]["code_interpreter_sessions_kcount"], "30")
        self.assertEqual(converted["gpt-x"]["rates"]["code_interpreter_sessions_kcount"], "50")
        self.assertNotIn("container", converted)
        self.assertEqual(litellm_prices.provider_tool_rates(entries),
                         {"openai": ("openai/container",
                                     {"code_interpreter_sessions_kcount": "30"})})

    def test_zero_placeholders_are_left_out(self):
        entries = {
            "ollama/llama3": {"litellm_provider": "ollama", "input_cost_per_token": 0.0,
                              "output_cost_per_token": 0.0},
            "gemini/gemini-exp-1206": {"litellm_provider": "gemini", "input_cost_per_token": 0,
                                       "input_cost_per_token_above_128k_tokens": 0},
            "gemini-exp-1206": {"litellm_provider": "vertex_ai-language-models",
                                "input_cost_per_token": 3e-07},
        }
        converted = litellm_prices.convert_file(entries)
        self.assertNotIn("ollama", converted)
        self.assertEqual(converted["google"]["gemini-exp-1206"]["rates"], {"input_mtok": "0.3"})

    def test_documented_free_models_keep_their_zero_rates(self):
        zero = {"input_cost_per_token": 0, "output_cost_per_token": 0}
        entries = {
            "opencode_go/beam-free": {"litellm_provider": "opencode_go", **zero},
            "openrouter/vendor/model:free": {"litellm_provider": "openrouter", **zero},
            "duckduckgo/search": {"litellm_provider": "duckduckgo", "input_cost_per_query": 0.0,
                                  "metadata": {"notes": "The API is free to use."}},
        }
        converted = litellm_prices.convert_file(entries)
        self.assertEqual(converted["opencode_go"]["beam-free"]["rates"],
                         {"input_mtok": "0", "output_mtok": "0"})
        self.assertIn("vendor/model:free", converted["openrouter"])
        self.assertEqual(converted["duckduckgo"]["search"]["rates"], {"requests_kcount": "0"})

    def test_variant_price_keeps_an_entry_with_zero_standard_rates(self):
        entry = {"input_cost_per_token": 0, "input_cost_per_token_batches": 5e-07}
        self.assertFalse(litellm_prices.is_placeholder("model", entry))


if __name__ == "__main__":
    unittest.main()
