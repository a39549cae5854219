"""Shared fixtures: API clients for anonymous, ordinary and staff users; the curated templates synced."""
import os

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from providers.services import provider_template_specs_load, provider_template_sync
from tests.factories import StaffFactory, UserFactory

# CI (.ci/run) draws the same Hypothesis examples on every run, so a red build can be reproduced; a local run draws
# new ones each time and keeps exploring.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


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
