"""Atomic writes: a folder is replaced whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from privml.atomic import atomic_dir


def test_atomic_dir_replaces_whole_folder_and_keeps_old_one_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with atomic_dir(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]  # the old folder's file is gone
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "c").write_text("3")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["b"]  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left
