"""Fingerprinted static assets: hashed names, conservative minification, url() rewriting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.assets import (
    AssetError,
    AssetManifest,
    build_assets,
    fingerprinted_name,
    minify_css,
    minify_js,
)

HASHED = re.compile(r"/static/css/site\.[0-9a-f]{10}\.css")


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def published(output: Path, url: str) -> str:
    return (output / url.lstrip("/")).read_text(encoding="utf-8")


# -- names and files -----------------------------------------------------------


def test_every_file_is_published_under_a_content_hash(tmp_path: Path) -> None:
    static = write(
        tmp_path / "static",
        {
            "css/site.css": "body { color: red; }\n",
            "js/cart.js": "const a = 1;\n",
            "fonts/Inter Bold.woff2": b"\x00font",
            "favicon.svg": "<svg/>",
            "LICENSE": "MIT",
            ".DS_Store": b"junk",
            ".git/config": "x",
        },
    )
    manifest = build_assets(static, tmp_path / "out")

    assert list(manifest.urls) == [
        "LICENSE",
        "css/site.css",
        "favicon.svg",
        "fonts/Inter Bold.woff2",
        "js/cart.js",
    ]
    assert HASHED.fullmatch(manifest.url("css/site.css"))
    assert re.fullmatch(
        r"/static/fonts/Inter%20Bold\.[0-9a-f]{10}\.woff2", manifest.url("fonts/Inter Bold.woff2")
    )
    assert re.fullmatch(r"/static/LICENSE\.[0-9a-f]{10}", manifest.url("LICENSE"))
    assert (tmp_path / "out" / "static" / "fonts").is_dir()
    font = manifest.url("fonts/Inter Bold.woff2").removeprefix("/static/").replace("%20", " ")
    assert (tmp_path / "out" / "static" / font).read_bytes() == b"\x00font"
    assert published(tmp_path / "out", manifest.url("css/site.css")) == "body{color: red}"
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(files) == 5 and not any(p.name.startswith(".") for p in files)
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in files)


def test_the_name_changes_with_the_content_and_only_then(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"css/site.css": "a { color: red }"})
    first = build_assets(static, tmp_path / "out")
    assert build_assets(static, tmp_path / "out") == first  # deterministic

    write(static, {"css/site.css": "a  {  color:  red  }\n/* a comment */\n"})
    assert build_assets(static, tmp_path / "out") == first  # same minified bytes

    write(static, {"css/site.css": "a { color: blue }"})
    changed = build_assets(static, tmp_path / "out")
    assert changed.url("css/site.css") != first.url("css/site.css")
    assert HASHED.fullmatch(changed.url("css/site.css"))


def test_an_existing_hashed_file_is_not_rewritten(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"js/app.js": "run();\n"})
    url = build_assets(static, tmp_path / "out").url("js/app.js")
    target = tmp_path / "out" / url.lstrip("/")
    before = target.stat()
    build_assets(static, tmp_path / "out")
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_custom_prefix(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"a.txt": "x"})
    manifest = build_assets(static, tmp_path / "out", url_prefix="https://cdn.example/s/")
    assert manifest.url("a.txt").startswith("https://cdn.example/s/a.")
    assert (tmp_path / "out" / "static" / manifest.url("a.txt").rsplit("/", 1)[1]).is_file()


def test_a_missing_static_folder_gives_an_empty_manifest(tmp_path: Path) -> None:
    assert build_assets(tmp_path / "none", tmp_path / "out").urls == {}


def test_fingerprinted_name() -> None:
    assert re.fullmatch(
        r"js/vendor/a\.min\.[0-9a-f]{10}\.js", fingerprinted_name("js/vendor/a.min.js", b"x")
    )
    assert fingerprinted_name("a.js", b"x") != fingerprinted_name("a.js", b"y")


# -- the manifest --------------------------------------------------------------


def test_an_unknown_asset_names_the_likely_one() -> None:
    manifest = AssetManifest({"css/site.css": "/static/css/site.0123456789.css"})
    with pytest.raises(KeyError) as caught:
        manifest.url("css/stie.css")
    message = caught.value.args[0]
    assert message == (
        "unknown static asset 'css/stie.css': there is no such file in the "
        "theme's static folder; did you mean 'css/site.css'?"
    )
    with pytest.raises(KeyError, match=r"known assets: css/site\.css"):
        manifest.url("js/cart.js")


def test_the_manifest_cannot_be_changed(tmp_path: Path) -> None:
    manifest = build_assets(write(tmp_path / "s", {"a.txt": "x"}), tmp_path / "out")
    with pytest.raises(TypeError):
        manifest.urls["a.txt"] = "/elsewhere"  # type: ignore[index]


# -- CSS -----------------------------------------------------------------------


def test_css_minification_keeps_the_meaning() -> None:
    css = """/* Theme: comptoir */
@charset "UTF-8";
.card :hover ,  .grid > .cell {
    width : calc(100% - 2rem);
    margin: 0 auto ;
    content: "/* not a comment */  two  spaces";
    quotes: '«' '»';
}
a/**/.b { color: red; }
.x { margin: 1px/**/2px; }
/*! licence kept */
@media screen and (min-width: 600px) { .x { color: blue; } }
"""
    assert minify_css(css) == (
        '@charset "UTF-8";.card :hover,.grid > .cell{width : calc(100% - 2rem);margin: 0 auto;'
        "content: \"/* not a comment */  two  spaces\";quotes: '«' '»'}"
        "a.b{color: red}.x{margin: 1px 2px}/*! licence kept */ "
        "@media screen and (min-width: 600px){.x{color: blue}}"
    )


def test_css_url_contents_are_left_alone() -> None:
    css = "a { background: url(data:image/svg+xml;utf8,<svg/*x*/>)  ,  url( 'a b.png' ) }"
    assert minify_css(css) == (
        "a{background: url(data:image/svg+xml;utf8,<svg/*x*/>),url('a b.png')}"
    )


@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                ".b",
                " ",
                "\n",
                "{",
                "}",
                ";",
                ":",
                ",",
                "calc(1px + 2px)",
                "/* c */",
                '"s /* x */ t"',
                "'q;}'",
                "url(x.png)",
                "-",
                "10%",
            ]
        ),
        max_size=30,
    )
)
def test_css_minification_is_idempotent_and_keeps_strings(parts: list[str]) -> None:
    css = "".join(parts)
    once = minify_css(css)
    assert minify_css(once) == once
    for literal in ('"s /* x */ t"', "'q;}'", "calc(1px + 2px)"):
        assert once.count(literal) == css.count(literal)


def test_url_references_are_fingerprinted(tmp_path: Path) -> None:
    static = write(
        tmp_path / "static",
        {
            "css/site.css": (
                "@import 'parts/base.css';\n"
                "@font-face { src: url(../fonts/inter.woff2) format('woff2'),\n"
                '  url("../fonts/inter.eot?#iefix"); }\n'
                ".logo { background: url( /static/img/logo.svg#mark ); }\n"
                ".keep { background: url(data:image/png;base64,AAAA), url(https://example.com/x.png),"
                " url(/images/tea.jpg), url(#gradient); }\n"
            ),
            "css/parts/base.css": "body { background: url('../../img/logo.svg'); }",
            "fonts/inter.woff2": b"woff2",
            "fonts/inter.eot": b"eot",
            "img/logo.svg": "<svg/>",
        },
    )
    manifest = build_assets(static, tmp_path / "out")
    css = published(tmp_path / "out", manifest.url("css/site.css"))

    assert f"@import '{manifest.url('css/parts/base.css')}'" in css
    assert f"url({manifest.url('fonts/inter.woff2')}) format('woff2')" in css
    assert f'url("{manifest.url("fonts/inter.eot")}?#iefix")' in css
    assert f"url({manifest.url('img/logo.svg')}#mark)" in css
    for untouched in (
        "url(data:image/png;base64,AAAA)",
        "url(https://example.com/x.png)",
        "url(/images/tea.jpg)",
        "url(#gradient)",
    ):
        assert untouched in css
    base = published(tmp_path / "out", manifest.url("css/parts/base.css"))
    assert base == f"body{{background: url('{manifest.url('img/logo.svg')}')}}"


def test_a_changed_font_renames_the_stylesheet_that_loads_it(tmp_path: Path) -> None:
    static = write(
        tmp_path / "static",
        {
            "css/site.css": "@font-face { src: url(../fonts/a.woff2); }",
            "fonts/a.woff2": b"one",
        },
    )
    first = build_assets(static, tmp_path / "out").url("css/site.css")
    write(static, {"fonts/a.woff2": b"two"})
    assert build_assets(static, tmp_path / "out").url("css/site.css") != first


def test_a_url_to_a_missing_file_is_reported_with_its_line(tmp_path: Path) -> None:
    static = write(
        tmp_path / "static",
        {
            "css/site.css": "body {}\n\n.hero { background: url(../img/hero.jpg); }\n",
        },
    )
    with pytest.raises(AssetError) as caught:
        build_assets(static, tmp_path / "out")
    assert str(caught.value) == (
        f"{static / 'css/site.css'}:3: '../img/hero.jpg' refers to img/hero.jpg, which is not "
        "in the static folder: add the file or correct the path"
    )


def test_a_commented_out_url_is_not_checked(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"css/site.css": "/* url(gone.png) */ a { b: c }"})
    assert build_assets(static, tmp_path / "out").url("css/site.css")


def test_stylesheets_importing_each_other_are_reported(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"a.css": '@import "b.css";', "b.css": '@import "a.css";'})
    with pytest.raises(
        AssetError,
        match=r"stylesheets import each other: a\.css -> b\.css -> "
        r"a\.css",
    ):
        build_assets(static, tmp_path / "out")


def test_a_stylesheet_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"a.css": b"a{}\nb { content: '\xe9' }"})
    with pytest.raises(AssetError, match=r"a\.css:2: this file is not UTF-8 text"):
        build_assets(static, tmp_path / "out")


# -- JavaScript ----------------------------------------------------------------


def test_js_loses_indentation_blank_lines_and_comment_lines_only() -> None:
    js = """// Cart, kept in localStorage
export function total(lines) {
    // sum the lines

    const url = "https://example.com//path";  // a trailing comment stays
    return lines.reduce((sum, line) => sum + line.price / 100 / 2, 0);
}
"""
    assert (
        minify_js(js)
        == """export function total(lines) {
const url = "https://example.com//path";  // a trailing comment stays
return lines.reduce((sum, line) => sum + line.price / 100 / 2, 0);
}
"""
    )


def test_js_template_literals_and_block_comments_are_kept_exactly() -> None:
    js = """function card(item) {
    const html = `
        <li>
            ${item.name + `
    nested`}
        </li>`;
    /* a block
    // whose "line comment" ends it */
    const re = /[`'"]+/g;
    const joined = 'a\\
    b';
    return html.replace(re, "");
}
"""
    assert (
        minify_js(js)
        == """function card(item) {
const html = `
        <li>
            ${item.name + `
    nested`}
        </li>`;
/* a block
    // whose "line comment" ends it */
const re = /[`'"]+/g;
const joined = 'a\\
    b';
return html.replace(re, "");
}
"""
    )


def test_js_that_cannot_be_followed_is_left_unchanged() -> None:
    js = "  const s = `never closed\n  // here\n"
    assert minify_js(js) == js


def test_js_is_published_minified(tmp_path: Path) -> None:
    static = write(tmp_path / "static", {"js/cart.js": "  // c\n  go();\n"})
    manifest = build_assets(static, tmp_path / "out")
    assert published(tmp_path / "out", manifest.url("js/cart.js")) == "go();\n"
