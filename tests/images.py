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
    return png_bomb_rect(side, side)


def png_bomb_rect(width: int, height: int) -> bytes:
    """A black-and-white PNG of ``width`` × ``height`` pixels, a few KB on disk."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
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


HOME = b"HOME 12 Rue X"  # where a metadata field says the student lives: in no stored byte, on no page


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def linear_rgb_profile(description: bytes = HOME) -> bytes:
    """An ICC v2 display profile: sRGB's primaries with gamma 1.0 (mid-grey 128 is sRGB ~188).

    Built by hand (no ICC file ships with the test machine) so a conversion to sRGB visibly changes
    the pixels, and named ``description`` so its bytes can be looked for in the output.
    """
    xyz = {  # sRGB's primaries and D50 white, as ICC profiles state them
        b"wtpt": (0.9642, 1.0, 0.8249),
        b"rXYZ": (0.4361, 0.2225, 0.0139),
        b"gXYZ": (0.3851, 0.7169, 0.0971),
        b"bXYZ": (0.1431, 0.0606, 0.7141),
    }
    tags = {sig: b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in values) for sig, values in xyz.items()}
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"  # gamma 1.0, padded to 4 bytes
    tags |= {b"rTRC": curve, b"gTRC": curve, b"bTRC": curve}
    text = description + b"\0"
    tags[b"desc"] = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    tags[b"cprt"] = b"text\0\0\0\0" + description + b"\0"
    tags = {sig: data + b"\0" * (-len(data) % 4) for sig, data in tags.items()}
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags.items():
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)  # perceptual
        + b"".join(_s15(v) for v in xyz[b"wtpt"])
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


GREY = (128, 128, 128)  # in the linear profile: about (188, 188, 188) in sRGB


def jpeg_with_comment(size=(40, 30)) -> bytes:
    """A JPEG whose comment field (COM segment) gives an address."""
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG", comment=HOME)
    return out.getvalue()


def png_with_profile_and_text(size=(40, 30)) -> bytes:
    """A mid-grey PNG in the linear profile, with tEXt, iTXt and zTXt chunks saying where its author lives."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", HOME.decode())  # tEXt
    info.add_itxt("Location", HOME.decode() + " (iTXt)", lang="en", tkey="Ort")  # iTXt
    info.add_text("Address", HOME.decode() + " (zTXt)", zip=True)  # zTXt
    out = io.BytesIO()
    Image.new("RGB", size, GREY).save(out, "PNG", pnginfo=info, icc_profile=linear_rgb_profile())
    return out.getvalue()


def webp_with_metadata(size=(24, 24)) -> bytes:
    """A mid-grey WebP in the linear profile, with EXIF (GPS and a description) and XMP naming a home."""
    exif = Image.Exif()
    exif[0x010E] = DESCRIPTION
    exif.get_ifd(GPS_IFD).update(GPS)
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description>" + HOME + b"</rdf:Description></x:xmpmeta>"
    out = io.BytesIO()
    Image.new("RGB", size, GREY).save(
        out, "WEBP", lossless=True, exif=exif.tobytes(), xmp=xmp, icc_profile=linear_rgb_profile()
    )
    return out.getvalue()


def metadata_in(data: bytes) -> list[str]:
    """What an image's bytes still carry besides pixels: the marker, EXIF, XMP, ICC, PNG text, a JPEG comment."""
    found = [
        what
        for what, marker in (
            ("the address", HOME),
            ("the EXIF description", DESCRIPTION.encode()),
            ("EXIF", b"Exif"),
            ("XMP", b"xmpmeta"),
            ("an ICC profile", b"acsp"),
            ("a PNG text chunk", b"tEXt"),
            ("a PNG text chunk", b"iTXt"),
            ("a PNG text chunk", b"zTXt"),
            ("a PNG profile chunk", b"iCCP"),
        )
        if marker in data
    ]
    with Image.open(io.BytesIO(data)) as image:
        found += [f"info[{key!r}]" for key in ("comment", "icc_profile", "exif", "xmp") if image.info.get(key)]
        found += [f"text {key!r}" for key in getattr(image, "text", {})]
    return found


def psd(size=(8, 6)) -> bytes:
    """A minimal Photoshop file (3 channels, raw), which Pillow could decode were it allowed to."""
    width, height = size
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)  # version 1, RGB, 8 bits
    sections = struct.pack(">III", 0, 0, 0)  # no colour-mode data, resources, layers
    return header + sections + struct.pack(">H", 0) + b"\x80" * (3 * width * height)


def other_format(kind: str, size=(8, 6)) -> bytes:
    """An image in a format Pillow knows but posts refuse: BMP, TIFF, EPS (written by Pillow) or PSD."""
    if kind == "PSD":
        return psd(size)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, kind)
    return out.getvalue()
