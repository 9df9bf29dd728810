#!/usr/bin/env python3
"""Checks that session-runtime's modules form the downward order written in
its `lib.rs`: a module may name only itself and the modules listed before
it, so there is no import circle and no upward import.

Every `crate::` path outside a comment counts, in `use` lines and in code;
an item named through a crate-root re-export (`crate::Error`) counts as
the module it is re-exported from.

It also holds the size the layout was split to: no file of
session-runtime/src over 450 lines, and `store/` under 3,500 in all, so
that a file stays one concern a reader can hold.

Exits 1 and lists each offending line when the order is broken.
"""

import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "session-runtime" / "src"

# Lowest first; `lib.rs` is the crate root, above them all.
ORDER = [
    "error",
    "touch_after",
    "undecodable",
    "backoff",
    "setters",
    "session_data",
    "authentication",
    "digest",
    "encryption",
    "schema",
    "backend",
    "session_table",
    "typed_session",
    "telemetry",
    "store",
    "any_store",
    "cached_store",
    "guide",
    "__private",
]

MAX_FILE_LINES = 450
MAX_STORE_LINES = 3500

PATH = re.compile(r"\bcrate::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def root_reexports() -> dict:
    """Each name `lib.rs` re-exports, with the module it comes from."""
    names = {}
    for source, items in re.findall(r"^pub use (\w+)::([^;]*);", (SRC / "lib.rs").read_text(), re.M):
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", items.split("::")[-1] if "{" not in items else items.split("{", 1)[1]):
            names[item] = source
    return names


def module_of(file: pathlib.Path) -> str:
    relative = file.relative_to(SRC)
    if relative.parts == ("lib.rs",):
        return "lib"
    return relative.parts[0].removesuffix(".rs")


def without_comments(text: str) -> str:
    """The text with every `//` comment blanked, doc comments included,
    its lines kept where they were."""
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def named_modules(match: str):
    if match.startswith("{"):
        return [part.strip().split("::")[0] for part in match[1:-1].split(",") if part.strip()]
    return [match]


def main() -> int:
    files = sorted(SRC.rglob("*.rs"))
    reexports = root_reexports()
    problems = []
    for file in files:
        importer = module_of(file)
        if importer == "lib":
            continue
        if importer not in ORDER:
            problems.append(f"{file.relative_to(SRC)}: module `{importer}` is not in the order")
            continue
        rank = ORDER.index(importer)
        code = without_comments(file.read_text())
        for match in PATH.finditer(code):
            number = code.count("\n", 0, match.start()) + 1
            for name in named_modules(match.group(1)):
                if name.startswith("__") or name == "self":
                    continue
                where = f"{file.relative_to(SRC)}:{number}"
                module = reexports.get(name, name)
                if module not in ORDER:
                    # Re-exported from another crate, such as the derive.
                    if name not in reexports:
                        problems.append(f"{where}: `crate::{name}` is neither a module nor re-exported")
                elif ORDER.index(module) > rank:
                    problems.append(
                        f"{where}: `{importer}` imports `crate::{name}` (`{module}`), which comes after it"
                    )
    store_lines = 0
    for file in files:
        lines = len(file.read_text().splitlines())
        if lines > MAX_FILE_LINES:
            problems.append(
                f"{file.relative_to(SRC)}: {lines} lines, over {MAX_FILE_LINES}; split it by concern"
            )
        if module_of(file) == "store":
            store_lines += lines
    if store_lines >= MAX_STORE_LINES:
        problems.append(f"store/: {store_lines} lines, not under {MAX_STORE_LINES}")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} problems with the layout of session-runtime/src")
        return 1
    print(f"check_layers: {len(files)} files keep the order {' < '.join(ORDER)}")
    print(f"check_layers: no file over {MAX_FILE_LINES} lines; store/ has {store_lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
