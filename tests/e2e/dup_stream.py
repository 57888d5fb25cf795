#!/usr/bin/env python3
"""Publish-twice plan for a gen stream (test_duplicates.sh).

usage: dup_stream.py EVENTS OUTDIR [--share 0.2] [--chunks 10] [--seed 1]

Picks round(share * N) events (seeded) and writes OUTDIR/chunk.NN files, to be
produced in order some seconds apart. Every original line keeps its place;
each picked event is copied, byte for byte (same event_id), either
  * "near": into the next chunk, at most one chunk's length of lines after the
    original (published seconds later, as a producer's retry is), or
  * "far": 2 000 to 6 000 lines of the stream after the original (after
    thousands of other events; clamped into the last chunk),
half and half. Prints "duplicates=D near=A far=B".
"""
import argparse
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("outdir")
    ap.add_argument("--share", type=float, default=0.2)
    ap.add_argument("--chunks", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    lines = [l for l in open(a.events) if l.strip()]
    n = len(lines)
    rnd = random.Random(a.seed)
    per = (n + a.chunks - 1) // a.chunks
    chunk_of = lambda i: min(i // per, a.chunks - 1)
    # each chunk: list of (position key, line); originals at 2*i, copies in between
    chunks = [[] for _ in range(a.chunks)]
    for i, l in enumerate(lines):
        chunks[chunk_of(i)].append((2 * i, l))
    picked = rnd.sample(range(n), round(a.share * n))
    near = far = 0
    for i in picked:
        lo, hi = (chunk_of(i) + 1) * per, min(n, i + per)
        if rnd.random() < 0.5 and lo < hi:
            pos = rnd.randrange(lo, hi)
            c = chunk_of(pos)
            near += 1
        else:
            pos = min(n - 1, i + rnd.randint(2000, 6000))
            c = chunk_of(pos)
            far += 1
        chunks[c].append((2 * pos + 1, lines[i]))
    os.makedirs(a.outdir, exist_ok=True)
    for c, rows in enumerate(chunks):
        rows.sort(key=lambda r: r[0])
        with open(os.path.join(a.outdir, "chunk.%02d" % c), "w") as f:
            f.writelines(l for _, l in rows)
    print("duplicates=%d near=%d far=%d" % (len(picked), near, far))


if __name__ == "__main__":
    main()
