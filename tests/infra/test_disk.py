"""The disk cache's size cap holds for every process that shares one cache folder, as gunicorn's workers do."""

import subprocess
import sys

from gallery.infra.disk import DiskStore
from support import ROOT

WRITER = """
import sys
from gallery.infra.disk import DiskStore

cap = int(sys.argv[2])
store = DiskStore(sys.argv[1], max_bytes=cap)
for n in range(int(sys.argv[4])):
    store.write(f"originals/{sys.argv[3]}-{n}/0", bytes(1000))
    if store.usage() > cap:
        sys.exit(f"{store.usage()} bytes kept, over the cap of {cap}")
"""


def test_two_stores_on_one_folder_keep_the_cap_together(tmp_path):
    first, second = DiskStore(tmp_path, max_bytes=4000), DiskStore(tmp_path, max_bytes=4000)
    for n in range(10):
        (first if n % 2 else second).write(f"originals/t{n}/0", bytes(1000))
        assert first.usage() <= 4000, f"over the cap after write {n}"
    assert second.read("originals/t9/0") is not None  # the newest is kept


def test_two_processes_on_one_folder_keep_the_cap_together(tmp_path):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "20000", name, "60"], cwd=ROOT,
                                env={"PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
               for name in "ab"]
    outcomes = [(writer.communicate(timeout=60)[1].strip(), writer.returncode) for writer in writers]
    assert outcomes == [("", 0), ("", 0)]
    assert 0 < DiskStore(tmp_path, max_bytes=20000).usage() <= 20000


def test_a_lost_count_is_made_again_from_the_files(tmp_path):
    store = DiskStore(tmp_path, max_bytes=3000)
    store.write("originals/a/0", bytes(1000))
    store.write("originals/b/0", bytes(1000))
    for path in tmp_path.glob(".usage*"):
        path.unlink()
    DiskStore(tmp_path, max_bytes=3000).write("originals/c/0", bytes(1500))
    assert store.usage() <= 3000
