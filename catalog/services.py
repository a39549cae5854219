"""Services: the one write path into the offer catalog (imports from price catalog files)."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.importers import catalog_file_version, catalog_text, skypilot
from catalog.importers.types import OFFER_FIELDS, OfferRow, ParseResult
from catalog.models import Offer
from comfyvn_site.exceptions import InvalidCatalog
from providers.models import Provider, ProviderKind

PARSERS = {"skypilot": skypilot.parse}
NATURAL_KEY = ("provider", "instance_type", "region", "zone")
WRITTEN_FIELDS = (*OFFER_FIELDS, "source", "source_version", "fetched_at")
BATCH_SIZE = 1000
EXAMPLE_LINES = 10


@dataclass
class ImportReport:
    """What an import did (or would do, with dry_run): counts, and skip reasons with example line numbers."""

    provider: str
    source: str
    source_version: str
    dry_run: bool
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, dict] = field(default_factory=dict)
    notes: dict[str, dict] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(entry["count"] for entry in self.skipped.values())


Progress = Callable[[str, int, int], None]


def offer_catalog_file_import(*, provider: Provider, data: bytes, source_version: str = "",
                              **options) -> ImportReport:
    """A catalog file as uploaded or read from disk: decoded here, and versioned by its content when the caller
    names no version; then `offer_catalog_import` (the API upload and `manage.py import_catalog` share this)."""
    return offer_catalog_import(provider=provider, file=catalog_text(data),
                                source_version=source_version or catalog_file_version(data), **options)


@transaction.atomic
def offer_catalog_import(*, provider: Provider, file: Iterable[str], source: str = "skypilot",
                         source_version: str = "", fetched_at: datetime | None = None, dry_run: bool = False,
                         progress: Progress | None = None) -> ImportReport:
    """Validate a whole catalog file, then upsert its offers by natural key in this one transaction.

    `file` yields text lines opened with newline="". Offers marked manual_override are never touched; offers absent
    from the file are kept (their fetched_at ages, which the advisor reports as a stale price). A malformed file
    raises InvalidCatalog naming the line, and nothing is written. Importing the same file twice changes nothing:
    `fetched_at` belongs to the data (when the catalog was fetched), not to the import.
    """
    if source not in PARSERS:
        raise ValidationError({"source": f"Unknown catalog format '{source}'; known: {', '.join(sorted(PARSERS))}."})
    if provider.kind != ProviderKind.REMOTE:
        raise ValidationError({"provider": "Only remote providers sell priced offers; a local machine has no price."})
    fetched_at = fetched_at or timezone.now()
    parsed = PARSERS[source](file)
    report = ImportReport(provider=provider.pk, source=source, source_version=source_version, dry_run=dry_run,
                          rows_read=parsed.rows_read)
    # Serialise imports of one provider and hold its offers still while comparing (the admin may set an override).
    Provider.objects.select_for_update().only("pk").get(pk=provider.pk)
    existing = {(it, region, zone): values for it, region, zone, *values in Offer.objects.select_for_update()
                .filter(provider=provider).values_list("instance_type", "region", "zone", "manual_override",
                                                       *WRITTEN_FIELDS).order_by()}
    pending = []
    for done, row in enumerate(parsed.rows, start=1):
        if progress and done % BATCH_SIZE == 0:
            progress("validating", done, len(parsed.rows))
        offer = _offer(row, provider=provider, source=source, source_version=source_version, fetched_at=fetched_at)
        before = existing.get(row.key)
        if before is None:
            report.created += 1
        elif before[0]:
            parsed.skip("manual_override", row.line)
            continue
        elif tuple(before[1:]) == tuple(getattr(offer, name) for name in WRITTEN_FIELDS):
            report.unchanged += 1
            continue
        else:
            report.updated += 1
        _validate(offer, row.line)
        pending.append(offer)
    _summarise(parsed, report)
    if not dry_run:
        for start in range(0, len(pending), BATCH_SIZE):
            # auto_now does not apply to an upsert: updated_at is written as a field.
            Offer.objects.bulk_create(pending[start:start + BATCH_SIZE], update_conflicts=True,
                                      unique_fields=NATURAL_KEY, update_fields=(*WRITTEN_FIELDS, "updated_at"))
            if progress:
                progress("writing", min(start + BATCH_SIZE, len(pending)), len(pending))
    return report


def _offer(row: OfferRow, *, provider: Provider, source: str, source_version: str, fetched_at: datetime) -> Offer:
    return Offer(provider=provider, instance_type=row.instance_type, region=row.region, zone=row.zone,
                 source=source, source_version=source_version, fetched_at=fetched_at,
                 **{name: getattr(row, name) for name in OFFER_FIELDS})


def _validate(offer: Offer, line: int) -> None:
    """Field bounds and lengths of an offer about to be written (the database constraints back them up).

    Not full_clean(): the provider was checked once above, and its FK and constraint checks cost a query per offer.
    """
    try:
        offer.clean_fields(exclude=["provider"])
    except ValidationError as exc:
        fields = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
        raise InvalidCatalog(f"Line {line}: {fields}", extra={"line": line}) from exc


def _summarise(parsed: ParseResult, report: ImportReport) -> None:
    for target, source in ((report.skipped, parsed.skipped), (report.notes, parsed.notes)):
        for reason, lines in sorted(source.items()):
            target[reason] = {"count": len(lines), "lines": lines[:EXAMPLE_LINES]}


@transaction.atomic
def offer_override(*, offer: Offer, **changes) -> Offer:
    """A hand edit of an offer (the admin's): it is pinned with manual_override, so later imports leave it alone,
    unless the edit itself passes manual_override=False to hand the offer back to imports."""
    offer.manual_override = changes.pop("manual_override", True)
    for name, value in changes.items():
        setattr(offer, name, value)
    offer.full_clean()
    offer.save()
    return offer
