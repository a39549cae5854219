"""Hostile input on every write route the URL resolver knows: a 4xx or a correct answer, never a 500, nothing written.

Routes come from DRF's endpoint enumerator (it walks the resolver), so a route that lands later is covered here
without touching this file. Bodies start from each operation's documented example, else its request schema; the
injection strings then go into every string field of that body, one field at a time, at any depth.
"""
import functools
import json
import re

import pytest
from django.apps import apps
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.schemas.generators import EndpointEnumerator
from rest_framework.test import APIClient

WRITE_METHODS = ("POST", "PUT", "PATCH")
TEN_MB = 10 * 1024 * 1024
UNICODE_ID = "ŝpécïal-ıd-😀-ｆｕｌｌｗｉｄｔｈ"
INJECTIONS = (
    "' OR '1'='1'; DROP TABLE providers_provider; --",
    "x'); DELETE FROM auth_user; --",
    '{{ "zq"|upper }}{{ settings.SECRET_KEY }}{% debug %}',
    "${7*7}<script>alert(1)</script>",
    "../../../../etc/passwd",
    "\u202e\ufeff" + "é" * 300,
    "unpaired \ud800 surrogate",  # sent as the JSON escape \\ud800: valid JSON, but no UTF-8 and no PostgreSQL text
)


def _write_routes() -> list[tuple[str, str]]:
    endpoints = EndpointEnumerator().get_api_endpoints()
    return sorted({(path, method) for path, method, _ in endpoints if method in WRITE_METHODS})


ROUTES = _write_routes()


def _shape(path: str) -> str:
    """A path with its parameter names erased: the enumerator says {pk} where the schema says {id}."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@functools.cache
def _schema() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return {"paths": {_shape(path): item for path, item in document["paths"].items()},
            "components": document.get("components", {})}


def _resolve(spec: dict) -> dict:
    while "$ref" in spec:
        spec = _schema()["components"]["schemas"][spec["$ref"].rsplit("/", 1)[-1]]
    return spec


def _request_schema(path: str, method: str) -> dict:
    """The JSON request body schema documented for this operation ({} if none)."""
    operation = _schema()["paths"].get(_shape(path), {}).get(method.lower(), {})
    return _resolve(operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}))


def _request_properties(path: str, method: str) -> dict:
    return _request_schema(path, method).get("properties", {})


def _body_from_schema(spec: dict, depth: int = 0):
    """A body shaped like the schema: enums keep a valid value, strings are "x", numbers plain."""
    spec = _resolve(spec)
    if spec.get("enum"):
        return next((value for value in spec["enum"] if value is not None), "x")
    kind = spec.get("type")
    if depth < 6 and (kind == "object" or "properties" in spec):
        return {name: _body_from_schema(item, depth + 1) for name, item in spec.get("properties", {}).items()}
    if depth < 6 and kind == "array":
        return [_body_from_schema(spec.get("items", {}), depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": False}.get(kind, "x")


def _base_body(path: str, method: str) -> dict:
    """The operation's first documented example, else a body built from its schema, else a guess."""
    operation = _schema()["paths"].get(_shape(path), {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = [example.get("value") for example in content.get("examples", {}).values()]
    if examples and isinstance(examples[0], dict):
        return examples[0]
    body = _body_from_schema(content.get("schema", {}))
    return body if isinstance(body, dict) and body else {"id": "x", "name": "x"}


def _string_leaves(value, trail: tuple = ()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*trail, index))
    elif isinstance(value, str):
        yield trail


def _with(value, trail: tuple, text: str):
    """A copy of `value` with the string at `trail` replaced by `text`."""
    copy = json.loads(json.dumps(value))
    target = copy
    for step in trail[:-1]:
        target = target[step]
    target[trail[-1]] = text
    return copy


def _url(path: str, value: str = "local") -> str:
    """The route with every path parameter filled in ('local' exists once the templates are synced)."""
    while "{" in path:
        start = path.index("{")
        path = path[:start] + value + path[path.index("}", start) + 1:]
    return path


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def api(staff, templates):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def _send(client, method: str, url: str, body: bytes, content_type: str = "application/json"):
    before = _row_counts()
    response = client.generic(method, url, data=body, content_type=content_type)
    assert response.status_code < 500, f"{method} {url} -> {response.status_code}: {response.content[:500]!r}"
    if response.status_code >= 400:
        assert _row_counts() == before, f"{method} {url} failed with {response.status_code} but wrote rows"
        if response.get("Content-Type", "").startswith("application/json"):
            assert set(response.json()) == {"code", "message", "extra"}, response.content[:500]
    return response


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


RAW_BODIES = {
    "deep_nesting_100k": b"[" * 100_000 + b"]" * 100_000,
    "deep_object_nesting_500": _deep(500),
    "non_utf8": b'{"name": "\xff\xfe\xc3\x28", "id": "\xed\xa0\x80"}',
    "infinity_1e309": b'{"name": 1e309, "priority": 1e309, "min_vram_gb": -1e309}',
    "nan": b'{"name": NaN, "priority": NaN}',
    "infinity_literal": b'{"priority": Infinity}',
    "huge_integer": b'{"priority": ' + b"9" * 4000 + b"}",
    "int_past_64_bits": b'{"priority": 18446744073709551616}',
    "duplicate_keys": b'{"id": "a", "id": "b"}',
    "nul_in_string": b'{"name": "a\\u0000b", "meta": {"k\\u0000": "v"}}',
    "unpaired_surrogates": b'{"name": "a\\ud800b", "meta": {"k\\udfff": "v"}, "source": "\\ud83d"}',
    "top_level_array": b"[]",
    "top_level_string": b'"hello"',
    "top_level_null": b"null",
    "empty_body": b"",
    "truncated": b'{"name": "abc',
    "bom_prefixed": b'\xef\xbb\xbf{"name": "x"}',
}


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
@pytest.mark.parametrize("case", sorted(RAW_BODIES))
def test_malformed_json_is_refused_without_a_write(api, path, method, case):
    response = _send(api, method, _url(path), RAW_BODIES[case])
    if case not in {"top_level_array", "top_level_string", "top_level_null", "empty_body"}:
        assert 400 <= response.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_ten_megabyte_body_is_413(api, path, method):
    body = json.dumps({"name": "x" * TEN_MB}).encode()
    assert _send(api, method, _url(path), body).status_code == 413


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/json; charset=bz2_codec"])
def test_wrong_content_type_is_refused(api, path, method, content_type):
    response = _send(api, method, _url(path), b'{"name": "x"}', content_type)
    assert 400 <= response.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_unicode_id_in_the_path_is_a_4xx_or_an_answer(api, path, method):
    if "{" not in path:
        pytest.skip("route has no path parameter")
    _send(api, method, _url(path, UNICODE_ID), b"{}")


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
@pytest.mark.parametrize("injection", INJECTIONS + (UNICODE_ID,))
def test_injection_in_every_string_field_is_inert(api, path, method, injection):
    """One request per string field, at any depth, so that each field's injection reaches as far as it can."""
    base = _base_body(path, method)
    for trail in list(_string_leaves(base)):
        response = _send(api, method, _url(path), json.dumps(_with(base, trail, injection)).encode())
        assert settings.SECRET_KEY.encode() not in response.content, trail
        assert b"ZQ" not in response.content, f"a template was rendered from request data at {trail}"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_ten_thousand_items_in_every_array_field(api, path, method):
    properties = _request_properties(path, method)
    arrays = [name for name, spec in properties.items() if spec.get("type") == "array"] or ["assets", "providers"]
    item = {"name": "asset.bin", "size_mb": 1}
    _send(api, method, _url(path), json.dumps(dict.fromkeys(arrays, [item] * 10_000)).encode())


def test_the_enumerator_finds_the_write_routes():
    """Guards the parametrisation above against silently covering nothing."""
    expected = {("/api/providers/import", "POST"), ("/api/providers/create", "POST"), ("/compute/advise", "POST")}
    assert expected <= set(ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("wrapped", [True, False], ids=["workload-wrapper", "bare-workload"])
def test_advise_with_ten_thousand_assets_is_refused_or_counted(api, wrapped):
    workload = {"requirements": {"type": "cg_batch", "estimated_minutes": 30},
                "assets": [{"name": f"asset-{i}.bin", "size_mb": 1} for i in range(10_000)]}
    body = json.dumps({"workload": workload} if wrapped else workload).encode()
    response = _send(api, "POST", "/compute/advise", body)
    if response.status_code == 200:
        assert response.json()["analysis"]["total_asset_mb"] == 10_000


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/providers/", "/api/jobs/summaries/", "/api/offers/",
                                  "/api/providers/local/health"])
@pytest.mark.parametrize("query", ["limit=100000000000000000000000", "offset=100000000000000000000000",
                                   "limit=-1&offset=-1", "limit=1e309", "limit=%00"])
def test_a_page_past_any_integer_is_an_answer(api, path, query):
    """A LIMIT past bigint reached PostgreSQL and answered 500; the page size now has a ceiling."""
    response = api.get(f"{path}?{query}")
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) <= 1000


@pytest.mark.django_db
def test_a_nul_in_advise_query_parameters_is_a_400(api):
    """POST bodies with NUL are refused by the parser; GET's query parameters are read by the workload reader."""
    response = api.get("/compute/advise?task=%00render")
    assert response.status_code == 400
    assert "task" in response.json()["extra"]["fields"]


HOSTILE_QUERY_VALUES = ("%00", "1e309", "NaN", "-1", "100000000000000000000000", "%ED%A0%80", "x" * 5000,
                        "%27%20OR%20%271%27%3D%271")


def _query_operations() -> list[tuple[str, str, str]]:
    """(path, method, parameter) for every query parameter the schema documents, on every operation."""
    found = []
    for path, item in _schema()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                found += [(path, method.upper(), parameter["name"]) for parameter in operation.get("parameters", [])
                          if parameter.get("in") == "query"]
    return sorted(found)


def test_the_schema_documents_query_parameters():
    assert {"limit", "offset", "since", "min_vram_gb", "task"} <= {name for _, _, name in _query_operations()}


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method", "parameter"), _query_operations())
def test_hostile_values_in_every_query_parameter(api, path, method, parameter):
    """Every documented query parameter, on every operation, with each hostile value: a 4xx or an answer."""
    for value in HOSTILE_QUERY_VALUES:
        url = f"{path.replace('{}', 'local')}?{parameter}={value}"
        _send(api, method, url, b"{}" if method in WRITE_METHODS else b"")
