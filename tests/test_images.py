"""Responsive image derivatives: sizes, formats, orientation, transparency, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from generator.images import (
    ImageError,
    ProcessedImage,
    Rendition,
    image_dimensions,
    plan_widths,
    process_images,
)

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def make_photo(path: Path, size: tuple[int, int], *, fmt: str = "JPEG", **options: object) -> Path:
    """A gradient (so encoders have real work), saved with Pillow."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste(Image.new("RGB", (width // 4 or 1, height // 4 or 1), BLUE), (0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt, **options)
    return path


def run(
    sources: list[Path], tmp_path: Path, output: str = "out", **options: object
) -> dict[Path, ProcessedImage]:
    return process_images(
        sources, cache_dir=tmp_path / "cache", output_dir=tmp_path / output, **options
    )  # type: ignore[arg-type]


def file_of(rendition: Rendition, output: Path) -> Path:
    assert rendition.url.startswith("/images/")
    return output / rendition.url.removeprefix("/images/")


def cache_stats(cache: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.iterdir()}


# -- sizes and formats ---------------------------------------------------------


def test_renditions_have_the_planned_sizes_formats_and_names(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "src" / "Kyūsu Brun.jpg", (1000, 500))
    processed = run([source], tmp_path)[source]

    assert [r.width for r in processed.webp] == [320, 640, 960]
    assert [(r.width, r.height) for r in processed.fallback] == [(320, 160), (640, 320), (960, 480)]
    assert (processed.width, processed.height) == (960, 480)
    assert processed.fallback_type == "image/jpeg"
    for kind, renditions in (("WEBP", processed.webp), ("JPEG", processed.fallback)):
        for rendition in renditions:
            assert rendition.url.startswith("/images/kyusu-brun-")
            with Image.open(file_of(rendition, tmp_path / "out")) as image:
                assert image.format == kind
                assert image.size == (rendition.width, rendition.height)
                assert image.mode == "RGB"


def test_srcset_and_src(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (1280, 1280))
    processed = run([source], tmp_path)[source]

    urls = [r.url for r in processed.webp]
    assert processed.srcset("webp") == (
        f"{urls[0]} 320w, {urls[1]} 640w, {urls[2]} 960w, {urls[3]} 1280w"
    )
    assert processed.srcset("fallback").count(".jpg ") == 4
    assert processed.src == processed.fallback[1].url
    assert processed.src.endswith("-640.jpg")


def test_src_prefers_the_rendition_closest_to_640(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (1000, 1000))
    assert run([source], tmp_path, widths=(300, 1000))[source].src.endswith("-300.jpg")
    assert run([source], tmp_path, widths=(500, 1000))[source].src.endswith("-500.jpg")
    # a tie goes to the sharper one
    assert run([source], tmp_path, widths=(320, 960))[source].src.endswith("-960.jpg")


def test_aspect_ratio_is_kept(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tall.png", (700, 1050), fmt="PNG")
    processed = run([source], tmp_path)[source]
    for rendition in processed.webp:
        assert rendition.height == round(rendition.width * 1.5)
    assert processed.fallback_type == "image/jpeg"  # an opaque PNG needs no PNG fallback


def test_no_upscaling_a_small_source_keeps_its_own_width(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "small.jpg", (200, 150))
    processed = run([source], tmp_path)[source]
    assert [(r.width, r.height) for r in processed.webp] == [(200, 150)]
    assert [(r.width, r.height) for r in processed.fallback] == [(200, 150)]


def test_a_source_between_widths_adds_its_own_width_when_notably_larger(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "square.jpg", (1200, 1200))
    processed = run([source], tmp_path)[source]
    assert [r.width for r in processed.webp] == [320, 640, 960, 1200]
    assert (processed.width, processed.height) == (1200, 1200)


@given(
    source_width=st.integers(1, 5000), widths=st.lists(st.integers(1, 3000), min_size=1, max_size=6)
)
def test_planned_widths_never_upscale_and_never_vanish(
    source_width: int, widths: list[int]
) -> None:
    planned = plan_widths(source_width, widths)
    assert planned
    assert list(planned) == sorted(set(planned))
    assert all(w <= source_width for w in planned)
    assert {w for w in widths if w <= source_width} <= set(planned)


# -- pixels --------------------------------------------------------------------


def test_exif_orientation_is_applied_and_metadata_stripped(tmp_path: Path) -> None:
    # Stored 400x200, left half red; orientation 6 means "rotate 90° clockwise to show".
    stored = Image.new("RGB", (400, 200), BLUE)
    stored.paste(Image.new("RGB", (200, 200), RED), (0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker"
    source = tmp_path / "rotated.jpg"
    stored.save(source, exif=exif.tobytes(), quality=95)

    assert image_dimensions(source) == (200, 400)
    processed = run([source], tmp_path)[source]
    assert [(r.width, r.height) for r in processed.fallback] == [(200, 400)]
    for rendition in (*processed.webp, *processed.fallback):
        with Image.open(file_of(rendition, tmp_path / "out")) as image:
            assert image.size == (200, 400)
            rgb = image.convert("RGB")
            assert _close(rgb.getpixel((100, 50)), RED)  # the stored left is now the top
            assert _close(rgb.getpixel((100, 350)), BLUE)
            assert not image.getexif()
            assert "icc_profile" not in image.info


def test_png_with_transparency_keeps_a_png_fallback(tmp_path: Path) -> None:
    image = Image.new("RGBA", (800, 400), (*RED, 255))
    image.paste(Image.new("RGBA", (400, 400), (0, 0, 0, 0)), (400, 0))
    source = tmp_path / "logo.png"
    image.save(source)

    processed = run([source], tmp_path)[source]
    assert processed.fallback_type == "image/png"
    assert [r.width for r in processed.fallback] == [320, 640, 800]
    for kind, renditions in (("PNG", processed.fallback), ("WEBP", processed.webp)):
        for rendition in renditions:
            assert rendition.url.endswith(".png" if kind == "PNG" else ".webp")
            with Image.open(file_of(rendition, tmp_path / "out")) as output:
                assert output.format == kind
                rgba = output.convert("RGBA")
                assert rgba.getpixel((rendition.width - 1, 0))[3] == 0  # type: ignore[index]
                assert rgba.getpixel((0, 0))[3] == 255  # type: ignore[index]


def test_palette_png_with_transparency_is_transparent(tmp_path: Path) -> None:
    image = Image.new("P", (100, 100), 1)
    image.putpalette([0, 0, 0, *RED] + [0] * 762)
    image.paste(0, (0, 0, 50, 100))
    source = tmp_path / "icon.png"
    image.save(source, transparency=0)
    assert run([source], tmp_path)[source].fallback_type == "image/png"


def test_image_dimensions_reads_the_header(tmp_path: Path) -> None:
    assert image_dimensions(make_photo(tmp_path / "a.webp", (300, 120), fmt="WEBP")) == (300, 120)


# -- the cache -----------------------------------------------------------------


def test_a_second_build_with_a_fresh_output_reuses_the_cache(tmp_path: Path) -> None:
    sources = [make_photo(tmp_path / f"p{i}.jpg", (700 + i, 500)) for i in range(3)]
    first = run(sources, tmp_path, output="out1")
    before = cache_stats(tmp_path / "cache")

    second = run(sources, tmp_path, output="out2")

    assert cache_stats(tmp_path / "cache") == before  # nothing re-encoded or rewritten
    assert second == first
    for processed in second.values():
        for rendition in (*processed.webp, *processed.fallback):
            copy = file_of(rendition, tmp_path / "out2")
            assert copy.read_bytes() == file_of(rendition, tmp_path / "out1").read_bytes()


def test_renaming_or_touching_the_source_reuses_the_cache(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "old name.jpg", (900, 600))
    first = run([source], tmp_path, output="out1")[source]
    before = cache_stats(tmp_path / "cache")

    moved = tmp_path / "elsewhere" / "Nouveau nom.jpg"
    moved.parent.mkdir()
    source.rename(moved)
    moved.touch()
    second = run([moved], tmp_path, output="out2")[moved]

    assert cache_stats(tmp_path / "cache") == before
    assert second.src.startswith("/images/nouveau-nom-")
    assert second.src.split("-")[-2] == first.src.split("-")[-2]  # the same content hash
    assert file_of(second.fallback[0], tmp_path / "out2").is_file()


def test_new_content_gets_new_names(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (400, 400))
    first = run([source], tmp_path)[source]
    make_photo(source, (400, 300))
    second = run([source], tmp_path)[source]
    assert first.src != second.src
    assert second.fallback[-1].height == 300


def test_new_widths_encode_only_what_is_missing(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (1000, 500))
    run([source], tmp_path, widths=(320,))
    before = cache_stats(tmp_path / "cache")
    processed = run([source], tmp_path, widths=(320, 640))[source]
    after = cache_stats(tmp_path / "cache")
    assert [r.width for r in processed.webp] == [320, 640]
    assert {name: after[name] for name in before if not name.endswith(".json")} == {
        name: stat for name, stat in before.items() if not name.endswith(".json")
    }
    assert len(after) == len(before) + 2


def test_the_same_picture_under_two_names_is_encoded_once(tmp_path: Path) -> None:
    one = make_photo(tmp_path / "one.jpg", (500, 500))
    two = tmp_path / "two.jpg"
    two.write_bytes(one.read_bytes())
    result = run([one, two], tmp_path, workers=2)
    assert len([p for p in (tmp_path / "cache").iterdir() if p.suffix == ".webp"]) == 2
    assert result[one].src.startswith("/images/one-")
    assert result[two].src.startswith("/images/two-")


def test_a_damaged_output_file_is_replaced(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (400, 400))
    processed = run([source], tmp_path)[source]
    target = file_of(processed.fallback[0], tmp_path / "out")
    target.unlink()
    target.write_bytes(b"truncated")
    run([source], tmp_path)
    with Image.open(target) as image:
        assert image.size == (320, 320)


def test_parallel_and_serial_builds_make_the_same_files(tmp_path: Path) -> None:
    sources = [make_photo(tmp_path / f"p{i}.jpg", (640 + 10 * i, 480)) for i in range(3)]
    serial = process_images(
        sources, cache_dir=tmp_path / "c1", output_dir=tmp_path / "o1", workers=1
    )
    parallel = process_images(
        sources, cache_dir=tmp_path / "c2", output_dir=tmp_path / "o2", workers=2
    )
    assert serial == parallel
    assert sorted(p.name for p in (tmp_path / "o1").iterdir()) == sorted(
        p.name for p in (tmp_path / "o2").iterdir()
    )
    for file in (tmp_path / "o1").iterdir():
        assert file.read_bytes() == (tmp_path / "o2" / file.name).read_bytes()


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    sources = [make_photo(tmp_path / f"p{i}.jpg", (500, 400)) for i in range(2)]
    run(sources, tmp_path, workers=2)
    run(sources, tmp_path, output="out2")
    leftovers = [
        p
        for d in ("cache", "out", "out2")
        for p in (tmp_path / d).iterdir()
        if p.name.startswith(".") or p.suffix == ".tmp"
    ]
    assert leftovers == []
    for folder in ("cache", "out", "out2"):
        for path in (tmp_path / folder).iterdir():
            assert path.stat().st_mode & 0o777 == 0o644, path  # readable by a web server


# -- errors --------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"GIF89a" + b"\0" * 40])
def test_an_unreadable_file_raises_image_error_with_its_path(
    tmp_path: Path, content: bytes
) -> None:
    source = tmp_path / "broken.jpg"
    source.write_bytes(content)
    with pytest.raises(ImageError) as caught:
        run([source], tmp_path)
    assert caught.value.path == source
    assert caught.value.message == "cannot read this image (is it a JPEG, PNG or WebP file?)"
    assert str(caught.value) == f"{source}: {caught.value.message}"


def test_a_truncated_jpeg_raises_image_error_even_from_a_worker(tmp_path: Path) -> None:
    good = make_photo(tmp_path / "a-good.jpg", (600, 400))
    data = make_photo(tmp_path / "b.jpg", (600, 400), quality=95).read_bytes()
    broken = tmp_path / "b-truncated.jpg"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as caught:
        run([good, broken], tmp_path, workers=2)
    assert caught.value.path == broken
    assert "damaged" in caught.value.message
    # the good picture's work was kept for the next build
    assert any(p.name.endswith(".webp") for p in (tmp_path / "cache").iterdir())


def test_a_missing_file_raises_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        run([tmp_path / "nowhere.jpg"], tmp_path)
    assert caught.value.path == tmp_path / "nowhere.jpg"
    assert "does not exist" in caught.value.message
    with pytest.raises(ImageError):
        image_dimensions(tmp_path / "nowhere.jpg")


def test_widths_must_be_positive(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (100, 100))
    with pytest.raises(ValueError, match="positive"):
        run([source], tmp_path, widths=())


def _close(pixel: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_a_damaged_cached_rendition_is_encoded_again(tmp_path: Path) -> None:
    source = make_photo(tmp_path / "tea.jpg", (700, 400))
    first = run([source], tmp_path)[source]
    published = {r.url: file_of(r, tmp_path / "out").read_bytes() for r in first.webp}
    cached = sorted((tmp_path / "cache").glob("*.webp"))
    cached[0].write_bytes(b"cut short")
    second = run([source], tmp_path, output="again")[source]
    again = {r.url: file_of(r, tmp_path / "again").read_bytes() for r in second.webp}
    assert again == published
    assert cached[0].read_bytes() != b"cut short"
