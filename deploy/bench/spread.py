#!/usr/bin/env python3
"""The time-spread stream of deploy/bench/run (stdlib only).

  spread.py --events N --seed S IN OUT

IN is a `partnerpulse gen` stream (JSON lines sorted by event time); OUT gets
about N of its lines, each kept with probability N / lines(IN) (drawn with
random.Random(S)), in an order shuffled with random.Random(S + 1): events of
every partner at random times, produced out of time order. Same IN, N and S give the same bytes. Prints the
number of lines written.
"""
import argparse
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, required=True, help="lines to keep, about")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("src")
    ap.add_argument("dst")
    a = ap.parse_args()
    with open(a.src, "rb") as f:
        total = sum(1 for _ in f)
    p = min(1.0, a.events / total) if total else 0.0
    rng = random.Random(a.seed)
    with open(a.src, "rb") as f:
        kept = [line for line in f if rng.random() < p]
    random.Random(a.seed + 1).shuffle(kept)
    with open(a.dst, "wb") as f:
        f.writelines(kept)
    print(len(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main())
