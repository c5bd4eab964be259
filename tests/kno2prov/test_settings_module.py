"""The settings module: each setting defined once, and importing it changes nothing on disk."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

SETTINGS = Path(__file__).resolve().parents[2] / "kno2prov" / "settings.py"


def test_every_setting_is_assigned_once_at_the_top_level_of_the_module() -> None:
    names: list[str] = []
    for node in ast.parse(SETTINGS.read_text()).body:
        if isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    twice = sorted({name for name in names if name.isupper() and names.count(name) > 1})
    assert twice == []


def test_logging_is_one_dictionary_never_patched_afterwards() -> None:
    source = SETTINGS.read_text()
    assert source.count("LOGGING = {") == 1
    assert 'LOGGING["' not in source


def test_importing_the_settings_creates_no_folder(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "STATIC_ROOT", "DJANGO_SETTINGS_MODULE"}
    }
    env["VAR_DIR"] = str(var_dir)
    subprocess.run(
        [sys.executable, "-c", "import kno2prov.settings"],
        cwd=SETTINGS.parents[1],
        env=env,
        check=True,
    )
    assert not var_dir.exists()
