"""The shared JSON parser: hostile bodies get a clean 400 (reliability.md I10); ordinary JSON reads as DRF's would."""
import io

import pytest
from rest_framework.exceptions import ParseError

from comfyvn_site.parsers import MAX_JSON_DEPTH, JSONParser

IMPORT = "/api/providers/import"
ENTRY = '{"id": "a", "name": "a", "service": "runpod", "base_url": "https://a.example", "meta": %s}'


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,                                       # deeper than the decoder can recurse
    '{"providers": [%s]}' % (ENTRY % ('{"a": ' * 500 + "1" + "}" * 500)),  # parses, but too deep to process
    '{"providers": NaN}',
    '{"providers": [{"id": "x", "priority": 1e400}]}',
    '{"providers": [{"id": "x"}], "providers": 5}',                      # duplicate keys: refused
    "not json",
])
@pytest.mark.django_db
def test_hostile_bodies_are_400_json(templates, staff_client, raw):
    response = staff_client.post(IMPORT, data=raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] in ("parse_error", "invalid")


@pytest.mark.django_db
def test_nesting_within_the_limit_is_accepted(templates, staff_client):
    raw = '{"providers": [%s]}' % (ENTRY % ('{"a": ' * 40 + "1" + "}" * 40))
    assert staff_client.post(IMPORT, data=raw, content_type="application/json").status_code == 200


def parse(body: bytes):
    return JSONParser().parse(io.BytesIO(body), "application/json", {})


def nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b"[1]" + b"}" * (levels - 1)


@pytest.mark.parametrize("body", [
    b'{"x": 1e309}', b'{"x": -1e309}', b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}',
    b'{"x": 9223372036854775808}', b'{"x": -9223372036854775809}', b'{"x": ' + b"9" * 5000 + b"}",
    b'{"x": 1, "x": 2}', b'{"x": "a\\u0000b"}', b'{"k\\u0000": 1}', b'[["\\u0000"]]',
    b'{"x": "a\\ud800"}', b'{"x": "\\ude00\\ud83d"}', b'{"\\udfff": 1}', '[["\\ud83d é"]]'.encode(),
    b"[" * 100_000 + b"]" * 100_000, nested(MAX_JSON_DEPTH + 1), b'{"x": "\xff\xfe"}', b'{"x": "\xed\xa0\x80"}', b"{",
])
def test_strict_parser_refuses_what_later_layers_cannot_hold(body):
    with pytest.raises(ParseError):
        parse(body)


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"x": 1.5e308, "y": -9223372036854775808, "z": 9223372036854775807}',
     {"x": 1.5e308, "y": -(2**63), "z": 2**63 - 1}),
    (b'{"name": "\\u00e9\\ud83d\\ude00", "ids": ["a", "b"]}', {"name": "é😀", "ids": ["a", "b"]}),
    (nested(MAX_JSON_DEPTH), None),
    (b"[]", []),
])
def test_strict_parser_reads_ordinary_json(body, expected):
    document = parse(body)
    assert expected is None or document == expected
