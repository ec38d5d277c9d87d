"""Evidence rules, no I/O: the file types each kind accepts, limits, safe file names, what a
stored file's record holds, and the refusals the use cases raise (`problems.py` words them).

Data pendukung (SOP step 5) comes as scans, soft copies, photos, sound and video. What a file *is*
is decided from its content (see `sniffing.py`); the client's name and type may only agree with
it, never decide it.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath

from sipuma.shared.payloads import EvidenceKind


class Family(StrEnum):
    """How the content was recognised; several file types may share one signature."""

    PDF = "pdf"
    TIFF = "tiff"
    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"
    WEBP = "webp"
    OLE2 = "ole2"  # legacy Office (DOC, XLS)
    DOCX = "docx"
    XLSX = "xlsx"
    ODT = "odt"
    TEXT = "text"
    MP3 = "mp3"
    MP4_AUDIO = "m4a"
    AAC = "aac"
    OGG = "ogg"
    WAV = "wav"
    AMR = "amr"
    MP4 = "mp4"
    THREE_GP = "3gp"
    MOV = "mov"
    WEBM = "webm"


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    extensions: tuple[str, ...]
    kinds: frozenset[EvidenceKind]
    families: frozenset[Family]
    aliases: frozenset[str] = field(default_factory=frozenset)  # other names clients send

    def answers_to(self, declared_type: str) -> bool:
        return declared_type == self.content_type or declared_type in self.aliases


K = EvidenceKind
_SCAN, _SOFT, _PHOTO, _SOUND, _VIDEO = K.SCAN, K.SOFT_COPY, K.PHOTO, K.SOUND, K.VIDEO


def _t(
    label: str,
    ctype: str,
    exts: str,
    kinds: set[EvidenceKind],
    families: set[Family],
    aliases: str = "",
) -> FileType:
    return FileType(
        label,
        ctype,
        tuple(exts.split()),
        frozenset({*kinds, K.OTHER}),
        frozenset(families),
        frozenset(aliases.split()),
    )


F = Family
ACCEPTED: tuple[FileType, ...] = (
    _t("PDF", "application/pdf", ".pdf", {_SCAN, _SOFT}, {F.PDF}, "application/x-pdf"),
    _t("TIFF", "image/tiff", ".tif .tiff", {_SCAN}, {F.TIFF}),
    _t(
        "JPEG",
        "image/jpeg",
        ".jpg .jpeg .jpe .jfif",
        {_SCAN, _PHOTO},
        {F.JPEG},
        "image/jpg image/pjpeg",
    ),
    _t("PNG", "image/png", ".png", {_SCAN, _PHOTO}, {F.PNG}),
    _t("HEIC", "image/heic", ".heic .heif", {_PHOTO}, {F.HEIC}, "image/heif image/heic-sequence"),
    _t("WebP", "image/webp", ".webp", {_PHOTO}, {F.WEBP}),
    _t("DOC", "application/msword", ".doc", {_SOFT}, {F.OLE2}),
    _t("XLS", "application/vnd.ms-excel", ".xls", {_SOFT}, {F.OLE2}),
    _t(
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
        {_SOFT},
        {F.DOCX},
    ),
    _t(
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsx",
        {_SOFT},
        {F.XLSX},
    ),
    _t("ODT", "application/vnd.oasis.opendocument.text", ".odt", {_SOFT}, {F.ODT}),
    _t("TXT", "text/plain", ".txt .text", {_SOFT}, {F.TEXT}),
    _t("MP3", "audio/mpeg", ".mp3", {_SOUND}, {F.MP3}, "audio/mp3 audio/mpeg3"),
    _t("M4A", "audio/mp4", ".m4a", {_SOUND}, {F.MP4_AUDIO}, "audio/x-m4a audio/m4a"),
    _t("AAC", "audio/aac", ".aac", {_SOUND}, {F.AAC}, "audio/x-aac audio/aacp"),
    _t("OGG", "audio/ogg", ".ogg .oga .opus", {_SOUND}, {F.OGG}, "application/ogg audio/opus"),
    _t("WAV", "audio/wav", ".wav", {_SOUND}, {F.WAV}, "audio/x-wav audio/wave audio/vnd.wave"),
    _t("AMR", "audio/amr", ".amr", {_SOUND}, {F.AMR}),
    _t("MP4", "video/mp4", ".mp4 .m4v", {_VIDEO}, {F.MP4}, "video/x-m4v application/mp4"),
    _t("3GP", "video/3gpp", ".3gp .3g2", {_VIDEO}, {F.THREE_GP}, "video/3gpp2 audio/3gpp"),
    _t("MOV", "video/quicktime", ".mov .qt", {_VIDEO}, {F.MOV}),
    _t("WebM", "video/webm", ".webm", {_VIDEO}, {F.WEBM}, "audio/webm"),
)

# The kind an upload gets when the client names none.
DEFAULT_KIND: dict[str, EvidenceKind] = {
    "PDF": K.SOFT_COPY,
    "TIFF": K.SCAN,
    "JPEG": K.PHOTO,
    "PNG": K.PHOTO,
    "HEIC": K.PHOTO,
    "WebP": K.PHOTO,
}

# Declared types that say "I don't know" and so contradict nothing.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def default_kind(ftype: FileType) -> EvidenceKind:
    if ftype.label in DEFAULT_KIND:
        return DEFAULT_KIND[ftype.label]
    return next(k for k in (_SOFT, _SOUND, _VIDEO, _SCAN, _PHOTO) if k in ftype.kinds)


@dataclass(frozen=True)
class Limits:
    """Per-kind size limits and per-complaint count and total (bytes)."""

    per_kind: dict[EvidenceKind, int]
    max_files: int
    max_total_bytes: int

    def for_kind(self, kind: EvidenceKind) -> int:
        return self.per_kind[kind]

    @property
    def largest(self) -> int:
        return max(self.per_kind.values())


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME = 180


def sanitise_filename(raw: str | None) -> str | None:
    """The last path segment, normalised, without control or shell/path characters.

    Kept only as metadata (never part of an object key): `../../etc/passwd` becomes `passwd`."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw)
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if not text or set(text) <= {"_", " "}:
        return None
    if len(text) > MAX_NAME:
        _, dot, ext = text.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        text = text[: MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return text


def extension_of(name: str | None) -> str | None:
    if not name:
        return None
    suffix = PurePosixPath(name).suffix.lower()
    return suffix or None


# SIPUMA evidence namespace for ids derived from an Idempotency-Key; never change it.
_KEYED = uuid.UUID("0b6c1f9e-3d52-4c8a-a1e7-5f2d9c4b7e10")


def evidence_id_for(officer_id: str, complaint_id: str, idempotency_key: str) -> uuid.UUID:
    """Same officer + complaint + key → same evidence id on every replica: a retry whose first
    answer was never kept (a replica died after the commit) meets the first record, not a new
    one."""
    return uuid.uuid5(_KEYED, f"{officer_id}\x1f{complaint_id}\x1f{idempotency_key}")


def object_key(complaint_id: str, evidence_id: str) -> str:
    """Generated by the server only; never contains anything the client sent."""
    return f"complaints/{complaint_id}/{evidence_id}"


@dataclass(frozen=True)
class KnownComplaint:
    """A complaint this service heard of (from its events), with its evidence count and total."""

    complaint_id: str
    office_code: str
    evidence_count: int = 0
    evidence_bytes: int = 0


@dataclass(frozen=True)
class EvidenceRecord:
    """One stored file: an insert-only fact, except its `sealed` follow-up flag."""

    evidence_id: str
    complaint_id: str
    office_code: str
    kind: EvidenceKind
    content_type: str
    file_type: str  # the `FileType.label`
    size_bytes: int
    sha256: str
    object_key: str
    version_id: str | None
    file_name: str | None
    uploaded_by: str
    uploaded_at: datetime
    retained_until: datetime | None
    event_id: str
    sealed: bool = False


# -- refusals: raised by the use cases, put into words (and an HTTP status) at the edge --------
class EvidenceError(Exception):
    """A use case refused, or could not do, what was asked; nothing was kept."""


class ForbiddenRole(EvidenceError):
    """Only receivers, compliance staff and supervisors handle evidence."""


class SupervisorsOnly(EvidenceError):
    """Only supervisors read the download audit."""


class ForbiddenOffice(EvidenceError):
    """The complaint belongs to another office."""


class UnknownComplaint(EvidenceError):
    """No complaint event with this id has arrived (yet)."""


class UnknownEvidence(EvidenceError):
    """No such evidence for this complaint."""


class EmptyFile(EvidenceError):
    """An empty body is no evidence."""


@dataclass(frozen=True)
class FileTooLarge(EvidenceError):
    limit: int
    kind: str  # the kind's name, or "apa pun / any" before the kind is known


@dataclass(frozen=True)
class ComplaintFull(EvidenceError):
    """One more file would pass the complaint's count or byte total."""

    max_files: int
    max_total_bytes: int


@dataclass(frozen=True)
class KindMismatch(EvidenceError):
    kind: str
    label: str  # what the file is (`FileType.label`)


class StorageUnavailable(EvidenceError):
    """MinIO cannot be reached or refused to work: nothing was recorded."""


class DatabaseUnavailable(EvidenceError):
    """The store cannot be reached: nothing was recorded (or the outcome is unknown)."""


class KeyReused(EvidenceError):
    """The Idempotency-Key already stands for another file: nothing new was kept."""


class AlreadyRecorded(Exception):
    """Not a refusal: the repository already holds a record with this id (a retried upload)."""
