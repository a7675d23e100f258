"""Every setting the gallery reads, with its default and the one line the README's table shows."""

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
    Setting("EMULATOR", "auto", "`auto`: start the built-in emulator when no token is set; `off`: never."),
    Setting("API_TIMEOUT", 10.0, "Seconds to wait for the Tasks API to answer (connect timeout is 3.05 s)."),
    Setting("API_ATTEMPTS", 3, "Attempts per Tasks API call; 429 and 5xx are retried with backoff and jitter."),
    Setting("API_DEADLINE", 15.0, "Seconds one page may spend on Tasks API calls, retries included."),
    Setting("BATCH_SIZE", 50, "Most IDs sent in one `retrieve_batch` call; longer galleries are chunked."),
    Setting("MAX_IDS", 100, "Most task IDs one gallery link may hold."),
    Setting("PENDING_TTL", 4.0, "Seconds a pending or unknown task's record is reused before asking again."),
    Setting("CACHE_DIR", "", "Folder for originals and thumbnails. Empty: `instance/cache`."),
    Setting("THUMB_SIZES", "384,768", "Thumbnail sizes (longest side, px) the thumbnail route serves."),
    Setting("IMAGE_TIMEOUT", 10.0, "Seconds to fetch one original image, in total."),
    Setting("MAX_IMAGE_BYTES", 16 * 1024 * 1024, "Largest original image fetched, in bytes."),
    Setting("MAX_IMAGE_PIXELS", 32_000_000, "Largest original image decoded, in pixels."),
    Setting("PUBLIC_URL", "",
            "Public address of this server, for absolute links in link previews. Empty: the request's host."),
    Setting("TRUST_PROXY", 0,
            "Proxies in front of this server whose X-Forwarded-* headers are believed (0 or 1)."),
)

# The token never enters app.config (templates can read config); only the API client holds it.
TOKEN_ENV = "ACEDATACLOUD_API_TOKEN"
DEFAULTS = {s.key: s.default for s in SETTINGS if s.key != TOKEN_ENV}
