"""Print the README's settings table: the tap's own settings from `tap-calls --about --format=json`.

    .venv/bin/python scripts/settings_table.py     # paste between <!-- settings:start --> and <!-- settings:end -->

One row per setting of the tap (the SDK's own, such as stream_maps, share one last row): its name, default,
whether it is a secret, and its description. tests/test_readme.py fails when the README's
table differs from this output; docs/settings.md holds the full `--about --format=markdown`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plugin_definition import about

SDK_PREFIXES = ("stream_map", "flattening", "batch", "faker")


def default(prop: dict[str, Any]) -> str:
    value = prop.get("default")
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def table(info: dict[str, Any]) -> str:
    properties: dict[str, dict[str, Any]] = info["settings"]["properties"]
    own = [name for name in properties if not name.startswith(SDK_PREFIXES)]
    sdk = [name for name in properties if name.startswith(SDK_PREFIXES)]
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for name in own:
        prop = properties[name]
        secret = " (secret)" if prop.get("secret") else ""
        rows.append(
            f"| `{name}`{secret} | {default(prop)} | {' '.join(prop.get('description', '').split())} |"
        )
    rows.append(
        f"| {', '.join(f'`{n}`' for n in sdk)} | \u2013 | the SDK's stream maps, flattening and BATCH messages "
        "([settings](docs/settings.md)) |"
    )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table(about()))
