"""Checking a username and password over the API, with a brake on guessing.

DRF's throttle limits sign-in requests per client address (``sor.bank.client_address``: a
forwarded address counts only from a trusted proxy). Each username is guarded by the same
lockout as the admin's login form (``sor.bank.sign_in_guard``), so guessing one password from
many addresses, or in parallel, is stopped after the limit.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle

from sor.bank.client_address import client_address
from sor.bank.sign_in_guard import is_paused


class SignInThrottle(AnonRateThrottle):
    scope = "sign_in"

    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class WrongCredentials(APIException):
    # Not DRF's AuthenticationFailed: that one turns into a 403 on a view without authentication.
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "wrong_credentials"
    default_detail = "Wrong username or password"


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


def signed_in_user(request: Request) -> AbstractBaseUser:
    """The user the request's username and password belong to, or an API error saying why not."""
    credentials = Credentials(data=request.data)
    credentials.is_valid(raise_exception=True)
    username = credentials.validated_data["username"]
    http_request = request._request
    user = authenticate(
        http_request, username=username, password=credentials.validated_data["password"]
    )
    if user is None:
        # Answered here as the API's JSON error, not by AxesMiddleware's page.
        http_request.axes_locked_out = False
        if is_paused(http_request):
            raise Throttled(
                wait=settings.SIGN_IN_LOCKOUT_SECONDS,
                detail=f"Too many wrong passwords for {username!r}; sign-in is paused for it.",
            )
        raise WrongCredentials()
    # What a sign-in through the admin's form also does: the lockout forgets earlier attempts.
    user_logged_in.send(sender=type(user), request=http_request, user=user)
    return user
