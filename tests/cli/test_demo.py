"""`ponder demo` can be run again: each run gets its own run root."""

from __future__ import annotations


def test_each_demo_gets_its_own_run_root(tmp_path) -> None:
    """`make demo` twice must not stop at "already holds a run"."""
    from ponder.demo import fresh_out_dir

    first = fresh_out_dir(tmp_path)
    first.mkdir()
    second = fresh_out_dir(tmp_path)
    assert second != first and not second.exists() and second.parent == tmp_path
