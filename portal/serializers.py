"""The one field list of a sync event: the history API's serializer.

The API returns ``SyncEventSerializer``'s fields; the portal's CSV export and
``manage.py sync_history --json`` are derived from it, under their own established names for
three of them (``EXPORT_NAMES``). A new field of ``SyncEvent`` is shown everywhere by adding it
to ``SyncEventSerializer.Meta.fields``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from rest_framework import serializers

from .models import SyncEvent


class ChangeSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class SyncEventSerializer(serializers.ModelSerializer):
    outcome = serializers.CharField(read_only=True)
    changes = ChangeSerializer(many=True, read_only=True)
    cycle = serializers.IntegerField(source="cycle_id", read_only=True)

    class Meta:
        model = SyncEvent
        fields = [
            "id",
            "created_at",
            "request_id",
            "operation",
            "summary",
            "outcome",
            "status_code",
            "error_type",
            "error_detail",
            "resource_type",
            "resource_id",
            "external_id",
            "subject",
            "changes",
            "members_added",
            "members_removed",
            "filter",
            "results",
            "method",
            "path",
            "duration_ms",
            "token_label",
            "token_prefix",
            "credential_kind",
            "credential_id",
            "cycle",
        ]
        read_only_fields = fields


# The CSV export and the command's JSON predate the API and keep their names for these.
EXPORT_NAMES = {"created_at": "time", "status_code": "status"}
_CSV_NAMES = {**EXPORT_NAMES, "cycle": "cycle_id"}
_CSV_FIELDS = [name for name in SyncEventSerializer.Meta.fields if name != "id"]
CSV_COLUMNS = [_CSV_NAMES.get(name, name) for name in _CSV_FIELDS]


def event_json(event: SyncEvent) -> dict[str, Any]:
    """``manage.py sync_history --json``'s object for ``event``."""
    data = SyncEventSerializer(event).data
    record = {EXPORT_NAMES.get(name, name): value for name, value in data.items()}
    record["organization"] = event.organization_id
    return record


def _csv_cell(value: object) -> object:
    """A CSV cell: empty for nothing, JSON for lists, and spreadsheet formulas defused (a cell
    starting with = + - @, tab or CR is read as text)."""
    if value is None or value == []:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return f"'{value}"
    return value


def csv_rows(events: Iterable[SyncEvent]) -> Iterator[list[object]]:
    """The CSV export's rows for an iterable of events, header first."""
    yield CSV_COLUMNS
    serializer = SyncEventSerializer()
    for event in events:
        data = serializer.to_representation(event)
        yield [_csv_cell(data[name]) for name in _CSV_FIELDS]
