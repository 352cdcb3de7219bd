"""Images in posts: the four formats kept and re-encoded, everything hostile refused, no metadata passed on."""

from __future__ import annotations

import base64
import io

import pytest
from click.testing import CliRunner
from conftest import filled_notebook, write_notebook
from images import (
    GREY,
    HOME,
    HTML_AS_PNG,
    PDF_AS_PNG,
    PNG_COMMENT,
    SVG,
    attach,
    data_uris,
    gif,
    has_gps,
    jpeg_with_comment,
    jpeg_with_gps,
    linear_rgb_profile,
    metadata_in,
    other_format,
    png,
    png_bomb,
    png_bomb_rect,
    png_with_profile_and_text,
    reflection_cell,
    truncated_jpeg,
    webp,
    webp_with_metadata,
)
from PIL import Image

from coursekit.cli import main
from coursekit.discussion import images as pictures
from coursekit.discussion.images import ImageRefused, clean_image, keep_images
from coursekit.discussion.render import safe_html
from coursekit.intake.sources import gather
from coursekit.log.collect import collect
from coursekit.log.frames import open_log


@pytest.mark.parametrize(
    ("data", "mime"),
    [(png(), "image/png"), (gif(), "image/png"), (webp(), "image/png"), (jpeg_with_gps(), "image/jpeg")],
)
def test_the_four_formats_are_kept_as_new_files(data, mime):
    image = clean_image("x", data)
    assert image.mime == mime
    assert image.data != data and PNG_COMMENT not in image.data  # re-encoded from pixels, never the student's bytes
    with Image.open(io.BytesIO(image.data)) as reopened:
        reopened.load()
        assert reopened.size == (image.width, image.height)


def test_gps_exif_is_gone_after_reencoding():
    original = jpeg_with_gps()
    assert has_gps(original)  # the test image really carries it
    assert not has_gps(clean_image("photo.jpg", original).data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (SVG, "not a PNG, JPEG, GIF or WebP"),
        (HTML_AS_PNG, "not a PNG, JPEG, GIF or WebP"),
        (PDF_AS_PNG, "not a PNG, JPEG, GIF or WebP"),
        (truncated_jpeg(), "truncated"),
    ],
    ids=["svg-with-script", "png-header-on-html", "pdf-renamed-png", "truncated-jpeg"],
)
def test_hostile_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImageRefused, match=reason):
        clean_image("image.png", data)


@pytest.mark.parametrize("kind", ["BMP", "TIFF", "PSD", "EPS"])
def test_formats_pillow_knows_but_posts_do_not_are_refused_unread(kind):
    data = other_format(kind)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == kind  # Pillow would open it: only the allow-list stands in the way
    with pytest.raises(ImageRefused, match="not a PNG, JPEG, GIF or WebP"):
        clean_image(f"image.{kind.lower()}", data)


def test_the_pixel_limit_is_the_readmes_from_the_header():
    """Just over the README's 25,000,000 pixels is refused by our own check, far below Pillow's; 5000² is kept."""
    side = 5_000
    assert side * (side + 1) < Image.MAX_IMAGE_PIXELS // 3  # Pillow alone would decode it
    with pytest.raises(ImageRefused, match=f"{side} × {side + 1} pixels is more than the 25,000,000 allowed"):
        clean_image("tall.png", png_bomb_rect(side, side + 1))
    assert clean_image("square.png", png_bomb_rect(side, side)).width == pictures.MAX_SIDE


def test_a_20000_pixel_square_png_is_refused_before_decoding():
    bomb = png_bomb(20_000)
    assert len(bomb) < 200_000  # small on disk ...
    with pytest.raises(ImageRefused, match="pixels"):  # ... 400 million pixels decoded: refused from the header
        clean_image("bomb.png", bomb)


METADATA = {
    "jpeg-comment": (jpeg_with_comment, "image/jpeg"),
    "png-icc-and-text": (png_with_profile_and_text, "image/png"),
    "webp-exif-xmp-icc": (webp_with_metadata, "image/png"),
}


@pytest.mark.parametrize("kind", METADATA)
def test_no_metadata_survives_reencoding(kind):
    make, mime = METADATA[kind]
    original = make()
    assert metadata_in(original)  # the test image really carries it
    image = clean_image("x", original)
    assert image.mime == mime and metadata_in(image.data) == []


@pytest.mark.parametrize("kind", ["png-icc-and-text", "webp-exif-xmp-icc"])
def test_colours_are_converted_to_srgb_when_a_profile_is_dropped(kind):
    with Image.open(io.BytesIO(clean_image("x", METADATA[kind][0]()).data)) as image:
        red, green, blue = image.convert("RGB").getpixel((2, 2))
    assert GREY == (128, 128, 128) and all(abs(c - 188) <= 2 for c in (red, green, blue))  # linear 0.5 in sRGB


def test_transparency_survives_the_colour_conversion():
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (*GREY, 0)).save(out, "PNG", icc_profile=linear_rgb_profile())
    with Image.open(io.BytesIO(clean_image("x", out.getvalue()).data)) as image:
        assert image.mode == "RGBA" and image.getpixel((1, 1))[3] == 0


def test_a_damaged_colour_profile_keeps_the_pixels():
    out = io.BytesIO()
    Image.new("RGB", (10, 10), GREY).save(out, "PNG", icc_profile=b"not a profile " + HOME)
    image = clean_image("x", out.getvalue())
    assert metadata_in(image.data) == []
    with Image.open(io.BytesIO(image.data)) as reopened:
        assert reopened.getpixel((1, 1)) == GREY


def test_our_own_limits_apply_below_pillows(monkeypatch):
    monkeypatch.setattr(pictures, "MAX_PIXELS", 100)
    with pytest.raises(ImageRefused, match="40 × 30 pixels"):
        clean_image("x", png((40, 30)))
    monkeypatch.setattr(pictures, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(ImageRefused, match="allowed per image"):
        clean_image("x", png())


def test_large_images_are_scaled_down():
    image = clean_image("wide", png((pictures.MAX_SIDE * 2, 100)))
    assert (image.width, image.height) == (pictures.MAX_SIDE, 50)


def test_per_notebook_limits_and_unshown_attachments(monkeypatch):
    monkeypatch.setattr(pictures, "MAX_IMAGES", 2)
    encoded = base64.b64encode(png()).decode()
    text = "![a](attachment:a.png) ![b](attachment:b.png) ![c](attachment:c.png)"
    kept = keep_images(
        {
            "p1": (text, {"a.png": encoded, "b.png": encoded, "c.png": encoded, "unshown.png": encoded}),
            "p2": ("![d](attachment:d.png)", {"d.png": "!!not base64!!"}),
            "p3": (f"![e](attachment:{'e' * 300}.png)", {f"{'e' * 300}.png": encoded}),
        }
    )
    assert any("in p3 not kept: its name is longer than 200 characters" in r for r in kept.refused)
    assert [i.name for i in kept.images["p1"]] == ["a.png", "b.png"]
    assert any("'c.png' in p1 not kept: more than 2 images" in r for r in kept.refused)
    assert any("'d.png' in p2 not kept: its saved data is damaged" in r for r in kept.refused)
    assert not any("unshown" in r for r in kept.refused) and "p2" not in kept.images


def test_only_our_own_images_reach_the_page():
    ours = clean_image("shot.png", png()).uri
    markdown = (
        "![shot](attachment:shot.png) ![student data](data:image/png;base64,iVBORw0KGgo=) "
        "![tracker](https://example.org/pixel.png) ![missing](attachment:other.png) "
        "[a link](attachment:shot.png) [site](https://example.org)"
    )
    shown = safe_html(markdown, {"shot.png": ours})
    assert shown.count("<img") == 1 and f'src="{ours}"' in shown
    assert "iVBORw0KGgo=" not in shown and "example.org/pixel" not in shown
    assert "[image: tracker]" in shown and "[image: student data]" in shown and "[image: missing]" in shown
    assert 'href="attachment' not in shown and 'href="https://example.org"' in shown
    assert "<img" not in safe_html(markdown)  # a post without images shows none at all


HOSTILE = {
    "svg": (SVG, "not a PNG, JPEG, GIF or WebP"),
    "html": (HTML_AS_PNG, "not a PNG, JPEG, GIF or WebP"),
    "pdf": (PDF_AS_PNG, "not a PNG, JPEG, GIF or WebP"),
    "bomb": (png_bomb(20_000), "pixels"),
    "truncated": (truncated_jpeg(), "truncated"),
}


def test_collect_reports_each_hostile_image_on_its_files_line_and_keeps_the_text(tmp_path, reading, db):
    prompt = reading.prompts_for(1)[0].id
    for n, (student, (data, _)) in enumerate([*HOSTILE.items(), ("gps", (jpeg_with_gps(), ""))]):
        notebook = filled_notebook(reading, 1, {})
        attach(reflection_cell(notebook, prompt), f"{student} wrote this text.", {"image.png": data})
        write_notebook(tmp_path / "subs" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    report = collect(gather(tmp_path / "subs"), db)
    lines = {r.student: r for r in report.results}
    for student, (_, reason) in HOSTILE.items():
        assert lines[student].status == "collected"
        assert f"image 'image.png' in {prompt} not kept: " in lines[student].detail
        assert reason in lines[student].detail.split("not kept: ", 1)[1]
    assert "not kept" not in lines["gps"].detail
    log = open_log(db)
    texts = log.reflections().query(f"prompt_id == '{prompt}'").set_index("student")
    assert all(texts.loc[s, "text"].startswith(f"{s} wrote this text.") for s in [*HOSTILE, "gps"])
    assert texts["image_count"].to_dict() == {**dict.fromkeys(HOSTILE, 0), "gps": 1}
    [kept] = [u for images in log.images().values() for u in images.values()]
    assert not has_gps(base64.b64decode(kept.split(",", 1)[1]))


def test_no_metadata_reaches_the_log_or_the_published_site(tmp_path, reading, db):
    prompt = reading.prompts_for(1)[0].id
    notebook = filled_notebook(reading, 1, {})
    files = {f"{kind}.img": make() for kind, (make, _) in METADATA.items()}
    attach(reflection_cell(notebook, prompt), "My pictures.", files)
    write_notebook(tmp_path / "subs" / "ann" / "week01.ipynb", notebook, mtime=1_700_000_000)
    report = collect(gather(tmp_path / "subs"), db)
    assert report.count("collected") == 1 and "not kept" not in report.results[0].detail
    stored = [
        base64.b64decode(u.split(",", 1)[1]) for images in open_log(db).images().values() for u in images.values()
    ]
    assert len(stored) == 3 and all(metadata_in(data) == [] for data in stored)
    site = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["publish", "--db", str(db), "--out", str(site), "--names", "real", "--reading", str(reading.path)]
    )
    assert result.exit_code == 0, result.output
    page = (site / "week01.html").read_text()
    shown = data_uris(page)
    assert len(shown) == 3 and all(metadata_in(data) == [] for data in shown)
    assert HOME.decode() not in page
