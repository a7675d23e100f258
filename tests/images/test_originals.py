"""The memory of broken images: each failure is kept for its TTL, and only so many are kept at all."""

from gallery.images.originals import Failures


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_is_remembered_for_its_ttl_then_forgotten():
    clock = Clock()
    failures = Failures(ttl=60, clock=clock)
    failures.add("originals/a/0", "HTTP 404")
    clock.now += 59.9
    assert failures.get("originals/a/0") == "HTTP 404"
    clock.now += 0.1
    assert failures.get("originals/a/0") is None


def test_past_max_entries_the_least_recently_used_failure_goes():
    failures = Failures(ttl=60, max_entries=2, clock=Clock())
    failures.add("a", "1")
    failures.add("b", "2")
    failures.get("a")  # used again: b is now the oldest
    failures.add("c", "3")
    assert [failures.get(key) for key in "abc"] == ["1", None, "3"]


def test_a_ttl_of_zero_remembers_nothing():
    failures = Failures(ttl=0, clock=Clock())
    failures.add("a", "1")
    assert failures.get("a") is None
