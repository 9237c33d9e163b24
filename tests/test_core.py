"""The SDK's standard tap tests, pointed at the sandbox (started at import: the suite needs its URL)."""

from __future__ import annotations

import atexit
from datetime import timedelta

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from calls_sandbox import Sandbox
from tap_calls.tap import TapCalls
from tests.harness import FAST_CLARI, FAST_GONG

SANDBOX = Sandbox(
    seed=3, gong_calls=120, gong_span_days=60, gong_users=110, clari_calls=40, clari_span_days=60
).start()
atexit.register(SANDBOX.stop)

TestTapCalls = get_tap_test_class(
    tap_class=TapCalls,
    config={
        **SANDBOX.gong_config(),
        **SANDBOX.clari_config(),
        "start_date": (SANDBOX.now - timedelta(days=61)).isoformat(),
        # Not the vendors' caps (3/s, 10/s): at 3/s the suite's one sync took 30 s, a request a day of
        # interaction_stats alone.
        "requests_per_second": FAST_GONG,
        "clari_requests_per_second": FAST_CLARI,
    },
    suite_config=SuiteConfig(max_records_limit=100),
    parse_env_config=False,
)
