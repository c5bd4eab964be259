"""Every system check of the project speaks under one id prefix, so operators filter one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "organizations", "staffauth", "directory", "oauth", "scim", "portal", "sso", "demo"]
CHECK_ID = re.compile(r"""\bid=["']([\w.]+)["']""")


def _check_ids() -> list[str]:
    ids: list[str] = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                ids += CHECK_ID.findall(path.read_text())
    return ids


def test_every_system_check_id_has_the_project_prefix() -> None:
    ids = _check_ids()
    assert ids, "no system checks found: the pattern no longer matches how checks are written"
    assert [check_id for check_id in ids if not check_id.startswith("kno2prov.")] == []


def test_no_two_system_checks_share_an_id() -> None:
    ids = _check_ids()
    assert sorted({check_id for check_id in ids if ids.count(check_id) > 1}) == []
