"""Hostile JSON bodies get a clean 400 from the shared parser (reliability.md I10)."""
import pytest

pytestmark = pytest.mark.django_db

IMPORT = "/api/providers/import"
ENTRY = '{"id": "a", "name": "a", "service": "runpod", "base_url": "https://a.example", "meta": %s}'


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,                                       # deeper than the decoder can recurse
    '{"providers": [%s]}' % (ENTRY % ('{"a": ' * 500 + "1" + "}" * 500)),  # parses, but too deep to process
    '{"providers": NaN}',
    '{"providers": [{"id": "x", "priority": 1e400}]}',
    '{"providers": [{"id": "x"}], "providers": 5}',                      # duplicate keys: the last one wins
    "not json",
])
def test_hostile_bodies_are_400_json(templates, staff_client, raw):
    response = staff_client.post(IMPORT, data=raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] in ("parse_error", "invalid")


def test_nesting_within_the_limit_is_accepted(templates, staff_client):
    raw = '{"providers": [%s]}' % (ENTRY % ('{"a": ' * 40 + "1" + "}" * 40))
    assert staff_client.post(IMPORT, data=raw, content_type="application/json").status_code == 200
