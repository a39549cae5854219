"""Admin: the registry (written only through providers/services.py, like the API) and the read-only templates.

Forms validate by calling the same service with dry_run=True, so every API rule shows up as a form error;
save_model then calls it for real. Credential inputs are password fields that never render a value.
"""
import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from comfyvn_site.admin import ReadOnlyAdmin
from comfyvn_site.exceptions import ApplicationError
from health.admin_actions import check_now
from providers.models import LOCAL_PROVIDER_ID, Provider, ProviderTemplate
from providers.secrets import secret_fields
from providers.services import provider_create, provider_register, provider_remove

_FIELD_ALIASES = {"template_id": "template"}


def _credential_field(name: str) -> forms.CharField:
    return forms.CharField(label=name, required=False, strip=False,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                           help_text="Write-only: never shown. Leave blank to keep the stored value.")


class _ServiceForm(forms.ModelForm):
    """A form whose fields are all declared: validation and saving belong to a service, not to ModelForm."""

    credential_names: tuple[str, ...] = ()

    class Meta:
        model = Provider
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.credential_names:
            self.fields[f"credential_{name}"] = _credential_field(name)

    def credentials(self) -> dict:
        return {name: self.cleaned_data[f"credential_{name}"] for name in self.credential_names
                if self.cleaned_data.get(f"credential_{name}")}

    def service_call(self, *, dry_run: bool) -> Provider:
        raise NotImplementedError

    def clean_config(self):
        """Credentials belong in their password fields: typed into the config box they would be rendered back,
        in clear text, with any form error. They are refused, and scrubbed from the text the page shows again."""
        config = self.cleaned_data.get("config")
        typed = sorted(set(config) & set(self.credential_names)) if isinstance(config, dict) else []
        if typed:
            self.data = self.data.copy()
            self.data[self.add_prefix("config")] = json.dumps({k: v for k, v in config.items() if k not in typed})
            raise ValidationError(f"Put credentials in their own fields, not in config: {', '.join(typed)}.")
        return config

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = self.service_call(dry_run=True)
        except ValidationError as exc:
            for field, field_messages in exc.message_dict.items():
                field = _FIELD_ALIASES.get(field, field)
                for message in field_messages:
                    self.add_error(field if field in self.fields else None, f"{field}: {message}")
        except ApplicationError as exc:
            self.add_error(None, exc.message)
        return cleaned


class ProviderCreateForm(_ServiceForm):
    """Create from template: the template's defaults, with any field given here on top."""

    template = forms.ModelChoiceField(ProviderTemplate.objects.order_by("priority", "id"))
    id = forms.SlugField(max_length=64, required=False, help_text="Default: a slug of the name (-2, -3... if taken).")
    name = forms.CharField(max_length=200, required=False, help_text="Default: the template's name.")
    base_url = forms.CharField(max_length=2048, required=False, help_text="Default: the template's URL.")
    priority = forms.IntegerField(min_value=0, required=False, help_text="Default: the template's priority.")
    active = forms.BooleanField(required=False, initial=True)
    meta = forms.JSONField(required=False, help_text="Deep-merged over the template's meta.")
    config = forms.JSONField(required=False, help_text="Non-secret settings (see the template's schema).")

    def __init__(self, *args, **kwargs):
        self.credential_names = tuple(sorted(set().union(
            *(secret_fields(schema) for schema in ProviderTemplate.objects.values_list("auth_schema", flat=True)))))
        super().__init__(*args, **kwargs)

    def service_call(self, *, dry_run: bool) -> Provider:
        data = self.cleaned_data
        return provider_create(
            template_id=data["template"].id, provider_id=data["id"] or None, name=data["name"] or None,
            base_url=data["base_url"] or None, priority=data["priority"], active=data["active"],
            meta=data["meta"] or None, config={**(data["config"] or {}), **self.credentials()}, dry_run=dry_run)


class ProviderChangeForm(_ServiceForm):
    """Edit an entry as a full definition (provider_register): meta falls back to the template's defaults,
    settings are replaced, credentials left blank are kept."""

    name = forms.CharField(max_length=200)
    base_url = forms.CharField(max_length=2048)
    priority = forms.IntegerField(min_value=0)
    active = forms.BooleanField(required=False)
    meta = forms.JSONField(required=False)
    config = forms.JSONField(required=False, help_text="Non-secret settings (see the template's schema).")
    clear_credentials = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                                  help_text="Stored credentials to delete.")

    def __init__(self, *args, instance: Provider, **kwargs):
        self.credential_names = tuple(sorted(secret_fields(instance.template.auth_schema if instance.template else {})))
        initial = {name: getattr(instance, name) for name in ("name", "base_url", "priority", "active", "meta",
                                                                "config")}
        super().__init__(*args, instance=instance, initial=initial, **kwargs)
        self.fields["clear_credentials"].choices = [(name, name) for name in instance.secrets_set]

    def service_call(self, *, dry_run: bool) -> Provider:
        data = self.cleaned_data
        config = {**(data["config"] or {}), **self.credentials(),
                  **dict.fromkeys(data["clear_credentials"])}
        definition = {"id": self.instance.pk, "name": data["name"], "base_url": data["base_url"],
                      "priority": data["priority"], "active": data["active"], "meta": data["meta"] or {},
                      "config": config}
        return provider_register(definition=definition, dry_run=dry_run)[0]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "service", "kind", "active", "priority", "health")
    list_filter = ("active", "kind", "service", "template")
    search_fields = ("id", "name", "service", "base_url")
    ordering = ("priority", "id")
    actions = [check_now]
    readonly_fields = ("id", "kind", "service", "template", "secrets_set", "health", "last_health", "last_checked_at",
                       "consecutive_failures", "created_at", "updated_at")

    @admin.display(description="health")
    def health(self, obj: Provider) -> str:
        return obj.health_state

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return ProviderCreateForm

        class BoundChangeForm(ProviderChangeForm):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **{**form_kwargs, "instance": obj})

        return BoundChangeForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(ProviderCreateForm().fields)
        return [*self.readonly_fields, *ProviderChangeForm(instance=obj).fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request, obj, form, change):
        obj.pk = form.service_call(dry_run=False).pk

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.pk != LOCAL_PROVIDER_ID

    def delete_model(self, request, obj):
        provider_remove(provider_id=obj.pk)

    def delete_queryset(self, request, queryset):
        """The bulk action; Django refuses it (403) before this point when `local` is selected."""
        for provider_id in queryset.values_list("id", flat=True):
            provider_remove(provider_id=provider_id)


@admin.register(ProviderTemplate)
class ProviderTemplateAdmin(ReadOnlyAdmin):
    """Curated data from fixtures/provider_templates.json (manage.py sync_provider_templates): read-only here."""

    list_display = ("id", "name", "service", "kind", "priority", "create_link")
    list_filter = ("kind",)
    search_fields = ("id", "name", "service")

    @admin.display(description="create")
    def create_link(self, obj: ProviderTemplate) -> str:
        url = reverse("admin:providers_provider_add")
        return format_html('<a href="{}?template={}">Create provider from template</a>', url, obj.pk)
