#!/usr/bin/env python3
"""Writes a copy of the language catalog with some pools resized, or cut down to some languages.

    catalog_pools.py SRC DST SPEC [--only]

SPEC is a comma-separated list of `id` (pool kept as the catalog has it) or `id=MIN:MAX`
(`min_idle` and `max` of that language's pool). With --only, DST holds just the listed
languages; without it, every language, the listed ones resized. An unknown id is an error.

The catalog is edited as text, block by block, so that its comments and layout survive
(Python 3.11's tomllib reads TOML but cannot write it).
"""
import re
import sys


def main(argv):
    args = [a for a in argv if a != "--only"]
    only = len(args) != len(argv)
    if len(args) != 3:
        sys.exit(__doc__)
    src, dst, spec = args
    pools = {}
    for item in filter(None, spec.split(",")):
        lang, _, size = item.partition("=")
        pools[lang.strip()] = size.strip() or None
    text = open(src).read()
    blocks = re.split(r"(?m)^(?=\[\[language\]\])", text)
    out = [blocks[0]]
    for block in blocks[1:]:
        # The language's own id comes first (its examples' ids follow in their tables).
        m = re.search(r'(?m)^id = "([^"]+)"', block)
        lang = m.group(1) if m else None
        if lang not in pools:
            if not only:
                out.append(block)
            continue
        size = pools.pop(lang)
        if size:
            lo, _, hi = size.partition(":")
            if not (lo.isdigit() and hi.isdigit()):
                sys.exit(f"{lang}={size}: expected MIN:MAX, e.g. {lang}=1:4")
            # Only inside [language.pool]: example programs may hold such lines too.
            m = re.search(r"(?ms)^\[language\.pool\]\n.*?(?=^\[|\Z)", block)
            if not m:
                sys.exit(f"{lang}: no [language.pool] table")
            pool = re.sub(r"(?m)^min_idle = \d+", f"min_idle = {lo}", m.group(0))
            pool = re.sub(r"(?m)^max = \d+", f"max = {hi}", pool)
            block = block[: m.start()] + pool + block[m.end() :]
        out.append(block)
    if pools:
        sys.exit(f"unknown languages: {', '.join(sorted(pools))}")
    open(dst, "w").write("".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
