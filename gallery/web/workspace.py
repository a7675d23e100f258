"""Workspace routes: Recent (every kept task, newest first) and search, as pages and as JSON, paged by cursor."""

from dataclasses import dataclass, replace

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from gallery.flux.models import Task
from gallery.services import services
from gallery.web import compare, density, identity
from gallery.web.galleries import compress
from gallery.web.marks import marks_for, only_picked, picks_wanted
from gallery.web.shapes import kept_shapes
from gallery.web.sharing import share_meta
from gallery.web.urls import FlaskUrls
from gallery.web.viewmodels import GalleryView, blank_tasks, gallery_view
from gallery.workspace.kept import ORDERS, Page
from gallery.workspace.query import Query, parse_query

bp = Blueprint("workspace", __name__)

PAGE_TASKS = 48  # a task has one to four images: one page is at most about 200 thumbnails
# The first page is about a screenful, so its thumbnails come first; the script pages in the rest as JSON, in
# pages this many times larger (fewer round trips: Recent may hold thousands of tasks).
FIRST_PAGE_TASKS = 24
JSON_PAGES = 2
NOTICE_COOKIE = "workspace_notice_seen"
SORTS = {"recent": (("newest", "Newest first"), ("oldest", "Oldest first"), ("seed", "Seed"),
                    ("picks", "Most picked")),
         "search": (("best", "Best match"), ("newest", "Newest first"), ("oldest", "Oldest first"),
                    ("seed", "Seed"), ("picks", "Most picked"))}


@dataclass(frozen=True)
class ListingView:
    """A page of a listing (Recent or a search): its heading, the grid of its tasks, and the way on."""

    kind: str  # "recent" or "search"
    heading: str
    query: str
    grid: GalleryView
    next_url: str | None  # the next page as a page, for the "Older" link that works without JavaScript
    next_api_url: str | None  # the next page as JSON, for the script that loads it while the reader scrolls
    next_cursor: str | None
    first_page: bool
    sort: str = ""  # one of ORDERS, or "" for the listing's own order
    api_url: str = ""  # the listing's JSON route (its first page), for the script; "" for Recent's and search's own

    def to_json(self) -> dict:
        """The gallery JSON's `tasks`, plus the cursor and address of the next page."""
        return {"tasks": [task.to_json() for task in self.grid.tasks], "next": self.next_cursor,
                "next_url": self.next_api_url, "query": self.query or None}


@bp.get("/recent")
@compress.compressed()
def recent() -> Response:
    """Every task this server has kept, newest first."""
    return _page(_recent_view())


@bp.get("/api/recent")
@compress.compressed()
def api_recent() -> Response:
    """Recent as JSON, in pages larger than the page's."""
    return _json(_recent_view(PAGE_TASKS * JSON_PAGES))


@bp.get("/search")
@compress.compressed()
def search() -> Response:
    """Search the kept tasks' prompts, with filters; the query stays in the address, so a search is a link."""
    return _page(_search_view())


@bp.get("/api/search")
@compress.compressed()
def api_search() -> Response:
    """Search as JSON, in pages larger than the page's."""
    return _json(_search_view(PAGE_TASKS * JSON_PAGES))


def _recent_view(limit: int | None = None) -> ListingView:
    cursor = request.args.get("cursor") or None
    sort = _sort()
    page = services().kept.recent(cursor, limit or _page_size(cursor), sort or "newest",
                                  picked=picks_wanted(request.args))
    return _listing("recent", "Recent", "", page, cursor is None, sort)


def _search_view(limit: int | None = None) -> ListingView:
    text = request.args.get("q", "")
    query = parse_query(text)
    cursor = request.args.get("cursor") or None
    sort = _sort()
    page = services().kept.search(query, cursor, limit or _page_size(cursor), sort or None,
                                  picked=picks_wanted(request.args)) if not query.empty else Page([], None)
    return _listing("search", _search_heading(query), query.text, page, cursor is None, sort)


def _sort() -> str:
    """The order asked for with `sort=`, when it is one of ORDERS; else "" (the listing's own)."""
    sort = request.args.get("sort", "")
    return sort if sort in ORDERS else ""


def _page_size(cursor: str | None) -> int:
    """Tasks on a page: about a screenful first (the rest comes as JSON), then pages of PAGE_TASKS."""
    return min(PAGE_TASKS, FIRST_PAGE_TASKS) if cursor is None else PAGE_TASKS


def _search_heading(query: Query) -> str:
    return f"Search: {query.text}" if query.text else "Search"


def _listing(kind: str, heading: str, query: str, page: Page, first_page: bool, sort: str = "") -> ListingView:
    """The view model of one page of a listing; with `picks=1`, only the picked images of its tasks."""
    picked = picks_wanted(request.args)
    args = ({"q": query} if query else {}) | ({"sort": sort} if sort else {}) | ({"picks": "1"} if picked else {})
    return ListingView(
        kind=kind, heading=heading, query=query, grid=_grid(page.tasks, picked), first_page=first_page,
        next_url=url_for(f"workspace.{kind}", cursor=page.next, **args) if page.next else None,
        next_api_url=url_for(f"workspace.api_{kind}", cursor=page.next, **args) if page.next else None,
        next_cursor=page.next, sort=sort,
    )


def _grid(tasks: list[Task], picked: bool = False) -> GalleryView:
    """The grid of a page of kept tasks, with broken images marked as in a gallery, picks and comments filled."""
    s = services()
    marks = marks_for(tasks)
    if picked:
        tasks = only_picked(tasks, marks)
    broken = {(task.id, image.index): reason for task in tasks for image in task.images
              if (reason := s.originals.failure(task.id, image.index))}
    return gallery_view(tuple(task.id for task in tasks), tasks, FlaskUrls(), s.thumb_sizes, broken=broken,
                        shapes=kept_shapes(tasks, s.store, min(s.thumb_sizes)), marks=marks,
                        writable=identity.writable())


def _page(view: ListingView) -> Response:
    s = services()
    # Recent and search show what this server has seen to anyone who may open it: say so, the first time.
    show_notice = not request.cookies.get(NOTICE_COOKIE)
    shown = density.current()
    # The page of a listing changes only with the tasks on it (and how they show: broken images, shapes learnt
    # since): kept tasks never change, so a reload is served from memory, as a finished gallery's page is.
    key = ("listing", request.full_path, request.host_url, shown, show_notice, view.next_cursor,
           tuple((task.id, tuple((image.error, image.ratio, image.picks, image.pickers, image.picked_by_me,
                                  image.comments) for image in task.images)) for task in view.grid.tasks),
           identity.viewer().key())
    if request.args.get(compare.PARAM):
        key = None  # a compare link may name tasks from anywhere, some still generating: drawn afresh
    page = s.pages.get(key) or s.pages.put(key, _render_listing(view, show_notice, shown))
    unchanged = request.if_none_match.contains_weak(page.etag)
    response = Response(status=304) if unchanged else Response(page.body, mimetype="text/html")
    response.set_etag(page.etag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    density.remember(response)
    if show_notice:
        response.set_cookie(NOTICE_COOKIE, "1", max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def _render_listing(view: ListingView, show_notice: bool, shown: str) -> str:
    """The HTML of a page of a listing, in density `shown`, with a compare link's images at the top."""
    comparison = compare.for_any()
    share = share_meta(view.grid, None, comparison) if comparison else \
        replace(share_meta(view.grid), title=view.heading) if view.grid.tasks else None
    return render_template("listing.html", listing=view, page=view.grid, show_notice=show_notice,
                           sample_data=services().sample_data, featured=None, blanks=blank_tasks(),
                           compare=comparison, share=share, density=shown, density_links=density.links(),
                           sort=view.sort or SORTS[view.kind][0][0], sort_options=SORTS[view.kind])


def _json(view: ListingView) -> Response:
    response = jsonify(view.to_json())
    response.headers["Cache-Control"] = "private, no-cache"
    return response
