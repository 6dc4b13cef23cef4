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
            block = re.sub(r"(?m)^min_idle = \d+", f"min_idle = {lo}", block)
            block = re.sub(r"(?m)^max = \d+", f"max = {hi}", block)
        out.append(block)
    if pools:
        sys.exit(f"unknown languages: {', '.join(sorted(pools))}")
    open(dst, "w").write("".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
