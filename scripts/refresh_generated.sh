#!/usr/bin/env bash
# Regenerate what is written from `tap-calls --about` (tests/test_readme.py and tests/test_plugin_definition.py
# fail when these drift): the README's settings table, docs/settings.md's about block, hub/tap-calls.yml.
#   bash scripts/refresh_generated.sh      (after adding or changing a setting or a stream)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/python - <<'PY'
import subprocess
from pathlib import Path

def splice(path: str, start: str, end: str, body: str) -> None:
    text = Path(path).read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    Path(path).write_text(f"{head}{start}\n{body.rstrip()}\n{end}{tail}", encoding="utf-8")

run = lambda *args: subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: E731
splice("README.md", "<!-- settings:start -->", "<!-- settings:end -->", run(".venv/bin/python", "scripts/settings_table.py"))
splice("docs/settings.md", "<!-- about:start -->", "<!-- about:end -->", run(".venv/bin/tap-calls", "--about", "--format=markdown"))
PY
.venv/bin/python scripts/plugin_definition.py
