"""Pure parsing of a search box's text: words, quoted phrases and `key:value` filters, with clear errors."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gallery.flux.models import aspect

FILTERS = ("model", "seed", "status", "before", "after", "size")
STATUSES = ("done", "failed")
MAX_QUERY = 500  # characters; a search box, not a document
MAX_TERMS = 12
# A token: a quoted phrase, or a run of anything but space and quotes (filters are picked out of these).
TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
# Scripts written without spaces between words: such text is searched as a substring, not by whole words.
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0e7f]")


class BadQuery(ValueError):
    """The search text cannot be run; the message says what to change."""


@dataclass(frozen=True)
class Term:
    """One thing the prompt must contain: a word (matched as a word prefix) or a phrase, or unspaced text."""

    text: str
    phrase: bool = False

    @property
    def unspaced(self) -> bool:
        """Whether it holds Chinese, Japanese, Korean or Thai text, which is matched anywhere in the prompt."""
        return bool(UNSPACED.search(self.text))


@dataclass(frozen=True)
class Query:
    """A parsed search: terms the prompt must all contain, and filters on the task's fields."""

    terms: tuple[Term, ...] = ()
    model: str | None = None
    seed: str | None = None
    status: str | None = None
    before: datetime | None = None  # created before this instant (exclusive)
    after: datetime | None = None  # created at or after this instant
    size: str | None = None  # exactly as asked ("1024x768"), or None when a ratio is asked
    ratio: float | None = None  # width / height, for `size:16:9` and for `size:1024x768` alike
    text: str = ""
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing at all was asked."""
        return not self.terms and not self.filters


def parse_query(text: str) -> Query:
    """Parse `lighthouse "storm clouds" model:flux-dev after:2026-11-01` into a Query."""
    text = (text or "").strip()
    if len(text) > MAX_QUERY:
        raise BadQuery(f"A search can be at most {MAX_QUERY} characters long.")
    terms: list[Term] = []
    filters: dict[str, str] = {}
    for match in TOKEN.finditer(text):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            if phrase.strip():
                terms.append(Term(" ".join(phrase.split()), phrase=True))
            continue
        key, colon, value = word.partition(":")
        if colon and key.lower() in FILTERS:
            if not value:
                raise BadQuery(f"{key}: needs a value, e.g. {_example(key.lower())}.")
            filters[key.lower()] = value
        else:
            terms.extend(Term(part) for part in _words(word))
    if len(terms) > MAX_TERMS:
        raise BadQuery(f"A search can have at most {MAX_TERMS} words and phrases.")
    return Query(terms=tuple(terms), text=text, filters=filters, **_parsed_filters(filters))


def _words(token: str) -> list[str]:
    """The searchable pieces of a bare token: punctuation around and between words is not searched."""
    return [piece for piece in re.split(r"[^\w\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+", token) if piece]


def _parsed_filters(filters: dict[str, str]) -> dict:
    parsed: dict = {}
    if "model" in filters:
        parsed["model"] = filters["model"].lower()
    if "seed" in filters:
        if not re.fullmatch(r"\d{1,20}", filters["seed"]):
            raise BadQuery(f"seed: takes a whole number, e.g. {_example('seed')}.")
        parsed["seed"] = filters["seed"]
    if "status" in filters:
        status = filters["status"].lower()
        if status not in STATUSES:
            raise BadQuery("status: is done or failed (only finished tasks are kept).")
        parsed["status"] = status
    for key in ("before", "after"):
        if key in filters:
            parsed[key] = _day(key, filters[key])
    if "size" in filters:
        shape = aspect(filters["size"])
        if shape is None:
            raise BadQuery(f"size: takes a size or a ratio, e.g. {_example('size')} or 1024x768.")
        parsed["ratio"] = shape[0] / shape[1]
        if ":" not in filters["size"]:
            parsed["size"] = f"{shape[0]}x{shape[1]}"
    return parsed


def _day(key: str, value: str) -> datetime:
    """The start of a day (UTC) for `before:` and `after:`; `before:2026-11-30` means before that day began."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadQuery(f"{key}: takes a date as YYYY-MM-DD, e.g. {_example(key)}.") from None
    return day


def day_after(moment: datetime) -> datetime:
    """The next day's start, for inclusive date ranges in the import command."""
    return moment + timedelta(days=1)


def _example(key: str) -> str:
    return {"model": "model:flux-dev", "seed": "seed:281520112", "status": "status:failed",
            "before": "before:2026-11-30", "after": "after:2026-11-01", "size": "size:16:9"}[key]
