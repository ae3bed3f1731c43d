"""``comptoir package``: the deployable function folder for AWS Lambda (template.yaml's
``CodeUri: build/function``, ``Handler: functions.lambda_handler.handler``).

The folder holds the code of ``shop/`` and ``functions/`` as they are now, the published
shop the same build just wrote, and ``requirements.txt``: the third-party packages the
function imports, pinned to the versions installed here (the ones the tests ran with).
Never the Stripe emulator, the generator, the CLI or the merchant's ``content/``.
The rule it keeps: with those requirements installed, importing the handler from the
folder answers events.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from dataclasses import dataclass
from pathlib import Path

import functions
import shop
from shop.published import FILE_NAME, FOLDER, load, published_path

# What the function imports (distribution names); boto3 only for SSM, then DynamoDB and SES.
REQUIREMENTS = ("starlette", "mangum", "stripe", "babel", "jinja2", "pyyaml", "boto3")
CODE = (functions, shop)
MARKER = ".comptoir-function"  # says a folder is ours to replace on the next run
_NOT_CODE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class PackageError(Exception):
    """The folder cannot be written; the message says why and what to do."""


@dataclass(frozen=True)
class FunctionPackage:
    folder: Path
    catalog: str  # the published shop's hash, first 16 hex: what its quotes name
    files: int


def package_function(shop_root: Path, out: Path) -> FunctionPackage:
    """Write the function folder ``out`` from the code here and ``shop_root``'s published
    shop (built beforehand). Replaces a folder this command wrote; refuses any other."""
    published = load(published_path(shop_root))  # PublishedShopError: not built, or corrupt
    if out.exists() and not (out / MARKER).exists() and any(out.iterdir()):
        raise PackageError(
            f"{out} exists and was not written by `comptoir package`: choose another --out"
        )
    # Written beside, then swapped in: a failed run leaves the last good folder whole.
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for package in CODE:
        source = Path(package.__file__ or "").parent
        shutil.copytree(source, staging / source.name, ignore=_NOT_CODE)
    (staging / FOLDER).mkdir()
    shutil.copyfile(published_path(shop_root), staging / FOLDER / FILE_NAME)
    (staging / "requirements.txt").write_text(requirements(), encoding="utf-8")
    (staging / MARKER).write_text(
        "Written by `comptoir package`; replaced on each run.\n", encoding="utf-8"
    )
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    files = sum(1 for path in out.rglob("*") if path.is_file())
    return FunctionPackage(out, published.hash[:16], files)


def requirements() -> str:
    """The function's third-party requirements, pinned to the versions installed here."""
    lines = ["# The function's runtime dependencies, as tested: pip install -r requirements.txt"]
    for name in REQUIREMENTS:
        try:
            lines.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise PackageError(f"{name} is not installed: pip install 'comptoir[aws]'") from None
    return "\n".join(lines) + "\n"
