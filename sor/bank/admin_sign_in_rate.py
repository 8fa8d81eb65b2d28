"""A middleware of the admin site: its login form shares the API's sign-in throttle."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.request import Request

from sor.bank.api.sign_in import SignInThrottle


class AdminSignInRateMiddleware:
    """The API's per-address sign-in throttle (BANK_SIGN_IN_RATE) on the admin's login form too:
    the lockout counts per username, this counts per address."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if request.method == "POST" and request.path == reverse("admin:login"):
            throttle = SignInThrottle()
            if not throttle.allow_request(Request(request), None):
                wait = math.ceil(throttle.wait() or 60)
                answer = HttpResponse(
                    f"Too many sign-in attempts from your address; try again in {wait} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                answer["Retry-After"] = str(wait)
                return answer
        return self.get_response(request)
