"""The tap's CLI with small windows, so a short test run spans many windows (and many bookmarks)."""

from tap_calls.gong import CallsStream
from tap_calls.tap import TapCalls

CallsStream.window_split_records = 200
CallsStream.window_target_records = 120

if __name__ == "__main__":
    TapCalls.cli()
