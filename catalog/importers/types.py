"""Plain data passed from a catalog parser to the import service: validated offers and why rows were skipped."""
from dataclasses import dataclass, field
from decimal import Decimal

# Fields an import writes; everything an offer row carries except its line number.
OFFER_FIELDS = ("gpu_name", "gpu_count", "vram_per_gpu_gb", "vcpus", "memory_gb", "hourly_usd", "spot_hourly_usd")


@dataclass(frozen=True)
class OfferRow:
    line: int
    instance_type: str
    gpu_name: str
    gpu_count: int
    vram_per_gpu_gb: float
    vcpus: float
    memory_gb: float
    region: str
    zone: str
    hourly_usd: Decimal
    spot_hourly_usd: Decimal | None

    @property
    def key(self) -> tuple[str, str, str]:
        """The natural key within one provider."""
        return self.instance_type, self.region, self.zone

    @property
    def location(self) -> str:
        return f"{self.region}/{self.zone}" if self.zone else self.region

    def same_offer(self, other: "OfferRow") -> bool:
        return all(getattr(self, name) == getattr(other, name) for name in OFFER_FIELDS)


@dataclass
class ParseResult:
    rows: list[OfferRow] = field(default_factory=list)
    rows_read: int = 0
    skipped: dict[str, list[int]] = field(default_factory=dict)
    notes: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, reason: str, line: int) -> None:
        self.skipped.setdefault(reason, []).append(line)

    def note(self, remark: str, line: int) -> None:
        self.notes.setdefault(remark, []).append(line)
