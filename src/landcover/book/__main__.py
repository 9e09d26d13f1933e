"""``python -m landcover.book``: lint the chapters, derive notebooks and scripts, build the book."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _lint(args: argparse.Namespace) -> int:
    from landcover.book.lint import lint_book
    from landcover.book.project import load_book
    from landcover.exercises import registered

    book = load_book(args.root)
    registry = None if args.no_registry else registered()
    errors = lint_book(book, registry)
    for error in errors:
        print(error)
    if errors:
        print(f"lint: {len(errors)} problem(s) in the book sources", file=sys.stderr)
        return 1
    print(f"lint: {len(book.documents)} source(s) checked, no problem")
    return 0


def _derive(args: argparse.Namespace) -> int:
    from landcover.book.derive import main

    return main(args.root, args.out, check_only=args.check)


def _build(args: argparse.Namespace) -> int:
    from landcover.book.execute import main

    use_quarto = False if args.kernel else None
    return main(
        args.chapter,
        out=args.out,
        html=not args.no_html,
        offline=args.offline,
        templates=args.with_templates,
        use_quarto=use_quarto,
        profile=args.profile,
        timeout=args.timeout,
        root=args.root,
    )


def parser() -> argparse.ArgumentParser:
    """The command-line parser: ``lint``, ``derive`` and ``build`` sub-commands, each bound to its handler."""
    main = argparse.ArgumentParser(prog="python -m landcover.book", description=__doc__)
    main.add_argument("--root", type=Path, default=None, help="project folder (default: this project)")
    sub = main.add_subparsers(dest="command", required=True)

    lint = sub.add_parser("lint", help="structural checks of the book sources (make lint-book)")
    lint.add_argument("--no-registry", action="store_true", help="do not require a registered check per exercise")
    lint.set_defaults(func=_lint)

    derive = sub.add_parser("derive", help="write notebooks/ and final_solution/ from the chapters (make notebooks)")
    derive.add_argument("--out", type=Path, default=None, help="write under this folder instead of the project")
    derive.add_argument("--check", action="store_true", help="only report stale final_solution/ files (exit 1)")
    derive.set_defaults(func=_derive)

    build = sub.add_parser("build", help="execute the book (make execute): quarto render, or a Jupyter kernel")
    build.add_argument("--chapter", action="append", help="run only this chapter (e.g. 1-acquisition); repeatable")
    build.add_argument("--out", type=Path, default=None, help="output folder for the kernel build (default: build/)")
    build.add_argument("--no-html", action="store_true", help="skip the HTML previews")
    build.add_argument("--offline", action="store_true", help="block every connection that leaves this machine")
    build.add_argument("--with-templates", action="store_true", help="also run the untouched templates (they must stop)")
    build.add_argument("--kernel", action="store_true", help="use the Jupyter kernel even when quarto is installed")
    build.add_argument("--profile", default=None, help="Quarto profile: self-study, workshop or instructor")
    build.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    build.set_defaults(func=_build)
    return main


def main(argv: list[str] | None = None) -> int:
    """Run the sub-command named in ``argv`` (default: ``sys.argv``); returns the process exit status."""
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
