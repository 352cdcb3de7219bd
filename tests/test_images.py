"""Images in posts: the four formats kept and re-encoded, everything hostile refused, no metadata passed on."""

from __future__ import annotations

import base64
import io

import pytest
from conftest import filled_notebook, write_notebook
from images import (
    HTML_AS_PNG,
    PDF_AS_PNG,
    PNG_COMMENT,
    SVG,
    attach,
    gif,
    has_gps,
    jpeg_with_gps,
    png,
    png_bomb,
    reflection_cell,
    truncated_jpeg,
    webp,
)
from PIL import Image

from coursekit.discussion import images as pictures
from coursekit.discussion.images import ImageRefused, clean_image, keep_images
from coursekit.discussion.render import safe_html
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


def test_a_20000_pixel_square_png_is_refused_before_decoding():
    bomb = png_bomb(20_000)
    assert len(bomb) < 200_000  # small on disk ...
    with pytest.raises(ImageRefused, match="pixels"):  # ... 400 million pixels decoded: refused from the header
        clean_image("bomb.png", bomb)


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
    report = collect(tmp_path / "subs", db)
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
