"""The clerks' group: the model permissions a bank clerk works with, in the admin and the API."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

CLERK_GROUP = "clerk"

# (app label, codename). Money moves, freezing and closing need change_account, as in the admin.
CLERK_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("bank", "view_customer"),
    ("bank", "add_customer"),
    ("bank", "change_customer"),
    ("bank", "view_account"),
    ("bank", "add_account"),
    ("bank", "change_account"),
    ("bank", "view_ledgerentry"),
    # The customer form's search for a dashboard sign-in.
    ("auth", "view_user"),
)


def ensure_clerk_group() -> Group:
    """The group, holding exactly the clerk's permissions; safe to run on every start."""
    group, _ = Group.objects.get_or_create(name=CLERK_GROUP)
    wanted = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in CLERK_PERMISSIONS
    ]
    group.permissions.set(wanted)
    return group
