"""The README's test command on a machine without npm: `make test` says what is missing, and CI installs it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tools(folder: Path, *names: str) -> Path:
    """A folder of links to the named real programs: a PATH that has those and nothing else."""
    folder.mkdir()
    for name in names:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed")
        (folder / name).symlink_to(found)
    return folder


def test_make_test_without_npm_says_what_is_missing_and_how_to_get_it(tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    bare = tools(tmp_path / "bin", "sh")  # a shell and no npm
    run = subprocess.run([make, "node_modules/.installed"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": str(bare), "HOME": str(tmp_path)}, timeout=60)
    assert run.returncode != 0
    assert "npm is not installed" in run.stderr
    assert "apt-get install npm" in run.stderr and "https://nodejs.org/" in run.stderr
    assert not (tmp_path / "node_modules").exists()


def test_ci_installs_debians_npm_when_npm_is_missing(tmp_path):
    # apt-get and make are stand-ins that log their arguments: CI's own must not run from a test.
    bin_dir = tools(tmp_path / "bin", "dirname", "cat")
    log = tmp_path / "calls.log"
    for name in ("apt-get", "make", "redis-server"):
        stand_in = bin_dir / name
        stand_in.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        stand_in.chmod(0o755)
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    run = subprocess.run(["/bin/bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True,
                         env={"PATH": str(bin_dir)}, timeout=60)
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    installs = [call.split() for call in calls if call.startswith("apt-get") and " install " in call]
    assert len(installs) == 1 and "npm" in installs[0], calls
    assert "redis-server" not in installs[0]  # only what is missing
    assert calls[-1] == "make test"
    if os.access("/usr/bin/chromium", os.X_OK):
        assert "chromium" not in installs[0]
