"""Django settings of the system of record, read from the environment.

Variable names and LOCAL-ONLY defaults live in ``kernel.settings`` (shared) and
``sor/config.py`` (the system of record's own), so every process agrees.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from kernel.settings import DatabaseLogin, settings
from sor.bank.client_address import parse_networks
from sor.config import SystemOfRecordSettings

BASE_DIR = Path(__file__).resolve().parent
STACK = settings()
# The published secret key and passwords are refused outside local development (kernel.settings).
OWN = SystemOfRecordSettings.load()

# `local` is a developer's machine; anything else is a deployment, held to deployment rules.
BANK_ENV = OWN.environment

SECRET_KEY = OWN.secret_key
DEBUG = OWN.debug
ALLOWED_HOSTS = OWN.allowed_hosts

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
    "axes",
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
    "sor.bank.admin_sign_in_rate.AdminSignInRateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sor.security_headers.ContentSecurityPolicyMiddleware",
    # Last: turns a locked-out sign-in on the admin's login form into the lockout page.
    "axes.middleware.AxesMiddleware",
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
        "HOST": STACK.db_host,
        "PORT": STACK.db_port,
        "NAME": STACK.db_name,
        "USER": STACK.db_user,
        "PASSWORD": DatabaseLogin.load().password,
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

# Every sign-in passes the lockout first, then the local-only password check, then the database.
AUTHENTICATION_BACKENDS = [
    "sor.bank.sign_in_guard.SignInLockoutBackend",
    "sor.bank.sign_in_guard.LocalOnlyPasswordBackend",
    "django.contrib.auth.backends.ModelBackend",
]

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
    "DEFAULT_PERMISSION_CLASSES": ["sor.bank.api.permissions.ClerkPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sor.bank.api.errors.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "sor.bank.api.schema.BankAutoSchema",
    "DEFAULT_THROTTLE_RATES": {"sign_in": OWN.sign_in_rate},
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

LIVE_TOKEN_PRIVATE_KEY_PEM = OWN.live_token_private_key
LIVE_TOKEN_KEY_FILE = STACK.path("keys", "live-token-ed25519.pem")
LIVE_TOKEN_TTL_SECONDS = OWN.live_token_ttl_seconds

# After this many wrong passwords for one username, sign-ins for it wait out the lockout; the
# admin's login form and the API's token endpoints share the count (sor.bank.sign_in_guard).
SIGN_IN_FAILURE_LIMIT = OWN.sign_in_failure_limit
SIGN_IN_LOCKOUT_SECONDS = OWN.sign_in_lockout_seconds
AXES_HANDLER = "sor.bank.sign_in_guard.BankSignInHandler"
AXES_FAILURE_LIMIT = SIGN_IN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=SIGN_IN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "sor.bank.client_address.client_address"
AXES_VERBOSE = False
# Axes would also lock out an address after the limit; one office behind one address would then
# lock itself out. Addresses get a rate instead (BANK_SIGN_IN_RATE, API and admin alike).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Proxies whose X-Forwarded-For is believed (addresses or networks, comma separated).
BANK_TRUSTED_PROXIES = OWN.trusted_proxies
try:
    parse_networks(BANK_TRUSTED_PROXIES)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None

# Browsers get these on every answer; the API and the admin are never framed by another site.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# Outside local development the bank is served over HTTPS only. Behind a proxy that ends TLS,
# BANK_TLS_PROXY_HEADER names the header it sets (e.g. HTTP_X_FORWARDED_PROTO): trusted only
# when set, and then the proxy must overwrite that header on every request.
SECURE_SSL_REDIRECT = OWN.ssl_redirect
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = OWN.secure_cookies
SECURE_HSTS_SECONDS = OWN.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = OWN.hsts_include_subdomains
SECURE_HSTS_PRELOAD = OWN.hsts_preload
if proxy_header := OWN.tls_proxy_header:
    SECURE_PROXY_SSL_HEADER = (proxy_header, "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # Axes logs every attempt at INFO; its warnings (failures, lockouts) are what matters.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
