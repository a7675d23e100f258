"""Collection, pick, comment and display-name routes: JSON for scripts and the page's script, HTML without it.

Routes stay thin: they read the request, ask gallery/workspace/collections.py, and shape the answer through the
same view models (and the same grid template) as task galleries, Recent and search.
"""

from dataclasses import dataclass, replace

from flask import (
    Blueprint,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from gallery.export.archive import stream_zip
from gallery.flux.models import Image, Status, Task
from gallery.images.originals import media_type
from gallery.images.previews import VERSION
from gallery.services import services
from gallery.web import compare, density, identity
from gallery.web.access import _safe_next
from gallery.web.galleries import compress
from gallery.web.linkmeta import ShareMeta, collection_meta
from gallery.web.marks import marks_for, only_picked, page_variant, picks_wanted
from gallery.web.shapes import kept_shapes
from gallery.web.sharing import PREVIEW_TILES, absolute, share_meta
from gallery.web.urls import FlaskUrls
from gallery.web.viewmodels import GalleryView, blank_tasks, find_image, gallery_view, parse_image_key
from gallery.web.workspace import ListingView
from gallery.workspace.collections import (
    MAX_COMMENT,
    MAX_DESCRIPTION,
    MAX_TITLE,
    CollectionError,
    Info,
    ItemPage,
    NotFound,
    Ref,
    clean_name,
    clean_text,
    entries,
    parse_image_ref,
    parse_ref,
    parse_refs,
)

bp = Blueprint("collections", __name__)

FIRST_PAGE_ITEMS = 24  # about a screenful, as Recent's first page: the rest comes as JSON once the page is up
PAGE_ITEMS = 96  # "Older" pages without the script
JSON_PAGE_ITEMS = 240  # the script's pages: fewer round trips through a collection of 10,000
LIST_PAGE = 24  # collections per page of /collections
ZIP_CHUNK = 200  # items fetched at a time for a download: memory stays flat however long the collection
SORTS = (("order", "Collection order"), ("picks", "Most picked"))


# ---- who is who --------------------------------------------------------------------------------------------

@bp.get("/api/me")
def api_me() -> Response:
    """The viewer's display name (null until given), whether writes are on, and the CSRF token for them."""
    viewer = identity.viewer()
    return _no_store(jsonify({"name": viewer.name, "writable": viewer.writable, "csrf_token": viewer.csrf_token}))


@bp.put("/api/me")
def api_set_me() -> Response:
    """Set the display name; the signed cookie comes with the answer."""
    viewer = identity.set_name(clean_name(_body().get("name")))
    return _no_store(jsonify({"name": viewer.name}))


@bp.post("/me")
def set_me() -> Response:
    """Set the display name from the header's form (works without the script), then go back."""
    identity.set_name(clean_name(request.form.get("name")))
    return redirect(_safe_next(request.form.get("next") or url_for("collections.collections_page")), 303)


# ---- collections as JSON -----------------------------------------------------------------------------------

@bp.get("/api/collections")
@compress.compressed()
def api_collections() -> Response:
    """The team's collections, newest first, a page at a time."""
    found, following = services().collections.newest(request.args.get("cursor") or None, LIST_PAGE)
    return _no_store(jsonify({
        "collections": [_summary(info) | {"cover": [_cover_url(ref) for ref in info.cover]} for info in found],
        "next": url_for("collections.api_collections", cursor=following) if following else None}))


@bp.post("/api/collections")
def api_create() -> Response:
    """Make a collection from task IDs and images; 201 with its slug and absolute link."""
    body = _body()
    author = identity.author(body.get("by"))
    title = clean_text(body.get("title"), "title", MAX_TITLE, lines=False)
    description = clean_text(body.get("description"), "description", MAX_DESCRIPTION)
    items = _resolve(parse_refs(body.get("items", [])))
    info = services().collections.create(title, description, items, author)
    response = jsonify({"slug": info.slug, "url": absolute(_link(info.slug)), "title": info.title,
                        "image_count": info.image_count})
    response.status_code = 201
    response.headers["Location"] = _link(info.slug)
    return _no_store(response)


@bp.get("/api/collections/<slug>")
@compress.compressed()
def api_collection(slug: str) -> Response:
    """The collection and a page of its items; `?version=` answers {"changed": false} when nothing changed."""
    s = services()
    if (version := request.args.get("version")) is not None:
        info = s.collections.info(slug)
        if version == info.version:
            return _no_store(jsonify({"slug": slug, "version": info.version, "changed": False}))
    view = _collection_view(slug, JSON_PAGE_ITEMS)
    items = [{"ref": str(ref), "task": task.to_json(), "image_indexes": [image.index for image in task.images]}
             for ref, task in zip(view.refs, view.listing.grid.tasks, strict=True)]
    return _no_store(jsonify(_summary(view.info) | {
        "writable": identity.writable(), "version": view.info.version, "changed": True, "items": items,
        "next": view.listing.next_api_url,
        # The same page in the shape of Recent's JSON, so the grid's pager reads it as it reads Recent.
        "tasks": [item["task"] for item in items], "next_url": view.listing.next_api_url}))


@bp.patch("/api/collections/<slug>")
def api_update(slug: str) -> Response:
    """Rename a collection or change its description."""
    body = _body()
    title = clean_text(body["title"], "title", MAX_TITLE, lines=False) if "title" in body else None
    description = clean_text(body["description"], "description", MAX_DESCRIPTION) \
        if "description" in body else None
    return _no_store(jsonify(_summary(services().collections.update(slug, title, description))))


@bp.delete("/api/collections/<slug>")
def api_delete(slug: str) -> Response:
    """Delete a collection: only its maker may (a script's, any script)."""
    services().collections.delete(slug, identity.author(_by()))
    return Response(status=204)


@bp.post("/api/collections/<slug>/items")
def api_add(slug: str) -> Response:
    """Append items; those already in it are skipped."""
    collections = services().collections
    collections.info(slug)  # 404 before any task is looked up
    added, info = collections.add(slug, _resolve(parse_refs(_body().get("items"))))
    return _no_store(jsonify({"added": added, "image_count": info.image_count, "version": info.version}))


@bp.delete("/api/collections/<slug>/items")
def api_remove(slug: str) -> Response:
    """Take items out (a task ID takes every image of that task)."""
    removed, info = services().collections.remove(slug, parse_refs(_body().get("items")))
    return _no_store(jsonify({"removed": removed, "image_count": info.image_count, "version": info.version}))


@bp.post("/api/collections/<slug>/move")
def api_move(slug: str) -> Response:
    """Move one item right after another (`"after": null`: to the front)."""
    body = _body()
    after = body.get("after")
    info = services().collections.move(slug, parse_ref(body.get("item")), None if after is None else parse_ref(after))
    return _no_store(jsonify(_summary(info)))


# ---- picks, comments and activity ----------------------------------------------------------------------------

@bp.put("/api/picks/<ref>")
def api_pick(ref: str) -> Response:
    """Pick an image."""
    return _pick(ref, True)


@bp.delete("/api/picks/<ref>")
def api_unpick(ref: str) -> Response:
    """Take one's pick back."""
    return _pick(ref, False)


def _pick(value: str, picked: bool) -> Response:
    ref = _existing_image(value)
    author = identity.author(_by())
    count, names = services().collections.pick(ref, author, picked)
    return _no_store(jsonify({"ref": str(ref), "count": count, "names": list(names), "mine": picked}))


@bp.get("/api/images/<ref>/comments")
def api_comments(ref: str) -> Response:
    """An image's comments, oldest first (plain text: the page writes them with textContent)."""
    image = parse_image_ref(ref)
    found = services().collections.comments(image, identity.viewer().author_id or "")
    return _no_store(jsonify({"comments": [comment.to_json() for comment in found]}))


@bp.post("/api/images/<ref>/comments")
def api_comment(ref: str) -> Response:
    """Comment on an image."""
    body = _body()
    image = _existing_image(ref)
    text = _comment_body(body)
    comment = services().collections.comment(image, identity.author(body.get("by")), text)
    response = jsonify(comment.to_json())
    response.status_code = 201
    return _no_store(response)


@bp.patch("/api/comments/<int:comment_id>")
def api_edit_comment(comment_id: int) -> Response:
    """Change one's own comment."""
    body = _body()
    comment = services().collections.edit_comment(comment_id, identity.author(body.get("by")), _comment_body(body))
    return _no_store(jsonify(comment.to_json()))


@bp.delete("/api/comments/<int:comment_id>")
def api_delete_comment(comment_id: int) -> Response:
    """Delete one's own comment."""
    services().collections.delete_comment(comment_id, identity.author(_by()))
    return Response(status=204)


@bp.get("/api/activity")
def api_activity() -> Response:
    """Picks and comment counts of the images named (task IDs or images) that changed after `since`."""
    refs = parse_refs([part for part in request.args.get("refs", "").split(",") if part.strip()])
    since_text = request.args.get("since")
    try:
        since = int(since_text) if since_text not in (None, "") else None
    except ValueError:
        raise CollectionError("\"since\" is the token the last answer gave.") from None
    collections = services().collections
    changed, token = collections.activity({ref.task_id for ref in refs}, since)
    wanted = {(ref.task_id, ref.index) for ref in refs}
    whole = {ref.task_id for ref in refs if ref.whole}
    if changed is not None:
        changed = {key for key in changed if key in wanted or key[0] in whole}
        wanted = changed
    found = collections.marks(wanted, identity.viewer().author_id or "")
    keys = changed if changed is not None else found.keys()
    empty = {"picks": 0, "pickers": [], "mine": False, "comments": 0}
    images = {f"{task_id}-{index}": found[task_id, index].to_json() if (task_id, index) in found else empty
              for task_id, index in sorted(keys)}
    return _no_store(jsonify({"images": images, "since": token}))


# ---- pages ---------------------------------------------------------------------------------------------------

@bp.get("/collections")
@compress.compressed()
def collections_page() -> Response:
    """The team's collections, newest first, each with a contact sheet of its first images."""
    cursor = request.args.get("cursor") or None
    found, following = services().collections.newest(cursor, LIST_PAGE)
    cards = [CollectionCard(info, tuple(_cover_url(ref) for ref in info.cover)) for info in found]
    html = render_template("collections.html", cards=cards, first_page=cursor is None,
                           next_url=url_for("collections.collections_page", cursor=following) if following else None)
    return _no_store(Response(html, mimetype="text/html"), "private, no-cache")


@bp.get("/c/<slug>")
@compress.compressed()
def collection_page(slug: str) -> Response:
    """The collection as a gallery: the same grid, lightbox, compare, filter and sort as any gallery."""
    s = services()
    cursor = request.args.get("cursor") or None
    view = _collection_view(slug, FIRST_PAGE_ITEMS if cursor is None else PAGE_ITEMS)
    shown = density.current()
    featured = _featured(slug, view.listing.grid)
    comparison = compare.for_any()
    tasks = view.listing.grid.tasks
    key = ("collection", request.full_path, request.host_url, shown, view.info.version, page_variant(view.marks),
           tuple((task.id, tuple((image.error, image.ratio) for image in task.images)) for task in tasks))
    if comparison or featured:
        key = None  # drawn afresh: they may name tasks outside this page, some still generating
    elif any(task.status in (Status.PENDING, Status.UNAVAILABLE) for task in tasks):
        key = None
    share = share_meta(view.listing.grid, featured, comparison) if comparison or featured else \
        _collection_share(view)
    page = s.pages.get(key) or s.pages.put(key, render_template(
        "collection.html", listing=view.listing, collection=view.info, page=view.listing.grid, featured=featured,
        refs=[str(ref) for ref in view.refs],
        compare=comparison, share=share, sample_data=s.sample_data, blanks=blank_tasks(), density=shown,
        density_links=density.links(), sort=view.listing.sort or SORTS[0][0], sort_options=SORTS,
        picks_only=picks_wanted(request.args)))
    unchanged = request.if_none_match.contains_weak(page.etag)
    response = Response(status=304) if unchanged else Response(page.body, mimetype="text/html")
    response.set_etag(page.etag, weak=True)
    density.remember(response)
    return _no_store(response, "private, no-cache")


@bp.get("/c/<slug>/download")
def download(slug: str) -> Response:
    """The collection's originals as a zip with its manifest, streamed a few items at a time."""
    s = services()
    info = s.collections.info(slug)

    def tasks():
        for chunk in s.collections.all_items(slug, ZIP_CHUNK):
            found = s.tasks.get_many(dict.fromkeys(ref.task_id for ref in chunk))
            yield from _item_tasks(chunk, {task.id: task for task in found})

    def load(task: Task, image: Image) -> tuple[bytes, str]:
        data = s.originals.get(task.id, image.index, image.url)
        return data, media_type(data)

    response = Response(stream_with_context(stream_zip(tasks(), load)), mimetype="application/zip")
    name = f"flux-collection-{info.slug}-{info.image_count}-images.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _no_store(response, "private, no-cache")


def collection_pages(slug: str, size: int):
    """The collection a page of `size` items at a time, for the static export: (render, tasks, found, last) per
    page, where `tasks` hold each item's images, `found` the whole tasks by ID, and render(urls, broken,
    **context) is the page's HTML with the export's own URLs."""
    s = services()
    cursor = None
    while True:
        page = s.collections.page(slug, cursor, size)
        found = {task.id: task for task in s.tasks.get_many(dict.fromkeys(ref.task_id for ref in page.items))}
        tasks = _item_tasks(page.items, found)

        def render(urls, broken, tasks=tasks, page=page, first=cursor is None, **context) -> str:
            grid = gallery_view(tuple(task.id for task in tasks), tasks, urls, s.thumb_sizes, broken=broken)
            listing = ListingView(kind="collection", heading=page.info.title, query="", grid=grid, next_url=None,
                                  next_api_url=None, next_cursor=None, first_page=first)
            return render_template("collection.html", listing=listing, collection=page.info, page=grid,
                                   featured=None, compare=None, share=None, sample_data=False, blanks=blank_tasks(),
                                   density="images", density_links=None, sort=SORTS[0][0], sort_options=SORTS,
                                   picks_only=False, **context)

        yield render, tasks, found, page.next is None
        if page.next is None:
            return
        cursor = page.next


# ---- shaping -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CollectionCard:
    """One collection on /collections: its fields and up to four cover thumbnails."""

    info: Info
    cover: tuple[str, ...]

    @property
    def link(self) -> str:
        return _link(self.info.slug)

    @property
    def created_label(self) -> str:
        return self.info.created_at.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def count_label(self) -> str:
        count = self.info.image_count
        return f"{count:,} image" if count == 1 else f"{count:,} images"


@dataclass(frozen=True)
class CollectionView:
    """A page of a collection: its fields, the grid of the page's items (a ListingView, as Recent's), the item
    each grid task stands for, and the picks and comments of its images."""

    info: Info
    listing: ListingView
    refs: list[Ref]
    marks: dict


def _collection_view(slug: str, limit: int) -> CollectionView:
    """The view model of one page of a collection, with picks and comments filled in one query."""
    s = services()
    cursor = request.args.get("cursor") or None
    picked = picks_wanted(request.args)
    sort = "picks" if request.args.get("sort") == "picks" else ""
    page: ItemPage = s.collections.page(slug, cursor, limit, picked_only=picked, by_picks=bool(sort))
    found = {task.id: task for task in s.tasks.get_many(dict.fromkeys(ref.task_id for ref in page.items))}
    tasks = _item_tasks(page.items, found)
    marks = marks_for(tasks)
    if picked:  # the items' picked images only (a whole task may have some picked and some not)
        pairs = [(ref, shown[0]) for ref, task in zip(page.items, tasks, strict=True)
                 if (shown := only_picked([task], marks))]
        refs, tasks = [ref for ref, _ in pairs], [task for _, task in pairs]
    else:
        refs = page.items
    grid = gallery_view(tuple(task.id for task in tasks), tasks, FlaskUrls(), s.thumb_sizes,
                        broken=_broken(tasks), shapes=kept_shapes(tasks, s.store, min(s.thumb_sizes)), marks=marks,
                        writable=identity.writable())
    link, api = _link(slug), url_for("collections.api_collection", slug=slug)
    grid = replace(grid, link=link, api_link=api)
    args = ({"picks": "1"} if picked else {}) | ({"sort": sort} if sort else {})
    listing = ListingView(
        kind="collection", heading=page.info.title, query="", grid=grid, first_page=cursor is None,
        next_url=url_for("collections.collection_page", slug=slug, cursor=page.next, **args) if page.next else None,
        next_api_url=url_for("collections.api_collection", slug=slug, cursor=page.next, **args)
        if page.next else None, next_cursor=page.next, sort=sort, api_url=api)
    return CollectionView(page.info, listing, list(refs), marks)


def _item_tasks(items: list[Ref], found: dict[str, Task]) -> list[Task]:
    """Each item as a task holding only the item's images: one image, or all of a whole task's."""
    tasks = []
    for ref in items:
        task = found.get(ref.task_id) or Task(id=ref.task_id, status=Status.UNKNOWN)
        if not ref.whole:
            task = replace(task, images=tuple(image for image in task.images if image.index == ref.index))
        tasks.append(task)
    return tasks


def _broken(tasks: list[Task]) -> dict[tuple[str, int], str]:
    s = services()
    return {(task.id, image.index): reason for task in tasks for image in task.images
            if (reason := s.originals.failure(task.id, image.index))}


def _featured(slug: str, grid: GalleryView):
    """The image a one-image link (`?image=`) names, when it is in this collection, on this page or not."""
    value = request.args.get("image")
    if not value:
        return None
    if found := find_image(grid, value):
        return found
    named = parse_image_key(value)
    s = services()
    if named is None or not s.collections.contains(slug, Ref(*named)):
        return None
    task = s.tasks.get(named[0])
    view = gallery_view((task.id,), [task], FlaskUrls(), s.thumb_sizes, marks=marks_for([task]))
    return find_image(view, value)


def _collection_share(view: CollectionView) -> ShareMeta:
    """The link preview of a collection: its title, its count and description, a contact sheet of its start."""
    ids = ",".join(dict.fromkeys(task.id for task in view.listing.grid.tasks[:PREVIEW_TILES])) or None
    preview = url_for("share.preview", ids=ids, v=VERSION) if ids else None
    return collection_meta(view.info, url=absolute(request.full_path.rstrip("?")),
                           preview_url=absolute(preview) if preview else "")


def _resolve(refs: list[Ref]) -> list[Ref]:
    """What to store for refs: their tasks looked up (kept ones from the database, others from the Flux API)."""
    if not refs:
        return []
    tasks = {task.id: task for task in services().tasks.get_many(dict.fromkeys(ref.task_id for ref in refs))}
    return entries(refs, tasks)


def _existing_image(value: str) -> Ref:
    """An image ref whose task is done and has that image; 404 otherwise."""
    ref = parse_image_ref(value)
    task = services().tasks.get(ref.task_id)
    if task.status is not Status.DONE or not 0 <= ref.index < len(task.images):
        raise NotFound(f"There is no image {ref}.")
    return ref


def _comment_body(body: dict) -> str:
    text = clean_text(body.get("body"), "comment", MAX_COMMENT)
    if not text:
        raise CollectionError("A comment needs some text.")
    return text


def _body() -> dict:
    """The request's JSON object; CollectionError for anything else."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CollectionError("Send a JSON object.")
    return body


def _by() -> object:
    """A script's name for a write without a body to hold it: "by" in the JSON body if any, else the query."""
    body = request.get_json(silent=True)
    return body.get("by") if isinstance(body, dict) and "by" in body else request.args.get("by")


def _summary(info: Info) -> dict:
    return {"slug": info.slug, "url": absolute(_link(info.slug)), "title": info.title,
            "description": info.description, "created_by": info.created_by,
            "created_at": info.created_at.isoformat(), "updated_at": info.updated_at.isoformat(),
            "image_count": info.image_count, "version": info.version}


def _link(slug: str) -> str:
    return url_for("collections.collection_page", slug=slug)


def _cover_url(ref: Ref) -> str:
    """A cover thumbnail: the item's image, or a whole task's first."""
    return url_for("gallery.thumb", task_id=ref.task_id, index=max(ref.index, 0), size=min(services().thumb_sizes))


def _no_store(response: Response, cache: str = "no-store") -> Response:
    response.headers["Cache-Control"] = cache
    return response
