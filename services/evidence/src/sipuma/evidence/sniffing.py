"""What a file is, from its first bytes (magic numbers), and whether the client's name and type
agree with it.

`puremagic` (a maintained, pure-Python signature database) recognises most formats. Three
families need a closer look than one signature gives, so they are read here:
- ISO base media files (`ftyp` box): the major brand tells MP4 video, M4A sound, MOV, 3GP, HEIC;
- ZIP-based documents: the entry names tell DOCX (`word/`), XLSX (`xl/`), ODT (`mimetype`);
  any other ZIP is refused;
- plain text has no signature: UTF-8 without NUL bytes, and never markup (HTML, SVG, XML).
"""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass

import puremagic

from sipuma.evidence.domain import (
    ACCEPTED,
    UNKNOWN_TYPES,
    EvidenceError,
    Family,
    FileType,
    extension_of,
)

SNIFF_BYTES = 64 * 1024  # read before anything is stored; enough for ZIP entry names

F = Family
_BY_EXTENSION: dict[str, Family] = {
    ".pdf": F.PDF,
    ".tif": F.TIFF,
    ".tiff": F.TIFF,
    ".jpg": F.JPEG,
    ".jpeg": F.JPEG,
    ".jpe": F.JPEG,
    ".jfif": F.JPEG,
    ".png": F.PNG,
    ".webp": F.WEBP,
    ".doc": F.OLE2,
    ".xls": F.OLE2,
    ".mp3": F.MP3,
    ".aac": F.AAC,
    ".ogg": F.OGG,
    ".oga": F.OGG,
    ".opus": F.OGG,
    ".wav": F.WAV,
    ".amr": F.AMR,
    ".webm": F.WEBM,
}
_BRANDS: dict[str, Family] = {
    **dict.fromkeys(["M4A ", "M4B ", "M4P ", "F4A "], F.MP4_AUDIO),
    "qt  ": F.MOV,
    **dict.fromkeys(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"], F.HEIC),
    **dict.fromkeys(
        ["isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash"], F.MP4
    ),
    **dict.fromkeys(["M4V ", "M4VH", "M4VP", "mmp4", "f4v ", "XAVC", "MSNV"], F.MP4),
}
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe")

# What a refused file is, in words a receiving officer understands (see `problems.unsupported`).
EXECUTABLE, ARCHIVE, MARKUP, OTHER, UNKNOWN = "executable", "archive", "markup", "other", "unknown"
_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows programs and libraries (PE)
    b"\x7fELF",  # Linux programs
    b"\xfe\xed\xfa\xce",  # macOS programs (Mach-O, both byte orders, 32 and 64 bit)
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binaries and Java classes
    b"dex\n",  # Android
    b"\x00asm",  # WebAssembly
)
_ARCHIVE_MAGIC = (
    b"PK\x03\x04",  # ZIP (one that is not a DOCX/XLSX/ODT) and APK/JAR
    b"PK\x05\x06",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # Windows cabinet
)
_MARKUP_TYPES = frozenset({"text/html", "image/svg+xml", "application/xml", "text/xml"})


@dataclass(frozen=True)
class Unsupported(EvidenceError):
    """415: content not accepted, or a declared name/type that contradicts it."""

    code: str  # unsupported_type | extension_mismatch | type_mismatch
    detected: str | None = None  # what the content looks like, when known (a label or type)
    category: str = UNKNOWN  # for unsupported_type: executable | archive | markup | other | ...


def refused_category(head: bytes, other: str | None) -> str:
    """What a file that is none of the accepted types is: a program, an archive, markup, some
    other known type, or unknown."""
    if head.startswith(_EXECUTABLE_MAGIC) or (other or "").endswith("executable"):
        return EXECUTABLE
    if head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        return ARCHIVE
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()[:1024].lower()
    if other in _MARKUP_TYPES or start.startswith(b"<") or any(t in start for t in _MARKUP):
        return MARKUP
    return OTHER if other else UNKNOWN


def _ftyp(head: bytes) -> Family | None:
    brand = head[8:12].decode("latin-1")
    if brand in _BRANDS:
        return _BRANDS[brand]
    if brand.startswith(("3gp", "3g2", "3ge", "3gg")):
        return F.THREE_GP
    return None


def _zip_names(head: bytes, limit: int = 200) -> list[tuple[str, bytes]]:
    """Names (and first bytes) of the ZIP local file entries inside `head`."""
    found: list[tuple[str, bytes]] = []
    at = 0
    while len(found) < limit and head[at : at + 4] == b"PK\x03\x04" and at + 30 <= len(head):
        size, name_len, extra_len = struct.unpack(
            "<I2H", head[at + 18 : at + 22] + head[at + 26 : at + 30]
        )
        start = at + 30 + name_len + extra_len
        name = head[at + 30 : at + 30 + name_len].decode("utf-8", "replace")
        found.append((name, head[start : start + 64]))
        flags = struct.unpack("<H", head[at + 6 : at + 8])[0]
        if flags & 0x08 and size == 0:
            break  # sizes after the data (streamed ZIP): later entries cannot be walked to
        at = start + size
    return found


def _zip_document(head: bytes) -> Family | None:
    entries = _zip_names(head)
    if entries and entries[0][0] == "mimetype":
        mime = entries[0][1].split(b"PK")[0]
        return F.ODT if mime == b"application/vnd.oasis.opendocument.text" else None
    names = [name for name, _ in entries]
    if "[Content_Types].xml" in names or any(n.startswith(("word/", "xl/")) for n in names):
        if any(n.startswith("word/") for n in names):
            return F.DOCX
        if any(n.startswith("xl/") for n in names):
            return F.XLSX
    return None


def _plain_text(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    # Markup is never "plain text" (a browser could render it): anything that opens with a tag,
    # a comment or a processing instruction is refused, whatever follows.
    start = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    return not start.startswith(b"<") and not any(tag in start[:1024] for tag in _MARKUP)


def detect(head: bytes, complete: bool) -> tuple[list[Family], str | None]:
    """Families the content belongs to (best first) and, when it is none of ours, what it is."""
    if head[4:8] == b"ftyp":
        family = _ftyp(head)
        return ([family], None) if family else ([], "video/unknown-iso-media")
    if head.startswith(b"PK\x03\x04"):
        family = _zip_document(head)
        return ([family], None) if family else ([], "application/zip")
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    if matches:
        top = max(m.confidence for m in matches)
        best = [m for m in matches if m.confidence >= top - 0.05]
        families = list(
            dict.fromkeys(
                _BY_EXTENSION[m.extension.lower()]
                for m in best
                if m.extension.lower() in _BY_EXTENSION
            )
        )
        if families:
            return families, None
        named = next((m.mime_type for m in best if m.mime_type), None)
        return [], named or (best[0].extension.lstrip(".") or None)
    if _plain_text(head, complete):
        return [F.TEXT], None
    return [], None


def identify(
    head: bytes, declared_type: str | None, filename: str | None, *, complete: bool = False
) -> FileType:
    """The accepted file type of this content, or `Unsupported` (415)."""
    families, other = detect(head, complete)
    rank = {family: i for i, family in enumerate(families)}
    candidates = sorted(
        (t for t in ACCEPTED if t.families & rank.keys()),
        key=lambda t: min(rank[f] for f in t.families if f in rank),
    )
    if not candidates:
        category = refused_category(head, other)
        raise Unsupported("unsupported_type", other if category == OTHER else None, category)
    ext = extension_of(filename)
    if ext is not None:
        named = [t for t in candidates if ext in t.extensions]
        if not named:
            raise Unsupported("extension_mismatch", candidates[0].label)
        candidates = named
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in UNKNOWN_TYPES:
        typed = [t for t in candidates if t.answers_to(declared)]
        if not typed:
            raise Unsupported("type_mismatch", candidates[0].label)
        candidates = typed
    return candidates[0]
