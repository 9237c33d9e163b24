"""Every shell command in README.md and docs/*.md works as written, in a new shell after `bash scripts/setup.sh`.

Each ```bash block is split into commands. For every command: its programs exist (repo paths such as
`.venv/bin/tap-calls`, `scripts/demo.sh`; system tools on a bare PATH; `tap-calls` only after the block
activated `.venv`; a bare `meltano` is the user's own, in their own project), `python -m` modules import, `tap-calls` options are real ones, and the Meltano plugins,
environments and settings it names are declared in meltano.yml. The blocks that can run offline then run for
real in `bash`, with a PATH holding no venv: the activation block, the first-run example (its config swapped
for the sandbox config the README gives, on a free port), the sandbox command, and the Meltano run against
the sandbox. Commands that need a real account, PostgreSQL or minutes (demo, tests, benchmark) are only
checked as above.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import yaml

from calls_sandbox import Sandbox
from tests.conftest import isolated_sys_dir

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)  # the README and its docs/ pages
MELTANO_YML = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"
SEPARATORS = {"|", "&&", "||", ";"}
_OWN_PREFIXES = ("TAP_CALLS_", "TARGET_JSONL_", "TARGET_POSTGRES_", "MELTANO_", "VIRTUAL_ENV")


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)


def commands(block: str) -> list[list[str]]:
    """The block's commands as shell tokens, comments and heredoc bodies left out."""
    result, lines = [], block.splitlines()
    i = 0
    while i < len(lines):
        tokens = shlex.split(lines[i], comments=True)
        i += 1
        heredoc = next((tok for tok in tokens if tok.startswith("<<")), None)
        if heredoc:
            end = heredoc[2:] or tokens[tokens.index(heredoc) + 1]
            while i < len(lines) and lines[i].strip() != end.strip("'\""):
                i += 1
            i += 1
        if tokens:
            result.append(tokens)
    return result


def segments(tokens: list[str]) -> list[list[str]]:
    out, current = [], []
    for tok in tokens:
        if tok in SEPARATORS:
            out.append(current)
            current = []
        else:
            current.append(tok)
    out.append(current)
    return [s for s in out if s]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(PATH=BARE_PATH, MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", **extra)
    return env


def meltano_plugin(name: str) -> dict | None:
    for kind in ("extractors", "loaders"):
        for plugin in MELTANO_YML["plugins"].get(kind, []):
            if plugin["name"] == name:
                return plugin
    return None


def tap_options() -> set[str]:
    out = subprocess.run(
        [str(REPO / ".venv/bin/tap-calls"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    return set(re.findall(r"(--[a-z][a-z-]*)", out))


def check_meltano(args: list[str]) -> None:
    rest = list(args)
    envs = {e["name"] for e in MELTANO_YML.get("environments", [])}
    while rest and rest[0].startswith("--"):
        option = rest.pop(0)
        if option.startswith("--environment="):
            assert option.split("=", 1)[1] in envs, option
    if not rest or rest[0] in {"--version", "install"}:
        return
    command = rest.pop(0)
    if command == "run":
        for name in (a for a in rest if not a.startswith("--")):
            assert meltano_plugin(name), f"meltano run names {name!r}, which meltano.yml does not declare"
    elif command == "config" and rest[:1] == ["set"]:  # meltano config set PLUGIN SETTING VALUE
        plugin = meltano_plugin(rest[1])
        assert plugin, f"meltano config set names {rest[1]!r}, which meltano.yml does not declare"
        declared = {s["name"] for s in plugin.get("settings", [])}
        assert rest[2] in declared, f"{rest[1]} has no setting {rest[2]!r} in meltano.yml"


def test_every_readme_command_names_real_programs_options_and_plugins() -> None:
    options = tap_options()
    checked = 0
    for block in bash_blocks():
        activated = "source .venv/bin/activate" in block
        for tokens in commands(block):
            for words in segments(tokens):
                seg = list(words)
                while seg and re.fullmatch(r"[A-Z_]+=\S*", seg[0]):
                    seg = seg[1:]  # VAR=value before the program
                program, args = seg[0], seg[1:]
                checked += 1
                if program == "source":
                    assert (REPO / args[0]).is_file(), args[0]
                elif program == "tap-calls":
                    assert activated, "`tap-calls` without `source .venv/bin/activate` in the same block"
                elif "/" in program:
                    assert (REPO / program).exists(), f"{program} does not exist after setup"
                elif program not in {"cd", "export", "meltano"}:
                    assert shutil.which(program, path=BARE_PATH), f"{program} is not on a bare PATH"
                for arg in args:
                    if arg.startswith(("scripts/", ".venv", "loaders/")):
                        assert (REPO / arg).exists(), f"{arg} does not exist"
                if program.endswith("tap-calls"):
                    for arg in args:
                        if arg.startswith("--"):
                            assert arg.split("=")[0] in options, f"tap-calls has no option {arg}"
                if program.endswith("python") and args[:1] == ["-m"]:
                    module = args[1]
                    found = subprocess.run(
                        [str(REPO / ".venv/bin/python"), "-c", f"import {module}"], cwd=REPO, check=False
                    )
                    assert found.returncode == 0, f"python -m {module}: no such module"
                if program.endswith("meltano"):
                    check_meltano(args)
    assert checked > 15, checked


def block_with(text: str) -> str:
    found = [b for b in bash_blocks() if text in b]
    assert len(found) == 1, f"README has {len(found)} bash blocks with {text!r}"
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_config_json() -> str:
    blocks = re.findall(r"```json\n(.*?)```", README, flags=re.DOTALL)
    found = [b for b in blocks if "sandbox-access-key" in b]
    assert len(found) == 1, "README shows no (or several) sandbox configs"
    json.loads(found[0])
    return found[0]


def workdir(tmp_path: Path) -> Path:
    """A directory that looks like the repository after setup: its venvs, scripts and project file."""
    for name in (".venv", ".venv-meltano", "scripts", "meltano.yml"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def test_activation_block_runs_in_a_new_shell(tmp_path: Path) -> None:
    block = block_with("source .venv/bin/activate")
    proc = subprocess.run(
        ["bash", "-e", "-c", block],
        cwd=workdir(tmp_path),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Sales calls from Gong" in proc.stdout
    assert "meltano, version" in proc.stdout


def test_first_run_example_runs_as_written_against_the_sandbox(tmp_path: Path) -> None:
    """The Example block, its config replaced by the README's sandbox config (on a free port)."""
    block = block_with("--discover > catalog.json")
    heredoc = re.search(r"<<'JSON'\n(.*?)\nJSON\n", block, flags=re.DOTALL)
    assert heredoc, "the example no longer writes config.json with a heredoc"
    with Sandbox(seed=2, gong_calls=80, gong_span_days=300, clari_calls=15, clari_span_days=300) as sb:
        config = sandbox_config_json().replace("127.0.0.1:8765", f"127.0.0.1:{sb.port}")
        script = block.replace(heredoc.group(1), config.strip())
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=workdir(tmp_path),
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        first = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        ids = {m["record"]["id"] for m in first if m["type"] == "RECORD" and m["stream"] == "calls"}
        assert ids == {c.id for c in sb.gong.expected_calls(sb.now - timedelta(days=365), None)}
        state = json.loads((tmp_path / "state.json").read_text())
        assert "calls" in state["bookmarks"]
        second = [json.loads(line) for line in (tmp_path / "out2.jsonl").read_text().splitlines()]
        assert 0 < len(second) < len(first)


def test_sandbox_command_starts_it_as_written(tmp_path: Path) -> None:
    block = block_with("-m calls_sandbox --port 8765")
    (tokens,) = commands(block)
    port = free_port()
    tokens = [str(port) if tok == "8765" else tok for tok in tokens]
    proc = subprocess.Popen(
        tokens,
        cwd=workdir(tmp_path),
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["gong_url"] == f"http://127.0.0.1:{port}/gong"
        assert info["clari_url"] == f"http://127.0.0.1:{port}/clari"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_meltano_sandbox_run_as_written(meltano, tmp_path: Path) -> None:
    """On port 8765 when it is free (exactly as written), else on another port given by env vars.

    `meltano`: the plugins installed; the run's system database, state and `.meltano` are its own."""
    block = block_with("--environment=sandbox run --full-refresh")
    port = 8765
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    except OSError:
        port = free_port()
    with Sandbox(
        seed=2, gong_calls=60, gong_span_days=300, clari_calls=10, clari_span_days=300, port=port
    ) as sb:
        env = clean_env(
            MELTANO_SYS_DIR_ROOT=isolated_sys_dir(tmp_path),
            MELTANO_DATABASE_URI=f"sqlite:///{tmp_path}/meltano.db",
            MELTANO_STATE_BACKEND_URI=f"file://{tmp_path}/state",
            TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "output"),
        )
        if port != 8765:
            env.update(TAP_CALLS_API_URL=sb.gong_url, TAP_CALLS_CLARI_API_URL=sb.clari_url)
        proc = subprocess.run(
            ["bash", "-e", "-c", block],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        calls = (tmp_path / "output" / "calls.jsonl").read_text().splitlines()
        expected = sb.gong.expected_calls(sb.now - timedelta(days=365), None)
        assert {json.loads(line)["id"] for line in calls} == {c.id for c in expected}
        assert (tmp_path / "output" / "clari_calls.jsonl").exists()
