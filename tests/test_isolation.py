"""The suite ignores the environment it is started from: a user's CRMTOOL_CONFIG / CRMTOOL_DB and a
crmtool.toml in the folder pytest runs from (tests/conftest.py, fixture ``isolated``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crmtool.config import load_settings

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "[churn]\nchurned_max = 5\n"  # K in test_status_csv (idle 6) would be lost, not churned
TARGET = str(REPO / "tests" / "test_churn_cli.py") + "::test_status_csv"


def test_each_test_runs_in_its_own_folder_without_crmtool_variables(tmp_path):
    assert "CRMTOOL_CONFIG" not in os.environ and "CRMTOOL_DB" not in os.environ
    assert Path.cwd() == tmp_path
    assert load_settings().source == "defaults"


def _pytest(cwd: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, TARGET],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_hostile_config_and_crmtool_toml_do_not_reach_the_tests(tmp_path):
    # a shell with CRMTOOL_CONFIG / CRMTOOL_DB set, started in a folder with its own crmtool.toml; the
    # variables are set before pytest starts, so before the autouse fixture could act
    hostile = tmp_path / "hostile.toml"
    hostile.write_text(HOSTILE, encoding="utf-8")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "crmtool.toml").write_text(HOSTILE, encoding="utf-8")
    bare = tmp_path / "bare"
    bare.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRMTOOL_")}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = dict(base, CRMTOOL_CONFIG=str(hostile), CRMTOOL_DB=str(tmp_path / "user.duckdb"))
    runs = {
        # the suite as it is: passes although both hostile sources are there
        "suite": _pytest(folder, env),
        # controls without tests/conftest.py (so without the fixture): each source on its own breaks the
        # test, which proves the suite run above really had them to ignore
        "env only": _pytest(bare, env, "--noconftest"),
        "toml only": _pytest(folder, base, "--noconftest"),
    }
    out = {name: (p.wait(timeout=300), p.stdout.read()) for name, p in runs.items()}
    assert out["suite"][0] == 0, out["suite"][1]
    for name in ("env only", "toml only"):
        code, text = out[name]
        assert code == 1 and "'lost' == 'churned'" in text.replace('"', "'"), (name, text)
