#!/usr/bin/env python3
"""Pack the collection's plugins/module_utils into a reproducible tar for the audit agent.

pack_engine.py <collection root> <dest.tar>: same sources -> byte-identical tar (sorted names,
mtime 0, root-owned, no __pycache__), and <dest.tar> is rewritten only when its bytes change,
so the role's copy of it is idempotent.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile

PREFIX = "ansible_collections/rampart/hardening/plugins/module_utils"


def _info(name: str, size: int, is_dir: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir else 0o644
    info.size = size
    return info


def pack(root: str) -> bytes:
    source = os.path.join(root, "plugins", "module_utils")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for directory, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            rel = os.path.relpath(directory, source)
            base = PREFIX if rel == "." else f"{PREFIX}/{rel}"
            tar.addfile(_info(base, 0, True))
            for name in sorted(f for f in files if f.endswith(".py")):
                with open(os.path.join(directory, name), "rb") as handle:
                    data = handle.read()
                tar.addfile(_info(f"{base}/{name}", len(data), False), io.BytesIO(data))
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    root, dest = argv
    data = pack(root)
    try:
        with open(dest, "rb") as handle:
            if handle.read() == data:
                print("unchanged")
                return 0
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(dest) or ".", mode=0o700, exist_ok=True)
    with open(dest + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(dest + ".tmp", dest)
    print("written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
