"""`python -m tap_calls` runs the tap's command line."""

from tap_calls.tap import TapCalls

TapCalls.cli()
