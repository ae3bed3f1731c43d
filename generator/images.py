"""Responsive image derivatives: WebP plus a JPEG (or PNG) fallback at a few widths.

Every derivative is named after a short hash of its source's bytes, so the work is
cached by content: ``cache_dir`` keeps what was encoded before, whatever the source
file is called or wherever it lives, and a build only encodes pictures it has never
seen. Cache misses are encoded in parallel, one source per worker process; every
cache file is written to a temporary name and moved into place, so two builds
sharing a cache never read half a file. The derivatives are then hard-linked (or
copied) into ``output_dir`` when missing there or different.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from generator.parallel import can_fork, worker_count
from shop.files import atomic_writer

DEFAULT_WIDTHS = (320, 640, 960, 1280)
PREFERRED_SRC_WIDTH = 640
JPEG_QUALITY = 80
WEBP_QUALITY = 78
WEBP_METHOD = 4
HASH_LENGTH = 10
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")  # the JPEG opener also reads cameras' MPO files

# A rendition at the source's own width is added when the source is narrower than the
# largest requested width, unless it would be less than this much wider than the
# largest kept one (a near-duplicate is not worth its bytes).
_MIN_WIDTH_STEP = 1.2
# Part of every hash: changing how derivatives are made gives them new names, so
# neither the cache nor a CDN serving them as immutable keeps the old ones.
_RECIPE = f"comptoir-images/1 jpeg={JPEG_QUALITY} webp={WEBP_QUALITY}/{WEBP_METHOD}".encode()
_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})

UNREADABLE = "cannot read this image (is it a JPEG, PNG or WebP file?)"
DAMAGED = "this image is damaged or incomplete: export it again from your photo editor"
MISSING = "this image file does not exist"
CHANGED = "this image changed while the site was being built: build again"
TOO_LARGE = "this image has too many pixels: resize it to at most 8000 pixels wide and try again"


class ImageError(Exception):
    """A source picture that cannot be used, with a message for the merchant."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(path, message)  # both in args, so it survives worker processes
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Rendition:
    """One derivative file: its public URL and pixel size."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    """Everything a template needs for a ``<picture>``."""

    width: int  # intrinsic size of the largest rendition (for <img width height>)
    height: int
    webp: tuple[Rendition, ...]  # ascending width
    fallback: tuple[Rendition, ...]  # JPEG, or PNG when the source has transparency
    fallback_type: str  # "image/jpeg" or "image/png"

    def srcset(self, kind: Literal["webp", "fallback"]) -> str:
        """``"url 320w, url 640w"`` for the given format."""
        renditions = self.webp if kind == "webp" else self.fallback
        return ", ".join(f"{r.url} {r.width}w" for r in renditions)

    @property
    def src(self) -> str:
        """The fallback rendition closest to 640 px wide (the wider one on a tie)."""
        best = min(self.fallback, key=lambda r: (abs(r.width - PREFERRED_SRC_WIDTH), -r.width))
        return best.url


@dataclass(frozen=True)
class _SourceInfo:
    """What the cache remembers about a source: its displayed size and transparency."""

    width: int
    height: int
    alpha: bool


@dataclass(frozen=True)
class _Job:
    source: Path
    digest: str
    cache_dir: Path
    widths: tuple[int, ...]
    reusable: frozenset[str] = frozenset()  # cached renditions known intact (their size)


# -- public API ----------------------------------------------------------------


def process_images(
    sources: Sequence[Path],
    *,
    cache_dir: Path,
    output_dir: Path,
    url_prefix: str = "/images/",
    widths: Sequence[int] = DEFAULT_WIDTHS,
    workers: int | None = None,
) -> dict[Path, ProcessedImage]:
    """Make (or reuse) the derivatives of every source and publish them in ``output_dir``.

    Returns each source path as given, mapped to its renditions. Raises ImageError for
    the first source (in the given order) that cannot be read.
    """
    wanted = _checked_widths(widths)
    cache_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    digests = {source: content_hash(source) for source in sources}
    infos: dict[str, _SourceInfo] = {}
    jobs: dict[str, _Job] = {}
    for source, digest in digests.items():
        if digest in infos or digest in jobs:
            continue  # the same picture under two names is encoded once
        info = _cached_info(cache_dir, digest, wanted)
        if info is None:
            jobs[digest] = _Job(source, digest, cache_dir, wanted, _intact_files(cache_dir, digest))
        else:
            infos[digest] = info
    infos.update(_run_jobs(list(jobs.values()), workers))
    return {
        source: _publish(source, digest, infos[digest], wanted, cache_dir, output_dir, url_prefix)
        for source, digest in digests.items()
    }


def image_dimensions(path: Path) -> tuple[int, int]:
    """The displayed size of a picture (EXIF orientation applied), read from its header only."""
    with _open(path) as image:
        return _oriented_size(image)


def content_hash(path: Path) -> str:
    """The short hash naming a source's derivatives: its bytes plus the encoding recipe."""
    digest = hashlib.sha256(_RECIPE)
    try:
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError as error:
        raise ImageError(path, MISSING) from error
    except OSError as error:  # a directory, no permission…
        raise ImageError(path, UNREADABLE) from error
    return digest.hexdigest()[:HASH_LENGTH]


def _content_hash_of(data: bytes) -> str:
    return hashlib.sha256(_RECIPE + data).hexdigest()[:HASH_LENGTH]


def plan_widths(source_width: int, widths: Sequence[int]) -> tuple[int, ...]:
    """The rendition widths for a source: never wider than the source, never none."""
    wanted = _checked_widths(widths)
    kept = [w for w in wanted if w <= source_width]
    if not kept or (source_width < wanted[-1] and source_width >= kept[-1] * _MIN_WIDTH_STEP):
        kept.append(source_width)
    return tuple(kept)


# -- the cache -----------------------------------------------------------------


def _checked_widths(widths: Sequence[int]) -> tuple[int, ...]:
    unique = sorted(set(widths))
    if not unique or unique[0] < 1:
        raise ValueError(f"image widths must be positive and not empty, got {list(widths)}")
    return tuple(unique)


def _height_for(width: int, info: _SourceInfo) -> int:
    return max(1, (2 * width * info.height + info.width) // (2 * info.width))


def _extensions(info: _SourceInfo) -> tuple[str, str]:
    return "webp", ("png" if info.alpha else "jpg")


def _cache_file(cache_dir: Path, digest: str, width: int, extension: str) -> Path:
    return cache_dir / f"{digest}-{width}.{extension}"


def _info_file(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"{digest}.json"


def _cached_info(cache_dir: Path, digest: str, widths: tuple[int, ...]) -> _SourceInfo | None:
    """The source's info when every derivative it needs is in the cache, intact."""
    try:
        data = json.loads(_info_file(cache_dir, digest).read_text("utf-8"))
        info = _SourceInfo(int(data["width"]), int(data["height"]), bool(data["alpha"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    intact = _intact_files(cache_dir, digest)
    needed = _needed_files(cache_dir, digest, info, widths)
    return info if all(path.name in intact for path in needed) else None


def _intact_files(cache_dir: Path, digest: str) -> frozenset[str]:
    """The source's cached renditions whose size is the one recorded when they were
    made: a file cut short or replaced since is encoded again."""
    try:
        data = json.loads(_info_file(cache_dir, digest).read_text("utf-8"))
        sizes = {str(name): int(size) for name, size in data["sizes"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return frozenset()
    intact = set()
    for name, size in sizes.items():
        with contextlib.suppress(OSError):
            if (cache_dir / name).stat().st_size == size:
                intact.add(name)
    return frozenset(intact)


def _needed_files(
    cache_dir: Path, digest: str, info: _SourceInfo, widths: tuple[int, ...]
) -> list[Path]:
    return [
        _cache_file(cache_dir, digest, width, extension)
        for width in plan_widths(info.width, widths)
        for extension in _extensions(info)
    ]


# -- running the jobs ----------------------------------------------------------


def _run_jobs(jobs: list[_Job], workers: int | None) -> dict[str, _SourceInfo]:
    count = min(len(jobs), workers if workers is not None else worker_count())
    if count <= 1:
        return {job.digest: _render(job) for job in jobs}
    # Fork a single-threaded parent: its workers start at once, with Pillow imported.
    # Never fork one that may run threads (comptoir serve): forkserver where there is
    # one (Linux, macOS), spawn elsewhere. Scripts calling this need the usual
    # __main__ guard.
    methods = multiprocessing.get_all_start_methods()
    method = "fork" if can_fork() else "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = [(job.digest, pool.submit(_render, job)) for job in jobs]
        return dict(_results(futures))


def _results(futures: list[tuple[str, Future[_SourceInfo]]]) -> Iterator[tuple[str, _SourceInfo]]:
    """Every result, or the first failure in source order once all jobs have ended.

    Letting the others finish keeps their work in the cache for the next build.
    """
    failure: BaseException | None = None
    done: list[tuple[str, _SourceInfo]] = []
    for digest, future in futures:
        error = future.exception()
        if error is None:
            done.append((digest, future.result()))
        elif failure is None:
            failure = error
    if failure is not None:
        raise failure
    yield from done


# -- encoding (runs in the worker processes) -------------------------------------


def _render(job: _Job) -> _SourceInfo:
    """Encode the derivatives of one source the cache lacks (or holds damaged); record
    its info and their sizes last."""
    try:
        data = job.source.read_bytes()
    except OSError as error:
        raise ImageError(
            job.source, MISSING if isinstance(error, FileNotFoundError) else UNREADABLE
        ) from error
    if _content_hash_of(data) != job.digest:  # never file new pixels under the old hash
        raise ImageError(job.source, CHANGED)
    with _open(job.source, io.BytesIO(data)) as image:
        info = _encode_missing(job, image)
    sizes = {
        path.name: path.stat().st_size
        for path in _needed_files(job.cache_dir, job.digest, info, job.widths)
    }
    record = {"width": info.width, "height": info.height, "alpha": info.alpha, "sizes": sizes}
    with atomic_writer(_info_file(job.cache_dir, job.digest)) as file:
        file.write(json.dumps(record).encode())
    return info


def _encode_missing(job: _Job, image: Image.Image) -> _SourceInfo:
    width, height = _oriented_size(image)
    planned = plan_widths(width, job.widths)
    if image.format in ("JPEG", "MPO"):
        _decode_smaller(image, planned[-1], (width, height))
    picture = _decoded(job.source, image)
    info = _SourceInfo(width, height, _has_alpha(picture))
    picture = picture.convert("RGBA" if info.alpha else "RGB")  # always a new image
    picture.info = {}  # strip metadata: EXIF (camera, GPS position), colour profile, comments
    webp, fallback = _extensions(info)
    for target_width in planned:
        webp_file = _cache_file(job.cache_dir, job.digest, target_width, webp)
        fallback_file = _cache_file(job.cache_dir, job.digest, target_width, fallback)
        if {webp_file.name, fallback_file.name} <= job.reusable:
            continue
        resized = _resized(picture, (target_width, _height_for(target_width, info)))
        _save(resized, webp_file, "WEBP")
        _save(resized, fallback_file, "PNG" if info.alpha else "JPEG")
    return info


@contextlib.contextmanager
def _open(path: Path, data: io.BytesIO | None = None) -> Iterator[Image.Image]:
    try:
        image = Image.open(data if data is not None else path, formats=ACCEPTED_FORMATS)
    except FileNotFoundError as error:
        raise ImageError(path, MISSING) from error
    except Image.DecompressionBombError as error:
        raise ImageError(path, TOO_LARGE) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(path, UNREADABLE) from error
    with image:
        yield image


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1  # unreadable EXIF: show the pixels as stored


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if _orientation(image) in _SWAPPING_ORIENTATIONS else (width, height)


def _decode_smaller(image: Image.Image, target_width: int, oriented: tuple[int, int]) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the largest width."""
    width, height = oriented
    needed = (target_width, -(-target_width * height // width))
    if _orientation(image) in _SWAPPING_ORIENTATIONS:
        needed = (needed[1], needed[0])
    image.draft(None, needed)


def _decoded(path: Path, image: Image.Image) -> Image.Image:
    """The pixels, upright and in sRGB."""
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except Image.DecompressionBombError as error:
        raise ImageError(path, TOO_LARGE) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(path, DAMAGED) from error
    return _to_srgb(image)


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels with an embedded colour profile to sRGB, as browsers assume.

    Stripping a Display P3 or Adobe RGB profile without converting would dull the colours
    of many phone and camera photos. A profile we cannot use leaves the pixels as they are.
    """
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode != "CMYK" and "sRGB" in ImageCms.getProfileDescription(profile):
            return image
        converted = ImageCms.profileToProfile(
            image,
            profile,
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB",
        )
    except (ImportError, OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return image
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is at least partly transparent (an opaque RGBA PNG is not)."""
    if image.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in image.info:
        return False
    lowest, _ = image.convert("RGBA").getchannel("A").getextrema()
    return isinstance(lowest, int | float) and lowest < 255


def _resized(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    if picture.size == size:
        return picture
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _save(picture: Image.Image, target: Path, image_format: str) -> None:
    options: dict[str, object]
    if image_format == "JPEG":
        options = {"quality": JPEG_QUALITY, "optimize": True, "progressive": True}
    elif image_format == "WEBP":
        options = {"quality": WEBP_QUALITY, "method": WEBP_METHOD}
    else:
        options = {"optimize": True}
    with atomic_writer(target) as file:
        picture.save(file, format=image_format, **options)


# -- publishing ----------------------------------------------------------------


def _publish(
    source: Path,
    digest: str,
    info: _SourceInfo,
    widths: tuple[int, ...],
    cache_dir: Path,
    output_dir: Path,
    url_prefix: str,
) -> ProcessedImage:
    slug = _slug(source.stem)
    webp_extension, fallback_extension = _extensions(info)
    webp: list[Rendition] = []
    fallback: list[Rendition] = []
    for width in plan_widths(info.width, widths):
        height = _height_for(width, info)
        for extension, renditions in ((webp_extension, webp), (fallback_extension, fallback)):
            name = f"{slug}-{digest}-{width}.{extension}"
            _place(_cache_file(cache_dir, digest, width, extension), output_dir / name)
            renditions.append(Rendition(url_prefix + name, width, height))
    return ProcessedImage(
        width=webp[-1].width,
        height=webp[-1].height,
        webp=tuple(webp),
        fallback=tuple(fallback),
        fallback_type="image/png" if info.alpha else "image/jpeg",
    )


def _place(cached: Path, target: Path) -> None:
    """Put a cache file at ``target`` unless the very same bytes are already there."""
    if target.exists() and (cached.samefile(target) or filecmp.cmp(cached, target, shallow=False)):
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        temporary.hardlink_to(cached)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(cached, temporary)
    temporary.replace(target)


def _slug(stem: str) -> str:
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-") or "image"


__all__ = [
    "DEFAULT_WIDTHS",
    "ImageError",
    "ProcessedImage",
    "Rendition",
    "content_hash",
    "image_dimensions",
    "plan_widths",
    "process_images",
]
