"""The system of record's own variables, read by sor/settings.py (Django's settings module).

Shared names (ports, the database, the dashboard's origins) come from ``kernel.settings``.
"""

from __future__ import annotations

from pydantic import Field

from kernel.settings import BankSettings, comma_separated, local_only


class SystemOfRecordSettings(BankSettings):
    secret_key: str = local_only("DJANGO_SECRET_KEY")
    debug: bool = Field(default=False, validation_alias="DJANGO_DEBUG")
    allowed_hosts_text: str = Field(
        default="127.0.0.1,localhost", validation_alias="DJANGO_ALLOWED_HOSTS"
    )
    sign_in_rate: str = "30/min"
    # The live-feed token's signing key as PEM text; unset: a key file in the state folder.
    live_token_private_key: str = ""
    live_token_ttl_seconds: int = Field(default=900, ge=1)
    sign_in_failure_limit: int = Field(default=5, ge=1)
    sign_in_lockout_seconds: int = Field(default=900, ge=1)
    trusted_proxies: str = ""
    # HTTPS-only unless local; each can be tuned (docs/security.md). None: by BANK_ENV.
    ssl_redirect: bool | None = None
    secure_cookies: bool | None = None
    hsts_seconds: int | None = Field(default=None, ge=0)
    hsts_include_subdomains: bool | None = None
    hsts_preload: bool | None = None
    tls_proxy_header: str = ""

    def _complete(self) -> None:
        for name in ("ssl_redirect", "secure_cookies", "hsts_include_subdomains", "hsts_preload"):
            if getattr(self, name) is None:
                self._fill(name, not self.is_local)
        if self.hsts_seconds is None:
            self._fill("hsts_seconds", 0 if self.is_local else 31_536_000)

    @property
    def allowed_hosts(self) -> list[str]:
        return comma_separated(self.allowed_hosts_text)
