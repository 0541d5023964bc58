"""Checks how `build_prices.py` converts genai-prices models into the table's layout.

The models are stand-ins with the attributes that `convert_model` reads, so the tests run
without genai-prices installed. Run from the repository root with
`python3 -m unittest scripts/test_build_prices.py`.
"""

import sys
import unittest
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_prices

FREE = {"input_mtok": "0", "output_mtok": "0"}


def model(prices, deprecated=False, price_variants=None, model_id="vendor/model:free",
          name="Model"):
    """Returns a stand-in for a genai-prices `ModelInfo`."""
    return SimpleNamespace(id=model_id, name=name, match=None, prices=prices,
                           deprecated=deprecated, price_variants=price_variants)


def dated(prices):
    """Returns a stand-in for a genai-prices `ConditionalPrice` without a constraint."""
    return SimpleNamespace(constraint=None, prices=prices)


class ConvertModelTest(unittest.TestCase):
    def test_empty_price_gets_zero_rates(self):
        converted = build_prices.convert_model(model(SimpleNamespace()), None)
        self.assertEqual(converted["prices"], [{"rates": FREE}])

    def test_each_empty_dated_price_gets_zero_rates(self):
        rated = SimpleNamespace(input_mtok=Decimal("0.5"), output_mtok=Decimal("1.5"))
        converted = build_prices.convert_model(model([dated(rated), dated(SimpleNamespace())]),
                                               None)
        self.assertEqual([entry["rates"] for entry in converted["prices"]],
                         [{"input_mtok": "0.5", "output_mtok": "1.5"}, FREE])

    def test_partial_price_keeps_gaps(self):
        partial = SimpleNamespace(input_mtok=Decimal("0.02"), output_mtok=None)
        converted = build_prices.convert_model(model(partial), None)
        self.assertEqual(converted["prices"], [{"rates": {"input_mtok": "0.02"}}])

    def test_model_named_free_gets_zero_rates(self):
        converted = build_prices.convert_model(
            model(SimpleNamespace(), model_id="gemma-3", name="Gemma 3 (free)"), None)
        self.assertEqual(converted["prices"], [{"rates": FREE}])

    def test_other_empty_price_stays_empty(self):
        converted = build_prices.convert_model(
            model(SimpleNamespace(), model_id="google/lyria-3-pro-preview",
                  name="Lyria 3 Pro Preview"), None)
        self.assertEqual(converted["prices"], [{"rates": {}}])

    def test_deprecated_model_keeps_empty_rates(self):
        converted = build_prices.convert_model(model(SimpleNamespace(), deprecated=True), None)
        self.assertEqual(converted["prices"], [{"rates": {}}])

    def test_empty_variant_stays_empty(self):
        flex = SimpleNamespace(when={"service_tier": "flex"}, prices=SimpleNamespace(),
                               constraint=None)
        converted = build_prices.convert_model(model(SimpleNamespace(), price_variants=[flex]),
                                               None)
        self.assertEqual(converted["price_variants"],
                         [{"when": {"service_tier": "flex"}, "rates": {}}])

    def test_free_rates_are_copied(self):
        first = build_prices.convert_model(model(SimpleNamespace()), None)
        first["prices"][0]["rates"]["input_mtok"] = "9"
        second = build_prices.convert_model(model(SimpleNamespace()), None)
        self.assertEqual(second["prices"][0]["rates"], FREE)


if __name__ == "__main__":
    unittest.main()
