"""`flask import`: bring tasks into the workspace by ID, from a file, or by the time window they were made in."""

from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gallery.flux.client import ApiError
from gallery.flux.models import BadIds, parse_ids
from gallery.services import services
from gallery.web.viewmodels import plural
from gallery.workspace.importer import PAGE, Importer, ImportSummary

DAY = click.DateTime(["%Y-%m-%d"])


def init_app(app: Flask) -> None:
    """Add the import command to `flask`."""
    app.cli.add_command(import_command)


@click.command("import")
@click.argument("ids", nargs=-1)
@click.option("--file", "id_file", type=click.File("r", encoding="utf-8"),
              help="A file of task IDs (one per line, or separated by commas or spaces).")
@click.option("--since", type=DAY, help="Import every task created on or after this day (UTC), e.g. 2026-11-01.")
@click.option("--until", type=DAY, help="With --since: up to and including this day (UTC). Default: today.")
@click.option("--page-size", type=click.IntRange(1, 50), default=PAGE, show_default=True,
              help="Tasks asked for in one Tasks API call.")
@with_appcontext
def import_command(ids: tuple[str, ...], id_file, since: datetime | None, until: datetime | None,
                   page_size: int) -> None:
    """Keep tasks in the workspace: by ID (flask import <id>,<id>…), from --file, or by --since/--until."""
    text = " ".join(ids) + (" " + id_file.read() if id_file else "")
    if since is None and until is not None:
        raise click.UsageError("--until goes with --since.")
    if since is not None and text.strip():
        raise click.UsageError("Give task IDs or a time window (--since), not both.")
    if since is None and not text.strip():
        raise click.UsageError("Give task IDs, --file, or --since. See flask import --help.")
    s = services()
    importer = Importer(s.tasks.client, s.kept, page=page_size)
    with _bar() as bar:
        job = bar.add_task("Importing", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(job, completed=done, total=total)

        try:
            if since is not None:
                start = since.replace(tzinfo=UTC)
                end = (until or datetime.now(UTC)).replace(tzinfo=UTC) + timedelta(days=1) - timedelta(microseconds=1)
                if end < start:
                    raise click.UsageError("--until is before --since.")
                summary = importer.by_window(start, end, progress)
            else:
                summary = importer.by_ids(parse_ids(text, limit=10**9), progress)
        except BadIds as error:
            raise click.ClickException(str(error)) from None
        except ApiError as error:
            raise click.ClickException(f"The Flux API failed ({error.kind}: {error.message}). Tasks kept "
                                       "before the failure stay kept; run the same command again.") from None
    click.echo(_report(summary))


def _bar() -> Progress:
    """A progress bar on standard error, so the summary on standard output stays clean for scripts."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True, console=Console(stderr=True))


def _report(summary: ImportSummary) -> str:
    """The closing summary, one line, then the tasks that need another look."""
    lines = [f"Imported {plural(summary.new, 'new task')}; {summary.already} kept already, "
             f"{len(summary.unfinished)} not finished, {len(summary.unknown)} unknown to the Flux API."]
    if summary.unfinished:
        lines.append("Not finished yet (import them again later): " + ", ".join(summary.unfinished[:10])
                     + (" …" if len(summary.unfinished) > 10 else ""))
    if summary.unknown:
        lines.append("Unknown: " + ", ".join(summary.unknown[:10]) + (" …" if len(summary.unknown) > 10 else ""))
    return "\n".join(lines)
