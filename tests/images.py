"""Images for tests: ordinary ones, hostile ones, and a reflection cell holding them as JupyterLab saves them."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image, PngImagePlugin

GPS_IFD = 0x8825
GPS = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # Paris, as a phone would write it
DESCRIPTION = "taken at home, 12 Rue Secrète"


PNG_COMMENT = b"made on Ann's laptop, home folder /Users/ann"


def png(size=(40, 30), color=(200, 40, 40)) -> bytes:
    """A PNG with a text chunk, the kind of metadata re-encoding must drop."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PNG_COMMENT.decode())
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps(size=(64, 48)) -> bytes:
    """A JPEG carrying GPS coordinates and a description in its EXIF, like a phone photo."""
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = DESCRIPTION  # ImageDescription
    exif[0x0112] = 1  # orientation
    exif.get_ifd(GPS_IFD).update(GPS)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("P", (20, 20), i) for i in (1, 2)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (0, 200, 0)).save(out, "WEBP")
    return out.getvalue()


SVG = (
    b"<svg xmlns='http://www.w3.org/2000/svg' onload=\"window.__pwned='svg'\">"
    b"<script>window.__pwned='svg-script'</script></svg>"
)
HTML_AS_PNG = b"\x89PNG\r\n\x1a\n<html><body><script>window.__pwned='png-html'</script></body></html>"
PDF_AS_PNG = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 20_000) -> bytes:
    """A real ``side`` × ``side`` black-and-white PNG: a few tens of KB that decode to ``side``² pixels."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(out, "JPEG")
    data = out.getvalue()
    return data[: len(data) // 2]


def reflection_cell(notebook: dict, prompt_id: str) -> dict:
    """The reflection cell of ``prompt_id`` in a notebook."""
    return next(
        c
        for c in notebook["cells"]
        if (c.get("metadata", {}).get("coursekit") or {}).get("prompt_id") == prompt_id
        and c["metadata"]["coursekit"]["role"] == "reflection"
    )


def attach(cell: dict, text: str, files: dict[str, bytes]) -> dict:
    """A markdown cell as JupyterLab saves a pasted image: ``attachments`` and ``![name](attachment:name)``."""
    cell["source"] = text + "".join(f"\n\n![{name}](attachment:{name})" for name in files)
    cell["attachments"] = {name: {"image/png": base64.b64encode(data).decode()} for name, data in files.items()}
    return cell


def has_gps(data: bytes) -> bool:
    """Whether an image's bytes still carry EXIF GPS data (or the photo's description)."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return bool(exif.get_ifd(GPS_IFD)) or 0x010E in exif or DESCRIPTION.encode() in data or b"Exif" in data


def data_uris(text: str) -> list[bytes]:
    """The bytes of every base64 data: URI in a page or file."""
    import re

    return [base64.b64decode(m) for m in re.findall(r"data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)", text)]
