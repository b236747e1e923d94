#!/usr/bin/env python3
"""The layout rules the code keeps (run by ctest as `layout_rules`):
  - every file of src/ opens with a `// defines:` line;
  - no file of src/ is over 600 lines, no function over 80 (generated tables aside);
  - <mpi.h> only in comm/ (and the tests); LibTorch only in model/, federated/, apps/ (and cuda's
    host side never); the math layers (random, projection) include neither.
Prints each violation and exits 1 if there is any; prints a summary line otherwise."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2] / "src"
GENERATED = {"data/unicode_tables.cpp"}
TORCH_LAYERS = {"model", "federated", "apps"}
SOURCES = (".cpp", ".hpp", ".cu", ".cuh")


def function_lengths(text):
    """(name, lines) of each top-level-ish function body: a line ending in '{' after a ')' ... whose
    braces close at depth 0 again. Rough but enough for code formatted like ours."""
    lines = text.split("\n")
    out, i = [], 0
    head = re.compile(r"^[A-Za-z].*\)\s*(const)?\s*(override)?\s*(noexcept)?\s*(->\s*[\w:<>]+)?\s*\{\s*$|^\s*:\s.*\{\s*$")
    while i < len(lines):
        if head.match(lines[i]) and not lines[i].lstrip().startswith(("namespace", "struct", "class", "enum", "union")):
            depth, j = 0, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0 and j > i or (depth == 0 and lines[j].rstrip().endswith("}")):
                    break
                j += 1
            out.append((lines[i].strip()[:60], j - i + 1, i + 1))
            i = j + 1
        else:
            i += 1
    return out


def main():
    bad, longest_file, longest_function = [], ("", 0), ("", 0)
    files = sorted(p for p in ROOT.rglob("*") if p.suffix in SOURCES)
    for p in files:
        rel = p.relative_to(ROOT).as_posix()
        layer = rel.split("/")[0]
        text = p.read_text()
        if rel in GENERATED:
            continue
        first = text.split("\n", 1)[0]
        if not first.startswith("// defines:"):
            bad.append(f"{rel}:1: does not open with '// defines:'")
        n = text.count("\n")
        longest_file = max(longest_file, (rel, n), key=lambda x: x[1])
        if n > 600:
            bad.append(f"{rel}: {n} lines (allowed <= 600)")
        for name, length, line in function_lengths(text):
            longest_function = max(longest_function, (f"{rel}:{line}", length), key=lambda x: x[1])
            if length > 80:
                bad.append(f"{rel}:{line}: function '{name}' has {length} lines (allowed <= 80)")
        if re.search(r"#include\s*<mpi\.h>", text) and layer != "comm":
            bad.append(f"{rel}: includes <mpi.h> outside comm/")
        if re.search(r"#include\s*<(torch|ATen|c10)/", text) and layer not in TORCH_LAYERS:
            bad.append(f"{rel}: includes LibTorch outside {sorted(TORCH_LAYERS)}")
    for b in bad:
        print("FAIL:", b)
    if bad:
        return 1
    print(f"PASS: {len(files)} files under src/ keep the layout rules; longest file {longest_file[0]} "
          f"({longest_file[1]} lines), longest function at {longest_function[0]} ({longest_function[1]} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
