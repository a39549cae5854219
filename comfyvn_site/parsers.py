"""The one request parser: JSON, and only JSON that every later layer (serializers, PostgreSQL) can hold.

DRF's JSONParser lets through what later becomes a 500: `1e309` parses to infinity (PostgreSQL's jsonb refuses it),
deep nesting raises RecursionError (not a ValueError, so not a 400), `\\u0000` cannot be stored in text or jsonb,
integers past 64 bits overflow every integer column, and a repeated key silently keeps the last value.
Each of these is refused here with a 400 in the shared error contract.
"""
import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

MAX_DEPTH = 64
INT_LIMIT = 2**63


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


def _check_shape(document) -> None:
    """Iteratively (no recursion) refuse nesting past MAX_DEPTH and NUL characters in keys or strings."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise ParseError(f"JSON is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(value, dict):
            if any("\x00" in key for key in value):
                raise ParseError("JSON keys may not contain NUL characters.")
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise ParseError("JSON strings may not contain NUL characters.")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            document = json.loads(stream.read().decode(encoding), parse_constant=_reject_constant,
                                  parse_float=_finite_float, parse_int=_bounded_int, object_pairs_hook=_unique_keys)
        except RecursionError:
            raise ParseError(f"JSON is nested more than {MAX_DEPTH} levels deep.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_shape(document)
        return document
