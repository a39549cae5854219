"""The orjson renderer writes the same bytes DRF's JSONRenderer writes, and falls back to it where orjson cannot."""
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from comfyvn_site.renderers import JSONRenderer

SAMPLES = [
    {"choice": "remote", "cost": 0.23, "minutes": 60, "none": None, "flag": True, "list": [1, 2.5, "x"]},
    {"at": datetime(2026, 11, 27, 9, 30, 1, 123456, tzinfo=UTC), "naive": datetime(2026, 1, 2, 3, 4, 5),
     "day": date(2026, 11, 27), "span": timedelta(minutes=90)},
    {"price": Decimal("0.348"), "id": uuid.UUID("b391b935-996e-4bd5-9659-6a11501f3887"), "lazy": gettext_lazy("Name")},
    {"text": "unicode ü 漢字 \u2028 line \u2029 paragraph", "quote": "\"</script>\\"},
    {"huge": 2**70},  # past 64 bits: orjson refuses, DRF's renderer takes it
    [],
    "plain string",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_indent_and_none_are_drfs():
    data = {"a": [1, {"b": 2}]}
    assert JSONRenderer().render(data, "application/json; indent=2") == \
        renderers.JSONRenderer().render(data, "application/json; indent=2")
    assert JSONRenderer().render(None) == b""


def test_the_api_renders_through_it(staff_client):
    response = staff_client.get("/api/ping")
    assert response.status_code == 200
    assert type(response.accepted_renderer) is JSONRenderer
