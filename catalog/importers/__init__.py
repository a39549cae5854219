"""Catalog file parsers, one per format; each turns text lines into validated OfferRows (no database)."""
import hashlib
import io

from comfyvn_site.exceptions import InvalidCatalog


def catalog_text(data: bytes) -> io.StringIO:
    """Decode an uploaded or read catalog file; a byte that is not UTF-8 is reported with its line number."""
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidCatalog(f"Line {line}: the file is not UTF-8 text.", extra={"line": line}) from exc


def catalog_file_version(data: bytes) -> str:
    """The default source_version: a content hash, so the same file always carries the same version."""
    return f"sha256:{hashlib.sha256(data).hexdigest()[:12]}"
