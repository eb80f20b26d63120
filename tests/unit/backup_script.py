"""roles/backup/files/rampart_backup.py loaded once as a module, for its unit tests.

The script is installed on hosts as /usr/local/sbin/rampart-backup (no package), so the tests
import it from its file; test_rampart_backup.py (the backup side) and test_rampart_backup_pull.py
(the vault side) share this one module object.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "rampart_backup.py"


def _load() -> ModuleType:
    if "rampart_backup" in sys.modules:
        return sys.modules["rampart_backup"]
    spec = importlib.util.spec_from_file_location("rampart_backup", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rampart_backup"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rb = _load()
NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def name(series: str, days_ago: float, ext: str = ".dump.gpg") -> str:
    """A backup file name of ``series`` made ``days_ago`` days before NOW."""
    return f"{series}-{rb.stamp(NOW - timedelta(days=days_ago))}{ext}"
