"""content/ -> static site: our Pelican plugin and build steps."""

import hashlib
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# The repository: the example shop and default theme that `comptoir init` copies.
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent

# The libraries whose output ends up in pages (formatted prices, Markdown, templates).
_LIBRARIES = ("babel", "jinja2", "markdown", "markupsafe", "pelican", "pillow", "pyyaml")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of what makes a build, besides the shop: comptoir's own code (shop/ and
    generator/), Python's version and the libraries' versions. Build caches made by
    another comptoir are not reused."""
    digest = hashlib.sha256(sys.version.encode())
    for name in _LIBRARIES:
        digest.update(f"\0{name}={metadata.version(name)}".encode())
    package = Path(__file__).parent
    for path in sorted([*package.glob("*.py"), *(package.parent / "shop").glob("*.py")]):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def example_identity() -> dict[str, str]:
    """The legal block of the example shop ``comptoir init`` copies: all of it invented,
    for a real shop to replace."""
    import yaml

    text = (TEMPLATE_ROOT / "content" / "shop.yaml").read_text("utf-8")
    legal = (yaml.safe_load(text) or {}).get("legal") or {}
    return {str(key): str(value) for key, value in legal.items()}
