#!/usr/bin/env python3
"""usage: redis_sum.py PORT PREFIX FIELD - print the sum of FIELD over all
PREFIXpartner:{*} hashes (SCAN, so it is safe on a live server)."""
import sys

from ppredis import Redis

port, prefix, field = int(sys.argv[1]), sys.argv[2], sys.argv[3]
r = Redis(port=port)
cursor, total = "0", 0
while True:
    cursor, keys = r.cmd("SCAN", cursor, "MATCH", prefix + "partner:{*", "COUNT", 1000)
    cursor = cursor.decode()
    for k in keys:
        v = r.cmd("HGET", k, field)
        total += int(v) if v is not None else 0
    if cursor == "0":
        break
print(total)
