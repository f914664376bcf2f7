"""verify's results as `report` gives them: a readable table, JSON, and JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from mockserver.journal.report import write_report
from mockserver.upstream.verify import Outcome

RESULTS = ("ok", "drift", "error", "skipped")


def summary(outcomes: list[Outcome], url: str, sent: int) -> dict[str, Any]:
    counts = Counter(o.result for o in outcomes)
    return {
        "upstream": url,
        "fixtures": len(outcomes),
        **{result: counts.get(result, 0) for result in RESULTS},
        "requests_sent": sent,
        "outcomes": [o.to_json() for o in outcomes],
    }


def failed(report: dict[str, Any]) -> bool:
    return bool(report["drift"] or report["error"])


def table(report: dict[str, Any]) -> str:
    rows = [("FIXTURE", "RESULT", "STATUS", "MS", "DETAIL")]
    for o in report["outcomes"]:
        detail = o["problems"] or [""]
        status = str(o["status"] or "-")
        ms = f"{o['ms']:.0f}" if o["ms"] is not None else "-"
        rows.append((o["fixture"], o["result"], status, ms, detail[0]))
        rows.extend(("", "", "", "", more) for more in detail[1:])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    counts = ", ".join(f"{report[r]} {r}" for r in RESULTS)
    lines.append(
        f"verify: {report['fixtures']} fixture(s) against {report['upstream']}: {counts}; "
        f"{report['requests_sent']} request(s) sent"
    )
    return "\n".join(line.rstrip() for line in lines)


def to_junit(report: dict[str, Any]) -> str:
    """One test case per fixture: a failure for drift, an error for no usable answer."""
    suite = ET.Element("testsuite", name="mockserver.verify")
    for o in report["outcomes"]:
        case = ET.SubElement(
            suite, "testcase", classname="mockserver.verify", name=o["fixture"], file=o["source"]
        )
        text = "\n".join(o["problems"])
        if o["result"] == "drift":
            ET.SubElement(case, "failure", message=o["problems"][0]).text = text
        elif o["result"] == "error":
            ET.SubElement(case, "error", message=o["problems"][0]).text = text
        elif o["result"] == "skipped":
            ET.SubElement(case, "skipped", message=o["problems"][0])
    suite.set("tests", str(report["fixtures"]))
    suite.set("failures", str(report["drift"]))
    suite.set("errors", str(report["error"]))
    suite.set("skipped", str(report["skipped"]))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write(report: dict[str, Any], json_path: Path | None, junit_path: Path | None) -> None:
    write_report(report, json_path, junit_path, junit=to_junit)
