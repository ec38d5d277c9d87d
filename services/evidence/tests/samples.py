"""Small valid sample files, made in code (no binary fixtures in the repo)."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib
from collections.abc import Iterator


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xdb\x00\x43\x00" + bytes(64) + b"\xff\xd9"


def pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def tiff() -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + bytes(32)


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return out.getvalue()


def ftyp(brand: bytes, compatible: bytes = b"isommp41", payload: int = 8) -> bytes:
    box = b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible
    return (
        struct.pack(">I", len(box) + 4)
        + box
        + struct.pack(">I", 8 + payload)
        + b"mdat"
        + bytes(payload)
    )


def mp4() -> bytes:
    return ftyp(b"isom")


def mov() -> bytes:
    return ftyp(b"qt  ", b"qt  ")


def m4a() -> bytes:
    return ftyp(b"M4A ", b"M4A mp42isom")


def three_gp() -> bytes:
    return ftyp(b"3gp4", b"3gp4isom")


def heic() -> bytes:
    return ftyp(b"heic", b"mif1heic")


def webp() -> bytes:
    return b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + bytes(22)


def ogg() -> bytes:
    return b"OggS\x00\x02" + bytes(22) + b"\x01\x1e\x01vorbis" + bytes(30)


def amr() -> bytes:
    return b"#!AMR\n" + bytes(32)


def mp3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)


def webm() -> bytes:
    ebml = "1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102"
    return bytes.fromhex(ebml) + bytes(32)


def aac() -> bytes:
    return b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(64)


def doc() -> bytes:
    return bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)


def _zip(entries: list[tuple[str, str]], stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(entries):
            if i == 0 and stored_first:
                z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_STORED)
            else:
                z.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return _zip(
        [
            ("[Content_Types].xml", "<Types/>"),
            ("_rels/.rels", "<r/>"),
            ("word/document.xml", "<w/>"),
        ]
    )


def xlsx() -> bytes:
    return _zip(
        [("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<r/>"), ("xl/workbook.xml", "<b/>")]
    )


def odt() -> bytes:
    return _zip(
        [("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<c/>")],
        stored_first=True,
    )


def txt() -> bytes:
    return b"Laporan: petugas meminta uang tambahan di Terminal 3. Catatan Ni Luh Putu.\n"


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def plain_zip() -> bytes:
    return _zip([("readme.txt", "x"), ("payload.exe", "MZ")])


# name → (bytes, kind, content type the client declares, file name)
ACCEPTED: dict[str, tuple[bytes, str, str, str]] = {
    "pdf-scan": (pdf(), "scan", "application/pdf", "surat-pengaduan.pdf"),
    "pdf-soft-copy": (pdf(), "soft_copy", "application/pdf", "kronologi.pdf"),
    "tiff": (tiff(), "scan", "image/tiff", "pindaian.tif"),
    "jpeg-scan": (jpeg(), "scan", "image/jpeg", "ktp.jpg"),
    "png": (png(), "photo", "image/png", "foto.png"),
    "jpeg-photo": (jpeg(), "photo", "image/jpeg", "IMG_0001.JPG"),
    "heic": (heic(), "photo", "image/heic", "IMG_0002.HEIC"),
    "webp": (webp(), "photo", "image/webp", "foto.webp"),
    "doc": (doc(), "soft_copy", "application/msword", "laporan.doc"),
    "xls": (doc(), "soft_copy", "application/vnd.ms-excel", "rincian.xls"),
    "docx": (
        docx(),
        "soft_copy",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "laporan.docx",
    ),
    "xlsx": (
        xlsx(),
        "soft_copy",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "rincian.xlsx",
    ),
    "odt": (odt(), "soft_copy", "application/vnd.oasis.opendocument.text", "laporan.odt"),
    "txt": (txt(), "soft_copy", "text/plain; charset=utf-8", "catatan.txt"),
    "mp3": (mp3(), "sound", "audio/mpeg", "rekaman.mp3"),
    "m4a": (m4a(), "sound", "audio/mp4", "rekaman.m4a"),
    "aac": (aac(), "sound", "audio/aac", "rekaman.aac"),
    "ogg": (ogg(), "sound", "audio/ogg", "rekaman.ogg"),
    "wav": (wav(), "sound", "audio/wav", "rekaman.wav"),
    "amr": (amr(), "sound", "audio/amr", "rekaman.amr"),
    "mp4": (mp4(), "video", "video/mp4", "video.mp4"),
    "3gp": (three_gp(), "video", "video/3gpp", "video.3gp"),
    "mov": (mov(), "video", "video/quicktime", "video.mov"),
    "webm": (webm(), "video", "video/webm", "video.webm"),
}


def video_stream(total: int, block: int = 1024 * 1024) -> Iterator[bytes]:
    """An MP4 header followed by `total` bytes in all, produced block by block (never in memory)."""
    head = ftyp(b"isom")
    yield head
    sent = len(head)
    filler = bytes(block)
    while sent < total:
        n = min(block, total - sent)
        yield filler[:n]
        sent += n
