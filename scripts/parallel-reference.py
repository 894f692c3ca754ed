#!/usr/bin/env python3
"""Writes the reference table of GNU parallel's replacement strings that
`src/cli/run/transform/tests.rs` checks steward against.

    scripts/parallel-reference.py > src/cli/run/transform/reference.tsv

Each line: the input, then what GNU parallel made of it for {.} {/} {//}
{/.}, every field in hex (inputs hold newlines, tabs and bytes that are
not UTF-8). The inputs are awkward paths written by hand plus random ones
from a seeded generator, so the table is the same on every run.
"""
import random
import subprocess
import sys

HAND = [
    b"", b".", b"..", b"/", b"//", b"a", b"a.b", b"a.b.c", b".bashrc", b"a/.b",
    b"dir/file.txt", b"sub.dir/foo.jpg", b"sub.dir/bar", b"/abs/path.tar.gz",
    b"a/b/", b"a//b", b"//a", b"a/", b"a./", b"a/b.", b"a\nb/c", b"a/b\nc/d",
    b"x.\n", b"a.b\n", b"a.\n.", b"a b/c d.e f", b"\xff/\xfe.\xfd", b"a\tb/c\t.d",
    b"./a", b"../a.b/c", b"a..b", b"/.", b"/..", b"a/./b", b"\n", b"\n/", b"/\n",
]
ALPHABET = [b"a", b"b", b".", b"/", b"/", b"\n", b" ", b"\xff", b"\t", b"-", b"."]


def main():
    rng = random.Random(16)
    inputs = list(HAND)
    while len(inputs) < 400:
        inputs.append(b"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))))
    parallel = subprocess.run(
        ["parallel", "--will-cite", "-q", "-k", "-0", "-a", "-", "-j1",
         "printf", "%s\\0", "{}", "{.}", "{/}", "{//}", "{/.}"],
        input=b"".join(i + b"\0" for i in inputs), capture_output=True, check=True)
    fields = parallel.stdout.split(b"\0")[:-1]
    assert len(fields) == 5 * len(inputs), (len(fields), len(inputs))
    for n, given in enumerate(inputs):
        row = fields[5 * n:5 * n + 5]
        assert row[0] == given, (row[0], given)
        sys.stdout.write("\t".join(f.hex() for f in row) + "\n")


main()
