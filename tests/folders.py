"""A folder this process cannot write, for tests of start-up refusals.

Permissions alone do not stop root (tests run as root in containers), so as root the folder is also made
immutable with `chattr +i`; where that is not possible the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` unwritable for the duration (mode 0555, and immutable when running as root)."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    try:
        if immutable:
            chattr = shutil.which("chattr")
            done = subprocess.run([chattr, "+i", str(folder)], capture_output=True, check=False) if chattr else None
            if done is None or done.returncode != 0:
                immutable = False
                pytest.skip("running as root where chattr +i is not possible: no folder is read-only for root")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
