"""Rendering of verified lineage records: a rich table for people, a dict for ``--json``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from rich.table import Table

from decentralml.lineage import LineageReport
from decentralml.untrusted import UntrustedTable


def _iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat(timespec="milliseconds")


def lineage_rows(report: LineageReport) -> list[tuple[str, str]]:
    """``(field, value)`` rows describing a verified record, for tables."""
    record = report.signed.record
    rows = [
        ("lineage digest", report.digest_hex),
        ("step", record.step),
        ("framework", record.framework),
        ("task / submission", f"{record.task_id} / {record.submission_id if record.submission_id is not None else '-'}"),
        ("input hash", record.input_hash),
        ("params hash", record.params_hash),
        ("code hash", record.code_hash),
        ("output hash", record.output_hash),
        ("started", _iso(record.started_at_ms)),
        ("finished", _iso(record.finished_at_ms)),
        ("signer", f"{record.signer} ({record.scheme.value})"),
    ]
    rows.extend(("parent", parent) for parent in record.parents)
    rows.extend((f"verified: {check.name}", check.detail) for check in report.checks)
    return rows


def report_to_dict(report: LineageReport) -> dict[str, Any]:
    """JSON-ready form of a verified lineage (for ``--json``)."""
    return {
        "digest": report.digest_hex,
        "record": report.signed.record.to_dict(),
        "signature": "0x" + report.signed.signature.hex(),
        "verified": [check.name for check in report.checks],
    }


def lineage_table(report: LineageReport) -> Table:
    """A rich table of a verified lineage record; every value is plain text (controls escaped), never markup."""
    table = UntrustedTable(title="Lineage (verified)", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in lineage_rows(report):
        table.add_row(name, value)
    return table
