"""TaskService's memory: finished tasks are kept, and the least recently used are the first forgotten."""

from flux_emulator import app as sample
from gallery.flux.client import FluxClient
from gallery.flux.tasks import TaskService
from support import TOKEN, emulator_stats


def test_a_task_viewed_lately_outlives_one_kept_longer_ago(emulator):
    tasks = TaskService(FluxClient(emulator.url, TOKEN), max_entries=2)
    first, second, third = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID
    tasks.get(first)
    tasks.get(second)
    tasks.get(first)  # from memory, and now the most recently used
    tasks.get(third)  # one too many: `second` goes
    calls = emulator_stats(emulator)["task_calls"]
    tasks.get(first)
    assert emulator_stats(emulator)["task_calls"] == calls
    tasks.get(second)
    assert emulator_stats(emulator)["task_calls"] == calls + 1
