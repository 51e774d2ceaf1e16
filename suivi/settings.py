"""Server settings of Suivi.

Everything an operator sets is an environment variable with a safe default; everything a user can
change lives in the database (see ``suivi.core.models.CompanySettings``).
"""

import os
import secrets
import time
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SUIVI_VAR_DIR", BASE_DIR.parent / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (mode 600)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret-key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _secrets_key() -> str:
    """SUIVI_SECRETS_KEY (Fernet keys, comma-separated, the first encrypting) from the
    environment, else one generated once and kept in var/ (mode 600): see suivi.core.secrets."""
    if key := os.environ.get("SUIVI_SECRETS_KEY"):
        return key
    path = VAR_DIR / "secrets-key"
    if not path.exists():
        from cryptography.fernet import Fernet

        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the same start made it first
            time.sleep(0.1)
        else:
            with os.fdopen(fd, "w") as f:
                f.write(Fernet.generate_key().decode())
    return path.read_text().strip()


SUIVI_SECRETS_KEY = _secrets_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Private, loopback or link-local destinations Suivi may still connect to (S6, suivi/lib/network.py):
# host names, IP addresses or CIDR networks, comma-separated.
SUIVI_ALLOWED_PRIVATE_HOSTS = [
    h.strip() for h in os.environ.get("SUIVI_ALLOWED_PRIVATE_HOSTS", "").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_countries",  # country names in every language (its catalogues)
    "djangoql",  # its completion widget for the search boxes (static files)
    "csp",
    "axes",
    "huey.contrib.djhuey",
    "suivi.core",
    "suivi.accounts",
    "suivi.parties",
    "suivi.activities",
    "suivi.mailing",
    "suivi.sales",
    "suivi.agenda",
    "suivi.api",
    "suivi.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "suivi.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "suivi.accounts.middleware.DeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "suivi.urls"
WSGI_APPLICATION = "suivi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "suivi.web.context.suivi",
            ],
        },
    },
]

# --- database: SQLite in var/ by default, PostgreSQL through DATABASE_URL -----------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SUIVI_SQLITE_PATH", VAR_DIR / "suivi.sqlite3"),
            "OPTIONS": {
                # WAL lets readers work during a write; IMMEDIATE takes the write lock at BEGIN so
                # two writers queue on the busy timeout instead of failing half-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;"
                ),
            },
            # Tests use a file too, so that they meet the same locking as production (an in-memory
            # database shares one cache between threads and fails fast instead of waiting).
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background work: Huey on SQLite, or on Redis through REDIS_URL ----------------------------
_huey_immediate = _env_bool("HUEY_IMMEDIATE")
if os.environ.get("REDIS_URL"):
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUEY_NAME", "suivi"),
        "url": os.environ["REDIS_URL"],
        "immediate": _huey_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "suivi",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": _huey_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# --- auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: at most 100 failed attempts per account per hour, counted by username so an
# unknown account gets exactly the same answer as a known one.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 100))
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# JSON with a message under /api/, the HTML page elsewhere (axes alone answers HTML to the API).
AXES_LOCKOUT_CALLABLE = "suivi.accounts.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# Counting by account (not by IP) is deliberate: it caps guesses against one account from anywhere.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4): our own origin only, no inline script or style, no eval,
# never framed. The pages keep every script in static files (htmx's config is a <meta> tag). The API
# docs (Swagger UI) widen it for themselves only (suivi.api.urls).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if not DEBUG and _env_bool("SUIVI_HTTPS"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- i18n: French is the users' reference language ----------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "fr")
LANGUAGES = [("fr", _("French")), ("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Brussels")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True


def attachments_storage(env=os.environ) -> dict:
    """Where files attached to actions are kept (suivi.activities.attachments): under
    MEDIA_ROOT/attachments by default; in a bucket of any S3-compatible store (AWS, MinIO, Ceph,
    Scaleway, OVH…) when SUIVI_ATTACHMENTS_S3_BUCKET is set, through django-storages. Either
    way they are read only through a permission-checked view, never by a public URL: objects are
    written private and no URL of the store is ever handed out."""
    bucket = env.get("SUIVI_ATTACHMENTS_S3_BUCKET", "").strip()
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env.get("SUIVI_ATTACHMENTS_S3_ENDPOINT_URL") or None,  # None: AWS itself
            "region_name": env.get("SUIVI_ATTACHMENTS_S3_REGION") or None,
            "access_key": env.get("SUIVI_ATTACHMENTS_S3_ACCESS_KEY") or None,
            "secret_key": env.get("SUIVI_ATTACHMENTS_S3_SECRET_KEY") or None,
            "location": env.get("SUIVI_ATTACHMENTS_S3_PREFIX", "").strip("/"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            # A store that does not answer fails the upload in seconds, not minutes.
            "client_config": _s3_client_config(env),
        },
    }


def _s3_client_config(env):
    from botocore.config import Config  # installed with django-storages[s3]

    # Stores of one's own (MinIO, Ceph, Garage…) are usually reached by path, AWS by host name.
    style = env.get("SUIVI_ATTACHMENTS_S3_ADDRESSING_STYLE") or (
        "path" if env.get("SUIVI_ATTACHMENTS_S3_ENDPOINT_URL") else "auto"
    )
    return Config(
        s3={"addressing_style": style},
        signature_version="s3v4",
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
    )


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": attachments_storage(),
}
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Largest import file accepted; larger ones are refused before being read.
SUIVI_IMPORT_MAX_BYTES = int(os.environ.get("SUIVI_IMPORT_MAX_BYTES", 20 * 1024 * 1024))
# Largest file attached to an action; a larger upload is refused from its Content-Length.
SUIVI_ATTACHMENT_MAX_BYTES = int(os.environ.get("SUIVI_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))

# Microsoft 365 (S3: mail through Outlook): the application registered in the company's Entra ID
# (a web app with a client secret; redirect URI https://<suivi>/crm/mail/microsoft/done/,
# delegated permissions Mail.Send and Mail.ReadWrite). Unset: the Microsoft 365 button is hidden.
SUIVI_MS_CLIENT_ID = os.environ.get("SUIVI_MS_CLIENT_ID", "")
# The address users and recipients reach Suivi at: links in e-mailings (unsubscribe) start with it.
SUIVI_BASE_URL = os.environ.get("SUIVI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SUIVI_MS_CLIENT_SECRET = os.environ.get("SUIVI_MS_CLIENT_SECRET", "")
SUIVI_MS_TENANT = os.environ.get("SUIVI_MS_TENANT", "common")
SUIVI_MS_AUTHORITY = os.environ.get("SUIVI_MS_AUTHORITY", "")  # e.g. a national cloud; default Microsoft's
SUIVI_GRAPH_URL = os.environ.get("SUIVI_GRAPH_URL", "")  # default https://graph.microsoft.com/v1.0

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "suivi.api.pagination.Pages",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "suivi.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "suivi.api.parsers.SafeJSONParser",  # refuses deep nesting and lone surrogates with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"token": "100/hour"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Suivi API",
    "DESCRIPTION": "The REST API of Suivi, the CRM.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Fields a company option may close (opportunities, billing at M1) are left out of answers, so
    # read-only fields are not promised in every response either.
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets of the commercial side whose field names (kind, status, language) other models use too.
    "ENUM_NAME_OVERRIDES": {
        "DocumentKindEnum": "suivi.sales.models.DocumentKind",
        "DocumentStatusEnum": "suivi.sales.models.DocumentStatus",
        "DocumentEventKindEnum": "suivi.sales.models.EventKind",
        "DocumentEventStatusEnum": "suivi.sales.models.EventStatus",
        "LayoutLanguageEnum": "suivi.sales.models.LAYOUT_LANGUAGES",
        "ActionStatusEnum": "suivi.activities.models.ActionStatus",
        "PartyLanguageEnum": "suivi.parties.models.LANGUAGES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
FORMS_URLFIELD_ASSUME_HTTPS = True
