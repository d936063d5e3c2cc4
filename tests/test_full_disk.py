"""A full disk, for real: public/ on a tmpfs too small for the site."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_incremental import clean_build, tree

PRESS = str(Path(sys.executable).parent / "press")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_is_one_line_leaves_nothing_half_written_and_the_next_publish_completes(
    project: Path, small_disk: Path, tmp_path: Path
) -> None:
    toml = project / "press.toml"
    roomy = toml.read_text()
    toml.write_text(roomy + f'\n[paths]\npublic = "{small_disk / "public"}"\n')
    full = subprocess.run([PRESS, "publish"], cwd=project, capture_output=True, text=True)
    assert full.returncode == 1
    [line] = full.stderr.splitlines()
    assert line.startswith(f"Error: {small_disk / 'public'}/") and line.endswith(
        ": cannot be written: No space left on device"
    ), line
    assert "Traceback" not in full.stderr
    assert not [p for p in small_disk.rglob("*") if p.name.endswith(".tmp")]
    assert not (project / "var" / "publish-state.json").exists()  # nothing recorded
    subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)
    done = subprocess.run([PRESS, "publish"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    toml.write_text(roomy)  # the same site, built afresh on a roomy disk
    assert tree(small_disk / "public") == clean_build(project, tmp_path)
