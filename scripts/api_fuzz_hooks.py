"""Schemathesis hooks for scripts/test-api-fuzz.sh.

The OpenAPI document states the rules of each field that JSON Schema can express. The
document only describes these rules, because JSON Schema cannot state them:

- a time range's `from` must not be later than its `to`, or than now where `to`
  defaults to now;
- an alert rule's `threshold` is read as an exact decimal from the float's shortest
  decimal form, which fails for a float below 1e-28, such as 2.2e-308;
- an alert rule's `windowMinutes` must be written without a fraction, because the
  collector's JSON reader rejects 130.0, which JSON Schema counts as an integer.

`filter_case` keeps positive cases that break these rules from being generated, so the
`positive_data_acceptance` check stays on for those operations. Negative cases pass
unchanged.

`map_case` replaces every generated `notifyChannels` string with a URL of a closed port on
127.0.0.1, in positive and negative cases alike. URL parsers accept more spellings than a
check here could follow (`http:host` is `http://host/`), and an accepted rule sends
webhooks, so no generated text is kept and the fuzz run never resolves or contacts
another host. The collector runs with `--allow-private-webhooks` so that it accepts the
loopback URL.
"""

from __future__ import annotations

import datetime as dt
import decimal

import schemathesis

# A date bound is read in the zone of `tz`, whose UTC offset stays within a day.
MAX_ZONE_OFFSET = dt.timedelta(hours=24)
LOCAL_WEBHOOK = "http://127.0.0.1:9/agentlens-fuzz"
RULE_PATHS = ("/api/alerts/rules", "/api/alerts/rules/{id}")


def _bounds(text: str, end_of_day: bool) -> tuple[dt.datetime, dt.datetime] | None:
    """Returns the earliest and latest instant `text` can mean, or None if unparsable."""
    try:
        if not _is_date(text):
            instant = dt.datetime.fromisoformat(text)
            if instant.tzinfo is None:
                return None
            instant = instant.astimezone(dt.timezone.utc)
            return instant, instant
        day = dt.date.fromisoformat(text)
        start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
        if end_of_day:
            start += dt.timedelta(days=1)
        return start - MAX_ZONE_OFFSET, start + MAX_ZONE_OFFSET
    except (ValueError, OverflowError):
        return None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _range_is_ordered(query: dict) -> bool:
    """Returns whether `from` is surely at or before `to` (now when `to` is absent)."""
    start = query.get("from")
    if not isinstance(start, str) or start == "":
        return True
    end = query.get("to")
    if isinstance(end, str) and end != "":
        end_bounds = _bounds(end, end_of_day=True)
    else:
        now = dt.datetime.now(dt.timezone.utc)
        end_bounds = (now, now)
    if _is_date(start) and isinstance(end, str) and _is_date(end):
        # Both dates are read in the same zone, so their order is the order of the days.
        return start <= end
    start_bounds = _bounds(start, end_of_day=False)
    if start_bounds is None or end_bounds is None:
        return False
    return start_bounds[1] <= end_bounds[0]


# rust_decimal, which reads the threshold, stores at most 28 decimal places.
MAX_DECIMAL_PLACES = 28


def _rule_numbers_are_exact(body: object) -> bool:
    if not isinstance(body, dict):
        return True
    if isinstance(body.get("windowMinutes"), float):
        return False
    threshold = body.get("threshold")
    if not isinstance(threshold, float) or threshold == 0:
        return True
    exponent = decimal.Decimal(repr(threshold)).normalize().as_tuple().exponent
    return exponent >= -MAX_DECIMAL_PLACES


# A case hook slows generation for every operation it covers: with schemathesis 4.32.5,
# 60 cases of GET /api/events/{id} took 21 s instead of 2 s. So each hook applies only
# where it is needed.
@schemathesis.hook.apply_to(method="GET", path_regex=r"^/api/(analytics|events$|sessions$)").apply_to(
    method=["POST", "PUT"], path_regex=r"^/api/alerts/rules"
)
def filter_case(context, case) -> bool:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    if isinstance(case.query, dict) and not _range_is_ordered(case.query):
        return False
    if case.operation.path in RULE_PATHS and not _rule_numbers_are_exact(case.body):
        return False
    return True


@schemathesis.hook.apply_to(method=["POST", "PUT"], path_regex=r"^/api/alerts/rules")
def map_case(context, case):
    if case.operation.path not in RULE_PATHS or not isinstance(case.body, dict):
        return case
    channels = case.body.get("notifyChannels")
    if isinstance(channels, list):
        case.body["notifyChannels"] = [
            LOCAL_WEBHOOK if isinstance(url, str) else url for url in channels
        ]
    return case
