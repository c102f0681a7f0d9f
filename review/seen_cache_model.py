#!/usr/bin/python3
"""Model of http_auth.c's replay cache (2^17 slots, linear probe of 64, 0 = free): how many
live entries random signatures must occupy before a fresh request is refused 503 BUSY.
Prints, after k attacker inserts (all live), the share of attacker inserts already refused
and the chance that one legitimate request is refused."""
import random, sys
SLOTS, PROBE = 1 << 17, 64
random.seed(1)
occ = bytearray(SLOTS)
def add(tag):
    for i in range(PROBE):
        j = (tag + i) & (SLOTS - 1)
        if not occ[j]:
            occ[j] = 1
            return True
    return False
refused = 0
checkpoints = [60000, 80000, 100000, 110000, 120000, 125000, 130000]
for k in range(1, checkpoints[-1] + 1):
    if not add(random.getrandbits(64)):
        refused += 1
    if k in checkpoints:
        trials = 5000
        busy = sum(1 for _ in range(trials)
                   if all(occ[(t + i) & (SLOTS - 1)] for t in [random.getrandbits(64)] for i in range(PROBE)))
        print(f"{k:7d} inserts: {sum(occ):7d} live, {refused:6d} refused so far, "
              f"a legitimate request refused with p={busy/trials:.3f}")
