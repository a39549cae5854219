"""factory_boy factories for the registry and users."""
import factory
from django.contrib.auth import get_user_model

from providers.models import Provider, ProviderKind


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")


class StaffFactory(UserFactory):
    is_staff = True
    username = factory.Sequence(lambda n: f"staff{n}")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"provider-{n}")
    name = factory.LazyAttribute(lambda o: o.id.replace("-", " ").title())
    kind = ProviderKind.REMOTE
    service = "runpod"
    base_url = "https://rest.runpod.io/v1"
    priority = 10
    meta = factory.LazyFunction(lambda: {"min_vram_gb": 12, "max_vram_gb": 24,
                                         "cost": {"hourly_usd": 0.46, "billing_increment_minutes": 1}})
