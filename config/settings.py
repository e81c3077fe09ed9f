"""Looptrace settings, read from the environment.

Embedded default (nothing set): SQLite under ``var/``, Celery tasks run eagerly,
DEBUG on, and a development secret generated once into ``var/`` with a warning.
Production: set ``DEBUG=0``, ``SECRET_KEY``, ``KEY_ENCRYPTION_KEY``,
``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).
"""

import os
import secrets
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOOPTRACE_VAR_DIR", BASE_DIR / "var"))


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DEBUG", True)


def development_secret(name: str) -> str:
    """A secret generated once per checkout, so restarts keep sessions and custodial keys."""
    path = VAR_DIR / f"dev-{name.lower().replace('_', '-')}"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
        warnings.warn(
            f"{name} is not set: generated a development value in {path.name}. "
            f"Set {name} in the environment for any real deployment.",
            stacklevel=1,
        )
    return path.read_text().strip()


def secret_setting(name: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    return development_secret(name)


SECRET_KEY = secret_setting("SECRET_KEY")
# Encrypts the private keys the platform holds for custodial signing (AES-GCM).
KEY_ENCRYPTION_KEY = secret_setting("KEY_ENCRYPTION_KEY")

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
if DEBUG:
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "traceability",
    "carbon",
    "passport",
]

# Who hears of each committed ledger append, in this order: footprints first, then
# passports, which read them (eager runs compute in this order too).
LEDGER_FOLLOWERS = (
    "carbon.tasks.nudge_footprints",
    "passport.tasks.nudge_passports",
    "traceability.epcis.tasks.nudge_subscriptions",
    "traceability.tlog.tasks.nudge_tiles",
)
# After a new checkpoint is signed: the tiles follower publishes it with its partial tiles.
# After a new factor version marks footprints dirty: carbon's catch-up recomputes them.
FACTOR_FOLLOWERS = ("carbon.tasks.nudge_footprints",)
# After a partner's PACT request event is stored: a worker answers it, with retries.
PACT_REQUEST_FOLLOWERS = ("carbon.pact.tasks.answer_later",)
# After recomputed footprints commit: PACT reissues the footprints partners follow and queues
# PublishedEvents; after one is queued, a worker delivers it, with retries.
FOOTPRINT_FOLLOWERS = ("carbon.pact.tasks.publish_later",)
PACT_PUBLICATION_FOLLOWERS = ("carbon.pact.tasks.deliver_later",)

# Who checks a recycled-content claim against its site's mass-balance credits (carbon keeps the
# accounts; traceability calls it inside the append, under the ledger's lock).
RECYCLED_CONTENT_CREDITS = "carbon.accounts.claim_within_credits"

# Where traceability reads the grid regions a site may name (the factor registry's electricity
# regions): carbon's, named here because traceability never imports carbon.
GRID_REGIONS = "carbon.selectors.grid_regions"

MIDDLEWARE = [
    # First: refuses a NUL in the address and oversized bodies, and gives machine paths JSON errors.
    "config.errors.ErrorBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "traceability.middleware.SecurityHeadersMiddleware",
    # /tlog/ (C2SP tiles, public files) is answered here, before sessions, CSRF and URL routing.
    "traceability.tlog.middleware.TilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# A failed CSRF check: JSON on API paths, Django's page elsewhere (config/errors.py).
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

# Request bodies larger than this are refused with 413 before they are read: Django's own default
# (2.5 MiB) fits a batch of 1,000 ledger documents of 2.5 KB and every operation.
REQUEST_BODY_MAX_BYTES = int(os.environ.get("REQUEST_BODY_MAX_BYTES", str(2_621_440)))
# EPCIS capture documents hold up to 10,000 events (CAPTURE_LIMIT) of about 1 to 1.5 KB each; parsed,
# a body takes about ten times its size in memory, so one capture needs at most about 160 MB.
EPCIS_CAPTURE_MAX_BODY_BYTES = int(os.environ.get("EPCIS_CAPTURE_MAX_BODY_BYTES", str(16 * 1024 * 1024)))
# Django's own ceiling must let the larger limit through; ErrorBodyMiddleware applies each path's.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(REQUEST_BODY_MAX_BYTES, EPCIS_CAPTURE_MAX_BODY_BYTES)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'looptrace.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE takes the write lock at BEGIN, so concurrent appends queue instead of
    # failing on a lock upgrade; the ledger's ordering relies on that.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})

# No database statement of a request-serving process may run longer than this (PostgreSQL
# ``statement_timeout``, set when the connection opens, so it costs no query): one request must
# not hold a backend for minutes, whatever it asks for. 15 s is far above the slowest legitimate
# request (a 10,000-node genealogy takes well under a second) and below gunicorn's default 30 s
# worker timeout, so a cancelled query still answers with JSON (503 ``query_timeout``) before the
# worker is killed. 0 switches it off. It applies only where ``LOOPTRACE_SERVES_REQUESTS`` is set,
# which the web entry points do (config/wsgi.py, config/asgi.py, ``manage.py runserver``): Celery
# workers, beat and management commands (catch-ups, verify_ledger, audit exports, migrations) are
# long by design, are never started by a caller, and run without a timeout. With eager tasks (no
# broker) the followers' catch-ups run inside the request and share its timeout; a cancelled one
# is logged and caught up at the next nudge.
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "15000"))
SERVES_REQUESTS = env_flag("LOOPTRACE_SERVES_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and SERVES_REQUESTS and DB_STATEMENT_TIMEOUT_MS:
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# The web admin's sign-in page; the Django admin keeps its own at /admin/login/.
LOGIN_URL = "/app/login/"
# The sections of the console's lot page after its facts and verification, in order: the lot page
# lives in traceability, which never imports carbon or passport, so their panels are named here.
LOT_PAGE_PANELS = [
    "carbon.web.panels.footprint_panel",
    "traceability.web.panels.genealogy_panel",
    "traceability.web.panels.mass_balance_panel",
    "passport.web.panels.passport_panel",
]

# Sign-in and API-key failures are counted per credential and per address (traceability/throttle.py):
# ten failures in five minutes keep an online guesser to about three thousand guesses a day per
# credential, hopeless against a 256-bit API secret and slow against a password (NIST SP 800-63B
# 5.2.2 asks for at most 100 consecutive failures per account).
AUTHENTICATION_BACKENDS = ["traceability.auth_backends.ThrottledModelBackend"]
AUTH_FAILURE_LIMIT = int(os.environ.get("AUTH_FAILURE_LIMIT", "10"))
AUTH_CREDENTIAL_FAILURE_LIMIT = int(os.environ.get("AUTH_CREDENTIAL_FAILURE_LIMIT", "10"))
AUTH_FAILURE_WINDOW_SECONDS = int(os.environ.get("AUTH_FAILURE_WINDOW_SECONDS", "300"))
# Only behind a proxy that appends the client's address to X-Forwarded-For itself, and with the
# application reachable through it alone (else clients could pick their address).
AUTH_TRUST_FORWARDED_FOR = env_flag("AUTH_TRUST_FORWARDED_FOR", False)

# A shared cache (Redis) when several processes serve: the failure counts must be shared.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Production (DEBUG off): HTTPS only, secure cookies, strict headers. Behind a TLS-terminating
# proxy set SECURE_PROXY_SSL_HEADER_TRUSTED=1 so Django believes its X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    # PACT clients are machines: over plain HTTP they get a clear 403, not a redirect to follow.
    SECURE_REDIRECT_EXEMPT = [r"^(auth/token|2/|3/)"]
    if env_flag("SECURE_PROXY_SSL_HEADER_TRUSTED", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "traceability.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["traceability.api.permissions.IsOrganisationMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON bodies are read strictly (traceability/jsonbody.py: nesting, NaN, NUL, out-of-range numbers).
    "DEFAULT_PARSER_CLASSES": [
        "traceability.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "traceability.api.errors.exception_handler",
    # Every list is paged, and no page holds more than traceability.paging.MAX_PAGE_SIZE rows.
    "DEFAULT_PAGINATION_CLASS": "traceability.api.pagination.CappedLimitOffset",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Looptrace API",
    "DESCRIPTION": (
        "Traceability and digital product passports for the vehicle circular economy: "
        "signed, hash-chained, Merkle-tree ledger of EPCIS events."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the vendored sidecar package: nothing loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Celery: no broker configured means every task runs eagerly, in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "ledger-checkpoint": {
        "task": "traceability.tasks.ledger_checkpoint_task",
        "schedule": float(os.environ.get("LEDGER_CHECKPOINT_INTERVAL_SECONDS", "300")),
    },
    # EPCIS scheduled subscriptions: each tick runs those with a query time since their last run.
    "epcis-scheduled-subscriptions": {
        "task": "traceability.epcis.tasks.subscriptions_schedule_task",
        "schedule": float(os.environ.get("EPCIS_SCHEDULE_TICK_SECONDS", "60")),
    },
    "epcis-capture-resume": {"task": "traceability.epcis.tasks.epcis_capture_resume_task", "schedule": 300.0},
}

# EPCIS subscription webhooks (traceability/epcis/subscriptions.py). Private, loopback and link-local
# destinations are refused unless allowed (on by default only with DEBUG); plain http is refused
# unless allowed, or when the destination is loopback and private destinations are allowed.
EPCIS_WEBHOOK_ALLOW_PRIVATE = env_flag("EPCIS_WEBHOOK_ALLOW_PRIVATE", DEBUG)
EPCIS_WEBHOOK_ALLOW_HTTP = env_flag("EPCIS_WEBHOOK_ALLOW_HTTP", False)
EPCIS_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("EPCIS_WEBHOOK_MAX_ATTEMPTS", "8"))
EPCIS_WEBHOOK_RETRY_SECONDS = float(os.environ.get("EPCIS_WEBHOOK_RETRY_SECONDS", "30"))

# Django Channels (EPCIS WebSocket subscriptions, served by config/asgi.py): a Redis channel layer
# shared by the web processes and the workers that publish to it; without one, in-process only.
ASGI_APPLICATION = "config.asgi.application"
CHANNEL_LAYER_URL = os.environ.get("CHANNEL_LAYER_URL") or CELERY_BROKER_URL
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [CHANNEL_LAYER_URL]}}
    if CHANNEL_LAYER_URL
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}
# Task modules outside the apps' own tasks.py.
CELERY_IMPORTS = ("traceability.epcis.tasks",)
# Who captures an accepted EPCIS document (a worker; in-process when Celery runs eagerly).
EPCIS_CAPTURE_RUNNER = "traceability.epcis.tasks.capture_later"
# Who sends a subscription's delivery once it is recorded (a worker that retries with backoff).
EPCIS_DELIVERY_RUNNER = "traceability.epcis.tasks.deliver_later"

# The ledger's name in its signed checkpoints (the C2SP "origin" line).
LEDGER_ORIGIN = os.environ.get("LEDGER_ORIGIN", "looptrace.example/ledger")
# Witnesses that cosign the ledger's checkpoints (C2SP tlog-witness) and when a checkpoint counts
# as witnessed: a C2SP tlog-policy text, ``witness <name> <vkey> <submission URL>`` lines, groups
# and one ``quorum`` line; or the file holding it. Empty: checkpoints are not sent to witnesses.
LEDGER_WITNESS_POLICY = os.environ.get("LEDGER_WITNESS_POLICY", "")
LEDGER_WITNESS_POLICY_FILE = os.environ.get("LEDGER_WITNESS_POLICY_FILE", "")
LEDGER_WITNESS_TIMEOUT_SECONDS = float(os.environ.get("LEDGER_WITNESS_TIMEOUT_SECONDS", "10"))
# A witness that is down is asked again after 5 s, 10 s, 20 s... (at most 10 minutes apart).
LEDGER_WITNESS_RETRY_SECONDS = float(os.environ.get("LEDGER_WITNESS_RETRY_SECONDS", "5"))
LEDGER_WITNESS_MAX_ATTEMPTS = int(os.environ.get("LEDGER_WITNESS_MAX_ATTEMPTS", "12"))
# Who hears of each new signed checkpoint (its id), after its commit: the tiles' publication
# (partial tiles and the checkpoint file) and the witnesses' submission.
CHECKPOINT_FOLLOWERS = ("traceability.tlog.tasks.nudge_tiles", "traceability.tasks.witness_later")
# Where the ledger's C2SP tlog-tiles are written (checkpoint, hash tiles, entry bundles), as they
# are served under /tlog/: the views read this directory, and any static server or CDN may serve it.
TLOG_TILES_DIR = Path(os.environ.get("TLOG_TILES_DIR", VAR_DIR / "tlog"))
# Where passport QR codes point (the public resolver, for example https://id.looptrace.example);
# empty: the host the request came to.
PASSPORT_BASE_URL = os.environ.get("PASSPORT_BASE_URL", "")
# Verifiable credentials: the public origin their URLs (credentials, status lists) are written
# with, and the did:web host of the organisations' DIDs (did:web:<host>:orgs:<slug>, a port's
# colon percent-encoded). By default the passport origin's, else the development server's.
CREDENTIALS_BASE_URL = os.environ.get("CREDENTIALS_BASE_URL", PASSPORT_BASE_URL or "http://localhost:8000").rstrip("/")
CREDENTIALS_DID_HOST = os.environ.get("CREDENTIALS_DID_HOST", urlsplit(CREDENTIALS_BASE_URL).netloc or "localhost:8000")

# Where the embedded platform (eager tasks) writes its task log: one line per task run would
# otherwise fill the terminal of ``make run`` (a thousand lines while the demo loads).
RUN_LOG = Path(os.environ.get("RUN_LOG", VAR_DIR / "run.log"))
if CELERY_TASK_ALWAYS_EAGER:
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
LOGGING: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timed": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # delay: the file is opened at the first line, so a process that logs none creates none
        "run_log": {"class": "logging.FileHandler", "filename": str(RUN_LOG), "delay": True, "formatter": "timed"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Eager tasks run inside the web or command process: their log (and the broker library's
    # note that no broker is set) goes to the run log. A worker keeps logging to its console.
    "loggers": (
        {name: {"handlers": ["run_log"], "propagate": False} for name in ("celery", "kombu")}
        if CELERY_TASK_ALWAYS_EAGER
        else {}
    ),
}
PLATFORM_ORGANISATION_SLUG = os.environ.get("PLATFORM_ORGANISATION_SLUG", "looptrace")
# Base64 raw 32-byte Ed25519 seed of the platform key. Unset: the platform generates
# one at the first ledger write and holds it encrypted like custodial keys.
PLATFORM_SIGNING_KEY = os.environ.get("PLATFORM_SIGNING_KEY", "")

# An EPCIS eventID written as a CBV 2.0 hash that is not the event's own hash: "warn" (any value
# but "strict") stores the event as it came and records nothing about the mismatch (GS1's own
# examples carry placeholder hashes; the computed hash stays the de-duplication key and finds the
# event too); "strict" refuses the event and names the mismatch in its capture job.
EPCIS_EVENT_ID_HASH_CHECK = os.environ.get("EPCIS_EVENT_ID_HASH_CHECK", "warn")

# Relative tolerance of a transformation mass balance: inputs = outputs + declared losses.
MASS_BALANCE_TOLERANCE = os.environ.get("MASS_BALANCE_TOLERANCE", "0.005")
