"""Runs the tap in-process (as `tap-calls --config ... --state ...` would) and collects its messages."""

from __future__ import annotations

import io
import json
import typing as t
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field

from tap_calls.tap import TapCalls

if t.TYPE_CHECKING:
    from calls_sandbox import Sandbox


@dataclass
class Run:
    messages: list[dict]
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict] = field(default_factory=dict)
    states: list[dict] = field(default_factory=list)

    @property
    def state(self) -> dict:
        return self.states[-1]

    def ids(self, stream: str, *keys: str) -> list:
        keys = keys or ("id",)
        rows = self.records[stream]
        return [row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys) for row in rows]


def parse(output: str) -> Run:
    run = Run(messages=[json.loads(line) for line in output.splitlines() if line.strip()])
    for message in run.messages:
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "SCHEMA":
            run.schemas[message["stream"]] = message["schema"]
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    return run


def run_tap(config: dict, state: dict | None = None, catalog: dict | None = None) -> Run:
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    tap = TapCalls(config=config, state=state, catalog=catalog, parse_env_config=False)
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return parse(buffer.read())


def gong_requests(sb: Sandbox, path: str | None = None) -> list:
    return [r for r in sb.log if r.source == "gong" and (path is None or r.path == path)]
