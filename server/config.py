"""Configuration read from environment variables, each with a default that runs out of the box.

Every variable here is listed in the README's configuration table.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def read_or_create_secret(path: Path, make) -> str:
    """Return the secret stored at `path`, generating it once with `make()` when absent.

    The file is created exclusively so two gunicorn workers starting together agree on one value.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as handle:
            os.chmod(path, 0o600)
            handle.write(make())
    except FileExistsError:
        pass
    return path.read_text(encoding="utf-8").strip()


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings for one application instance; `create_app(config)` may override any of them."""

    def __init__(self) -> None:
        self.INSTANCE_PATH = Path(os.environ.get("LIMBER_INSTANCE_PATH", PROJECT_ROOT / "instance"))
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{self.INSTANCE_PATH / 'limber.sqlite3'}")
        )
        # When unset, create_app makes one once into instance/secret_key and reuses it.
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        # Public origin used to build invite links, e.g. https://limber.example.org
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")
        # Secure cookies need HTTPS; set when the app is served over TLS (directly or behind a proxy).
        self.HTTPS = _env_bool("HTTPS", False)
        self.ROUTINES_PATH = Path(os.environ.get("ROUTINES_PATH", PROJECT_ROOT / "routines"))
        self.PWA_PATH = PROJECT_ROOT / "pwa"
        # Requests larger than this are refused with 413 before any parsing.
        self.MAX_CONTENT_LENGTH = _env_int("MAX_REQUEST_BYTES", 64 * 1024)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
        self.CLAIM_RATE_LIMIT = os.environ.get("CLAIM_RATE_LIMIT", "10 per minute;50 per hour")
        # Wrong current passwords per signed-in account (password change, account deletion).
        self.PASSWORD_RATE_LIMIT = os.environ.get(
            "PASSWORD_RATE_LIMIT", "5 per 15 minutes;20 per day"
        )
        # New accounts per address: sign-ups, and probes for which emails have an account.
        self.REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "10 per hour;50 per day")
        self.THERAPIST_SESSION_IDLE_DAYS = _env_int("THERAPIST_SESSION_IDLE_DAYS", 14)
        self.CLIENT_SESSION_IDLE_DAYS = _env_int("CLIENT_SESSION_IDLE_DAYS", 180)
        self.INVITE_TTL_DAYS = _env_int("INVITE_TTL_DAYS", 14)
        # Behind a reverse proxy, the number of proxies whose X-Forwarded-For to trust.
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

        # Web Push (server/push/). The VAPID contact: mailto: or https:. Empty means PUBLIC_URL
        # when that is https, else mailto:admin@localhost, which Apple's push service refuses.
        self.PUSH_CONTACT = os.environ.get("PUSH_CONTACT", "").strip()
        # Comma-separated push service hosts (*. wildcards) replacing the built-in list (FCM,
        # Mozilla, Apple, Windows). http:// is allowed only for a loopback host listed here.
        self.PUSH_ALLOWED_HOSTS = os.environ.get("PUSH_ALLOWED_HOSTS", "")
        # The VAPID key pair, PEM or raw base64url; when unset, made once into instance/.
        self.VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY") or None
        self.VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY") or None
        # `flask worker`: sending threads (each keeps 8 requests in flight), how long a claimed
        # notification stays claimed, how often an idle worker looks for work, how many tries
        # before a notification is dead, and the wait before the first retry (doubled each try).
        self.PUSH_WORKER_THREADS = _env_int("PUSH_WORKER_THREADS", 4)
        self.PUSH_LEASE_SECONDS = _env_int("PUSH_LEASE_SECONDS", 120)
        self.PUSH_POLL_SECONDS = float(os.environ.get("PUSH_POLL_SECONDS") or 2)
        self.PUSH_MAX_ATTEMPTS = _env_int("PUSH_MAX_ATTEMPTS", 8)
        self.PUSH_TIMEOUT_SECONDS = _env_int("PUSH_TIMEOUT_SECONDS", 10)
        self.PUSH_RETRY_SECONDS = _env_int("PUSH_RETRY_SECONDS", 30)
        # Delivered, failed and dead notifications are deleted after this many days.
        self.PUSH_RETENTION_DAYS = _env_int("PUSH_RETENTION_DAYS", 30)

        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {}
        self.API_TITLE = "Limber API"
        self.API_VERSION = "1.0"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.JSON_SORT_KEYS = False
        self.TESTING = False

    def as_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key.isupper()}
