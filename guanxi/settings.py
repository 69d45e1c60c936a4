"""Guanxi settings: one file, SQLite by default, PostgreSQL when DATABASE_URL is set."""

import os
from pathlib import Path

import dj_database_url
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GUANXI_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use GUANXI_SECRET_KEY, else a key generated once and kept in the data folder."""
    if key := os.environ.get("GUANXI_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret-key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("GUANXI_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("GUANXI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("GUANXI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "django_tasks_db",
    "guanxi.core",
    "guanxi.accounts",
    "guanxi.customers",
    "guanxi.interactions",
    "guanxi.orders",
    "guanxi.imports",
    "guanxi.events",
    "guanxi.analytics",
    "guanxi.notifications",
    "guanxi.segments",
    "guanxi.loyalty",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "guanxi.core.middleware.RequestChannelMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "guanxi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    DATABASES["default"].setdefault("TEST", {})
    # One test database per process, so concurrent runs (CI, a developer) never collide.
    DATABASES["default"]["TEST"]["NAME"] = os.environ.get(
        "GUANXI_TEST_DB_NAME", f"test_guanxi_{os.getpid()}"
    )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("GUANXI_SQLITE_PATH") or DATA_DIR / "guanxi.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
                # timeout instead of failing with "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("GUANXI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "guanxi" / "locale"]
TIME_ZONE = os.environ.get("GUANXI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "guanxi" / "static"]  # project-wide assets (guanxi/guanxi.css)
MEDIA_ROOT = DATA_DIR / "uploads"
# A request body up to 16 MB (a batch of 10,000 channel events is about 3 MB of NDJSON).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
# The largest file an import accepts (a million customer rows is about 150 MB of CSV).
GUANXI_IMPORT_MAX_BYTES = int(os.environ.get("GUANXI_IMPORT_MAX_BYTES", 512_000_000))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"

# Mail: SMTP when GUANXI_EMAIL_HOST is set, otherwise files under the data folder.
if os.environ.get("GUANXI_EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["GUANXI_EMAIL_HOST"],
                "port": int(os.environ.get("GUANXI_EMAIL_PORT", "587")),
                "username": os.environ.get("GUANXI_EMAIL_USER", ""),
                "password": os.environ.get("GUANXI_EMAIL_PASSWORD", ""),
                "use_tls": True,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("GUANXI_FROM_EMAIL", "guanxi@localhost")

# Guanxi's own settings
GUANXI_DEFAULT_REGION = os.environ.get("GUANXI_DEFAULT_REGION", "CN")
GUANXI_API_MAX_LIMIT = 200

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

UNFOLD = {
    "SITE_TITLE": _("Guanxi CRM"),
    "SITE_HEADER": _("Guanxi 关系"),
    "SITE_SUBHEADER": _("Customer relationships"),
    "SITE_SYMBOL": "handshake",
    "SITE_URL": "/",
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": False,
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "guanxi.dashboard.dashboard_callback",
    "STYLES": [lambda request: static("guanxi/guanxi.css")],
    "SCRIPTS": [lambda request: static("guanxi/drill.js")],
    "COLORS": {
        "primary": {
            "50": "oklch(97.1% .013 17.38)",
            "100": "oklch(93.6% .032 17.717)",
            "200": "oklch(88.5% .062 18.334)",
            "300": "oklch(80.8% .114 19.571)",
            "400": "oklch(70.4% .191 22.216)",
            "500": "oklch(63.7% .237 25.331)",
            "600": "oklch(57.7% .245 27.325)",
            "700": "oklch(50.5% .213 27.518)",
            "800": "oklch(44.4% .177 26.899)",
            "900": "oklch(39.6% .141 25.723)",
            "950": "oklch(25.8% .092 26.042)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "guanxi.navigation.sidebar_navigation",
    },
}
