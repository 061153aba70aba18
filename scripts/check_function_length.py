"""Fails when a function in erp_sync/ is longer than the project's limit of 40 lines.

A function's length counts from its `def` line to its last line (decorators not included, its docstring,
comments and blank lines inside it included); nested functions count inside their parent and on their own.
Run from anywhere: `python scripts/check_function_length.py [paths...]` (default: the erp_sync package). Exit 1
with one line per function over the limit, `path:line: name is N lines (limit 40)`, else 0.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

LIMIT = 40
ROOT = Path(__file__).resolve().parents[1]


def long_functions(path: Path, limit: int = LIMIT) -> Iterator[tuple[int, str, int]]:
    """(line, qualified name, length) of every function in `path` longer than `limit` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    yield from _walk(tree, "", limit)


def _walk(node: ast.AST, prefix: str, limit: int) -> Iterator[tuple[int, str, int]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            length = (child.end_lineno or child.lineno) - child.lineno + 1
            if length > limit:
                yield child.lineno, name, length
            yield from _walk(child, f"{name}.", limit)
        elif isinstance(child, ast.ClassDef):
            yield from _walk(child, f"{prefix}{child.name}.", limit)
        else:
            yield from _walk(child, prefix, limit)


def python_files(arguments: list[str]) -> list[Path]:
    roots = [Path(a) for a in arguments] or [ROOT / "erp_sync"]
    return sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py")))


def main(arguments: list[str]) -> int:
    found = [(path, *item) for path in python_files(arguments) for item in long_functions(path)]
    for path, line, name, length in found:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}:{line}: {name} is {length} lines (limit {LIMIT}); split it into smaller functions")
    if found:
        print(f"{len(found)} function(s) longer than {LIMIT} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
