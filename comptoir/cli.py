"""The ``comptoir`` command: check, build, serve, package, doctor, init.

A merchant's mistake is printed as ``path:line: message`` lines and exits 1;
it never shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from generator import TEMPLATE_ROOT
from shop.problems import Problem


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 1
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `comptoir report | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--shop",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the shop's folder, holding content/ (default: here)",
    )
    parser = argparse.ArgumentParser(
        prog="comptoir", description="A static shop from Markdown and YAML files."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub = commands.add_parser("check", parents=[common], help="validate content/, report problems")
    sub.set_defaults(run=_check)
    sub = commands.add_parser("build", parents=[common], help="build the site into output/")
    sub.add_argument("--output", type=Path, default=None, help="where to write (default output/)")
    sub.add_argument(
        "--production",
        action="store_true",
        help="a site to publish: fail unless COMPTOIR_API_ORIGIN names the functions",
    )
    sub.set_defaults(run=_build)
    sub = commands.add_parser(
        "serve", parents=[common], help="build, then serve the shop locally and rebuild on change"
    )
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=8000)
    sub.add_argument("--output", type=Path, default=None, help="where to write (default output/)")
    sub.add_argument("--no-watch", action="store_true", help="do not rebuild on change")
    sub.set_defaults(run=_serve)
    sub = commands.add_parser(
        "package",
        parents=[common],
        help="build, then write the AWS Lambda function folder (template.yaml's CodeUri)",
    )
    sub.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write the function (default build/function in the shop's folder)",
    )
    sub.set_defaults(run=_package, output=None)
    sub = commands.add_parser(
        "doctor", parents=[common], help="check the production configuration before a deploy"
    )
    sub.add_argument("--json", action="store_true", help="print the findings as JSON")
    sub.set_defaults(run=_doctor)
    from comptoir.commands import REGISTRARS

    for register in REGISTRARS:
        register(commands, common)
    sub = commands.add_parser("init", help="start a new shop from the example")
    sub.add_argument("--shop", type=Path, default=Path(), help=argparse.SUPPRESS)
    sub.add_argument("directory", type=Path)
    sub.set_defaults(run=_init)
    return parser


def report(problems: Sequence[Problem], warnings: Sequence[Problem] = ()) -> None:
    """The problems, then the warnings, then how many problems stopped the command."""
    for problem in problems:
        print(problem, file=sys.stderr)
    warn(warnings)
    count = len(problems)
    print(
        f"{count} problem{'s' if count != 1 else ''} found; nothing was written.", file=sys.stderr
    )


def warn(warnings: Sequence[Problem]) -> None:
    """Likely mistakes: printed, but they stop nothing."""
    for warning in warnings:
        print(f"{warning.path}:{warning.line}: warning: {warning.message}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    from generator.build import check

    content = check(args.shop)
    problems = list(content.problems)
    if problems:
        report(problems, list(content.warnings))
        return 1
    warn(list(content.warnings))
    catalogue = content.catalogue
    warnings = len(content.warnings)
    print(
        f"OK: {len(catalogue.public)} products, {len(content.pages)} pages, "
        f"{len(content.posts)} articles"
        + (
            f"; {warnings} warning{'s' if warnings != 1 else ''} to read above."
            if warnings
            else "."
        )
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from generator.build import BuildError, build
    from generator.netlify import ApiOriginError, api_origin

    # COMPTOIR_API_ORIGIN: where Netlify proxies /api/* (output/_redirects); unset, no proxy.
    origin = os.environ.get("COMPTOIR_API_ORIGIN", "").strip() or None
    try:
        origin = origin and api_origin(origin)
    except ApiOriginError as error:
        print(error, file=sys.stderr)
        return 1
    if origin is None and getattr(args, "production", False):
        print(
            "COMPTOIR_API_ORIGIN is not set: the site's /api/* would reach no function, so "
            "nobody could pay. Set it to the ApiOrigin output of `sam deploy` "
            "(see docs/deploy.md); nothing was written.",
            file=sys.stderr,
        )
        return 1
    try:
        result = build(
            args.shop,
            args.output,
            progress=_progress,
            api_origin=origin,
            production=getattr(args, "production", False),
        )
    except BuildError as error:
        report(error.problems)
        return 1
    warn(result.warnings)
    print(
        f"Built {result.pages} pages ({result.products} products, {result.images} images) "
        f"in {result.seconds:.2f} s; {result.rendered} rendered (the others were up to date), "
        f"{result.written} files changed."
    )
    return 0


def _progress(message: str) -> None:
    print(message, flush=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from comptoir.local import local_stack
    from comptoir.serve import create_app, watch
    from functions.backends import describe_mail
    from functions.settings import ConfigurationError
    from shop.published import PublishedShopError, published_path

    shop = args.shop.resolve()
    if _build(args) != 0:
        return 1
    output = (args.output or shop / "output").resolve()
    origin = f"http://{args.host}:{args.port}"
    # /api prices with what this command builds, whatever COMPTOIR_PUBLISHED says.
    environ = {**os.environ, "COMPTOIR_PUBLISHED": str(published_path(shop))}
    try:
        stack = local_stack(shop, origin, environ)
    except ConfigurationError as error:
        print(f"cannot start the functions: {error}", file=sys.stderr)
        return 1
    if not args.no_watch:

        def rebuild(changed: set[str]) -> None:
            started = time.strftime("%H:%M:%S")
            print(f"[{started}] change detected, rebuilding…", flush=True)
            if _build(args) != 0:
                print(
                    "The site and /api keep the last good build until the problems are fixed.",
                    file=sys.stderr,
                    flush=True,
                )
                return
            try:
                stack.reload()
            except PublishedShopError as error:
                print(f"/api keeps the last good build: {error}", file=sys.stderr, flush=True)
                return
            print(f"[{time.strftime('%H:%M:%S')}] /api now uses this build.", flush=True)

        watch([shop / "content", shop / "theme"], rebuild)
    stack.start()
    announced = None
    if stack.emulator is not None and stack.settings.stripe_api_base:
        from comptoir.backroom import announce_emulator

        announced = announce_emulator(
            shop,
            stack.settings.stripe_api_base,
            stack.settings.stripe_key.reveal(),
            stack.settings.webhook_secret.reveal(),
        )
    print(f"Serving {stack.shops.current().config.name} on {origin}/", flush=True)
    if stack.emulator is not None:
        print(
            "Payments: TEST ONLY offline Stripe emulator (no STRIPE_SECRET_KEY set); "
            "pay with card 4242 4242 4242 4242.",
            flush=True,
        )
    # Never the whole mail address: it may hold the SMTP password.
    print(f"E-mails: {describe_mail(stack.settings)}", flush=True)
    # uvicorn re-raises the SIGTERM it caught once it has stopped: let it end in a
    # SystemExit here, so that the `finally` below still tidies up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        uvicorn.run(
            create_app(output, stack.api, stack.mounts),
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    finally:
        stack.close()
        if announced is not None:
            announced.unlink(missing_ok=True)
    return 0


def _package(args: argparse.Namespace) -> int:
    from comptoir.package import PackageError, package_function
    from shop.published import PublishedShopError

    if _build(args) != 0:
        return 1
    out = args.out or args.shop / "build" / "function"
    try:
        package = package_function(args.shop, out)
    except (PackageError, PublishedShopError) as error:
        print(f"cannot package the function: {error}", file=sys.stderr)
        return 1
    print(
        f"Function package in {package.folder}/ ({package.files} files, catalogue "
        f"{package.catalog}). Install its requirements.txt into it, or let `sam build` do it."
    )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Each problem of the production configuration as one line; exit 1 if there is one."""
    import json

    from comptoir.doctor import diagnose
    from generator import example_identity
    from generator.build import check

    findings = diagnose(check(args.shop), os.environ, example_identity())
    if args.json:
        problems = [{"where": f.where, "message": f.message} for f in findings]
        print(json.dumps({"ok": not findings, "problems": problems}, ensure_ascii=False))
    elif findings:
        for finding in findings:
            print(finding)
        count = len(findings)
        print(f"{count} problem{'s' if count != 1 else ''} to fix before going live.")
    else:
        print("OK: keys, webhook secret, base URL, sender, legal pages and identity are ready.")
    return 1 if findings else 0


def _init(args: argparse.Namespace) -> int:
    target: Path = args.directory
    if (target / "content").exists():
        print(f"{target}/content already exists: choose an empty folder.", file=sys.stderr)
        return 1
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATE_ROOT / "content", target / "content")
    shutil.copytree(
        TEMPLATE_ROOT / "theme", target / "theme", ignore=shutil.ignore_patterns("README.md")
    )
    ignore = target / ".gitignore"
    if not ignore.exists():  # what a build makes is not the merchant's to commit
        ignore.write_text("/output/\n/published/\n/.cache/\n/var/\n", encoding="utf-8")
    print(f"New shop in {target}. Next: cd {target} && comptoir serve")
    return 0


def run() -> None:
    """The console script: ``main``, then a quick exit.

    Every file is written and closed by then; a normal interpreter exit would
    spend a quarter of a second freeing a 10,000-product catalogue object by object.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
