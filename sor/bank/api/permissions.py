"""Who may do what through the API: the same model permissions the admin asks for.

Each view names, per action (or per HTTP method), the permissions that allow it; any one of a
set is enough. An action a view does not name is refused: a new endpoint is closed until it says
who may use it. Staff status alone allows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

VIEW_ACCOUNTS = frozenset({"bank.view_account", "bank.change_account"})
CHANGE_ACCOUNTS = frozenset({"bank.change_account"})
ADD_ACCOUNTS = frozenset({"bank.add_account"})
VIEW_CUSTOMERS = frozenset({"bank.view_customer", "bank.change_customer"})
ADD_CUSTOMERS = frozenset({"bank.add_customer"})


class ClerkPermissions(BasePermission):
    message = (
        "Your account lacks the permission for this; an administrator can add you to the "
        "clerk group"
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        needed = needed_permissions(request, view)
        return needed is not None and any(user.has_perm(name) for name in needed)


def needed_permissions(request: Request, view: APIView) -> frozenset[str] | None:
    table: Mapping[str, frozenset[str]] = getattr(view, "required_permissions", {})
    action = getattr(view, "action", None) or request.method.lower()
    if request.method in ("HEAD", "OPTIONS") and action not in table:
        action = "list" if "list" in table else "get"
    return table.get(action)
