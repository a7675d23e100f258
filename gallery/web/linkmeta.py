"""Pure shaping for link previews: the Open Graph title, description and image of a gallery or one image."""

import hashlib
from dataclasses import dataclass

from gallery.images.previews import HEIGHT, VERSION, WIDTH
from gallery.web.viewmodels import CompareView, GalleryView, ImageView, TaskView, clip_words


@dataclass(frozen=True)
class ShareMeta:
    """What a chat app shows for a link: title, description and a preview image of a stated size."""

    title: str
    description: str
    url: str
    image_url: str
    image_alt: str
    image_width: int = WIDTH
    image_height: int = HEIGHT


def gallery_meta(page: GalleryView, *, url: str, preview_url: str, title: str | None = None) -> ShareMeta:
    """The preview of a whole gallery: its title (or the one given with the link) and a contact sheet."""
    prompts = list(dict.fromkeys(task.prompt for task in page.tasks if task.prompt))
    shown = "; ".join(clip_words(prompt, 80) for prompt in prompts[:3])
    more = f" and {len(prompts) - 3} more prompts" if len(prompts) > 3 else ""
    description = f"{page.summary.label}." + (f" {shown}{more}." if shown else "")
    return ShareMeta(
        title=clip_words(title.strip(), 120) if title and title.strip() else page.title,
        description=clip_words(description, 300),
        url=url,
        image_url=preview_url,
        image_alt=f"Contact sheet of {page.summary.label}",
    )


def image_meta(task: TaskView, image: ImageView, *, url: str, preview_url: str,
               title: str | None = None) -> ShareMeta:
    """The preview of one image: its prompt as the title, its settings as the description."""
    facts = [f"Seed {image.seed}" if image.seed else None, task.size_label if task.size else None,
             task.model, "Flux image"]
    return ShareMeta(
        title=clip_words((title or "").strip() or image.prompt or "Flux image", 120),
        description=clip_words(" · ".join(fact for fact in facts if fact), 300),
        url=url,
        image_url=preview_url,
        image_alt=image.alt,
    )


def compare_meta(view: CompareView, *, url: str, preview_url: str) -> ShareMeta:
    """The preview of a comparison: how many images and the first prompt, what differs, the images side by side."""
    prompts = list(dict.fromkeys(pane.image.prompt for pane in view.panes if pane.image.prompt))
    shown = " · ".join(f"{n}: {clip_words(prompt, 70)}" for n, prompt in enumerate(prompts, 1)) if len(prompts) > 1 \
        else ""
    differing = "; ".join(f"{row.label} {' / '.join(row.values)}" for row in view.rows if row.differs)
    description = ". ".join(part for part in (view.summary, differing, shown) if part) + "."
    return ShareMeta(
        title=clip_words(view.title, 120),
        description=clip_words(description, 300),
        url=url,
        image_url=preview_url,
        image_alt=f"{len(view.panes)} images side by side",
    )


def collection_meta(info, *, url: str, preview_url: str) -> ShareMeta:
    """The preview of a collection: its title, how many images and who made it, its description."""
    count = f"{info.image_count:,} image" if info.image_count == 1 else f"{info.image_count:,} images"
    description = f"A collection of {count} by {info.created_by}." + (f" {info.description}" if info.description
                                                                     else "")
    return ShareMeta(
        title=clip_words(info.title, 120),
        description=clip_words(" ".join(description.split()), 300),
        url=url,
        image_url=preview_url,
        image_alt=f"Contact sheet of the collection {clip_words(info.title, 80)}",
    )


def signature(page: GalleryView) -> str:
    """A short fingerprint of what a gallery's preview shows, so its URL changes when a task finishes."""
    parts = [VERSION] + [f"{task.id}:{task.status}:{len(task.images)}" for task in page.tasks]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
