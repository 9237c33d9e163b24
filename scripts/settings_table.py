"""Print the README's settings table: the tap's own settings from `tap-calls --about --format=json`.

    .venv/bin/python scripts/settings_table.py     # paste between <!-- settings:start --> and <!-- settings:end -->

One row per setting of the tap (a Gong OAuth app's share the first row, the SDK's own, such as stream_maps,
the last): its name, default,
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
# A Gong OAuth app's settings share one row; docs/oauth.md explains them.
OAUTH_PREFIX = "oauth_"


def default(prop: dict[str, Any]) -> str:
    value = prop.get("default")
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def table(info: dict[str, Any]) -> str:
    properties: dict[str, dict[str, Any]] = info["settings"]["properties"]
    sdk = [name for name in properties if name.startswith(SDK_PREFIXES)]
    oauth = [name for name in properties if name.startswith(OAUTH_PREFIX)]
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for name, prop in properties.items():
        if name in sdk or (name in oauth and name != oauth[0]):
            continue
        if name in oauth:
            names = ", ".join(f"`{n}`" + (" (secret)" if properties[n].get("secret") else "") for n in oauth)
            rows.append(
                f"| {names} | \u2013 | a Gong OAuth app whose tokens the tap refreshes itself, the rotated "
                "refresh token kept in `oauth_token_store` ([docs/oauth.md](docs/oauth.md)) |"
            )
            continue
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
