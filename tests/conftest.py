"""Shared fixtures: API clients for anonymous, ordinary and staff users; the curated templates synced."""
import pytest
from rest_framework.test import APIClient

from providers.services import provider_template_specs_load, provider_template_sync
from tests.factories import StaffFactory, UserFactory


@pytest.fixture
def templates(db):
    """The real curated template fixture, synced (also creates the built-in `local` provider)."""
    provider_template_sync(specs=provider_template_specs_load())


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def user_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client
