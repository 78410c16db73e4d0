"""Promises about the code base itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from indicators import settings

ROOT = Path(__file__).resolve().parent.parent


def test_indicators_does_not_import_streamlit():
    modules = sorted(p.stem for p in (ROOT / "indicators").glob("*.py") if p.stem != "__init__")
    imports = ", ".join(f"indicators.{m}" for m in modules)
    code = f"import sys, {imports}; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for s in settings.SETTINGS:
        assert f"`{s.env}`" in readme, f"{s.env} is not documented in README.md"


def test_every_cli_command_is_documented_in_the_readme():
    from indicators.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [command.name or command.callback.__name__ for command in app.registered_commands]
    for group in app.registered_groups:  # `kpi user enable`, not only `kpi user`
        names += [f"{group.name} {c.name or c.callback.__name__}" for c in group.typer_instance.registered_commands]
    assert any(" " in n for n in names)
    for name in names:
        assert f"kpi {name}" in readme, f"kpi {name} is not documented in README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_no_telemetry():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert "gatherUsageStats = false" in config
