#!/usr/bin/env python3
"""Classifies the duplicates of scripts/bench-redelivery. A duplicate is a message the sink took twice; the kill
that caused it is the first one that ended after the sink took the first copy. If the gateway was dead before
that copy's 250 left the sink, the duplicate is in the smarthost's part of the window (RFC 1047: no sender can
avoid it); if the kill began after the 250 left, it is in the gateway's part (the 250 was on its way or read but
not yet journaled); a kill that straddles the moment is ambiguous and counted against the gateway.
Prints the classification to stderr and, per round (the senders split into ROUNDS equal ranges), COUNT lines
for scripts/lib/benchrounds.py summarize on stdout.
  redelivery_analysis.py TIMING KILLS MESSAGES ROUNDS KILL-INTERVAL
"""
import bisect, collections, sys
timing_path, kills_path, interval = sys.argv[1], sys.argv[2], sys.argv[5]
messages, rounds = int(sys.argv[3]), int(sys.argv[4])
deliveries = []  # (mid, sender index, taken, sent, ended, how)
for line in open(timing_path):
    mid, rcpt, taken, sent, ended, how = line.rstrip("\n").split("\t")
    index = int(rcpt[1:rcpt.index("@")]) if rcpt.startswith("s") and "@" in rcpt else -1
    deliveries.append((mid, index, float(taken), float(sent), float(ended), how))
kills = sorted(tuple(map(float, line.split())) for line in open(kills_path) if line.strip())
befores = [before for before, _ in kills]
by_mid = collections.defaultdict(list)
for d in deliveries: by_mid[d[0]].append(d)
kinds, gaps, verdict = collections.Counter(), [], {}
for mid, copies in by_mid.items():
    if len(copies) < 2: continue
    _, _, taken, sent, ended, how = min(copies, key=lambda d: d[2])
    # The kill that ended the sender: the last one before the sink noticed the connection was gone.
    k = bisect.bisect_right(befores, ended) - 1
    if how != "lost":
        kind = "gateway alive after the 250 (it went on with %s): not a crash window" % how.upper()
    elif k < 0 or kills[k][0] < taken - 60:
        kind = "no kill near the first copy"
    elif kills[k][1] <= sent:
        kind = "smarthost's part (gateway dead before the 250 left)"
    elif kills[k][0] >= sent:
        kind = "gateway's part (kill after the 250 left)"
        gaps.append(kills[k][0] - sent)
    else:
        kind = "ambiguous (kill while the 250 left), counted as the gateway's"
    kinds[kind] += len(copies) - 1
    verdict[mid] = kind
for kind, count in sorted(kinds.items()):
    print(f"  {count:4d} duplicates: {kind}", file=sys.stderr)
if gaps:
    print("  gateway's part, kill after the 250 by: " + ", ".join(f"{g * 1e6:.0f} µs" for g in sorted(gaps)),
          file=sys.stderr)
per_round = max(1, messages // rounds)
for r in range(rounds):
    lo, hi = r * per_round, (messages if r == rounds - 1 else (r + 1) * per_round)
    mine = [d for d in deliveries if lo <= d[1] < hi]
    if not mine: continue
    counts = collections.Counter(d[0] for d in mine)
    dups = sum(n - 1 for n in counts.values())
    gateway = sum(n - 1 for mid, n in counts.items() if n > 1 and not verdict.get(mid, "").startswith("smarthost"))
    every = f"(kill -9 every {interval} s) vs goal|per 10,000|{r}"
    print(f"COUNT|duplicate deliveries {every}|{dups}|{len(mine)}|1")
    print(f"COUNT|duplicates not in the smarthost's part of the window {every}|{gateway}|{len(mine)}|1")
