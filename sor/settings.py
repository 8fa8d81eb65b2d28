"""Django settings of the system of record, read from the environment.

Variable names and LOCAL-ONLY defaults live in ``stack.settings`` so every process agrees.
"""

from __future__ import annotations

from pathlib import Path

from stack.settings import env, env_int, settings

BASE_DIR = Path(__file__).resolve().parent
STACK = settings()


def _csv(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env("DJANGO_DEBUG", "false").lower() in {"1", "true", "yes", "on"}
ALLOWED_HOSTS = _csv("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "sor.bank.apps.BankAdminConfig",  # django.contrib.admin with the bank's own site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sor.bank.apps.BankConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sor.urls"
WSGI_APPLICATION = "sor.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": env("BANK_DB_HOST", STACK.host),
        "PORT": STACK.db_port,
        "NAME": STACK.db_name,
        "USER": STACK.db_user,
        "PASSWORD": env("BANK_DB_PASSWORD"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "charset": "utf8mb4",
            # Row locks taken with SELECT ... FOR UPDATE guard balances; READ COMMITTED avoids the
            # gap locks of REPEATABLE READ, which only add deadlocks here.
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        },
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }
}

# Shared by the gunicorn workers of one machine, and needs no table: throttles and sign-in
# failure counts must hold across workers.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(STACK.path("cache", "sor")),
    }
}

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
STATIC_ROOT = STACK.path("static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sor.bank.api.errors.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"sign_in": env("BANK_SIGN_IN_RATE", "30/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Live bank: system of record",
    "DESCRIPTION": (
        "Customers, accounts, the ledger and money movements. Amounts are strings in major "
        'units ("1234.56"); each also comes as an integer in minor units (`*_minor`).'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The dashboard asks for live-feed tokens from the browser; only that endpoint answers CORS.
CORS_ALLOWED_ORIGINS = STACK.dashboard_origins
# Where the admin's "View site" goes: the customers' dashboard.
DASHBOARD_URL = STACK.dashboard_origins[0] + "/"
CORS_URLS_REGEX = r"^/api/auth/live-token/$"

LIVE_TOKEN_PRIVATE_KEY_PEM = env("BANK_LIVE_TOKEN_PRIVATE_KEY", "")
LIVE_TOKEN_KEY_FILE = STACK.path("keys", "live-token-ed25519.pem")
LIVE_TOKEN_TTL_SECONDS = env_int("BANK_LIVE_TOKEN_TTL_SECONDS", 900)

# After this many wrong passwords for one username, sign-ins for it wait out the lockout.
SIGN_IN_FAILURE_LIMIT = env_int("BANK_SIGN_IN_FAILURE_LIMIT", 5)
SIGN_IN_LOCKOUT_SECONDS = env_int("BANK_SIGN_IN_LOCKOUT_SECONDS", 900)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
