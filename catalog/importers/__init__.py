"""Catalog file parsers, one per format; each turns text lines into validated OfferRows (no database)."""
import io

from comfyvn_site.exceptions import InvalidCatalog


def catalog_text(data: bytes) -> io.StringIO:
    """Decode an uploaded or read catalog file; a byte that is not UTF-8 is reported with its line number."""
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidCatalog(f"Line {line}: the file is not UTF-8 text.", extra={"line": line}) from exc
