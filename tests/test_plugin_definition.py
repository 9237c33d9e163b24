"""hub/tap-calls.yml, the tap's Meltano plugin definition, is the tap's own `--about` (it cannot drift), and a
new Meltano project gets the tap from it with one `meltano add`, then runs it into target-jsonl.

The second test is what a new user does: `meltano init` in an empty folder, the README's `meltano add` with
the definition (its pip_url pointing at this checkout: the package is installed for real, in the project's own
venv), target-jsonl added the same way from this repo's meltano.yml, then `meltano run tap-calls target-jsonl`
against the sandbox, configured by environment variables only. The records must be the sandbox's.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from calls_sandbox import Sandbox
from scripts import plugin_definition
from tests.conftest import Meltano, iso
from tests.harness import sandbox_fixture

REPO = Path(__file__).resolve().parents[1]
DEFINITION = REPO / "hub" / "tap-calls.yml"
README = (REPO / "README.md").read_text(encoding="utf-8")
_OWN_PREFIXES = ("TAP_CALLS_", "TARGET_JSONL_", "TARGET_POSTGRES_", "MELTANO_", "VIRTUAL_ENV")

sandbox = sandbox_fixture(seed=31, gong_calls=90, gong_span_days=60, clari_calls=20, clari_span_days=60)


def test_the_definition_file_is_generated_from_about() -> None:
    about = plugin_definition.about()
    text = DEFINITION.read_text(encoding="utf-8")
    assert text == plugin_definition.render(plugin_definition.definition(about)), (
        "hub/tap-calls.yml drifted from `tap-calls --about`: run `.venv/bin/python scripts/plugin_definition.py`"
    )
    # And, independently of the generator, what the file says is what the tap says.
    plugin = yaml.safe_load(text)
    properties = about["settings"]["properties"]
    assert plugin["capabilities"] == about["capabilities"]
    assert [s["name"] for s in plugin["settings"]] == list(properties)
    for s in plugin["settings"]:
        prop = properties[s["name"]]
        assert s.get("sensitive", False) is bool(prop.get("secret")), s["name"]
        assert s.get("description") == " ".join(prop.get("description", "").split()) or None, s["name"]
        assert s.get("value") == prop.get("default"), s["name"]
    kinds = {s["name"]: s["kind"] for s in plugin["settings"]}
    assert kinds["start_date"] == "date_iso8601"
    assert kinds["include_private_calls"] == "boolean"
    assert kinds["lookback_days"] == "integer"
    assert kinds["stream_maps"] == "object"
    assert {"access_key_secret", "access_token", "clari_api_key", "clari_api_password"} <= {
        s["name"] for s in plugin["settings"] if s.get("sensitive")
    }
    groups = plugin["settings_group_validation"]
    assert ["access_key", "access_key_secret"] in groups and ["clari_api_key", "clari_api_password"] in groups
    assert all(name in properties for group in groups for name in group)
    assert (plugin["name"], plugin["namespace"], plugin["executable"]) == (
        "tap-calls",
        "tap_calls",
        "tap-calls",
    )


def test_the_check_option_reports_drift(tmp_path: Path) -> None:
    stale = tmp_path / "tap-calls.yml"
    stale.write_text(DEFINITION.read_text(encoding="utf-8").replace("sensitive: true\n", "", 1))
    script = str(REPO / "scripts" / "plugin_definition.py")
    ok = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, script, "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"{stale} is out of date: run python scripts/plugin_definition.py"


def readme_add_block() -> list[list[str]]:
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL) if "--from-ref" in b]
    assert len(blocks) == 1, "README shows no (or several) `meltano add ... --from-ref` blocks"
    return [shlex.split(line, comments=True) for line in blocks[0].splitlines() if line.strip()]


def test_a_new_meltano_project_gets_the_tap_with_one_add(
    meltano: Meltano, sandbox: Sandbox, tmp_path: Path
) -> None:
    """`meltano` (the fixture) only finds the CLI and installs the repo's plugins once: target-jsonl's
    definition comes from there; the new project installs its own copies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{Path(meltano.exe).parent}:/usr/local/bin:/usr/bin:/bin",
    )

    def run(*args: str, cwd: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            list(args),
            cwd=cwd,
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, f"`{shlex.join(args)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        return proc

    run(meltano.exe, "init", "project", cwd=tmp_path)
    project = tmp_path / "project"

    # The README's two lines: write the definition for this clone, then add it (in the project).
    generate, add = readme_add_block()
    assert generate[:2] == [".venv/bin/python", "scripts/plugin_definition.py"], generate
    definition_path = Path(generate[generate.index("--output") + 1])
    generate[generate.index("--output") + 1] = str(tmp_path / definition_path.name)
    run(*[str(REPO) if arg == "$PWD" else arg for arg in generate], cwd=REPO)
    assert add[:2] == ["meltano", "add"], add
    add = [str(tmp_path / definition_path.name) if arg == str(definition_path) else arg for arg in add]
    run(*add, cwd=project)

    jsonl = next(p for p in yaml.safe_load((REPO / "meltano.yml").read_text())["plugins"]["loaders"])
    assert jsonl["name"] == "target-jsonl"
    (tmp_path / "target-jsonl.yml").write_text(yaml.safe_dump(jsonl))
    run(
        "meltano",
        "add",
        "--plugin-type",
        "loader",
        "target-jsonl",
        "--from-ref",
        str(tmp_path / "target-jsonl.yml"),
        cwd=project,
    )

    declared = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    assert [p["name"] for p in declared["extractors"]] == ["tap-calls"]
    assert set(declared) == {"extractors", "loaders"}, "the add created more than one plugin"
    assert declared["extractors"][0]["pip_url"] == str(REPO)

    start = sandbox.now - timedelta(days=61)
    settings = {
        "TAP_CALLS_ACCESS_KEY": sandbox.GONG_ACCESS_KEY,
        "TAP_CALLS_ACCESS_KEY_SECRET": sandbox.GONG_ACCESS_KEY_SECRET,
        "TAP_CALLS_API_URL": sandbox.gong_url,
        "TAP_CALLS_CLARI_API_KEY": sandbox.CLARI_API_KEY,
        "TAP_CALLS_CLARI_API_PASSWORD": sandbox.CLARI_API_PASSWORD,
        "TAP_CALLS_CLARI_API_URL": sandbox.clari_url,
        "TAP_CALLS_START_DATE": iso(start),
        "TAP_CALLS_REQUESTS_PER_SECOND": "50",
        "TAP_CALLS_CLARI_REQUESTS_PER_SECOND": "50",
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "out"),
    }
    run("meltano", "run", "tap-calls", "target-jsonl", cwd=project, extra=settings)

    def ids(stream: str, key: str) -> list[str]:
        lines = (tmp_path / "out" / f"{stream}.jsonl").read_text(encoding="utf-8").splitlines()
        return sorted(json.loads(line)[key] for line in lines)

    assert ids("calls", "id") == sorted(c.id for c in sandbox.gong.expected_calls(start, None))
    assert ids("users", "id") == sorted(sandbox.gong.user_ids())
    assert ids("clari_calls", "id") == sorted(
        c["id"] for c in sandbox.clari.expected_calls(modified_gt=start)
    )
    assert (project / ".meltano" / "extractors" / "tap-calls" / "venv").is_dir(), "installed in the project"


@pytest.mark.parametrize("name", ["access_key_secret", "clari_api_password"])
def test_secrets_are_sensitive_in_the_definition(name: str) -> None:
    plugin = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
    assert next(s for s in plugin["settings"] if s["name"] == name).get("sensitive") is True
