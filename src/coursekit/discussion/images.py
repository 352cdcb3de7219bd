"""Images in posts: only PNG, JPEG, GIF and WebP, recognised by content, decoded and re-encoded by Pillow.

A student's image is untrusted bytes. We never pass them on: each is opened with Pillow restricted to
the four formats (so SVG, HTML or a PDF renamed ``.png`` is refused whatever its name says), its size
is checked from the header before any pixel is decoded (a decompression bomb is refused cheaply), it
is decoded in full (a truncated or corrupt file is refused), and a new file is written from the
pixels alone, converted to sRGB when the file carried a colour profile. Re-encoding drops every piece
of metadata: EXIF with a phone's GPS position, XMP, a JPEG's comment, PNG text chunks, ICC profiles.
JPEG stays JPEG; the others become PNG (an animated GIF keeps its first frame). Pages then show the
re-encoded bytes only, as ``data:`` URIs built by ``data_uri``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass
from urllib.parse import unquote

from PIL import Image, ImageCms, ImageOps

from coursekit.course.problems import CoursekitError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")  # what upload pickers offer
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # one image as submitted
MAX_PIXELS = 25_000_000  # width × height of one image, read from its header before decoding
MAX_SIDE = 1600  # longer side of the stored image; larger ones are scaled down to fit
MAX_IMAGES = 10  # images kept per submitted notebook
MAX_TOTAL_BYTES = 15 * 1024 * 1024  # all images of one notebook as submitted
MAX_NAME = 200  # characters of an attachment name (the log's column)
OUTPUT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}

_ATTACHMENT = re.compile(r"attachment:([^\s)\"'>]+)")


@dataclass(frozen=True)
class PostImage:
    """A re-encoded image ready to store and show: only bytes we wrote ourselves."""

    name: str  # the attachment name the post's Markdown refers to
    mime: str  # image/png or image/jpeg
    width: int
    height: int
    data: bytes

    @property
    def uri(self) -> str:
        return data_uri(self.mime, self.data)


class ImageRefused(CoursekitError, ValueError):
    """An image we will not keep, with the reason in words a student understands."""


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def clean_image(name: str, data: bytes) -> PostImage:
    """Decode ``data`` as one of the four formats and re-encode it; ImageRefused says why not."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"{_megabytes(len(data))} is more than the {_megabytes(MAX_IMAGE_BYTES)} allowed per image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageRefused(f"{width} × {height} pixels is more than the {MAX_PIXELS:,} allowed")
                kind = image.format or ""
                image.seek(0)  # an animated GIF or WebP: its first frame
                image.load()
                picture = ImageOps.exif_transpose(image)  # a phone photo shown the right way up, EXIF then dropped
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"far more pixels than the {MAX_PIXELS:,} allowed (a decompression bomb?)") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageRefused("not a PNG, JPEG, GIF or WebP image (whatever its name says)") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for damaged files
        raise ImageRefused(f"damaged or truncated image ({exc.__class__.__name__}: {exc})") from exc
    return _reencode(name, picture, "JPEG" if kind == "JPEG" else "PNG")


def _reencode(name: str, picture: Image.Image, kind: str) -> PostImage:
    if max(picture.size) > MAX_SIDE:
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
    picture = _pixels_only(picture, kind)
    out = io.BytesIO()
    # A new image without ``info``: no comment, ICC profile, EXIF or text for Pillow to copy into the file.
    picture.save(out, format=kind, **({"quality": 85} if kind == "JPEG" else {"compress_level": 6}))
    return PostImage(name, OUTPUT_TYPES[kind], picture.width, picture.height, out.getvalue())


def _has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info


def _pixels_only(picture: Image.Image, kind: str) -> Image.Image:
    """``picture``'s pixels, in sRGB, in a new image that carries nothing else.

    Pillow's savers copy a JPEG's comment and an ICC profile from the image they are given, so the
    pixels are moved into a fresh image; a profile is applied first, so the colours stay as shown.
    """
    alpha = kind == "PNG" and _has_alpha(picture)
    target = "RGBA" if alpha else "RGB"
    if icc := picture.info.get("icc_profile"):
        picture = _to_srgb(picture, icc, target)
    if (
        picture.mode not in ("1", "L", "LA", "RGB", "RGBA")  # palettes and the rarer modes: plain colour
        or (alpha and picture.mode not in ("LA", "RGBA"))  # transparency kept as an alpha channel
        or (kind == "JPEG" and picture.mode not in ("L", "RGB"))
    ):
        picture = picture.convert(target)
    return Image.frombytes(picture.mode, picture.size, picture.tobytes())


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(picture: Image.Image, icc: bytes, mode: str) -> Image.Image:
    """The picture converted from its embedded colour profile to sRGB, the colours every browser assumes.

    A profile littleCMS cannot use (damaged, or for another colour space) is ignored: the pixels are
    kept as they are, colours perhaps a little off, rather than refusing the student's image.
    """
    if picture.mode != mode and not (picture.mode in ("L", "CMYK") and mode == "RGB"):
        picture = picture.convert(mode)
    try:
        converted = ImageCms.profileToProfile(
            picture, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return picture
    return converted if converted is not None else picture


def data_uri(mime: str, data: bytes) -> str:
    """A ``data:`` URI for one of our re-encoded images (other types are refused)."""
    if mime not in OUTPUT_TYPES.values():
        raise ValueError(f"{mime} is not a type coursekit writes")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def referenced(markdown_text: str) -> list[str]:
    """The attachment names a post's Markdown shows (``![x](attachment:name)``), in order, once each."""
    return list(dict.fromkeys(unquote(m) for m in _ATTACHMENT.findall(markdown_text or "")))


@dataclass(frozen=True)
class Kept:
    """The images kept from one notebook, per post key, and what was refused and why."""

    images: dict[str, list[PostImage]]
    refused: list[str]


def keep_images(posts: dict[str, tuple[str, dict[str, str]]]) -> Kept:
    """Clean every image a notebook's posts show, within the per-notebook limits.

    ``posts`` maps a post key (a prompt id, a reply key) to its Markdown and its attachments as
    saved in the notebook (name → base64). Attachments the text does not show are ignored.
    """
    images: dict[str, list[PostImage]] = {}
    refused: list[str] = []
    count = total = 0
    for key, (markdown_text, attachments) in posts.items():
        for name in referenced(markdown_text):
            if name not in attachments:
                continue  # a link to an attachment that is not there: the text shows its name
            where = f"image {name[:60]!r} in {key}"
            if len(name) > MAX_NAME:
                refused.append(f"{where} not kept: its name is longer than {MAX_NAME} characters")
                continue
            try:
                data = base64.b64decode(attachments[name], validate=True)
            except (binascii.Error, ValueError, TypeError):
                refused.append(f"{where} not kept: its saved data is damaged")
                continue
            total += len(data)
            if count >= MAX_IMAGES or total > MAX_TOTAL_BYTES:
                refused.append(
                    f"{where} not kept: more than {MAX_IMAGES} images or {_megabytes(MAX_TOTAL_BYTES)} in one notebook"
                )
                continue
            try:
                images.setdefault(key, []).append(clean_image(name, data))
                count += 1
            except ImageRefused as exc:
                refused.append(f"{where} not kept: {exc}")
    return Kept(images, refused)
