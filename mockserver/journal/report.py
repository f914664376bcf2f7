"""The CI report: fixtures that never fired, requests that fell through to generation (with the
closest fixture and the condition that failed), as JSON and as JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockserver.contract.request import last_user_text as request_last_user_text
from mockserver.testing.admin_client import AdminClient


def build_report(admin: AdminClient) -> dict[str, Any]:
    fixtures = admin.fixtures()
    unmatched = admin.unmatched()
    return {
        "fixtures": len(fixtures),
        "never_fired": [
            {"name": f["name"], "source": f["source"]} for f in fixtures if f["calls"] == 0
        ],
        "fired": [{"name": f["name"], "source": f["source"]} for f in fixtures if f["calls"]],
        "fell_through": [
            {
                "request": r["id"],
                "model": r.get("model"),
                "last_user": last_user_text(r.get("body")),
                "closest": r["near_misses"][0] if r["near_misses"] else None,
            }
            for r in unmatched
        ],
    }


def last_user_text(body: Any) -> str | None:
    """The request's last user text, as the matcher sees it (text parts of multimodal content
    joined); None when a journaled body has no user message (or is not a chat body at all)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    chat = [m for m in messages if isinstance(m, dict)]
    if not any(m.get("role") == "user" for m in chat):
        return None
    return request_last_user_text(chat)


def to_junit(report: dict[str, Any]) -> str:
    """One test case per fixture (skipped when it never fired) and one failure per request
    that no fixture answered."""
    suite = ET.Element("testsuite", name="mockserver")
    for entry in report["never_fired"]:
        case = ET.SubElement(suite, "testcase", classname="mockserver.fixtures", name=entry["name"])
        ET.SubElement(case, "skipped", message=f"fixture never fired ({entry['source']})")
    for entry in report["fell_through"]:
        case = ET.SubElement(
            suite, "testcase", classname="mockserver.unmatched", name=entry["request"]
        )
        closest = entry["closest"]
        why = (
            f"closest fixture {closest['fixture']}: {'; '.join(closest['failed'])}"
            if closest
            else "no fixtures loaded"
        )
        failure = ET.SubElement(case, "failure", message=f"no fixture matched: {why}")
        failure.text = json.dumps(entry, ensure_ascii=False, indent=2)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(len(report["fell_through"])))
    suite.set("skipped", str(len(report["never_fired"])))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report for several test runs: a fixture never fired if it never fired in any."""
    if not reports:
        return {"fixtures": 0, "never_fired": [], "fell_through": []}
    fired_somewhere = set.union(*({f["name"] for f in r["fired"]} for r in reports))
    never = {
        f["name"]: f for r in reports for f in r["never_fired"] if f["name"] not in fired_somewhere
    }
    return {
        "fixtures": max(r["fixtures"] for r in reports),
        "never_fired": list(never.values()),
        "fell_through": [entry for r in reports for entry in r["fell_through"]],
    }


def write_report(
    report: dict[str, Any],
    json_path: Path | None,
    junit_path: Path | None,
    *,
    junit: Callable[[dict[str, Any]], str] = to_junit,
) -> dict[str, Any]:
    """Write the report (as JSON, and as JUnit XML by `junit`: verify has its own test cases);
    missing folders are created (as pytest's --junitxml does)."""
    for path in (json_path, junit_path):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if json_path is not None:
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    if junit_path is not None:
        junit_path.write_text(junit(report), encoding="utf-8")
    return report
