"""Search over kept tasks, on SQLite and PostgreSQL: words, prefixes, phrases, unspaced scripts and filters."""

from datetime import UTC, datetime

import pytest

from gallery.workspace.query import BadQuery, parse_query
from workspace_helpers import keep, record, task_id

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
CORPUS = [
    record(1, "a lighthouse at dusk, storm clouds, oil painting", created=NOV_1 + 86400 * 2, seeds=(281520112,)),
    record(2, "storm over a lighthouse", created=NOV_1 + 86400 * 3, model="flux-pro", size="16:9"),
    record(3, "a mountain lake at sunrise, mist over the water", created=NOV_1 - 86400, size="1344x768"),
    record(4, "一只白色的暹罗猫，坐在窗台上", created=NOV_1 + 86400 * 5),
    record(5, "夕焼けの富士山と桜、浮世絵風", created=NOV_1 + 86400 * 6, model="flux-2-pro"),
    record(6, "the lighthouse keeper's cat", created=NOV_1 + 86400 * 7, failed=True),
    record(7, "concatenated scattered lights", created=NOV_1 + 86400 * 8),
]


@pytest.fixture
def corpus(kept):
    keep(kept, *CORPUS)
    return kept


def found(kept, text: str, **kwargs) -> list[int]:
    """The numbers of the tasks a search finds, in its order."""
    return [int(task.id[:8], 16) for task in kept.search(parse_query(text), **kwargs).tasks]


@pytest.mark.parametrize(("text", "expected"), [
    ("lighthouse", {1, 2, 6}),
    ("lighth", {1, 2, 6}),  # a prefix
    ("storm lighthouse", {1, 2}),  # every word, any order
    ("LIGHTHOUSE Storm", {1, 2}),  # any case
    ('"storm clouds"', {1}),  # a phrase
    ('"clouds storm"', set()),
    ("cat", {6}),  # a whole word or its prefix: not "concatenated" or "scattered"
    ("猫", {4}),  # one character of a script without spaces
    ("暹罗猫", {4}),
    ("富士山", {5}),
    ("桜 富士", {5}),
    ("nothing-like-this", set()),
])
def test_words_prefixes_phrases_and_any_language(corpus, text, expected):
    assert set(found(corpus, text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("model:flux-pro", {2}),
    ("model:FLUX-PRO lighthouse", {2}),
    ("seed:281520112", {1}),
    ("seed:28152011", set()),  # a whole seed, not a part of one
    ("status:failed", {6}),
    ("status:done lighthouse", {1, 2}),
    ("before:2026-11-01", {3}),
    ("after:2026-11-06 before:2026-11-08", {4, 5}),  # after: takes in its day, before: does not
    ("size:16:9", {2, 3}),  # 1344x768 is what Flux makes for 16:9 (1.75 against 1.78: within 2 %)
    ("size:1:1 lighthouse", {1, 6}),
    ("size:1344x768", {2, 3}),  # that size, or a ratio asked for that comes within 2 % of it
    ("size:1344x768 mist", {3}),
    ("lighthouse after:2026-11-04", {2, 6}),
])
def test_filters_combine_with_words(corpus, text, expected):
    assert set(found(corpus, text)) == expected


def test_results_are_ranked_then_newest_first(corpus):
    keep(corpus, record(20, "lighthouse lighthouse lighthouse, a lighthouse study", created=NOV_1))
    assert found(corpus, "lighthouse")[0] == 20
    assert found(corpus, "status:done")[:3] == [7, 5, 4]  # no words: newest first


def test_search_pages_hold_every_result_once(corpus):
    keep(corpus, *[record(100 + n, f"a red fox number {n}", created=NOV_1 + n) for n in range(11)])
    seen, cursor = [], None
    while True:
        page = corpus.search(parse_query("fox"), cursor, limit=4)
        seen += [task.id for task in page.tasks]
        if not (cursor := page.next):
            break
    assert sorted(seen) == sorted(task_id(100 + n) for n in range(11))


@pytest.mark.parametrize("text", ['" OR 1=1 --', "lighthouse' OR '1'='1", "a* NEAR(b c)", "%_\\", "'); DROP TABLE"])
def test_hostile_text_is_only_ever_searched_for(corpus, text):
    corpus.search(parse_query(text))  # no error, whatever it finds
    assert corpus.count() == len(CORPUS)


@pytest.mark.parametrize(("text", "message"), [
    ("seed:abc", "whole number"),
    ("status:pending", "done or failed"),
    ("before:yesterday", "YYYY-MM-DD"),
    ("size:big", "size or a ratio"),
    ("model:", "needs a value"),
    ("x" * 501, "at most 500"),
])
def test_a_query_it_cannot_run_says_what_to_change(text, message):
    with pytest.raises(BadQuery, match=message):
        parse_query(text)
