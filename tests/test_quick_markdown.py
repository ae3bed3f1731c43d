"""The Markdown fast path renders exactly as Python-Markdown does, or declines.

Documents are generated from the constructs the fast path knows, mixed with
everything that could make them mean something else; whenever the fast path
answers, its HTML must be Python-Markdown's, byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import markdown
from hypothesis import example, given, settings
from hypothesis import strategies as st

from generator import quick_markdown
from generator.presenters import _EXTENSIONS
from shop.content import load_content

EXAMPLE = Path(__file__).resolve().parent.parent  # the example shop


def reference(text: str) -> str:
    converter = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    return converter.convert(text)


def agrees(text: str) -> bool:
    """Whether the fast path took ``text`` (and, if it did, agreed)."""
    fast = quick_markdown.render(text)
    if fast is None:
        return False
    assert fast == reference(text), text
    return True


# Words the fast path takes, and words that could make a text mean something else.
PLAIN = [
    "thé", "vert", "Sencha", "70 °C", "«", "»", "l'équipe", '"dit"', "(bio)", "3,5 g", "2026",
    "*doux*", "**rond**", "_frais_", "*deux mots*", "**très bon**", "[lien](/a-propos/)",
    "[la boutique](https://exemple.fr/a_b?x=1)", "[x](mailto:a@b.fr)", "(*fin*)", "«_x_»",
    "*doux*,", "**rond**.", "_frais_!", "#1", "a-b", "x:", "1.", "é?", "\xa0", "\u202f",
    "l'*eau*", '"**dit**"', "(_bio_)", "*a*b", "**x**y", "a_b_", "*)", "(*", "*a\nb*",
]  # fmt: skip
TRICKY = [
    "*", "**", "_", "__", "***", "*a", "b*", "_c", "d_", "snake_case", "2*3*4", "**a*", "*b**",
    "[", "]", "(", ")", "[a]", "[a][b]", "[a]: /x", "[^1]", "![i](/i.png)", "#", "##",
    ">", "|", "-", "--", "---", "+", "=", "===", ":", "1.", "2.", "0.", "1)",
    "&", "&amp;", "<b>", "<", "`code`", "\\*", "{: .x}", "~", "~~~", "^", "!",
    " ", "  ", "\t", "[a](/b c)", "[a](</b>)", "**[a](/b)**", "[*a*](/b)",
]  # fmt: skip


@st.composite
def inline(draw: st.DrawFn, tricky: bool) -> str:
    words = st.sampled_from(PLAIN + TRICKY if tricky else PLAIN)
    return " ".join(draw(st.lists(words, min_size=1, max_size=7)))


@st.composite
def block(draw: st.DrawFn, depth: int, tricky: bool) -> str:
    def pick(plain: list[Any], more: list[Any]) -> Any:
        return draw(st.sampled_from(plain + more if tricky else plain))

    kind = draw(st.sampled_from(["paragraph", "heading", "list", "table", "quote"][: 5 - depth]))
    if kind == "paragraph":
        lines = draw(st.lists(inline(tricky), min_size=1, max_size=3))
    elif kind == "heading":
        hashes = "#" * pick([1, 2, 3, 4, 5, 6], [7])
        lines = [hashes + pick([" "], ["  ", ""]) + draw(inline(tricky))]
    elif kind == "list":
        ordered = draw(st.booleans())
        first = pick([1], [0, 2])
        bullet = pick(["-", "*", "+"], [])
        lines = []
        for n in range(draw(st.integers(1, 4))):
            marker = f"{first + n}." if ordered else pick([bullet], ["-", "*", "+"])
            lines.append(marker + pick([" "], ["  ", ""]) + draw(inline(tricky)))
    elif kind == "table":
        columns = draw(st.integers(1, 3))
        rule = pick(["---", " --- ", "----"], ["-", ":--", "--:", ":-:"])
        lines = ["|" + "|".join(f" {draw(inline(tricky))} " for _ in range(columns)) + "|"]
        lines.append("|" + "|".join(rule for _ in range(columns)) + "|")
        for _ in range(draw(st.integers(pick([1], [0]), 3))):
            cells = pick([columns], [max(1, columns - 1), columns + 1])
            lines.append("|" + "|".join(f" {draw(inline(tricky))} " for _ in range(cells)) + "|")
    else:
        inner = draw(document(depth + 1, tricky))
        prefix = pick(["> "], [">", ">  "])
        lines = [(prefix + line) if line else ">" for line in inner.split("\n")]
    if tricky and draw(st.booleans()):  # an indented line, or one with trailing spaces
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = pick([], [" ", "    ", ""]) + lines[at] + pick([], ["", " ", "  "])
    return "\n".join(lines)


@st.composite
def document(draw: st.DrawFn, depth: int = 0, tricky: bool | None = None) -> str:
    if tricky is None:
        tricky = draw(st.booleans())
    blocks = draw(st.lists(block(depth, tricky), min_size=1, max_size=5))
    separators = ["\n\n", "\n\n\n"] + (["\n"] if tricky else [])
    parts = [blocks[0]]
    for piece in blocks[1:]:
        parts.append(draw(st.sampled_from(separators)))
        parts.append(piece)
    return draw(st.sampled_from(["", "\n"])) + "".join(parts) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=3000, deadline=None)
@given(document())
@example("*a*\n\n- b\n- c")
@example("> a\n>\n> b\n\n> c")
@example("| a | b |\n|---|---|\n| 1 |")
@example("Text *em*.\n2026. A year")
@example("x *a\nb* y")
@example("**a\nb** and _c\nd_")
@example("- *a\n- b*")
def test_the_fast_path_renders_as_python_markdown(text: str) -> None:
    agrees(text)


def test_the_generated_documents_reach_the_fast_path() -> None:
    """The property above would hold trivially if the fast path declined everything."""
    taken = 0
    for seed in range(400):
        taken += agrees(_plain_document(seed))
    assert taken >= 300


def _plain_document(seed: int) -> str:
    rng = random.Random(seed)
    words = ["thé", "*doux*", "**rond**", "_frais_", "[lien](/a/)", "70 °C", "l'eau", "« bio »"]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))

    blocks = [
        text() + "\n" + text(),
        "### " + text(),
        "\n".join("- " + text() for _ in range(3)),
        "\n".join(f"{n}. " + text() for n in range(1, 4)),
        "| A | B |\n|---|---|\n| " + text() + " | " + text() + " |",
        "> " + text() + "\n> — " + text(),
    ]
    rng.shuffle(blocks)
    return "\n\n".join(blocks[: rng.randint(1, len(blocks))])


def test_every_text_of_the_example_shop_renders_the_same() -> None:
    content = load_content(EXAMPLE)
    texts = [p.description for p in content.catalogue.products]
    texts += [d.body for d in [*content.pages, *content.posts]]
    assert len(texts) >= 20 and not content.problems
    taken = sum(agrees(text) for text in texts)
    assert taken >= len(content.catalogue.products) // 2, (taken, len(texts))


def test_what_the_fast_path_declines() -> None:
    declined = [
        "a  \nb",  # a hard line break
        "Title\n===",  # a setext heading
        "x\n- y",  # a list line inside a paragraph
        "- a\n\n- b",  # a loose list
        "3. a\n4. b",  # a list that starts at 3
        "    code",  # indented code
        "a <b>c</b>",  # raw HTML
        "R&amp;D",  # an entity
        "Term\n: definition",  # a definition list
        "A[^1]\n\n[^1]: note",  # a footnote
        "| a | b |\n|:--|--:|\n| 1 | 2 |",  # an aligned table
        "snake_case",  # an underscore inside a word
        "# Title {: #id}",  # an attribute list
    ]
    for text in declined:
        assert quick_markdown.render(text) is None, text
