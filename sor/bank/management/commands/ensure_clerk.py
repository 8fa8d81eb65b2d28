"""Creates or updates the clerk's admin login from the environment; safe to run on every start."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from kernel.settings import ClerkLogin
from sor.bank.clerks import CLERK_GROUP, ensure_clerk_group


class Command(BaseCommand):
    help = (
        "Make sure the clerk group holds the clerks' permissions, and the clerk (a superuser, "
        "in that group) exists with DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD and "
        "DJANGO_SUPERUSER_EMAIL."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        login = ClerkLogin.load()
        username, password, email = login.username, login.password, login.email
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email}
        )
        user.email = email
        user.is_staff = user.is_superuser = user.is_active = True
        # Setting the password from the environment each time makes rotating it a restart.
        if created or not user.check_password(password):
            user.set_password(password)
        user.save()
        user.groups.add(ensure_clerk_group())
        state = "created" if created else "up to date"
        self.stdout.write(
            f"Clerk {username!r} {state}, in the {CLERK_GROUP!r} group; they sign in at /admin/"
        )
