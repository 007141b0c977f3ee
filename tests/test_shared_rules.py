"""The rank-0 rules several layers share: class lists, Timestamp seconds, union-find."""

from __future__ import annotations

import pytest

from amikit._privilege import class_names, privilege_classes
from amikit._timestamp import server_seconds
from amikit._unionfind import UnionFind


def test_class_names_split_strip_and_lower_and_keep_all():
    assert class_names(" System, call,,ALL ") == {"system", "call", "all"}
    assert class_names({"Call ", ""}) == {"call"}
    assert class_names("") == frozenset()


@pytest.mark.parametrize(
    ("header", "classes"),
    [("call,all", {"call"}), ("Dialplan,All", {"dialplan"}), ("all", set()), (None, set())],
)
def test_an_events_privilege_needs_its_classes_but_not_all(header, classes):
    assert privilege_classes(header) == classes


@pytest.mark.parametrize("stamp", ["1700000000.123456", "1800000000.000001", "0.5"])
def test_server_seconds_are_the_timestamp_as_written(stamp):
    assert server_seconds(stamp) == float(stamp)


@pytest.mark.parametrize("stamp", [None, "", "soon", "nan", "inf"])
def test_server_seconds_of_no_time_is_none(stamp):
    assert server_seconds(stamp) is None


def test_union_find_keeps_the_first_member_as_root():
    uf = UnionFind()
    uf.union_all([("b", "c"), ("a", "c")])
    assert uf.find("a") == uf.find("c") == "b"
    assert uf.union("d", "a") == ("b", "d")


def test_the_old_name_of_the_pbx_scheduler_still_answers_with_a_warning() -> None:
    from amikit.sim import PBX

    pbx = PBX(calls_per_minute=0)
    with pytest.warns(DeprecationWarning, match="PBX.scheduler"):
        assert pbx.engine is pbx.scheduler
