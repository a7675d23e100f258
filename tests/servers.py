"""Real database servers for the tests: PostgreSQL from Debian's packages, started in a temporary folder."""

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg

from support import free_port


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), newest version first."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(Path(folder) / "pg_ctl", os.X_OK):
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server():
    """A PostgreSQL server of our own on a free port of 127.0.0.1; yields its admin URL, removes it after."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server programs (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="gallery-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True)
    # A port free when picked may be bound by another test worker before the server binds it: the server then
    # fails to start, and the next free port is tried.
    for attempt in range(5):
        port = free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        started = subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                                                  "-t", "60", "-l", str(folder / "log"), "start"]),
                                 capture_output=True)
        if started.returncode == 0:
            break
        if attempt == 4:
            started.check_returncode()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                        "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(admin_url: str, name: str) -> str:
    """A new, empty database on the server; its URL."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name
