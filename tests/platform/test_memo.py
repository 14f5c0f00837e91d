"""lms.memo.Memo: bounded by count, the entry put first goes first."""

from __future__ import annotations

from lms.memo import Memo


def test_the_oldest_entry_goes_when_full() -> None:
    memo: Memo[str, int] = Memo(3)
    for i, key in enumerate("abcd"):
        memo.put(key, i)
    assert len(memo) == 3
    assert "a" not in memo
    assert memo.get("d") == 3
    memo.put("b", 10)  # a known key is replaced, nothing evicted
    assert len(memo) == 3
    assert memo.get("b") == 10


def test_forgetting_some_or_all() -> None:
    memo: Memo[str, int] = Memo(5)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.forget(["a", "missing"])
    assert "a" not in memo
    assert memo.get("b") == 2
    memo.forget()
    assert len(memo) == 0
