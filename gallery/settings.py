"""Every setting the gallery reads, with its default, meaning and parser; docs/configuration.md lists them all."""

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the setting and says what it must be."""


Parser = Callable[[str, object], object]  # (key, raw value) → typed value, or SettingError


def text(key: str, value: object) -> str:
    """Any text (or a path), surrounding spaces dropped."""
    if value is None:
        return ""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SettingError(f"{key} must be text, not {value!r}")
    return str(value).strip()


def flag(key: str, value: object) -> bool:
    """A yes/no setting from a bool or from text such as "true", "1", "yes", "on" (or "false", "0", "no", "off")."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise SettingError(f"{key} must be true or false, not {value!r}")


def integer(minimum: int = 0) -> Parser:
    """A whole number of at least `minimum`, from an int or its digits."""

    def parse(key: str, value: object) -> int:
        try:
            if isinstance(value, bool | float):
                raise ValueError
            number = int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise SettingError(f"{key} must be a whole number, not {value!r}") from None
        if number < minimum:
            raise SettingError(f"{key} must be at least {minimum}, not {number}")
        return number

    return parse


def number(minimum: float = 0.0) -> Parser:
    """A finite number of at least `minimum`, from an int, a float or their text."""

    def parse(key: str, value: object) -> float:
        try:
            if isinstance(value, bool):
                raise ValueError
            result = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise SettingError(f"{key} must be a number, not {value!r}") from None
        if not math.isfinite(result) or result < minimum:
            raise SettingError(f"{key} must be a number of at least {minimum:g}, not {value!r}")
        return result

    return parse


def one_of(*choices: object) -> Parser:
    """One of a few fixed values, compared as text so "1" from the environment matches 1."""

    def parse(key: str, value: object) -> object:
        for choice in choices:
            if str(value).strip().lower() == str(choice).lower():
                return choice
        listed = " or ".join(str(choice) for choice in choices)
        raise SettingError(f"{key} must be {listed}, not {value!r}")

    return parse


def names(key: str, value: object) -> tuple[str, ...]:
    """A comma-separated setting (or a list) as a tuple of non-empty entries."""
    parts = value.split(",") if isinstance(value, str) else (value or ())
    if not isinstance(parts, list | tuple):
        raise SettingError(f"{key} must be a comma-separated list, not {value!r}")
    return tuple(str(part).strip() for part in parts if str(part).strip())


def sizes(key: str, value: object) -> tuple[int, ...]:
    """Thumbnail sizes from "384,768" or a list, sorted, each between 16 and 2048."""
    try:
        found = tuple(sorted({integer()(key, part) for part in names(key, value)}))
    except SettingError:
        found = ()
    if not found or not all(16 <= size <= 2048 for size in found):
        raise SettingError(f"{key} must be sizes between 16 and 2048, not {value!r}")
    return found


def url_prefix(key: str, value: object) -> str:
    """A path that starts and ends with "/" (`/_cache/`), or empty."""
    prefix = text(key, value)
    if prefix and not (prefix.startswith("/") and prefix.endswith("/") and " " not in prefix):
        raise SettingError(f"{key} must be a path that starts and ends with /, such as /_cache/, not {value!r}")
    return prefix


@dataclass(frozen=True)
class Setting:
    """One configuration key: its environment name, default, meaning and how its value is read."""

    key: str
    default: object
    help: str
    parse: Parser = text

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return self.key if self.key.startswith("ACEDATACLOUD_") else f"GALLERY_{self.key}"

    @property
    def attr(self) -> str:
        """Its name on `Settings`."""
        return self.key.lower()


SETTINGS = (
    Setting("ACEDATACLOUD_API_TOKEN", "", "Bearer token for the Flux Tasks API. Empty: use the built-in emulator."),
    Setting("ACEDATACLOUD_API_BASE_URL", "https://api.acedata.cloud", "Base URL of the Flux Tasks API."),
    Setting("EMULATOR", "auto", "`auto`: use the built-in emulator when no token is set; `off`: never.",
            one_of("auto", "off")),
    Setting("EMULATOR_PORT", 5001, "Loopback port of the one emulator every worker and restart shares (started by "
            "whoever needs it first). 0: a private emulator on a free port.", integer()),
    Setting("API_TIMEOUT", 10.0, "Seconds to wait for the Tasks API to answer (connect timeout is 3.05 s).",
            number()),
    Setting("API_ATTEMPTS", 3, "Attempts per Tasks API call; 429 and 5xx are retried with backoff and jitter.",
            integer(1)),
    Setting("API_BACKOFF", 0.5, "Seconds before the first Tasks API retry; each later one waits twice as long (at "
            "most 8 times this), plus up to this much jitter.", number()),
    Setting("API_DEADLINE", 15.0, "Seconds one page may spend on Tasks API calls, retries included.", number()),
    Setting("RETRY_BUDGET", 0.1, "Most Tasks API retries as a share of calls in the last 10 s (plus 5 per 10 s), "
            "so retries never pile onto a struggling upstream.", number()),
    Setting("BATCH_SIZE", 50, "Most IDs sent in one `retrieve_batch` call; longer galleries are chunked.",
            integer(1)),
    Setting("MAX_IDS", 100, "Most task IDs one gallery link may hold.", integer(1)),
    Setting("PENDING_TTL", 4.0, "Seconds a pending or unknown task's record is reused before asking again.",
            number()),
    Setting("POLL_SECONDS", 3.0, "Seconds a page with pending tasks waits before it first asks for them again; "
            "each later wait is 1.5 times longer, at most 15 s.", number(0.1)),
    Setting("CACHE_DIR", "", "Folder for originals and thumbnails. Empty: `instance/cache`."),
    Setting("PAGE_CACHE_BYTES", 32 * 1024 * 1024, "Most bytes of rendered pages of finished galleries kept in "
            "memory per process (they never change). 0: render every view.", integer()),
    Setting("THUMB_SIZES", "384,768", "Thumbnail sizes (longest side, px) the thumbnail route serves.", sizes),
    Setting("IMAGE_TIMEOUT", 10.0, "Seconds to fetch one original image, in total.", number()),
    Setting("IMAGE_READ_TIMEOUT", 5.0, "Longest silence between bytes of an original image, in seconds.",
            number(0.1)),
    Setting("MAX_IMAGE_BYTES", 16 * 1024 * 1024, "Largest original image fetched, in bytes.", integer(1)),
    Setting("MAX_IMAGE_PIXELS", 32_000_000, "Largest original image decoded, in pixels.", integer(1)),
    Setting("PUBLIC_URL", "",
            "Public address of this server, for absolute links in link previews. Empty: the request's host."),
    Setting("IMAGE_HOSTS", "", "Comma-separated image hosts to fetch from (`cdn.example.com`, `*.example.com` for "
            "names under it). Empty: any public host.", names),
    Setting("ALLOW_PRIVATE_IMAGE_HOSTS", False, "Fetch images from private, loopback and other non-public addresses "
            "and any port. Only for set-ups like a local emulator; the built-in one is allowed on its own.", flag),
    Setting("IMAGE_ERROR_TTL", 60.0, "Seconds a failed image fetch or decode is remembered (shown as a placeholder, "
            "not retried).", number()),
    Setting("CACHE_MAX_BYTES", 512 * 1024 * 1024, "Most bytes of originals and thumbnails kept on disk; the least "
            "recently used go first.", integer()),
    Setting("MAX_FETCHES", 10, "Original images downloaded at once per process; more wait (up to the queue), "
            "then answer 503 with `Retry-After`.", integer(1)),
    Setting("THUMB_WORKERS", 0, "Thumbnails decoded at once. 0: one per CPU.", integer()),
    Setting("THUMB_QUEUE", 16, "Thumbnail requests that may wait for a worker; more answer 503 with `Retry-After`.",
            integer()),
    Setting("RATE_LIMIT", 60, "Gallery and JSON requests per minute per client; more answer 429. 0: no limit.",
            integer()),
    Setting("WRITE_RATE_LIMIT", 30, "Writes (collections, picks, comments, the display name) per minute per client; "
            "more answer 429. 0: no limit.", integer()),
    Setting("IMAGE_RATE_LIMIT", 600, "Thumbnail and original image requests per minute per client. 0: no limit.",
            integer()),
    Setting("PROXY_HOPS", 0, "Reverse proxies in front whose `X-Forwarded-*` headers are trusted for the client "
            "address and host (0 or 1).", one_of(0, 1)),
    Setting("ACCEL_REDIRECT", "", "nginx's internal location of the cache folder (`/_cache/`): with an access key, "
            "kept images are sent by nginx after the app's checks (`X-Accel-Redirect`). Empty: the app sends them.",
            url_prefix),
    Setting("REDIS_URL", "", "Redis shared by several servers for task records, coalescing locks and rate limits "
            "(`redis://host:6379/0`). Empty: each process keeps its own."),
    Setting("DATABASE_URL", "", "Where kept tasks live: `postgresql://user:password@host/db` for several servers. "
            "Empty: SQLite at `instance/gallery.db`."),
    Setting("CALLBACK_SECRET", "", "Secret path part of the Flux callback route `POST /hooks/flux/<secret>`. "
            "Empty: no callback route."),
    Setting("ACCESS_KEY", "", "When set, visitors must enter this key once (then a signed cookie); "
            "`/healthz` stays open."),
    Setting("SECRET_KEY", "", "Signs the access, display-name and CSRF cookies. Empty: derived from "
            "`GALLERY_ACCESS_KEY` when one is set, else made once and kept in `instance/secret_key` (mode 0600). "
            "Set the same value on every server behind one address."),
    Setting("READ_ONLY", False, "Turn every write off (collections, picks, comments): they answer 403 and pages "
            "show no controls for them.", flag),
    Setting("EMULATOR_FAULT", "", "Fault modes for the built-in emulator's Tasks API (see below); for a live look."),
    Setting("EMULATOR_IMAGE_FAULT", "", "Fault modes for the built-in emulator's images (see below)."),
)

# The token never enters app.config (templates can read config); only the API client holds it.
TOKEN_ENV = "ACEDATACLOUD_API_TOKEN"
DEFAULTS = {s.key: s.default for s in SETTINGS if s.key != TOKEN_ENV}


@dataclass(frozen=True)
class Settings:
    """Every setting but the token, parsed and checked once when the app is made."""

    acedatacloud_api_base_url: str
    emulator: str
    emulator_port: int
    api_timeout: float
    api_attempts: int
    api_backoff: float
    api_deadline: float
    retry_budget: float
    batch_size: int
    max_ids: int
    pending_ttl: float
    poll_seconds: float
    cache_dir: str
    page_cache_bytes: int
    thumb_sizes: tuple[int, ...]
    image_timeout: float
    image_read_timeout: float
    max_image_bytes: int
    max_image_pixels: int
    public_url: str
    image_hosts: tuple[str, ...]
    allow_private_image_hosts: bool
    image_error_ttl: float
    cache_max_bytes: int
    max_fetches: int
    thumb_workers: int
    thumb_queue: int
    rate_limit: int
    write_rate_limit: int
    image_rate_limit: int
    proxy_hops: int
    accel_redirect: str
    redis_url: str
    database_url: str
    callback_secret: str
    access_key: str
    secret_key: str
    read_only: bool
    emulator_fault: str
    emulator_image_fault: str

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> "Settings":
        """Parse every setting in `config` (missing ones take their default); SettingError names a bad one."""
        return cls(**{s.attr: s.parse(s.key, config.get(s.key, s.default)) for s in SETTINGS if s.key != TOKEN_ENV})

    def as_config(self) -> dict[str, object]:
        """The parsed values by setting key, to write back into app.config."""
        return {s.key: getattr(self, s.attr) for s in SETTINGS if s.key != TOKEN_ENV}
