"""Registry selectors: ordering, filters, and a fixed number of queries whatever the registry size."""
import pytest

from comfyvn_site.exceptions import ProviderNotFound
from providers.selectors import provider_get, provider_list, template_list
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


def test_provider_list_orders_by_priority_then_id_in_one_query(templates, django_assert_num_queries):
    ProviderFactory(id="b", priority=5)
    ProviderFactory(id="a", priority=5)
    ProviderFactory(id="z", priority=1, active=False)
    with django_assert_num_queries(1):
        ids = [p.id for p in provider_list()]
    assert ids == ["local", "z", "a", "b"]
    with django_assert_num_queries(1):
        assert [p.id for p in provider_list(active=False)] == ["z"]


def test_provider_list_query_count_does_not_grow(templates, django_assert_num_queries):
    ProviderFactory.create_batch(50)
    with django_assert_num_queries(1):
        providers = list(provider_list())
    assert len(providers) == 51


def test_provider_get_raises_not_found(templates):
    assert provider_get(provider_id="local").kind == "local"
    with pytest.raises(ProviderNotFound):
        provider_get(provider_id="ghost")


def test_template_list_is_ordered_in_one_query(templates, django_assert_num_queries):
    with django_assert_num_queries(1):
        ids = [t.id for t in template_list()]
    assert ids[0] == "local" and len(ids) == 12
