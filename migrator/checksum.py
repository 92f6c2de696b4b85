"""SHA-256 of raw file bytes, and the line-ending/BOM variants that are not drift.

The stored value is the plain hex digest so ``sha256sum file`` matches it.
Variants are only computed when the plain digest differs, which is rare.
"""

from __future__ import annotations

import hashlib

_BOM = b"\xef\xbb\xbf"


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cosmetic_match(data: bytes, recorded: str) -> str | None:
    """If ``data`` equals the recorded file but for CRLF/LF or a BOM, say which.

    Each variant is hashed chunk by chunk, never built whole: a modified 200 MB
    data file made ``status`` hold seven copies of it (1.2 GB).
    """
    has_bom = data.startswith(_BOM)
    body = memoryview(data)[len(_BOM) :] if has_bom else memoryview(data)
    seen = {checksum(data)}
    for bom in (b"", _BOM):
        for eol in (_KEEP, _LF, _CRLF):
            digest = _variant_digest(bom, body, eol)
            if digest in seen:
                continue  # the same bytes as a variant already tried (or the file)
            seen.add(digest)
            if digest == recorded:
                notes = []
                if eol != _KEEP:
                    notes.append("line endings (CRLF/LF)")
                if (bom == _BOM) != has_bom:
                    notes.append("a UTF-8 BOM")
                return " and ".join(notes)
    return None


_KEEP, _LF, _CRLF = "keep", "lf", "crlf"
_CHUNK = 1 << 20


def _variant_digest(bom: bytes, body: memoryview, eol: str) -> str:
    """SHA-256 of ``bom + body`` with CRLF made LF (``lf``) or every LF made CRLF (``crlf``)."""
    h = hashlib.sha256(bom)
    if eol == _KEEP:
        h.update(body)
        return h.hexdigest()
    carry = b""  # a CR at a chunk's end may start a CRLF split across chunks
    for at in range(0, len(body), _CHUNK):
        chunk = carry + body[at : at + _CHUNK].tobytes()
        carry = b"\r" if chunk.endswith(b"\r") else b""
        chunk = chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n")
        h.update(chunk.replace(b"\n", b"\r\n") if eol == _CRLF else chunk)
    h.update(carry)
    return h.hexdigest()
