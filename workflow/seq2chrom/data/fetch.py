"""Peak files given as http(s) URLs: check a finished download before it enters the cache.

Snakemake's HTTP storage plugin (snakemake-storage-plugin-http) downloads a URL track; the
`fetch_track` step then passes the bytes to `check_download`, which accepts them only when they
match the track sheet's optional `md5`, form a complete gzip stream (a cut download does not),
and parse as a peak file (an HTML error page does not). Every error names the URL, not the
plugin's temporary local copy. The step copies accepted bytes unchanged to
`resources/tracks/{track}.peaks` and records `url`, `md5` and `bytes` beside them.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from urllib.parse import urlparse

from seq2chrom.data.peaks import decode_text, parse_peaks
from seq2chrom.errors import InputError

URL_SCHEMES = ("http", "https")


def is_http_url(path: str) -> bool:
    """True for an http:// or https:// URL with a host."""
    parsed = urlparse(path)
    return parsed.scheme in URL_SCHEMES and bool(parsed.netloc)


def check_download(url: str, data: bytes, md5: str = "") -> dict[str, str | int]:
    """Check that `data`, downloaded from `url`, is the expected peak file.

    url: the track's URL, named in errors. data: the downloaded bytes, plain or gzip.
    md5: the track sheet's checksum (32 lowercase hex digits) or "" when the sheet has none.
    Returns the record {"url": url, "md5": MD5 of data, "bytes": len(data)}.
    Raises InputError naming the URL when the MD5 differs, a gzip stream is cut or corrupt,
    the bytes are not UTF-8 text, or a line is not a BED line.
    """
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if md5 and digest != md5.lower():
        raise InputError(
            url,
            f"downloaded file has MD5 {digest}, the track sheet's md5 column says {md5}",
            fix="check the URL and the md5 column (the server's file may have changed)",
        )
    try:
        parse_peaks(url, _decode(url, data))
    except InputError as error:  # parse_peaks names a Path, which turns "//" into "/"
        raise InputError(url, error.message, line=error.line, fix=error.fix) from None
    return {"url": url, "md5": digest, "bytes": len(data)}


def _decode(url: str, data: bytes) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(
                url,
                f"truncated or corrupt gzip download ({error})",
                fix="rerun to fetch it again; if that fails too, check the URL",
            ) from error
    if data.lstrip()[:1] == b"<":
        raise InputError(
            url, "the server sent an HTML or XML page, not a peak file", fix="check the URL"
        )
    return decode_text(url, data, fix="give a BED file's URL")
