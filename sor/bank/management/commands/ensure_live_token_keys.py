"""Makes the live-feed signing key pair if there is none, so the gateway finds the public key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sor.bank import live_tokens


class Command(BaseCommand):
    help = (
        "Make sure the live-feed token key pair exists (unless BANK_LIVE_TOKEN_PRIVATE_KEY is "
        "set) and print where the gateway finds the public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        live_tokens.signing_key(settings.LIVE_TOKEN_PRIVATE_KEY_PEM, settings.LIVE_TOKEN_KEY_FILE)
        if settings.LIVE_TOKEN_PRIVATE_KEY_PEM:
            self.stdout.write(
                "The signing key comes from BANK_LIVE_TOKEN_PRIVATE_KEY; give the gateway its "
                "public half in BANK_LIVE_TOKEN_PUBLIC_KEY."
            )
            return
        public = live_tokens.public_key_path(settings.LIVE_TOKEN_KEY_FILE)
        self.stdout.write(f"Live-feed public key: {public}")
