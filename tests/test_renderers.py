"""The orjson renderer writes the same bytes DRF's JSONRenderer writes (a shared head included), and falls back to it
where orjson cannot."""
import gzip
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from comfyvn_site.renderers import JSONRenderer, SharedHead, WithSharedHead

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


# --- WithSharedHead: the head encoded once, the same bytes as the plain dict ---------------------------------------

HEADS = [
    {"choice": "remote", "rejected": [{"id": "a", "cost": 0.5}] * 3, "text": "line \u2028 break"},
    {},
    {"at": datetime(2026, 11, 27, 9, 30, tzinfo=UTC), "price": Decimal("0.348")},
]
OWNS = [{"job_summary": {"id": None, "source": "api \u2029"}}, {}, {"n": 1, "when": date(2026, 11, 27)}]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("own", OWNS)
def test_with_shared_head_renders_as_the_dict_it_equals(head, own):
    data = WithSharedHead(SharedHead(head), own)
    assert data == {**head, **own}
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render({**head, **own})


def test_the_head_is_encoded_once_and_reused():
    head = SharedHead({"rejected": [1, 2, 3]})
    first = JSONRenderer().render(WithSharedHead(head, {"id": 1}))
    second = JSONRenderer().render(WithSharedHead(head, {"id": 2}))
    assert (first, second) == (b'{"rejected":[1,2,3],"id":1}', b'{"rejected":[1,2,3],"id":2}')
    assert head.encoded() is head.encoded()


def test_a_head_orjson_refuses_goes_to_drf():
    data = WithSharedHead(SharedHead({"huge": 2**70}), {"id": 1})
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render({"huge": 2**70, "id": 1})


def test_own_members_may_not_repeat_the_heads():
    with pytest.raises(ValueError):
        WithSharedHead(SharedHead({"id": 1}), {"id": 2})


def test_gzip_after_continues_one_stream_per_answer_from_many_threads():
    head = SharedHead({"rejected": [{"id": f"p{i}", "code": "VRAM_TOO_SMALL"} for i in range(500)]})
    encoded, failures = head.encoded(), []

    def answer(n: int) -> None:
        for i in range(20):
            tail = b',"job_summary":{"id":"%d-%d"}}' % (n, i)
            stream, compressor = head.gzip_after()
            body = stream + compressor.compress(tail) + compressor.flush()
            if gzip.decompress(body) != encoded + tail:
                failures.append((n, i))

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
