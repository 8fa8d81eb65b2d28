"""What the Django server promises a browser and a deployment: security headers on every page,
`check --deploy` clean in production, and no start with the published local-only secret key."""

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from kernel.settings import LOCAL_ONLY_DEFAULTS, REPO_ROOT

pytestmark = pytest.mark.database

MANAGE = [sys.executable, str(REPO_ROOT / "sor" / "manage.py")]


def _production_env(**overrides: str) -> dict[str, str]:
    """A deployment's environment: no local-only default is used, every secret set."""
    env = {**os.environ, "BANK_ENV": "production"}
    for name in LOCAL_ONLY_DEFAULTS:
        env[name] = f"test-{name.lower()}-{secrets.token_hex(8)}"
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(60)
    env.pop("DJANGO_DEBUG", None)
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MANAGE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/schema/", "/api/docs/", "/api/nothing/"])
def test_every_page_carries_the_security_headers(path):
    answer = Client().get(path)
    csp = answer["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'", "no inline or foreign script runs"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    assert answer["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script_the_policy_would_block():
    page = Client().get("/api/docs/").content.decode()
    for chunk in page.split("<script")[1:]:
        assert chunk.lstrip().startswith("src=") or " src=" in chunk.split(">")[0], chunk[:200]


def test_the_deploy_check_passes_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_check_behind_a_tls_proxy():
    env = _production_env(BANK_TLS_PROXY_HEADER="HTTP_X_FORWARDED_PROTO")
    shown = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)",
        env=env,
    )
    last_line = shown.stdout.strip().splitlines()[-1]
    assert last_line == "('HTTP_X_FORWARDED_PROTO', 'https') True 31536000", shown.stdout
    assert _manage("check", "--deploy", "--fail-level", "WARNING", env=env).returncode == 0


def test_production_refuses_to_start_with_the_published_secret_key():
    env = _production_env(DJANGO_SECRET_KEY=LOCAL_ONLY_DEFAULTS["DJANGO_SECRET_KEY"])
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the local-only key published in the repository" in result.stderr


def test_local_development_keeps_the_published_secret_key():
    env = {**os.environ, "BANK_ENV": "local"}
    env.pop("DJANGO_SECRET_KEY", None)
    assert _manage("check", env=env).returncode == 0
