"""content/ -> static site: our Pelican plugin and build steps."""

from pathlib import Path

# The repository: the example shop and default theme that `comptoir init` copies.
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
