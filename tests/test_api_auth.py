"""Every /api/ route refuses anonymous requests with the JSON error contract (walks the URL resolver)."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from comfyvn_site.authentication import token_with_user


def _api_paths(patterns=None, prefix=""):
    """Concrete paths for every route under /api/, with sample values for path parameters."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(pattern, URLResolver):
            yield from _api_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            yield "/" + _fill(route)


def _fill(route: str) -> str:
    route = re.sub(r"\(\?P<\w+>(?:\(\?!\(\?:[^)]*\)\$\))?[^)]*\)", "sample-id", route)
    return re.sub(r"<(?:\w+:)?\w+>", "sample-id", route)


API_PATHS = sorted(set(_api_paths()))
# Explicitly public: the Swagger UI page is an HTML shell; the schema it loads needs authentication.
PUBLIC_PATHS = {"/api/docs/"}


def test_the_walk_finds_the_registry_routes():
    assert {"/api/providers/", "/api/providers/export", "/api/providers/remove/sample-id",
            "/api/providers/sample-id", "/api/schema/"} <= set(API_PATHS)


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(set(API_PATHS) - PUBLIC_PATHS))
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_anonymous_is_refused_on_every_api_route(anon_client, path, method):
    response = getattr(anon_client, method)(path, {}, format="json", HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 405), (method, path, response.status_code)
    if response.status_code == 401:
        assert response.json()["code"] == "not_authenticated"


def test_public_docs_page_carries_no_schema(anon_client):
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200 and b"/api/providers" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["a\x00b", "x" * 41, "tab\there", "x" * 10_000])
def test_a_key_no_token_can_have_is_an_invalid_token_without_a_query(anon_client, key, django_assert_num_queries):
    """A NUL in the header reached PostgreSQL (which refuses NUL in text) and answered 500."""
    with django_assert_num_queries(0):
        response = anon_client.get("/api/ping", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_real_token_still_authenticates(anon_client, staff):
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    assert anon_client.get("/api/ping").status_code == 200


@pytest.mark.django_db
def test_the_token_lookup_gives_what_djangos_query_gives(staff):
    """The compiled-once lookup (comfyvn_site/authentication.py) builds the same token and user, with the same
    Python types on every database (SQLite hands back booleans as integers and timestamps as text)."""
    staff.last_login = staff.date_joined
    staff.save()
    key = Token.objects.create(user=staff).key
    expected = Token.objects.select_related("user").get(key=key)
    token = token_with_user(Token, key)
    for name in ("key", "user_id", "created"):
        assert getattr(token, name) == getattr(expected, name) and type(getattr(token, name)) is type(
            getattr(expected, name)), name
    for field in type(staff)._meta.concrete_fields:
        got, want = getattr(token.user, field.attname), getattr(expected.user, field.attname)
        assert got == want and type(got) is type(want), field.attname
    assert token_with_user(Token, "0" * 40) is None


@pytest.mark.django_db
def test_a_token_is_looked_up_on_every_request_in_one_query(anon_client, staff, django_assert_num_queries):
    token = Token.objects.create(user=staff)
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_assert_num_queries(1):
        assert anon_client.get("/api/ping").status_code == 200
    token.delete()  # revoked: nothing may remember it
    response = anon_client.get("/api/ping")
    assert response.status_code == 401 and response.json()["message"] == "Invalid token."


@pytest.mark.django_db
def test_an_inactive_users_token_is_refused(anon_client, staff):
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    staff.is_active = False
    staff.save()
    response = anon_client.get("/api/ping")
    assert response.status_code == 401 and response.json()["message"] == "User inactive or deleted."
