"""A throw-away PostgreSQL cluster for the test run and the benchmarks.

initdb + pg_ctl into a temporary folder, listening on 127.0.0.1 only, with durability switched off (these
databases live for one run). As root, PostgreSQL refuses to start, so the server runs as the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for folder in (os.environ.get("ERP_SYNC_PG_BIN"), *BIN_DIRS):
        if folder and (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One running PostgreSQL server; `url(db)` gives SQLAlchemy URLs, `create_database` fresh databases."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="erp-sync-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._counter = 0

    def _run(self, *args: str, file_size_limit: int | None = None) -> None:
        # prlimit after runuser, whose PAM session resets the limits; lowering a soft limit needs no privilege.
        limit = ["prlimit", f"--fsize={file_size_limit}:"] if file_size_limit else []
        subprocess.run([*self._as_user, *limit, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> PostgresCluster:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._start()
        return self

    def _start(self, file_size_limit: int | None = None) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   "-c shared_buffers=128MB")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", options, "-w", "-t", "60", "start", file_size_limit=file_size_limit)

    def restart(self, *, down_seconds: float = 0.0, file_size_limit: int | None = None) -> None:
        """Stop (fast: sessions are ended, their transactions rolled back), stay down `down_seconds`, start again;
        with `file_size_limit`, the server runs under that soft RLIMIT_FSIZE. PostgreSQL ignores SIGXFSZ, so a
        write that would grow a file past it fails with "could not extend file ...: File too large", as on a full
        disk."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        time.sleep(down_seconds)
        self._start(file_size_limit)

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
