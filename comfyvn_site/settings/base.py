"""Base settings: everything comes from the environment (django-environ) and is validated on import."""
import socket

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue
from kombu.common import Broadcast

from comfyvn_site.env import BASE_DIR, env, env_required

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env_required("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 random characters, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "providers",
    "compute",
    "gpu",
    "health",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before CommonMiddleware, so it runs after it on the way out and corrects the Content-Length that one sets.
    "comfyvn_site.middleware.SharedHeadGZipMiddleware",
    "comfyvn_site.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "comfyvn_site.urls"
WSGI_APPLICATION = "comfyvn_site.wsgi.application"

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

# Embedded default: SQLite in ./var, so `make run` needs no database server.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Recover from a restarted database without restarting the service.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction begins, so read-validate-write services (registry imports)
    # are serialised and never fail half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    (BASE_DIR / "var").mkdir(exist_ok=True)  # a fresh checkout has no ./var; SQLite will not create the folder
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a per-request health check that needs no round trip (comfyvn_site/postgresql).
    DATABASES["default"]["ENGINE"] = "comfyvn_site.postgresql"
    # psycopg prepares a statement after 5 runs on a connection. Only comfyvn_site.db's statements can be prepared
    # (Django's own cursors bind on the client). 0 turns it off, e.g. behind a transaction-mode pooler (PgBouncer
    # < 1.21) that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepare_threshold", env.int("COMFYVN_DB_PREPARE_THRESHOLD", default=5) or None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies above this size are refused with a JSON 413 (imports of thousands of providers fit).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("COMFYVN_MAX_BODY_BYTES", default=5 * 1024 * 1024)

# How many reverse proxies sit in front of the service; decides which address counts as the client.
COMFYVN_TRUSTED_PROXIES = env.int("COMFYVN_TRUSTED_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "comfyvn_site.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, refusing what later layers cannot hold (infinity, NUL, deep nesting, >64-bit ints) with a 400.
    "DEFAULT_PARSER_CLASSES": ["comfyvn_site.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["comfyvn_site.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "comfyvn_site.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "comfyvn_site.api.exception_handler",
    # Client identity for throttles: the N-th X-Forwarded-For entry from the right, never the client-chosen left.
    "NUM_PROXIES": COMFYVN_TRUSTED_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Compute Advisor API",
    "DESCRIPTION": "Provider registry, health checks and the compute advisor.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "comfyvn_site.api.error_responses_postprocess",
    ],
    # The schema is an /api/ route too: authenticated users only (the Swagger UI uses the admin session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- Compute Advisor ---------------------------------------------------------------------------
# Secret export without a loopback client: only the literal values 1/true enable it.
COMFYVN_ALLOW_SECRET_EXPORT = env.str("COMFYVN_ALLOW_SECRET_EXPORT", default="").strip().lower() in {"1", "true"}
# Fernet keys for provider credentials at rest; the first encrypts, all decrypt (rotation).
COMFYVN_SECRETS_KEYS = env.list("COMFYVN_SECRETS_KEY", default=[])
# Largest catalog file accepted by upload (AWS's SkyPilot vms.csv, the biggest public one, is about 3.6 MB); the
# whole request body stays under COMFYVN_MAX_BODY_BYTES as well.
COMFYVN_CATALOG_MAX_UPLOAD_BYTES = env.int("COMFYVN_CATALOG_MAX_UPLOAD_BYTES", default=4 * 1024 * 1024)
# The advisor considers each provider's N cheapest catalog offers that fit a workload (the runner-ups come from them).
COMFYVN_ADVISOR_OFFERS_PER_PROVIDER = env.int("COMFYVN_ADVISOR_OFFERS_PER_PROVIDER", default=3)
# A catalog price fetched longer ago than this carries a `price_stale` warning when chosen (SkyPilot refreshes
# hyperscaler catalogs every 7 h, marketplaces every 10-20 min: peers.md section 7).
COMFYVN_PRICE_STALE_HOURS = env.float("COMFYVN_PRICE_STALE_HOURS", default=24.0)
# 1/true: every job summary waits for PostgreSQL's disk flush before the advice is answered. By default only
# summaries stored under an Idempotency-Key do; the others commit asynchronously (docs/ADVISOR.md, "Job summaries").
COMFYVN_JOB_SUMMARY_DURABLE = env.str("COMFYVN_JOB_SUMMARY_DURABLE", default="").strip().lower() in {"1", "true"}

# --- Health checks (health/outbound.py) -------------------------------------------------------
# Extra networks (exact CIDRs) health checks may reach besides public addresses; only operators widen this,
# never provider data or an import. Link-local and cloud-metadata addresses stay refused regardless.
HEALTH_ALLOWED_NETWORKS = env.list("HEALTH_ALLOWED_NETWORKS", default=[])
HEALTH_CONNECT_TIMEOUT = env.float("HEALTH_CONNECT_TIMEOUT", default=3.0)
HEALTH_READ_TIMEOUT = env.float("HEALTH_READ_TIMEOUT", default=5.0)
# Total time for one check, all its requests included (a drip-fed response defeats the per-read timeout).
HEALTH_DEADLINE = env.float("HEALTH_DEADLINE", default=10.0)
HEALTH_MAX_RESPONSE_BYTES = env.int("HEALTH_MAX_RESPONSE_BYTES", default=1024 * 1024)
# How many providers one sweep checks at once (threads inside the sweep task).
HEALTH_SWEEP_CONCURRENCY = env.int("HEALTH_SWEEP_CONCURRENCY", default=32)
# Default sweep interval written by `manage.py setup_periodic_tasks`; editable afterwards in the admin.
HEALTH_SWEEP_INTERVAL_SECONDS = env.int("HEALTH_SWEEP_INTERVAL_SECONDS", default=300)
# known_hosts file for key-authenticated SSH checks (strict host-key checking: unknown keys fail).
HEALTH_SSH_KNOWN_HOSTS = env.str("HEALTH_SSH_KNOWN_HOSTS", default="")

# --- Celery ------------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the broker is kombu's filesystem transport: a worker with beat runs with no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = BASE_DIR / "var" / "celery"
    for _sub in ("queue", "processed"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (fanout, pidbox); kombu's default is ./control in whatever directory the worker runs.
        "control_folder": str(_queue_dir / "control"),
    }
else:
    # A wedged broker must fail an enqueue in seconds, not block a request (reliability.md finding 6).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "max_retries": 1,
        "visibility_timeout": 3600,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- GPU inventory (gpu/) ------------------------------------------------------------------------
# One NVML/psutil reading serves every caller for this long (upstream re-probed on every request).
GPU_PROBE_TTL_SECONDS = env.float("GPU_PROBE_TTL_SECONDS", default=5.0)
# A host that has not reported for this long is stale: its devices are listed as such, never advised.
GPU_STALE_AFTER_SECONDS = env.int("GPU_STALE_AFTER_SECONDS", default=120)
# How often every worker reports its host (the "gpu-inventory-report" beat schedule, created on first setup).
GPU_REPORT_INTERVAL_SECONDS = env.int("GPU_REPORT_INTERVAL_SECONDS", default=30)
# Embedded default: the service's own host reports itself when /api/gpu/list finds its row missing or old.
# Turn off on web hosts of a multi-host deployment, where only the GPU hosts' workers should report.
GPU_SELF_REPORT = env.bool("GPU_SELF_REPORT", default=True)
# The name this host reports under; set it where the OS hostname changes per container.
GPU_HOSTNAME = env.str("GPU_HOSTNAME", default="") or socket.gethostname()
if GPU_PROBE_TTL_SECONDS < 0 or GPU_REPORT_INTERVAL_SECONDS < 1:
    raise ImproperlyConfigured("GPU_PROBE_TTL_SECONDS must be >= 0 and GPU_REPORT_INTERVAL_SECONDS >= 1.")
if GPU_STALE_AFTER_SECONDS <= max(GPU_PROBE_TTL_SECONDS, GPU_REPORT_INTERVAL_SECONDS):
    raise ImproperlyConfigured("GPU_STALE_AFTER_SECONDS must exceed GPU_PROBE_TTL_SECONDS and "
                               "GPU_REPORT_INTERVAL_SECONDS, or every host would look stale between reports.")
# An inventory report must reach every worker, one per GPU host, not whichever worker takes it first: the task
# goes to a fanout exchange, and each host consumes it from its own queue (a fixed name, so the filesystem
# broker does not collect queues of workers that have gone). The sender must declare the fanout exchange itself:
# Celery never declares a Broadcast queue when publishing, and on Redis an undeclared exchange drops the message.
_GPU_INVENTORY_EXCHANGE = Exchange("gpu_inventory", type="fanout")
CELERY_TASK_QUEUES = (
    Queue("celery"),
    Broadcast(queue=f"gpu_inventory.{GPU_HOSTNAME}", exchange=_GPU_INVENTORY_EXCHANGE, alias="gpu_inventory"),
)
CELERY_TASK_ROUTES = {
    # No "exchange" key: Celery then takes exchange and routing key from the queue, the topic workers listen on.
    "gpu.tasks.gpu_inventory_sync_task": {"queue": "gpu_inventory", "declare": [_GPU_INVENTORY_EXCHANGE]},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
