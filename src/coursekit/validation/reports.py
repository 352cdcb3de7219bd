"""The TA's reports of a validation run: JUnit XML for dashboards and a spreadsheet-safe CSV."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from coursekit.log.export import write_rows
from coursekit.validation.checks import SKIP, NotebookReport

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    """Text XML 1.0 can hold: control characters (ANSI colours, NULs from a notebook) become '?'."""
    return _NOT_XML.sub("?", text)


def write_junit(reports: list[NotebookReport], path: Path, root: Path | None = None) -> None:
    """JUnit XML, one testcase per student notebook, for CI dashboards; the reasons are the failure message."""
    failed = sum(1 for r in reports if r.problems)
    skipped = sum(1 for r in reports if r.status == SKIP)
    suite = ET.Element(
        "testsuite",
        name="coursekit validate",
        tests=str(len(reports)),
        failures=str(failed),
        errors="0",
        skipped=str(skipped),
    )
    for report in reports:
        shown = relative(report.path, root)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_safe(report.student),
            name=_xml_safe(report.notebook or shown),
            file=_xml_safe(shown),
            time=f"{report.seconds:.2f}",
        )
        if report.problems:
            failure = ET.SubElement(case, "failure", message=_xml_safe("; ".join(p.reason for p in report.problems)))
            details = "\n".join(f"- {p}" for p in report.problems)
            if report.output:
                details += f"\n\nOutput of the run (the end of it):\n{report.output}"
            failure.text = _xml_safe(details)
        elif report.skipped:
            ET.SubElement(case, "skipped", message=_xml_safe(str(report.skipped)))
    suites = ET.Element("testsuites")
    suites.append(suite)
    tree = ET.ElementTree(suites)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    tree.write(partial, encoding="utf-8", xml_declaration=True)
    os.replace(partial, path)  # a run killed meanwhile leaves the previous whole report, never half of one


def write_report_csv(reports: list[NotebookReport], path: Path, root: Path | None = None) -> None:
    """One spreadsheet-safe row per student notebook: student, notebook, file, status, reasons."""
    rows = [
        [r.student, r.notebook, relative(r.path, root), r.status, "; ".join(str(p) for p in r.reasons)] for r in reports
    ]
    write_rows(["student", "notebook", "file", "status", "reasons"], rows, path)


def relative(path: Path, root: Path | None) -> str:
    """``path`` as shown in reports: relative to the submissions folder when it is inside it."""
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)
