"""Draw the example shop's pictures (flat illustrations) into content/images/.

Every picture is original and made here with Pillow only, so the example shop
carries no third-party photograph. The output is deterministic: running the
script again rewrites the same files.

    python3 tools/make_example_images.py            # writes content/images/*.jpg
    python3 tools/make_example_images.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import math
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 1200  # final width and height, pixels
SCALE = 2  # drawn at twice the size, then reduced: smooth edges
QUALITY = 82
OUT = Path(__file__).resolve().parent.parent / "content" / "images"

RGB = tuple[int, int, int]
Point = tuple[float, float]


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour a fraction ``t`` of the way from ``a`` to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


WHITE: RGB = (255, 255, 255)
INK: RGB = (40, 34, 30)


@dataclass
class Canvas:
    """A drawing surface in a 0..1000 coordinate space, whatever the pixel size.

    ``zoom`` enlarges what is drawn around the middle of the table (500, 840),
    which moves down a little so that bigger pieces still stand on the table.
    """

    image: Image.Image
    draw: ImageDraw.ImageDraw
    background: RGB
    rng: random.Random
    zoom: float = 1.0

    @property
    def unit(self) -> float:
        return self.image.width / 1000

    def p(self, x: float, y: float) -> tuple[float, float]:
        z = self.zoom
        return (
            (500 + (x - 500) * z) * self.unit,
            (840 + 200 * (z - 1) + (y - 840) * z) * self.unit,
        )

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (*self.p(x0, y0), *self.p(x1, y1))

    def w(self, width: float) -> int:
        return max(1, round(width * self.zoom * self.unit))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB) -> None:
        self.draw.ellipse(self.box(cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)

    def polygon(self, points: Sequence[Point], fill: RGB) -> None:
        self.draw.polygon([self.p(x, y) for x, y in points], fill=fill)

    def line(self, points: Sequence[Point], fill: RGB, width: float) -> None:
        self.draw.line(
            [self.p(x, y) for x, y in points], fill=fill, width=self.w(width), joint="curve"
        )

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, fill: RGB, radius: float = 0
    ) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1), radius=radius * self.zoom * self.unit, fill=fill
        )


# -- shapes ---------------------------------------------------------------------------------


def half_ellipse(cx: float, cy: float, rx: float, ry: float, steps: int = 64) -> list[Point]:
    """The lower half of an ellipse, left to right (a bowl's outline)."""
    return [
        (cx - rx * math.cos(math.pi * i / steps), cy + ry * math.sin(math.pi * i / steps))
        for i in range(steps + 1)
    ]


def background(c: Canvas, picture: Picture) -> None:
    """A soft vertical gradient, a pale sun, tea gardens if asked, and a table top."""
    top, bottom, ground = hex_rgb(picture.top), hex_rgb(picture.bottom), hex_rgb(picture.ground)
    size = c.image.size
    ramp = Image.linear_gradient("L").resize(size)
    c.image.paste(
        Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), ramp)
    )
    c.ellipse(c.rng.uniform(250, 750), c.rng.uniform(200, 300), 190, 190, mix(top, WHITE, 0.35))
    table = 700 - 200 * (picture.zoom - 1)
    if picture.hills:
        hills(c, hex_rgb(picture.hills), table)
    c.rect(0, table, 1000, 1000, ground)
    c.rect(0, table, 1000, table + 12, mix(ground, WHITE, 0.25))


def shadow(c: Canvas, cx: float, cy: float, rx: float, ground: RGB) -> None:
    c.ellipse(cx, cy, rx, rx * 0.14, mix(ground, INK, 0.22))


def leaf(c: Canvas, x: float, y: float, length: float, angle: float, colour: RGB) -> None:
    """A tea leaf: two arcs meeting at the tip, with a midrib."""
    width = length * 0.36
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)

    def at(u: float, v: float) -> Point:
        return (x + u * cos - v * sin, y + u * sin + v * cos)

    steps = 24
    upper = [
        at(length * i / steps, width * math.sin(math.pi * i / steps) ** 0.8)
        for i in range(steps + 1)
    ]
    lower = [
        at(length * i / steps, -width * math.sin(math.pi * i / steps) ** 0.8)
        for i in range(steps, -1, -1)
    ]
    c.polygon(upper + lower, colour)
    c.line([at(0, 0), at(length * 0.92, 0)], mix(colour, INK, 0.35), length * 0.035)


def sprig(c: Canvas, x: float, y: float, scale: float, colour: RGB, lean: float = 0) -> None:
    """A tea shoot: a stem with two leaves and a bud."""
    top = (x + 40 * scale * math.sin(math.radians(lean)), y - 170 * scale)
    c.line([(x, y), top], mix(colour, INK, 0.3), 9 * scale)
    leaf(c, x + (top[0] - x) * 0.45, y - 80 * scale, 120 * scale, -150 + lean, colour)
    leaf(
        c,
        x + (top[0] - x) * 0.7,
        y - 120 * scale,
        110 * scale,
        -30 + lean,
        mix(colour, WHITE, 0.12),
    )
    leaf(c, top[0], top[1] + 10 * scale, 70 * scale, -90 + lean, mix(colour, WHITE, 0.25))


def steam(c: Canvas, x: float, y: float, height: float) -> None:
    colour = mix(c.background, WHITE, 0.55)
    for offset in (-28, 0, 28):
        points = [(x + offset + 12 * math.sin(i / 3), y - height * i / 20) for i in range(21)]
        c.line(points, colour, 9)


def tin(c: Canvas, cx: float, base: float, body: RGB, label: RGB) -> None:
    """A tea caddy with a lid and a label."""
    c.rect(cx - 130, base - 360, cx + 130, base, body, radius=18)
    c.rect(cx - 140, base - 400, cx + 140, base - 340, mix(body, INK, 0.18), radius=14)
    c.rect(cx - 140, base - 348, cx + 140, base - 338, mix(body, INK, 0.3))
    c.rect(cx - 95, base - 270, cx + 95, base - 90, label, radius=10)
    leaf(c, cx - 45, base - 175, 95, -20, body)
    c.rect(cx + 120, base - 330, cx + 130, base - 20, mix(body, WHITE, 0.2))


def cup(c: Canvas, cx: float, base: float, body: RGB, inside: RGB) -> None:
    """A teacup on its saucer."""
    c.ellipse(cx, base - 8, 190, 30, mix(body, WHITE, 0.3))
    handle = mix(body, INK, 0.12)
    c.draw.ellipse(c.box(cx + 95, base - 175, cx + 195, base - 80), outline=handle, width=c.w(22))
    c.polygon(half_ellipse(cx, base - 190, 150, 170), body)
    c.ellipse(cx, base - 190, 150, 30, mix(body, WHITE, 0.4))
    c.ellipse(cx, base - 186, 134, 22, inside)


def teapot(c: Canvas, cx: float, base: float, body: RGB) -> None:
    """A kyusu: round body, spout, and the straight side handle."""
    dark = mix(body, INK, 0.25)
    c.polygon(
        [
            (cx + 150, base - 150),
            (cx + 300, base - 260),
            (cx + 318, base - 245),
            (cx + 190, base - 90),
        ],
        body,
    )
    c.polygon(
        [
            (cx - 150, base - 170),
            (cx - 330, base - 250),
            (cx - 345, base - 215),
            (cx - 160, base - 120),
        ],
        dark,
    )
    c.ellipse(cx, base - 160, 200, 160, body)
    c.ellipse(cx - 60, base - 220, 60, 40, mix(body, WHITE, 0.18))
    c.ellipse(cx, base - 305, 130, 26, dark)
    c.ellipse(cx, base - 318, 115, 22, mix(body, WHITE, 0.1))
    c.ellipse(cx, base - 345, 28, 26, dark)


def bowl(c: Canvas, cx: float, base: float, body: RGB, glaze: RGB) -> None:
    """A chawan: wide bowl, foot ring, glaze running down from the rim."""
    c.rect(cx - 70, base - 40, cx + 70, base, mix(body, INK, 0.2), radius=6)
    c.polygon(half_ellipse(cx, base - 230, 240, 200), body)
    wave = [
        (cx - 240 + 480 * i / 40, base - 170 + 26 * math.sin(i * 0.9) + 10 * math.sin(i * 2.3))
        for i in range(41)
    ]
    c.polygon([(cx - 240, base - 230), *wave, (cx + 240, base - 230)], glaze)
    c.ellipse(cx, base - 230, 240, 42, mix(glaze, WHITE, 0.25))
    c.ellipse(cx, base - 224, 220, 32, mix(glaze, INK, 0.25))


def yunomi(c: Canvas, cx: float, base: float, body: RGB, glaze: RGB) -> None:
    """A tall cup with throwing rings."""
    c.rect(cx - 110, base - 330, cx + 110, base, body, radius=40)
    c.rect(cx - 110, base - 330, cx + 110, base - 160, glaze, radius=30)
    for y in (base - 250, base - 200, base - 110, base - 60):
        c.rect(cx - 108, y, cx + 108, y + 6, mix(body if y > base - 160 else glaze, INK, 0.12))
    c.ellipse(cx, base - 330, 110, 24, mix(glaze, WHITE, 0.3))
    c.ellipse(cx, base - 327, 96, 16, mix(glaze, INK, 0.3))


def gaiwan(c: Canvas, cx: float, base: float, body: RGB, accent: RGB) -> None:
    """A lidded bowl on a saucer."""
    c.ellipse(cx, base - 10, 230, 34, mix(body, INK, 0.06))
    c.polygon(half_ellipse(cx, base - 150, 170, 140), body)
    c.ellipse(cx, base - 150, 172, 24, mix(body, INK, 0.08))
    lid = [
        (cx - 150 * math.cos(math.pi * i / 48), base - 150 - 90 * math.sin(math.pi * i / 48))
        for i in range(49)
    ]
    c.polygon(lid, mix(body, WHITE, 0.3))
    c.ellipse(cx, base - 245, 34, 16, accent)
    for i in range(5):
        x = cx - 100 + 50 * i
        c.ellipse(x, base - 90, 14, 14, accent)


def whisk(c: Canvas, cx: float, base: float, bamboo: RGB) -> None:
    """A chasen: handle, then fine tines opening into a bulb."""
    dark = mix(bamboo, INK, 0.3)
    c.rect(cx - 40, base - 470, cx + 40, base - 250, bamboo, radius=20)
    c.rect(cx - 40, base - 330, cx + 40, base - 318, dark)
    for i in range(23):
        t = i / 22
        spread = math.sin(math.pi * t - math.pi / 2)
        c.line(
            [
                (cx + 30 * spread, base - 250),
                (cx + 150 * spread, base - 110),
                (cx + 80 * spread, base),
            ],
            dark if i % 2 else bamboo,
            7,
        )
    c.ellipse(cx, base - 75, 20, 20, dark)


def hills(c: Canvas, green: RGB, horizon: float) -> None:
    """Terraced tea rows on hills, down to ``horizon``."""
    for k, (height, shade) in enumerate(((180, 0.0), (110, 0.15), (40, 0.3))):
        points = [(x, horizon - height + 50 * math.sin(x / 160 + k)) for x in range(0, 1001, 25)]
        c.polygon([(0, horizon), *points, (1000, horizon)], mix(green, INK, shade))
        for row in range(1, 4):
            rows = [(x, y + row * 18) for x, y in points]
            c.line(rows, mix(green, WHITE, 0.15 - shade * 0.2), 5)


def grains(
    c: Canvas, x0: float, x1: float, y0: float, y1: float, colour: RGB, count: int = 40
) -> None:
    """Toasted rice grains, small seeds or petals scattered on the table."""
    for _ in range(count):
        x, y = c.rng.uniform(x0, x1), c.rng.uniform(y0, y1)
        c.ellipse(x, y, 11, 7, mix(colour, WHITE, c.rng.uniform(0, 0.3)))


def citrus(c: Canvas, x: float, y: float, r: float, peel: RGB) -> None:
    """A bergamot slice."""
    c.ellipse(x, y, r, r, peel)
    c.ellipse(x, y, r * 0.86, r * 0.86, mix(peel, WHITE, 0.6))
    c.ellipse(x, y, r * 0.78, r * 0.78, mix(peel, WHITE, 0.25))
    for i in range(8):
        a = math.tau * i / 8
        c.line(
            [(x, y), (x + r * 0.78 * math.cos(a), y + r * 0.78 * math.sin(a))],
            mix(peel, WHITE, 0.6),
            5,
        )


def flowers(c: Canvas, x: float, y: float, petal: RGB, heart: RGB, count: int) -> None:
    for _ in range(count):
        fx, fy = x + c.rng.uniform(-140, 140), y + c.rng.uniform(-60, 60)
        for i in range(6):
            a = math.tau * i / 6
            c.ellipse(fx + 18 * math.cos(a), fy + 18 * math.sin(a), 13, 13, petal)
        c.ellipse(fx, fy, 11, 11, heart)


def star(c: Canvas, x: float, y: float, r: float, colour: RGB) -> None:
    """A star anise (for the winter blend)."""
    for i in range(8):
        a = math.tau * i / 8
        leaf(c, x, y, r, math.degrees(a), colour)
    c.ellipse(x, y, r * 0.15, r * 0.15, mix(colour, INK, 0.3))


# -- the pictures ---------------------------------------------------------------------------


Scene = Callable[[Canvas], None]


@dataclass(frozen=True)
class Picture:
    name: str  # file name without .jpg
    top: str  # background gradient, top
    bottom: str  # background gradient, bottom
    ground: str  # table colour
    scene: Scene = field(repr=False)
    zoom: float = 1.3  # how much the scene is enlarged around the middle of the table
    hills: str | None = None  # colour of tea gardens behind the table, if any


def tea_tin(body: str, label: str, leaf_colour: str, extra: Scene | None = None) -> Scene:
    """A caddy in the shop's colours for this tea, with loose leaves beside it."""

    def scene(c: Canvas) -> None:
        shadow(c, 400, 842, 180, c.background)
        tin(c, 400, 840, hex_rgb(body), hex_rgb(label))
        for i in range(7):
            leaf(
                c,
                590 + 40 * (i % 3) + c.rng.uniform(-15, 15),
                770 + 20 * (i // 3),
                c.rng.uniform(65, 85),
                c.rng.uniform(0, 360),
                hex_rgb(leaf_colour),
            )
        if extra:
            extra(c)

    return scene


def cup_and_leaves(colour: str, cup_colour: str, liquor: str) -> Scene:
    """A steaming cup with a heap of loose leaves."""

    def scene(c: Canvas) -> None:
        shadow(c, 620, 842, 200, c.background)
        cup(c, 620, 840, hex_rgb(cup_colour), hex_rgb(liquor))
        steam(c, 620, 600, 180)
        for i in range(14):
            leaf(
                c,
                220 + 35 * (i % 5) + c.rng.uniform(-20, 20),
                760 + 35 * (i // 5),
                c.rng.uniform(60, 90),
                c.rng.uniform(0, 360),
                mix(hex_rgb(colour), WHITE, c.rng.uniform(0, 0.2)),
            )

    return scene


def cup_alone(cup_colour: str, liquor: str) -> Scene:
    def scene(c: Canvas) -> None:
        shadow(c, 500, 842, 200, c.background)
        cup(c, 500, 840, hex_rgb(cup_colour), hex_rgb(liquor))
        steam(c, 500, 600, 160)

    return scene


def single(
    draw_object: Callable[[Canvas, float, float], None], cx: float = 500, rx: float = 240
) -> Scene:
    """One piece on the table, centred on ``cx``."""

    def scene(c: Canvas) -> None:
        shadow(c, cx, 842, rx, c.background)
        draw_object(c, cx, 840)

    return scene


def genmaicha_extra(c: Canvas) -> None:
    grains(c, 590, 760, 830, 880, hex_rgb("#d9b777"))


def rooibos_extra(c: Canvas) -> None:
    grains(c, 590, 770, 825, 880, hex_rgb("#c0603a"), 50)


def lapsang_extra(c: Canvas) -> None:
    steam(c, 660, 700, 160)  # the pine smoke


def earl_grey_extra(c: Canvas) -> None:
    citrus(c, 750, 820, 60, hex_rgb("#e8b830"))


def winter_extra(c: Canvas) -> None:
    star(c, 740, 800, 50, hex_rgb("#7b4a2a"))
    citrus(c, 640, 860, 40, hex_rgb("#e98a2c"))


def tea_garden(c: Canvas) -> None:
    sprig(c, 320, 900, 1.7, hex_rgb("#4f7d36"))
    sprig(c, 700, 920, 1.4, hex_rgb("#5a8a3c"), lean=15)


def verveine_scene(c: Canvas) -> None:
    shadow(c, 600, 842, 200, c.background)
    cup(c, 600, 840, hex_rgb("#ffffff"), hex_rgb("#e2dc8a"))
    steam(c, 600, 600, 170)
    sprig(c, 300, 860, 1.0, hex_rgb("#7fa64a"), lean=-10)
    flowers(c, 300, 670, hex_rgb("#f2f0ff"), hex_rgb("#c9b8e8"), 3)


def night_scene(c: Canvas) -> None:
    shadow(c, 600, 842, 200, c.background)
    cup(c, 600, 840, hex_rgb("#f7f3ea"), hex_rgb("#e7cf86"))
    flowers(c, 280, 800, hex_rgb("#ffffff"), hex_rgb("#f2c84b"), 4)


def chawan_from_above(c: Canvas) -> None:
    c.ellipse(500, 560, 330, 330, mix(hex_rgb("#4a3a31"), INK, 0.3))
    c.ellipse(500, 540, 330, 330, hex_rgb("#4a3a31"))
    c.ellipse(500, 540, 290, 290, hex_rgb("#c9b79b"))
    c.ellipse(500, 540, 190, 190, hex_rgb("#8fb04a"))
    c.ellipse(460, 500, 60, 40, mix(hex_rgb("#8fb04a"), WHITE, 0.25))


def two_yunomi(c: Canvas) -> None:
    for cx, glaze in ((370, "#3f6f8f"), (630, "#e9e4d8")):
        shadow(c, cx, 842, 120, c.background)
        yunomi(c, cx, 840, hex_rgb("#b89a7a"), hex_rgb(glaze))


def whisk_and_bowl(c: Canvas) -> None:
    shadow(c, 330, 842, 110, c.background)
    whisk(c, 330, 840, hex_rgb("#e2cc96"))
    shadow(c, 660, 842, 220, c.background)
    bowl(c, 660, 840, hex_rgb("#3e4a3a"), hex_rgb("#9db36a"))


def teapot_and_cup(c: Canvas) -> None:
    shadow(c, 340, 842, 230, c.background)
    teapot(c, 360, 840, hex_rgb("#7fa3a8"))
    shadow(c, 770, 842, 140, c.background)
    cup(c, 770, 840, hex_rgb("#f6f2ea"), hex_rgb("#c9d77a"))
    steam(c, 770, 600, 150)


def workshop(c: Canvas) -> None:
    c.rect(60, 420, 940, 440, hex_rgb("#8a6a50"))
    for cx, glaze in ((230, "#6f8f6a"), (500, "#e8e1d3"), (770, "#3f6f8f")):
        yunomi(c, cx, 420, hex_rgb("#c8a887"), hex_rgb(glaze))
    shadow(c, 500, 842, 260, c.background)
    bowl(c, 500, 840, hex_rgb("#b08a68"), hex_rgb("#d9cdb8"))


def kyusu(colour: str) -> Callable[[Canvas, float, float], None]:
    return lambda c, cx, base: teapot(c, cx, base, hex_rgb(colour))


PICTURES: tuple[Picture, ...] = (
    Picture("sencha", "#e7efd8", "#cfe0b4", "#b9a27f", tea_tin("#5f7d3a", "#f3efe0", "#6f9a3c")),
    Picture(
        "sencha-feuilles",
        "#f1f4e6",
        "#dbe7c5",
        "#c2ab86",
        cup_and_leaves("#5e8f34", "#f5f1e6", "#c9d77a"),
    ),
    Picture(
        "genmaicha",
        "#f3ead6",
        "#e5d3ad",
        "#a98c66",
        tea_tin("#8a6a3c", "#f7f0de", "#7a9a45", genmaicha_extra),
    ),
    Picture(
        "long-jing",
        "#e3efe6",
        "#c4dcc9",
        "#b69c7a",
        cup_alone("#f4f1ea", "#d6dc8c"),
        hills="#6d9b5a",
    ),
    Picture(
        "matcha",
        "#e9f1df",
        "#cddfb8",
        "#9c8466",
        single(lambda c, x, y: bowl(c, x, y, hex_rgb("#7a5a44"), hex_rgb("#8fb04a"))),
    ),
    Picture(
        "darjeeling", "#f6e6d4", "#ebc9a5", "#9a7556", tea_tin("#b0563a", "#f6ead8", "#86733c")
    ),
    Picture(
        "darjeeling-jardin", "#fbe9d5", "#f2d0ad", "#8f6b4d", tea_garden, zoom=1.0, hills="#5f8a4a"
    ),
    Picture(
        "assam", "#f4dfcf", "#e3bfa3", "#7f5a43", cup_and_leaves("#5a3b26", "#fbf6ee", "#a4522a")
    ),
    Picture(
        "lapsang-souchong",
        "#e4e0dc",
        "#c9c2bb",
        "#6e5a4c",
        tea_tin("#3d3733", "#e9dfd2", "#4a3a2e", lapsang_extra),
    ),
    Picture(
        "earl-grey",
        "#e6e3ef",
        "#cfc9e0",
        "#8d7a68",
        tea_tin("#3f4a6b", "#f1ecdf", "#4e3b2c", earl_grey_extra),
    ),
    Picture("verveine", "#eef3dc", "#d9e6b9", "#b59f7c", verveine_scene),
    Picture(
        "rooibos",
        "#f8e1d6",
        "#eec1ad",
        "#8c5f48",
        tea_tin("#b2452f", "#fbeee2", "#b0542f", rooibos_extra),
    ),
    Picture("nuit-calme", "#dfe2f0", "#b9bfdc", "#7d7192", night_scene),
    Picture(
        "the-d-hiver",
        "#f3dcd6",
        "#e0b3a8",
        "#7a4a3c",
        tea_tin("#8f2d2d", "#f5e9d6", "#3f5a34", winter_extra),
    ),
    Picture(
        "kyusu", "#e2ecef", "#c3d6dc", "#a88d70", single(kyusu("#7fa3a8"), 500, 250), zoom=1.15
    ),
    Picture(
        "kyusu-brun", "#f1e4d8", "#dfc4ad", "#8d7057", single(kyusu("#5b3a2a"), 500, 250), zoom=1.15
    ),
    Picture(
        "chawan",
        "#efe7dc",
        "#dccdb8",
        "#7d6a58",
        single(lambda c, x, y: bowl(c, x, y, hex_rgb("#4a3a31"), hex_rgb("#c9b79b"))),
    ),
    Picture("chawan-dessus", "#f2ece2", "#e2d6c4", "#e2d6c4", chawan_from_above, zoom=1.0),
    Picture("yunomi", "#e8eef4", "#cbd8e6", "#a08a74", two_yunomi),
    Picture(
        "gaiwan",
        "#eef1f4",
        "#d5dde6",
        "#9a8a7c",
        single(lambda c, x, y: gaiwan(c, x, y, hex_rgb("#fbfbf8"), hex_rgb("#3d5f9c"))),
    ),
    Picture("chasen", "#eef0e0", "#d8ddbb", "#8e7a5e", whisk_and_bowl, zoom=1.1),
    Picture("blog-infusion", "#e5eedb", "#c9dcb3", "#a88f6e", teapot_and_cup, zoom=1.05),
    Picture("blog-atelier", "#f0e3d5", "#dcc2a6", "#6f5646", workshop, zoom=1.0),
)


def render(picture: Picture) -> Image.Image:
    size = SIZE * SCALE
    image = Image.new("RGB", (size, size))
    canvas = Canvas(
        image,
        ImageDraw.Draw(image),
        hex_rgb(picture.ground),
        random.Random(zlib.crc32(picture.name.encode())),  # noqa: S311 (layout only)
    )
    background(canvas, picture)
    canvas.zoom = picture.zoom
    picture.scene(canvas)
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for picture in PICTURES:
        path = args.out / f"{picture.name}.jpg"
        render(picture).save(path, "JPEG", quality=QUALITY, optimize=True)
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
