"""Settings, all from the environment (12-factor).

Required everywhere: SECRET_KEY, SECRETARIAT_KEYRING and AUDIT_SIGNING_KEY.
`make run` / `make test` write a local `.env` with generated values on first use;
production provides its own and refuses to start without them (no insecure
default lives in this file). Every variable read here is in the README's table.
"""

import os
from datetime import date, timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from secretariat.crypto import Keyring
from secretariat.ratelimit import Rate

BASE_DIR = Path(__file__).resolve().parent.parent

_kind_names = {int: "a whole number", float: "a number", date.fromisoformat: "a date (YYYY-MM-DD)"}


class _Env(environ.Env):
    """django-environ, refusing every missing or malformed value with an
    ImproperlyConfigured that names the variable (never its value: it may be a
    secret)."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ImproperlyConfigured as missing:
            raise ImproperlyConfigured(
                f"{missing} (production provides it; `make run` and `make test` write a"
                " local .env with generated values)."
            ) from None
        except ValueError:
            kind = _kind_names.get(cast if callable(cast) else None, "a valid value")
            raise ImproperlyConfigured(f"{var} must be {kind}.") from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ImproperlyConfigured(message)


env = _Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# "dev" (embedded default), "test" or "production".
ENVIRONMENT = env.str("SECRETARIAT_ENV", default="dev")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env.bool("DEBUG", default=False)
# Each response's cost (database time and queries, decryptions) in a Server-Timing
# header, for the browser's network panel: development and benches only.
SERVER_TIMING = env.bool("SERVER_TIMING", default=DEBUG)
_require(not (PRODUCTION and SERVER_TIMING), "SERVER_TIMING is for development and benches.")

SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Key-encryption keyring: "1:<base64 32 bytes>,2:<base64 32 bytes>"; the highest
# version (or SECRETARIAT_KEYRING_CURRENT) wraps new keys. See secretariat/crypto.py.
SECRETARIAT_KEYRING = env.str("SECRETARIAT_KEYRING")
SECRETARIAT_KEYRING_CURRENT = env.int("SECRETARIAT_KEYRING_CURRENT", default=0)
# Fail at start-up, not at the first encryption.
Keyring.parse(SECRETARIAT_KEYRING, SECRETARIAT_KEYRING_CURRENT)

# Signs the daily audit chain digests (HMAC-SHA256); kept out of the database so
# that a rewrite of the audit table cannot be re-signed. See audit/verification.py.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY")
_require(len(AUDIT_SIGNING_KEY) >= 32, "AUDIT_SIGNING_KEY must be at least 32 characters long.")
# Chains verified at once by audit_verify (one database connection each).
AUDIT_VERIFY_WORKERS = env.int("AUDIT_VERIFY_WORKERS", default=min(4, os.cpu_count() or 1))
_require(AUDIT_VERIFY_WORKERS >= 1, "AUDIT_VERIFY_WORKERS must be at least 1.")
# The signed chain heads are also written there daily (audit.digests.digest_export):
# a copy the database cannot reach, so deleting the digest rows along with a rewrite
# is still detected. Production names it (storage the database administrator cannot
# rewrite) and refuses to start without it; elsewhere it defaults under var/.
AUDIT_DIGEST_EXPORT_DIR = env.str(
    "AUDIT_DIGEST_EXPORT_DIR",
    default=environ.Env.NOTSET if PRODUCTION else str(BASE_DIR / "var" / "audit-digests"),
)
_require(
    bool(AUDIT_DIGEST_EXPORT_DIR),
    "AUDIT_DIGEST_EXPORT_DIR must name the audit digest export directory.",
)
AUDIT_DIGEST_EXPORT_DIR = Path(AUDIT_DIGEST_EXPORT_DIR)
# Every this many minutes the chain heads are checked, signed and exported to
# AUDIT_DIGEST_EXPORT_DIR (compliance.tasks.seal_audit_chains): the newest events a
# superuser could rewrite unseen are those of the last interval.
AUDIT_SEAL_MINUTES = env.int("AUDIT_SEAL_MINUTES", default=5)
if not 1 <= AUDIT_SEAL_MINUTES <= 15:
    raise ValueError("AUDIT_SEAL_MINUTES must be between 1 and 15.")
# Optional: the daily export is also mailed to these addresses (hashes only).
AUDIT_DIGEST_EMAILS = env.list("AUDIT_DIGEST_EMAILS", default=[])

INSTALLED_APPS = [
    # The Django admin with our site: secretariat/admin.py.
    "secretariat.apps.SecretariatAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_celery_beat",
    "guardian",
    "axes",
    "accounts",
    "audit",
    "patients",
    "appointments",
    "onboarding",
    "continuity",
    "compliance",
    "calendarfeed",
    "console",
    "django_htmx",
    "oauth2_provider",
    "fhir_api",
    "demo",
    "outbox",
]

MIDDLEWARE = [
    "secretariat.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "secretariat.middleware.RequestIdMiddleware",
    "secretariat.timing.ServerTimingMiddleware",
    # A console's poll with nothing new is answered here, before the session.
    "console.ring.RingPollMiddleware",
    # The phone system's webhook is answered here too: it needs no session.
    "console.webhook.PhoneEventsMiddleware",
    "accounts.sessions.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.sessions.SessionPolicyMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "secretariat.pipeline.AccessGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Static files served by the application itself (WhiteNoise): from the collected
# directory in production (collectstatic runs in the image build), straight from
# the source folders elsewhere, so `make run` needs no DEBUG and no collectstatic.
MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

ROOT_URLCONF = "secretariat.urls"
WSGI_APPLICATION = "secretariat.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "compliance.context_processors.notices",
            ],
        },
    },
]

# Embedded default: SQLite next to the code. Tests and production use PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=PRODUCTION
):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = True
# Behind PgBouncer in transaction mode (docs/scaling.md) a server connection serves
# another client after each transaction: no server-side cursor may outlive one
# (Django's documented setting for transaction pooling). Prepared statements are
# already off: Django binds parameters client-side and sets no prepare threshold.
# The practice is set per transaction (SET LOCAL), so nothing else leaks across.
if env.bool("DATABASE_TRANSACTION_POOLER", default=False):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# A streaming replica for reads that can lag (secretariat/replica.py): the audit
# browser and its export. Never migrated, never written; the suite mirrors it.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    replica = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"] = {**replica, "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database roles and topology (docs/tenancy.md, docs/scaling.md) -------------
# Backups and restore drills read every practice's rows: they connect with the
# maintenance role (row security bypassed), which the web tier is never given.
DATABASE_MAINTENANCE_URL = env.str("DATABASE_MAINTENANCE_URL", default="")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.validators.UsernameNotInPasswordValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 64}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"

# Sessions: idle timeout and absolute lifetime enforced server-side by
# accounts.sessions.SessionPolicyMiddleware.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", default=15))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=env.int("SESSION_ABSOLUTE_HOURS", default=10))
_require(SESSION_IDLE_TIMEOUT <= timedelta(minutes=15), "SESSION_IDLE_MINUTES must be at most 15.")
_require(
    SESSION_ABSOLUTE_LIFETIME <= timedelta(hours=12), "SESSION_ABSOLUTE_HOURS must be at most 12."
)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Pending password step (before TOTP) expires quickly.
LOGIN_PENDING_SECONDS = 300

# Lockout (django-axes): 5 failures (password or TOTP) for one username from one
# IP lock for 15 minutes; accounts.lockout adds the per-username hourly cap.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CAP_PER_HOUR = env.int("AXES_USERNAME_CAP_PER_HOUR", default=100)
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "secretariat.net.client_ip"
AXES_VERBOSE = False
# Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# django-guardian: no anonymous user object, object permissions only on Practice.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

OTP_TOTP_ISSUER = "Secretariat"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None

# Security headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: with no broker, tasks run in process (embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
# A broker gone without closing its connections must not hold a publish (the
# outbox relay, after a request's commit) for ever: bounded connect and socket waits.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
}
# Two queues, so that a long purge never delays a reminder: "interactive" (the
# default: reminders, notifications, mails, detectors, the outbox sweep) and
# "heavy" (scans of whole tables or trails, key rotation, backups). Each runs its
# own workers (docker-compose.yml). Routed by the task's function name, which
# stays the same when a task moves between modules.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
# Both declared: a worker started without -Q (make run with a broker, the suite's
# workers) consumes both; production runs one worker per queue with -Q.
CELERY_TASK_QUEUES = (Queue("interactive"), Queue("heavy"))
HEAVY_TASKS = (
    "rotate_practice_key_task",
    "purge_expired",
    "account_hygiene",
    "backup_daily",
    "backups_prune",
    "drill_monthly",
    "verify_audit_chains",
    "write_audit_digests",
    "ensure_audit_partitions",
    "shred_closed_practices",
)
CELERY_TASK_ROUTES = {f"*.{name}": {"queue": "heavy"} for name in HEAVY_TASKS}
# The worker keeps the project's log format (one JSON object per line in production).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks, times in UTC. django-celery-beat writes this schedule into the
# database when beat starts, where an admin can change or pause an entry without
# a deployment. Every periodic task of every app is listed here, and only here.
CELERY_BEAT_SCHEDULE = {
    # outbox: the transactional outbox's sweep (outbox/services.py): what the broker could
    # not take when its transaction committed.
    "outbox-relay": {
        "task": "outbox.tasks.relay_pending",
        "schedule": 60,
    },
    # console: phone events accepted by the webhook and not recorded yet (console/intake.py)
    "drain-phone-events": {
        "task": "console.tasks.drain_phone_events",
        "schedule": 60,
    },
    # appointments
    "appointment-reminders": {
        "task": "appointments.tasks.send_reminders_task",
        "schedule": 15 * 60,
    },
    # audit: partitions (audit); digests, seal and verification, which alert (compliance)
    "write-audit-digests": {
        "task": "compliance.tasks.write_audit_digests",
        "schedule": crontab(hour=1, minute=30),
    },
    "seal-audit-chains": {
        "task": "compliance.tasks.seal_audit_chains",
        "schedule": AUDIT_SEAL_MINUTES * 60,
    },
    "verify-audit-chains": {
        "task": "compliance.tasks.verify_audit_chains",
        "schedule": crontab(hour=2, minute=0),
    },
    "ensure-audit-partitions": {
        "task": "audit.tasks.ensure_audit_partitions",
        "schedule": crontab(hour=1, minute=0),
    },
    # continuity
    "continuity-daily-backup": {
        "task": "continuity.tasks.backup_daily",
        "schedule": crontab(hour=2, minute=0),
    },
    "continuity-prune-backups": {
        "task": "continuity.tasks.backups_prune",
        "schedule": crontab(hour=4, minute=0),
    },
    "continuity-backup-freshness": {
        "task": "continuity.tasks.backup_freshness_check",
        "schedule": crontab(minute=30),
    },
    "continuity-monthly-drill": {
        "task": "continuity.tasks.drill_monthly",
        "schedule": crontab(day_of_month=1, hour=5, minute=0),
    },
    "continuity-training-reminders": {
        "task": "continuity.tasks.training_reminders",
        "schedule": crontab(day_of_week=1, hour=8, minute=0),
    },
    # onboarding: crypto-shredding of closed practices (PRACTICE_SHRED_AFTER_DAYS)
    "onboarding-shred-closed-practices": {
        "task": "onboarding.tasks.shred_closed_practices",
        "schedule": crontab(hour=3, minute=30),
    },
    # compliance
    "compliance-detect-suspicious-activity": {
        "task": "compliance.tasks.detect_suspicious_activity",
        "schedule": 15 * 60,
    },
    # Notices whose e-mail a failed task left unsent (compliance/notices.py).
    "compliance-notices-mail-pending": {
        "task": "compliance.tasks.notices_mail_pending",
        "schedule": 15 * 60,
    },
    "compliance-stuck-reminders": {
        "task": "compliance.tasks.detect_stuck_reminders",
        "schedule": 15 * 60,
    },
    "compliance-purge-expired": {
        "task": "compliance.tasks.purge_expired",
        "schedule": crontab(hour=3, minute=15),
    },
    "compliance-breach-deadline-reminders": {
        "task": "compliance.tasks.breach_deadline_reminders",
        "schedule": 15 * 60,
    },
    "compliance-account-hygiene": {
        "task": "compliance.tasks.account_hygiene",
        "schedule": crontab(hour=3, minute=45),
    },
    "compliance-access-review-due": {
        "task": "compliance.tasks.access_review_due",
        "schedule": crontab(day_of_week=1, hour=8, minute=15),
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="secretariat@localhost")
# Text messages (appointment reminders): a backend by dotted path, like EMAIL_BACKEND.
# The console backend masks numbers; the file backend (SMS_FILE_PATH, mode 0600) is a
# stub for staging; a real gateway is one more class in appointments/sms.py.
SMS_BACKEND = env.str("SMS_BACKEND", default="appointments.sms.ConsoleBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default="")
# Declared for the record of processing (compliance/register.py): the host of the
# health data (its name, its country as ISO 3166 alpha-2) and the mail provider's
# country; a real SMS gateway backend declares provider_name and provider_country.
HOSTING_PROVIDER = env.str("HOSTING_PROVIDER", default="")
HOSTING_COUNTRY = env.str("HOSTING_COUNTRY", default="")
EMAIL_PROVIDER_COUNTRY = env.str("EMAIL_PROVIDER_COUNTRY", default="")

# Continuity (continuity/): encrypted backups, restore drills, training records.
# BACKUP_KEYRING has SECRETARIAT_KEYRING's format and must hold different keys; it
# is checked when a backup or restore runs, not at start-up (older .env lack it).
BACKUP_KEYRING = env.str("BACKUP_KEYRING", default="")
BACKUP_KEYRING_CURRENT = env.int("BACKUP_KEYRING_CURRENT", default=0)
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups")))
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_KEEP_MONTHLY = env.int("BACKUP_KEEP_MONTHLY", default=12)
BACKUP_MAX_AGE_HOURS = env.int("BACKUP_MAX_AGE_HOURS", default=26)
TRAINING_VALIDITY_DAYS = env.int("TRAINING_VALIDITY_DAYS", default=365)
TRAINING_GRACE_DAYS = env.int("TRAINING_GRACE_DAYS", default=30)
# Accounts created before this date (YYYY-MM-DD) and never trained are due from it.
TRAINING_TRACKING_START = env.get_value(
    "TRAINING_TRACKING_START", cast=date.fromisoformat, default=None
)

# Offboarding: a closed practice's data key is destroyed (crypto-shredding) this
# many days after closure, the time to hand its export over and settle disputes.
PRACTICE_SHRED_AFTER_DAYS = env.int("PRACTICE_SHRED_AFTER_DAYS", default=90)

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Logs carry identifiers only; the request id ties a log line to an error page.
# One JSON object per line in production (secretariat/logs.py), so the logs of
# several nodes join on the request id; plain text elsewhere.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "secretariat.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        # django.request logs would carry request bodies on errors in some
        # handlers; keep them at ERROR without POST data (the default formatter
        # prints the path and status only).
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}

# Compliance (compliance/): suspicious-activity thresholds (detectors.py).
SUSPICIOUS_MASS_ACCESS_PATIENTS = env.int("SUSPICIOUS_MASS_ACCESS_PATIENTS", default=50)
SUSPICIOUS_MASS_ACCESS_MINUTES = env.int("SUSPICIOUS_MASS_ACCESS_MINUTES", default=10)
SUSPICIOUS_DENIED_COUNT = env.int("SUSPICIOUS_DENIED_COUNT", default=5)
SUSPICIOUS_DENIED_MINUTES = env.int("SUSPICIOUS_DENIED_MINUTES", default=10)
SUSPICIOUS_NEW_IP_DAYS = env.int("SUSPICIOUS_NEW_IP_DAYS", default=90)
# Night, in the practice's time zone: from START (inclusive) to END (exclusive).
SUSPICIOUS_NIGHT_START_HOUR = env.int("SUSPICIOUS_NIGHT_START_HOUR", default=21)
SUSPICIOUS_NIGHT_END_HOUR = env.int("SUSPICIOUS_NIGHT_END_HOUR", default=7)
# Telesecretaries prepare the day: access this close to working hours is normal.
SUSPICIOUS_WORKING_HOURS_MARGIN_MINUTES = env.int(
    "SUSPICIOUS_WORKING_HOURS_MARGIN_MINUTES", default=60
)
# Account hygiene: unused accounts are deactivated, the charter re-accepted yearly.
ACCOUNT_STALE_DAYS = env.int("ACCOUNT_STALE_DAYS", default=90)
AGREEMENT_VALIDITY_DAYS = env.int("AGREEMENT_VALIDITY_DAYS", default=365)
# Compliance officers are reminded weekly once this long has passed since the last
# access review started (ANSSI hygiene guide: review rights at least yearly; the
# default asks twice a year, for health data).
ACCESS_REVIEW_INTERVAL_DAYS = env.int("ACCESS_REVIEW_INTERVAL_DAYS", default=182)
# Interoperability: the practitioners' calendar feeds (calendarfeed/).
# Rates are "<count>/<s|m|h|d>", counted in RATELIMIT_CACHE (set CACHE_URL to
# Redis in production so that every web process counts together).
RATELIMIT_CACHE = "default"
CALENDAR_FEED_DAYS_BACK = env.int("CALENDAR_FEED_DAYS_BACK", default=30)
CALENDAR_FEED_DAYS_AHEAD = env.int("CALENDAR_FEED_DAYS_AHEAD", default=180)
CALENDAR_FEED_RATE = env.str("CALENDAR_FEED_RATE", default="120/h")
# The phone system's webhook (console/, docs/console.md): the installation's
# secret (empty: the webhook answers 503), how old a signed event may be, and
# how many events one address may post.
CTI_WEBHOOK_SECRET = env.str("CTI_WEBHOOK_SECRET", default="")
CTI_REPLAY_WINDOW_SECONDS = env.int("CTI_REPLAY_WINDOW_SECONDS", default=300)
# Events accepted and not yet recorded that Redis may hold (console/intake.py):
# beyond, while recording is stalled, each event is recorded before its answer.
CTI_PENDING_MAX = env.int("CTI_PENDING_MAX", default=100_000)
_require(CTI_PENDING_MAX >= 1, "CTI_PENDING_MAX must be at least 1.")
CTI_RATE = env.str("CTI_RATE", default="600/s")
# How often an open console asks whether a call rings for its agent (ms).
CONSOLE_POLL_MS = env.int("CONSOLE_POLL_MS", default=500)
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# The poll's fast path (console/ring.py): the agents' ring markers and the
# sessions' leases live in this Redis, shared by every web process. Default: the
# cache's when it is Redis, else the broker's; none (no Redis): every poll takes
# the full view. A process-local store would be wrong here (a ring recorded by
# one process unseen by another), so only Redis is accepted.
CONSOLE_POLL_REDIS_URL = env.str(
    "CONSOLE_POLL_REDIS_URL",
    default=next(
        (
            url
            for url in (env.str("CACHE_URL", default=""), CELERY_BROKER_URL)
            if url.startswith(_REDIS_SCHEMES)
        ),
        "",
    ),
)
_require(
    not CONSOLE_POLL_REDIS_URL or CONSOLE_POLL_REDIS_URL.startswith(_REDIS_SCHEMES),
    "CONSOLE_POLL_REDIS_URL must be a Redis URL (redis://, rediss:// or unix://).",
)
# How long a full poll lets the fast path answer for its session: the longest a
# ring whose marker was lost waits, and a session ended elsewhere still gets 204s.
CONSOLE_POLL_LEASE_SECONDS = env.int("CONSOLE_POLL_LEASE_SECONDS", default=10)
_require(1 <= CONSOLE_POLL_LEASE_SECONDS <= 60, "CONSOLE_POLL_LEASE_SECONDS must be within 1-60.")
try:
    Rate.parse(CALENDAR_FEED_RATE)
    Rate.parse(CTI_RATE)
except ValueError:
    raise ImproperlyConfigured(
        "CALENDAR_FEED_RATE and CTI_RATE must read <count>/<s|m|h|d>, e.g. 120/h."
    ) from None

# Interoperability: the FHIR R4 API (fhir_api/, docs/interop.md). A practice's own
# software authenticates as an OAuth 2.0 client (client credentials) registered
# by a platform admin for that one practice; SMART v2 system scopes
# (fhir_api/scopes.py). Tokens are short-lived (SMART backend services: at most
# 5 minutes) and stored only as their SHA-256 checksum (RFC 9700 storage).
FHIR_API_RATE = env.str("FHIR_API_RATE", default="600/m")
FHIR_TOKEN_RATE = env.str("FHIR_TOKEN_RATE", default="60/m")
FHIR_PAGE_DEFAULT = 20
FHIR_PAGE_MAX = 100
# Request bodies are always read through fhir.resources. Responses are built by
# our code and validated before they leave in tests and development; in
# production the validation (pydantic: tens of ms for a Bundle of 20 slots on
# this loaded test machine) is off unless asked for (bench.fhir measures both).
FHIR_VALIDATE_RESPONSES = env.bool("FHIR_VALIDATE_RESPONSES", default=ENVIRONMENT != "production")
for _name in ("FHIR_API_RATE", "FHIR_TOKEN_RATE"):
    try:
        Rate.parse(globals()[_name])
    except ValueError:
        raise ImproperlyConfigured(f"{_name} must read <count>/<s|m|h|d>, e.g. 600/m.") from None
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "fhir_api.scopes.ClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("FHIR_TOKEN_SECONDS", default=300),
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # Flows the API does not offer (authorization code, refresh tokens), made
    # compliant anyway so that `check --deploy` stays clean.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
