"""Every setting the gallery reads, with its default and meaning; docs/configuration.md lists them all."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One configuration key: its environment name, default and meaning."""

    key: str
    default: object
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return self.key if self.key.startswith("ACEDATACLOUD_") else f"GALLERY_{self.key}"


SETTINGS = (
    Setting("ACEDATACLOUD_API_TOKEN", "", "Bearer token for the Flux Tasks API. Empty: use the built-in emulator."),
    Setting("ACEDATACLOUD_API_BASE_URL", "https://api.acedata.cloud", "Base URL of the Flux Tasks API."),
    Setting("EMULATOR", "auto", "`auto`: use the built-in emulator when no token is set; `off`: never."),
    Setting("EMULATOR_PORT", 5001, "Loopback port of the one emulator every worker and restart shares (started by "
            "whoever needs it first). 0: a private emulator on a free port."),
    Setting("API_TIMEOUT", 10.0, "Seconds to wait for the Tasks API to answer (connect timeout is 3.05 s)."),
    Setting("API_ATTEMPTS", 3, "Attempts per Tasks API call; 429 and 5xx are retried with backoff and jitter."),
    Setting("API_DEADLINE", 15.0, "Seconds one page may spend on Tasks API calls, retries included."),
    Setting("RETRY_BUDGET", 0.1, "Most Tasks API retries as a share of calls in the last 10 s (plus 5 per 10 s), "
            "so retries never pile onto a struggling upstream."),
    Setting("BATCH_SIZE", 50, "Most IDs sent in one `retrieve_batch` call; longer galleries are chunked."),
    Setting("MAX_IDS", 100, "Most task IDs one gallery link may hold."),
    Setting("PENDING_TTL", 4.0, "Seconds a pending or unknown task's record is reused before asking again."),
    Setting("CACHE_DIR", "", "Folder for originals and thumbnails. Empty: `instance/cache`."),
    Setting("PAGE_CACHE_BYTES", 32 * 1024 * 1024, "Most bytes of rendered pages of finished galleries kept in "
            "memory per process (they never change). 0: render every view."),
    Setting("THUMB_SIZES", "384,768", "Thumbnail sizes (longest side, px) the thumbnail route serves."),
    Setting("IMAGE_TIMEOUT", 10.0, "Seconds to fetch one original image, in total."),
    Setting("MAX_IMAGE_BYTES", 16 * 1024 * 1024, "Largest original image fetched, in bytes."),
    Setting("MAX_IMAGE_PIXELS", 32_000_000, "Largest original image decoded, in pixels."),
    Setting("PUBLIC_URL", "",
            "Public address of this server, for absolute links in link previews. Empty: the request's host."),
    Setting("IMAGE_HOSTS", "", "Comma-separated image hosts to fetch from (`cdn.example.com`, `*.example.com` for "
            "names under it). Empty: any public host."),
    Setting("ALLOW_PRIVATE_IMAGE_HOSTS", False, "Fetch images from private, loopback and other non-public addresses "
            "and any port. Only for set-ups like a local emulator; the built-in one is allowed on its own."),
    Setting("IMAGE_ERROR_TTL", 60.0, "Seconds a failed image fetch or decode is remembered (shown as a placeholder, "
            "not retried)."),
    Setting("CACHE_MAX_BYTES", 512 * 1024 * 1024, "Most bytes of originals and thumbnails kept on disk; the least "
            "recently used go first."),
    Setting("MAX_FETCHES", 10, "Original images downloaded at once per process; more wait (up to the queue), "
            "then answer 503 with `Retry-After`."),
    Setting("THUMB_WORKERS", 0, "Thumbnails decoded at once. 0: one per CPU."),
    Setting("THUMB_QUEUE", 16, "Thumbnail requests that may wait for a worker; more answer 503 with `Retry-After`."),
    Setting("RATE_LIMIT", 60, "Gallery and JSON requests per minute per client; more answer 429. 0: no limit."),
    Setting("IMAGE_RATE_LIMIT", 600, "Thumbnail and original image requests per minute per client. 0: no limit."),
    Setting("PROXY_HOPS", 0, "Reverse proxies in front whose `X-Forwarded-*` headers are trusted for the client "
            "address and host (0 or 1)."),
    Setting("REDIS_URL", "", "Redis shared by several servers for task records, coalescing locks and rate limits "
            "(`redis://host:6379/0`). Empty: each process keeps its own."),
    Setting("DATABASE_URL", "", "Where kept tasks live: `postgresql://user:password@host/db` for several servers. "
            "Empty: SQLite at `instance/gallery.db`."),
    Setting("CALLBACK_SECRET", "", "Secret path part of the Flux callback route `POST /hooks/flux/<secret>`. "
            "Empty: no callback route."),
    Setting("ACCESS_KEY", "", "When set, visitors must enter this key once (then a signed cookie); "
            "`/healthz` stays open."),
    Setting("SECRET_KEY", "", "Signs the access cookie. Empty: derived from `GALLERY_ACCESS_KEY`."),
    Setting("EMULATOR_FAULT", "", "Fault modes for the built-in emulator's Tasks API (see below); for a live look."),
    Setting("EMULATOR_IMAGE_FAULT", "", "Fault modes for the built-in emulator's images (see below)."),
)

# The token never enters app.config (templates can read config); only the API client holds it.
TOKEN_ENV = "ACEDATACLOUD_API_TOKEN"
DEFAULTS = {s.key: s.default for s in SETTINGS if s.key != TOKEN_ENV}
