"""Opaque page cursors shared by every paged listing: which listing a cursor is for and where its next page starts."""

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime


class BadCursor(ValueError):
    """A `cursor` that this server did not hand out (or from an older version of it)."""


def make_cursor(kind: str, *parts: object) -> str:
    """An opaque cursor of listing `kind` holding `parts` (JSON values)."""
    return base64.urlsafe_b64encode(json.dumps([kind, *parts]).encode()).decode().rstrip("=")


def read_cursor(cursor: str, kind: str, parse: Callable[[list], tuple]) -> tuple:
    """The position a cursor of `kind` holds, as `parse` reads its parts; BadCursor for anything else."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or parts[0] != kind:
            raise ValueError
        return parse(parts[1:])
    except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("That page link is not one this server made; start from the first page.") from None


def aware(moment: datetime) -> datetime:
    """SQLite hands times back without their zone; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
