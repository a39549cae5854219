"""The strict JSON parser: what it refuses (with a 400 ParseError) and what it still reads as DRF's would."""
import io

import pytest
from rest_framework.exceptions import ParseError

from comfyvn_site.parsers import MAX_DEPTH, StrictJSONParser


def parse(body: bytes):
    return StrictJSONParser().parse(io.BytesIO(body), "application/json", {})


def nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b"[1]" + b"}" * (levels - 1)


@pytest.mark.parametrize("body", [
    b'{"x": 1e309}', b'{"x": -1e309}', b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}',
    b'{"x": 9223372036854775808}', b'{"x": -9223372036854775809}', b'{"x": ' + b"9" * 5000 + b"}",
    b'{"x": 1, "x": 2}', b'{"x": "a\\u0000b"}', b'{"k\\u0000": 1}', b'[["\\u0000"]]',
    b"[" * 100_000 + b"]" * 100_000, nested(MAX_DEPTH + 1), b'{"x": "\xff\xfe"}', b'{"x": "\xed\xa0\x80"}', b"{",
])
def test_strict_parser_refuses_what_later_layers_cannot_hold(body):
    with pytest.raises(ParseError):
        parse(body)


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"x": 1.5e308, "y": -9223372036854775808, "z": 9223372036854775807}',
     {"x": 1.5e308, "y": -(2**63), "z": 2**63 - 1}),
    (b'{"name": "\\u00e9\\ud83d\\ude00", "ids": ["a", "b"]}', {"name": "é😀", "ids": ["a", "b"]}),
    (nested(MAX_DEPTH), None),
    (b"[]", []),
])
def test_strict_parser_reads_ordinary_json(body, expected):
    document = parse(body)
    assert expected is None or document == expected
