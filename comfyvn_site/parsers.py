"""The API's JSON parser: only JSON that every later layer (serializers, PostgreSQL) can hold; the rest is a 400.

DRF's JSONParser lets through what later becomes a 500: deep nesting raises RecursionError (not a ValueError, so not
a 400) or blows up a recursive step after parsing; `1e309` parses to infinity, which jsonb refuses; `\\u0000` cannot be
stored in text or jsonb, nor can an unpaired surrogate escape such as `\\ud800` (nor be encoded as UTF-8 to answer
with); integers past 64 bits overflow every integer column. A repeated key silently kept the last
value. Each is refused here in the shared error contract.
"""
import json
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any registry document (about 5 levels); shallow enough for every recursive step after parsing.
MAX_JSON_DEPTH = 64
INT_LIMIT = 2**63
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
UNSTORABLE = "may not contain NUL characters or unpaired surrogates (\\ud800-\\udfff)."


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    value = int(text)
    if not -INT_LIMIT <= value < INT_LIMIT:
        raise ValueError(f"integer {text[:40]}… does not fit in 64 bits")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate[:40]!r}")
    return document


def _unstorable(text: str) -> bool:
    """NUL or an unpaired UTF-16 surrogate: PostgreSQL stores neither in text or jsonb, and UTF-8 cannot encode one."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_shape(document) -> None:
    """Without recursion: refuse nesting past MAX_JSON_DEPTH, and keys or strings _unstorable."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        if isinstance(value, dict):
            if any(_unstorable(key) for key in value):
                raise ParseError(f"JSON keys {UNSTORABLE}")
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and _unstorable(value):
            raise ParseError(f"JSON strings {UNSTORABLE}")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            document = json.loads(stream.read().decode(encoding), parse_constant=_reject_constant,
                                  parse_float=_finite_float, parse_int=_bounded_int, object_pairs_hook=_unique_keys)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_shape(document)
        return document
