"""The snapshot schemas: one definition, rendered to the doc, matching what the service writes."""

from __future__ import annotations

from pathlib import Path

from core.learning import fields
from core.ports.ledger import SnapshotKind
from tests.unit.test_learning_support import ACCT, Desk, full_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "learning-snapshots.md"


def test_doc_is_generated_from_the_field_specs() -> None:
    assert DOC.read_text() == fields.render_markdown(), (
        "regenerate with core.learning.fields.render_markdown()"
    )
    for spec in (*fields.IDENTITY_FIELDS, *fields.EXPORT_FIELDS, *fields.DAILY_FIELDS):
        assert f"`{spec.name}`" in DOC.read_text()


def test_export_columns_are_unique_and_typed() -> None:
    names = [f.name for f in fields.EXPORT_FIELDS]
    assert len(names) == len(set(names))
    assert list(fields.export_schema()) == names


def test_payloads_hold_exactly_the_documented_fields(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    full_run(desk)
    identity = {f.name for f in fields.IDENTITY_FIELDS}
    documented = {
        SnapshotKind.ENTRY: identity | {f.name for f in fields.ENTRY_FIELDS} | {"features"},
        SnapshotKind.DAILY: identity | {f.name for f in fields.DAILY_FIELDS},
        SnapshotKind.EXIT: identity | {f.name for f in fields.EXIT_FIELDS},
    }
    for snap in desk.ledger.snapshots(ACCT):
        assert set(snap.payload) == documented[snap.kind], snap.kind
