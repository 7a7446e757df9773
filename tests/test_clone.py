"""A write's private version of the warehouse is a clone where the file system can make one
(issue #17): on XFS with reflink (or btrfs) :func:`db.copy_file` shares the original's blocks
instead of copying them; elsewhere it copies the bytes. Either way the write keeps its guarantees:
the old file is untouched until the rename, a reader that has it open keeps reading it.

The clone tests run on a small XFS file system made for them on a loop device (root and
``mkfs.xfs``: ``scripts/setup.sh --with-reflink``; ``scripts/test.sh`` installs it)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from o2o_ops import db, ingest
from tiny import build_tiny

MIB = 2 ** 20


def _used_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _mount_xfs(image: Path, mount: Path) -> str | None:
    """Make and mount an XFS file system with reflink in ``image`` on ``mount``; None if done, else
    why this machine cannot (not root, no mkfs.xfs, no loop device)."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("mkfs.xfs") is None:
        return "mkfs.xfs missing (scripts/setup.sh --with-reflink)"
    with open(image, "wb") as f:
        f.truncate(512 * MIB)     # sparse; XFS needs at least 300 MB
    for cmd in (["mkfs.xfs", "-q", "-f", "-m", "reflink=1", str(image)], ["mount", "-o", "loop", str(image), str(mount)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            return f"{' '.join(cmd[:2])} failed: {done.stderr.strip()[:300]}"
    return None


@pytest.fixture(scope="module")
def xfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A folder on a fresh XFS file system with reflink, or None when this machine cannot mount
    one (the tests then check what they can and warn: the clone itself went untested)."""
    root = tmp_path_factory.mktemp("xfs")
    mount = root / "mnt"
    mount.mkdir()
    why = _mount_xfs(root / "xfs.img", mount)
    if why:
        warnings.warn(f"copy-on-write clones not tested on this machine: {why}")
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_clone_shares_the_blocks_and_a_write_to_it_leaves_the_original(xfs: Path | None):
    if xfs is None:
        return
    src, dst = xfs / "a.bin", xfs / "b.bin"
    data = os.urandom(64 * MIB)
    src.write_bytes(data)
    os.chmod(src, 0o640)
    os.sync()
    before = _used_bytes(xfs)
    assert db.copy_file(src, dst) == "clone"
    # 64 MiB more if copied; a clone takes only metadata
    assert _used_bytes(xfs) - before < 1 * MIB
    assert dst.read_bytes() == data and (dst.stat().st_mode & 0o777) == 0o640
    with open(dst, "r+b") as f:          # copy-on-write: the clone's new block is its own
        f.seek(10 * MIB)
        f.write(b"changed")
    assert src.read_bytes() == data
    assert dst.read_bytes()[10 * MIB:10 * MIB + 7] == b"changed"


def test_where_the_file_system_cannot_clone_the_bytes_are_copied(tmp_path: Path, monkeypatch):
    src, dst = tmp_path / "a.bin", tmp_path / "b.bin"
    src.write_bytes(b"warehouse" * 1000)
    os.chmod(src, 0o600)
    dst.write_bytes(b"an older, longer leftover" * 2000)

    def cannot(fd, request, arg):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(db.fcntl, "ioctl", cannot)
    assert db.copy_file(src, dst) == "copy"
    assert dst.read_bytes() == b"warehouse" * 1000 and (dst.stat().st_mode & 0o777) == 0o600


def test_a_failing_clone_is_a_write_error_and_the_warehouse_is_unchanged(tmp_path: Path, monkeypatch):
    wh = build_tiny(tmp_path / "o2o.duckdb")
    before = wh.read_bytes()

    def broken(fd, request, arg):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(db.fcntl, "ioctl", broken)
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "stores.csv").write_text("store_id,name,category,city,lat,lon\nS9,Canal Tea House,cafe,Suzhou,31.3,120.6\n")
    with pytest.raises(db.WarehouseError, match="failed .*Input/output error.*it is unchanged"):
        ingest.import_dir(folder, warehouse=wh)
    assert wh.read_bytes() == before
    assert not list(tmp_path.glob(".o2o.duckdb.*.tmp*"))     # the unfinished version is gone


def test_an_import_on_xfs_writes_a_clone_and_a_reader_keeps_the_old_file(xfs: Path | None, tmp_path: Path):
    if xfs is None:
        return
    wh = build_tiny(xfs / "o2o.duckdb")
    reader = duckdb.connect(str(wh), read_only=True)
    try:
        stores_before = reader.execute("SELECT count(*) FROM stores").fetchone()[0]
        folder = tmp_path / "batch"
        folder.mkdir()
        (folder / "stores.csv").write_text(
            "store_id,name,category,city,lat,lon\nS9,Canal Tea House,cafe,Suzhou,31.3,120.6\n")
        ingest.import_dir(folder, warehouse=wh)
        assert db.last_copy()["method"] == "clone"
        # the reader still has the old version open: it sees the old data, whole
        assert reader.execute("SELECT count(*) FROM stores").fetchone()[0] == stores_before
    finally:
        reader.close()
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM stores").fetchone()[0] == stores_before + 1
        assert con.execute("SELECT name FROM stores WHERE store_id = 'S9'").fetchone()[0] == "Canal Tea House"
    finally:
        con.close()
    assert not list(xfs.glob(".o2o.duckdb.*.tmp*"))
