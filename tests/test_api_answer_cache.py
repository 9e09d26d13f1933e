"""The API's memory of finished tile answers: bounded by size, least recently used out, set by one variable."""

from __future__ import annotations

import pytest

from landcover.api.service import AnswerCache
from landcover.api.settings import ANSWER_CACHE_VARIABLE, DEFAULT_ANSWER_CACHE_MB, ApiSettings


def test_answers_beyond_the_budget_leave_least_recently_used_first():
    cache = AnswerCache(max_chars=10)
    cache.put("a", "1234")
    cache.put("b", "1234")
    assert cache.get("a") == "1234"  # now "b" is the least recently used
    cache.put("c", "1234")  # 12 characters: one answer must go
    assert cache.get("b") is None and cache.get("a") == "1234" and cache.get("c") == "1234"
    assert len(cache) == 2


def test_a_replaced_answer_is_counted_once_and_an_oversized_one_is_not_kept():
    cache = AnswerCache(max_chars=10)
    cache.put("a", "123456")
    cache.put("a", "12")
    cache.put("b", "12345678")  # 2 + 8 = 10 fits only if the replaced answer no longer counts
    assert cache.get("a") == "12" and cache.get("b") == "12345678"
    cache.put("huge", "x" * 11)
    assert cache.get("huge") is None and len(cache) == 2


def test_a_zero_budget_keeps_nothing():
    cache = AnswerCache(max_chars=0)
    cache.put("a", "x")
    assert cache.get("a") is None and len(cache) == 0


def test_the_budget_comes_from_its_variable_and_bad_values_name_it():
    assert ApiSettings.from_env({}, data_root="data").answer_cache_mb == DEFAULT_ANSWER_CACHE_MB
    assert ApiSettings.from_env({ANSWER_CACHE_VARIABLE: "0"}, data_root="data").answer_cache_mb == 0
    with pytest.raises(ValueError, match=ANSWER_CACHE_VARIABLE):
        ApiSettings.from_env({ANSWER_CACHE_VARIABLE: "lots"}, data_root="data")
    with pytest.raises(ValueError, match="answer_cache_mb"):
        ApiSettings(data_root="data", answer_cache_mb=-1)


def test_an_entry_bound_keeps_that_many_answers_whatever_their_size():
    cache = AnswerCache(max_entries=2)
    for key in "abc":
        cache.put(key, key * 1000)
    assert cache.get("a") is None and cache.get("b") == "b" * 1000 and len(cache) == 2
    nothing = AnswerCache(max_entries=0)
    nothing.put("a", "x")
    assert nothing.get("a") is None
