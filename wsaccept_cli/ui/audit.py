"""`wsaccept audit`'s output: plain (a line per case that is not OK, all with -v, a table per
category and a final line of counts), one JSON object, JUnit XML (one test case per case), a
self-contained HTML page (Jinja2, imported only here), and the list of cases.

Everything that came from the server (its status line, headers, body) is untrusted: plain
text passes it through `display`, JSON through `json_safe`, XML through `_xml_text`, HTML
through Jinja2's autoescape after `display`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from wsaccept_cli.core.audit.judges import observed_text
from wsaccept_cli.core.audit.model import OUTCOMES, Case, Outcome, Result, summary
from wsaccept_cli.ui.text import display, json_safe, shown


def case_list(cases: Sequence[Case], fmt: str) -> bytes:
    """--list-cases: ID, category, section and title of each case (JSON Lines with json)."""
    if fmt == "json":
        lines = [json_safe(json.dumps(_case_fields(case), ensure_ascii=False)) for case in cases]
        return "".join(f"{line}\n" for line in lines).encode()
    width = max((len(case.id) for case in cases), default=0)
    rows = [
        f"{case.id:<{width}}  {case.category:<9}  {case.section}: {case.title}" for case in cases
    ]
    return "".join(f"{display(row)}\n" for row in rows).encode()


def _case_fields(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "category": case.category,
        "section": case.section,
        "title": case.title,
        "expected": case.expected,
    }


def result_fields(result: Result) -> dict[str, Any]:
    """One case's result as JSON: the case, its outcome, what was expected and observed."""
    observed = result.observed
    fields = _case_fields(result.case)
    fields.update(
        {
            "outcome": result.outcome.label,
            "why": result.verdict.why,
            "observed": observed_text(observed),
            "status": observed.status,
            "headers": [list(pair) for pair in observed.headers],
            "body": observed.body[:512].decode("latin-1") if not observed.upgraded else "",
            "ended": observed.ended,
            "request_bytes": result.request.size,
            "seconds": round(observed.seconds, 3),
        }
    )
    return fields


def json_report(url: str, results: Sequence[Result]) -> bytes:
    document = {
        "url": url,
        "cases": [result_fields(result) for result in results],
        "summary": summary(results),
    }
    return (json_safe(json.dumps(document, ensure_ascii=False)) + "\n").encode()


def plain_report(url: str, results: Sequence[Result], *, verbose: bool) -> bytes:
    """A line per case that is not OK (every case with `verbose`), then a table of outcomes per
    category, then the counts."""
    lines = [f"audit {display(url)}"]
    for result in results:
        if verbose or result.outcome is not Outcome.OK:
            lines += _case_lines(result)
    lines.append("")
    lines += category_table(results)
    lines.append(final_line(results))
    return "".join(f"{line}\n" for line in lines).encode()


def _case_lines(result: Result) -> list[str]:
    case = result.case
    return [
        f"{result.outcome.label:<13} {case.id:<13} {display(case.title)} [{case.section}]",
        f"{'':14}expected: {display(case.expected)}",
        f"{'':14}observed: {shown(observed_text(result.observed), 300)}",
        f"{'':14}{shown(result.verdict.why, 300)}",
    ]


def category_table(results: Sequence[Result]) -> list[str]:
    """Outcome counts per category, in catalogue order, as aligned text."""
    categories: dict[str, dict[str, int]] = {}
    for result in results:
        row = categories.setdefault(result.case.category, {o.label: 0 for o in OUTCOMES})
        row[result.outcome.label] += 1
    labels = [outcome.label for outcome in OUTCOMES]
    header = f"{'category':<10}" + "".join(f"{label:>15}" for label in labels)
    rows = [
        f"{name:<10}" + "".join(f"{counts[label]:>15}" for label in labels)
        for name, counts in categories.items()
    ]
    return [header, *rows]


def final_line(results: Sequence[Result]) -> str:
    counts = summary(results)
    parts = ", ".join(f"{counts[o.label]} {o.label}" for o in OUTCOMES)
    return f"audit: {len(results)} cases: {parts}"


def junit(url: str, results: Sequence[Result]) -> bytes:
    """JUnit XML: one test case per case; FAILED as a failure, the outcome as a property
    (NON-STRICT, INFORMATIONAL and UNIMPLEMENTED pass, and say so)."""
    from xml.etree import ElementTree

    counts = summary(results)
    suite = ElementTree.Element(
        "testsuite",
        name=_xml_text(f"wsaccept audit {url}"),
        tests=str(len(results)),
        failures=str(counts[Outcome.FAILED.label]),
        errors="0",
        skipped="0",
        time=f"{sum(result.observed.seconds for result in results):.3f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"wsaccept.audit.{result.case.category}",
            name=_xml_text(f"{result.case.id} {result.case.title}"),
            time=f"{result.observed.seconds:.3f}",
        )
        properties = ElementTree.SubElement(case, "properties")
        for name, value in (
            ("outcome", result.outcome.label),
            ("section", result.case.section),
            ("expected", result.case.expected),
            ("observed", observed_text(result.observed)),
        ):
            ElementTree.SubElement(properties, "property", name=name, value=_xml_text(value))
        if result.outcome is Outcome.FAILED:
            failure = ElementTree.SubElement(case, "failure", message=_xml_text(result.verdict.why))
            failure.text = _xml_text(
                f"expected: {result.case.expected}\nobserved: {observed_text(result.observed)}"
            )
    body = ElementTree.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: other control characters as visible escapes."""
    return "".join(
        char
        if char in "\t\n\r" or 0x20 <= ord(char) < 0xD800 or 0xE000 <= ord(char) < 0xFFFE
        else repr(char)[1:-1]
        for char in text
    )


def html(url: str, results: Sequence[Result]) -> bytes:
    """One self-contained page (no external asset): the summary, the table per category and
    every case, filterable by outcome. Jinja2 escapes every value (autoescape); `display`
    first makes control characters visible."""
    from importlib.resources import files

    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page_source = files("wsaccept_cli.ui").joinpath("audit_page.html").read_text("utf-8")
    template = environment.from_string(page_source)
    counts = summary(results)
    categories: dict[str, dict[str, int]] = {}
    for result in results:
        row = categories.setdefault(result.case.category, dict.fromkeys(counts, 0))
        row[result.outcome.label] += 1
    cases = [
        {
            "id": result.case.id,
            "outcome": result.outcome.label,
            "title": display(result.case.title),
            "section": result.case.section,
            "expected": display(result.case.expected),
            "observed": shown(observed_text(result.observed), 2000),
            "why": shown(result.verdict.why, 2000),
        }
        for result in results
    ]
    page = template.render(
        url=display(url),
        total=len(results),
        counts=list(counts.items()),
        categories=list(categories.items()),
        cases=cases,
    )
    return page.encode("utf-8")
