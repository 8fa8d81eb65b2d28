"""Checking a username and password over the API, with a brake on guessing.

DRF's throttle limits sign-in requests per client address; on top of that each username gets a
failure count, so guessing one customer's password from many addresses is slowed down too.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle


class SignInThrottle(AnonRateThrottle):
    scope = "sign_in"


class WrongCredentials(APIException):
    # Not DRF's AuthenticationFailed: that one turns into a 403 on a view without authentication.
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "wrong_credentials"
    default_detail = "Wrong username or password"


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


def _failures_key(username: str) -> str:
    return f"sign-in-failures:{username.lower()}"


def signed_in_user(request: Request) -> AbstractBaseUser:
    """The user the request's username and password belong to, or an API error saying why not."""
    credentials = Credentials(data=request.data)
    credentials.is_valid(raise_exception=True)
    username = credentials.validated_data["username"]
    key = _failures_key(username)
    if cache.get(key, 0) >= settings.SIGN_IN_FAILURE_LIMIT:
        raise Throttled(
            wait=settings.SIGN_IN_LOCKOUT_SECONDS,
            detail=f"Too many wrong passwords for {username!r}; sign-in is paused for it.",
        )
    user = authenticate(
        request._request, username=username, password=credentials.validated_data["password"]
    )
    if user is None:
        cache.set(key, cache.get(key, 0) + 1, timeout=settings.SIGN_IN_LOCKOUT_SECONDS)
        raise WrongCredentials()
    cache.delete(key)
    return user
