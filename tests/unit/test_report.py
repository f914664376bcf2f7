"""The CI report: what build_report makes of the admin API's answers, its JUnit form, merging."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mockserver.journal.report import build_report, last_user_text, merge, to_junit, write_report
from mockserver.testing.admin_client import AdminClient


class FakeAdmin(AdminClient):
    """The two admin calls build_report makes, answered from lists (no server)."""

    def __init__(self, fixtures: list[dict[str, Any]], unmatched: list[dict[str, Any]]) -> None:
        super().__init__("http://127.0.0.1:1")
        self._fixtures = fixtures
        self._unmatched = unmatched

    def fixtures(self) -> list[dict[str, Any]]:
        return self._fixtures

    def unmatched(self) -> list[dict[str, Any]]:
        return self._unmatched


def fixture_row(name: str, calls: int) -> dict[str, Any]:
    return {"name": name, "calls": calls, "source": f"fx.yaml:{calls + 1}", "priority": 0}


MISS = {
    "fixture": "greet",
    "source": "fx.yaml:1",
    "failed": ["last user message equals 'hello', got 'hellO'"],
}
UNMATCHED = {
    "id": "req_abc",
    "model": "gpt-4o",
    "body": {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hellO <&> 你好"},
        ],
    },
    "near_misses": [MISS, {"fixture": "other", "source": "fx.yaml:9", "failed": ["a", "b"]}],
}


@pytest.fixture
def report() -> dict[str, Any]:
    admin = FakeAdmin(
        [fixture_row("greet", 2), fixture_row("weather", 0), fixture_row("unused", 0)],
        [UNMATCHED, {**UNMATCHED, "id": "req_none", "near_misses": []}],
    )
    return build_report(admin)


def test_build_report(report: dict[str, Any]) -> None:
    assert report["fixtures"] == 3
    assert report["never_fired"] == [
        {"name": "weather", "source": "fx.yaml:1"},
        {"name": "unused", "source": "fx.yaml:1"},
    ]
    assert report["fired"] == [{"name": "greet", "source": "fx.yaml:3"}]
    first, second = report["fell_through"]
    assert first == {
        "request": "req_abc",
        "model": "gpt-4o",
        "last_user": "hellO <&> 你好",
        "closest": MISS,
    }
    assert second["request"] == "req_none"
    assert second["closest"] is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, "b"),
        ({"messages": [{"role": "system", "content": "s"}]}, None),
        ({"messages": []}, None),
        ({}, None),
        ("{not json", None),
        (None, None),
        ({"messages": ["junk", {"role": "user", "content": "ok"}, 3]}, "ok"),
        (  # multimodal: the text parts, as fixture matching sees them
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
            "hi",
        ),
    ],
)
def test_last_user_text(body: Any, expected: str | None) -> None:
    assert last_user_text(body) == expected


def test_junit_has_a_testcase_for_each_finding(report: dict[str, Any]) -> None:
    suite = ET.fromstring(to_junit(report))
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("mockserver.fixtures", "weather"),
        ("mockserver.fixtures", "unused"),
        ("mockserver.unmatched", "req_abc"),
        ("mockserver.unmatched", "req_none"),
    ]
    assert suite.get("tests") == "4"
    assert suite.get("failures") == "2"
    assert suite.get("skipped") == "2"
    weather = cases[0].find("skipped")
    assert weather is not None
    assert "never fired" in (weather.get("message") or "")
    assert "fx.yaml:1" in (weather.get("message") or "")
    failure = cases[2].find("failure")
    assert failure is not None
    message = failure.get("message") or ""
    assert "greet" in message
    assert "last user message equals 'hello', got 'hellO'" in message
    assert json.loads(failure.text or "")["last_user"] == "hellO <&> 你好", "escaped, not broken"
    lonely = cases[3].find("failure")
    assert lonely is not None
    assert "no fixtures" in (lonely.get("message") or "")


def test_junit_of_a_clean_run_is_an_empty_suite() -> None:
    suite = ET.fromstring(to_junit({"never_fired": [], "fell_through": []}))
    assert suite.findall("testcase") == []
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("0", "0", "0")


def test_write_report_writes_both_files(tmp_path: Path, report: dict[str, Any]) -> None:
    json_path, junit_path = tmp_path / "out.json", tmp_path / "out.xml"
    assert write_report(report, json_path, junit_path) is report
    assert json.loads(json_path.read_text(encoding="utf-8")) == report
    tree = ET.parse(junit_path)  # parsed from the file: its declared encoding is right
    assert len(tree.getroot().findall("testcase")) == 4
    assert "你好" in junit_path.read_text(encoding="utf-8")


def test_write_report_skips_paths_not_given(tmp_path: Path, report: dict[str, Any]) -> None:
    write_report(report, None, tmp_path / "only.xml")
    write_report(report, tmp_path / "only.json", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.json", "only.xml"]


def test_write_report_creates_missing_folders(tmp_path: Path, report: dict[str, Any]) -> None:
    """CI passes paths like build/reports/mockserver.xml before anything made build/."""
    json_path = tmp_path / "build" / "reports" / "mock.json"
    junit_path = tmp_path / "build" / "junit" / "mock.xml"
    write_report(report, json_path, junit_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == report
    ET.parse(junit_path)


def test_merge_across_tests() -> None:
    run_a = {
        "fixtures": 2,
        "fired": [{"name": "greet", "source": "a"}],
        "never_fired": [{"name": "weather", "source": "b"}],
        "fell_through": [{"request": "req_1", "closest": None}],
    }
    run_b = {
        "fixtures": 3,
        "fired": [{"name": "weather", "source": "b"}],
        "never_fired": [
            {"name": "greet", "source": "a"},
            {"name": "added-in-b", "source": "<runtime>"},
        ],
        "fell_through": [{"request": "req_2", "closest": None}],
    }
    merged = merge([run_a, run_b])
    assert merged["fixtures"] == 3
    assert merged["never_fired"] == [{"name": "added-in-b", "source": "<runtime>"}], (
        "a fixture fired in any test did fire"
    )
    assert [e["request"] for e in merged["fell_through"]] == ["req_1", "req_2"]


def test_merge_of_nothing() -> None:
    assert merge([]) == {"fixtures": 0, "never_fired": [], "fell_through": []}
    ET.fromstring(to_junit(merge([])))
