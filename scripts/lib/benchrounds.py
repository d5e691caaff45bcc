#!/usr/bin/env python3
"""Rounds, medians and spread for every benchmark figure (issue 24). The one place that turns measured rounds into
the figures scripts/bench prints; the parts only measure.

A figure is a value measured against a baseline in the same run. Both are measured in rounds that alternate
(A B A B …, never all A then all B), each round long enough to be stable (seconds); the figure is the median of
the per-round ratios A/B, with their minimum and maximum, so one noisy second moves the spread, not the figure.

  benchrounds.py summarize          reads `ROUND|figure|unit|round|value|baseline` lines (the Swift benchmarks'
                                    BenchmarkRounds prints them) and `COUNT|…` lines of a rare event (pooled,
                                    see summarize) from stdin, passes every other line through, and prints one
                                    RESULT line per figure
  benchrounds.py alternate --figure NAME --unit UNIT --a CMD --b CMD
                                    runs the shell commands A and B alternately (each prints one number, the
                                    round's value), then prints the ROUND lines and the RESULT line
  benchrounds.py compare --a CMD --b CMD
                                    runs two whole benchmark commands alternately (A = new build, B = old build),
                                    one round each, and compares the `RESULT|figure|value|…` lines they print,
                                    figure by figure: the ratio new/old of the value and of the figure's own ratio
  benchrounds.py config             prints `ROUNDS SECONDS` of the schedule below (for shell scripts)

Schedule, from the environment: MAILBRIDGE_BENCH_ROUNDS (default 5; 3 when quick), MAILBRIDGE_BENCH_ROUND_SECONDS
(default 2.0; 0.3 when quick), MAILBRIDGE_BENCH_QUICK=1 for smoke runs (fewer, shorter rounds; figures too
noisy to compare).

RESULT lines: `RESULT|figure|value|baseline|ratio|ratio min|ratio max|rounds`, value and baseline are the
medians of their rounds; ratio is the median of the per-round ratios (not value/baseline).
"""
import argparse
import os
import statistics
import subprocess
import sys


def quick():
    return os.environ.get("MAILBRIDGE_BENCH_QUICK", "") not in ("", "0")


def schedule():
    rounds = int(os.environ.get("MAILBRIDGE_BENCH_ROUNDS", "3" if quick() else "5"))
    seconds = float(os.environ.get("MAILBRIDGE_BENCH_ROUND_SECONDS", "0.3" if quick() else "2.0"))
    return max(1, rounds), seconds


def number(text):
    return f"{text:.3f}" if abs(text) < 10 else f"{text:.1f}"


def ratio_text(ratio):
    return f"{ratio:.2f}" if abs(ratio) >= 0.1 else f"{ratio:.3g}"


def result_line(figure, unit, pairs):
    """pairs: [(value, baseline)] in round order → one RESULT line."""
    ratios = [a / b for a, b in pairs if b]
    if not ratios:
        return f"RESULT|{figure} ({unit})|n/a|n/a|n/a|n/a|n/a|0"
    value = statistics.median(a for a, _ in pairs)
    baseline = statistics.median(b for _, b in pairs)
    return (f"RESULT|{figure} ({unit})|{number(value)}|{number(baseline)}|{ratio_text(statistics.median(ratios))}"
            f"|{ratio_text(min(ratios))}|{ratio_text(max(ratios))}|{len(ratios)}")


def count_line(figure, unit, rounds, baseline):
    """rounds: [(events, trials)] of a rare event (duplicates per delivery) → one RESULT line whose value is the
    pooled rate (all events over all trials: a median of per-round counts of a rare event is mostly 0), with the
    per-round ratios' min and max as its spread."""
    scale = float(unit.split()[-1].replace(",", "")) if unit.startswith("per ") else 1.0
    events, trials = sum(e for e, _ in rounds), sum(t for _, t in rounds)
    if not trials or not baseline:
        return f"RESULT|{figure} ({unit})|n/a|n/a|n/a|n/a|n/a|0"
    value = events * scale / trials
    ratios = [e * scale / t / baseline for e, t in rounds if t]
    return (f"RESULT|{figure} ({unit}, {events:g} in {trials:g})|{number(value)}|{number(baseline)}"
            f"|{ratio_text(value / baseline)}|{ratio_text(min(ratios))}|{ratio_text(max(ratios))}|{len(ratios)}")


def summarize(lines, out):
    """ROUND lines are a value against its baseline; COUNT lines (`COUNT|figure|unit|round|events|trials|baseline`,
    unit `per N`) count a rare event in a round and are pooled over the rounds."""
    figures = {}  # figure -> (unit, [(value, baseline)]) in first-seen order
    counts = {}  # figure -> (unit, baseline, [(events, trials)])
    for line in lines:
        if line.startswith("ROUND|"):
            _, figure, unit, _round, value, baseline = line.rstrip("\n").split("|")
            figures.setdefault(figure, (unit, []))[1].append((float(value), float(baseline)))
        elif line.startswith("COUNT|"):
            _, figure, unit, _round, events, trials, baseline = line.rstrip("\n").split("|")
            counts.setdefault(figure, (unit, float(baseline), []))[2].append((float(events), float(trials)))
        out.write(line)
        out.flush()
    for figure, (unit, pairs) in figures.items():
        out.write(result_line(figure, unit, pairs) + "\n")
    for figure, (unit, baseline, rounds) in counts.items():
        out.write(count_line(figure, unit, rounds, baseline) + "\n")


def run_value(command):
    completed = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, check=True, text=True)
    return float(completed.stdout.strip().split()[-1])


def alternate(figure, unit, a, b, out):
    rounds, _ = schedule()
    pairs = []
    for index in range(1, rounds + 1):
        pair = (run_value(a), run_value(b))
        pairs.append(pair)
        out.write(f"ROUND|{figure}|{unit}|{index}|{pair[0]}|{pair[1]}\n")
        out.flush()
    out.write(result_line(figure, unit, pairs) + "\n")


def results_of(command, log):
    """Runs a whole benchmark command once; returns {figure: (value, ratio)} from its RESULT lines."""
    completed = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(completed.stdout)
    log.flush()
    if completed.returncode != 0:
        raise SystemExit(f"benchrounds compare: command failed ({completed.returncode}): {command}")
    found = {}
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT|"):
            fields = line.split("|")
            try:
                value = float(fields[2])
            except (IndexError, ValueError):
                continue
            try:
                ratio = float(fields[4])
            except (IndexError, ValueError):
                ratio = None  # a figure without a baseline (callgrind counts)
            found[fields[1]] = (value, ratio)
    return found


def compare(a, b, out, log):
    rounds, _ = schedule()
    values, ratios, order = {}, {}, []
    for index in range(1, rounds + 1):
        new, old = results_of(a, log), results_of(b, log)
        for figure in new:
            if figure not in old:
                continue
            if figure not in order:
                order.append(figure)
            values.setdefault(figure, []).append((new[figure][0], old[figure][0]))
            if new[figure][1] is not None and old[figure][1] is not None:
                ratios.setdefault(figure, []).append((new[figure][1], old[figure][1]))
            out.write(f"ROUND|{figure}|{index}|new {new[figure][0]} old {old[figure][0]}\n")
            out.flush()
    for figure in order:
        out.write(result_line(f"{figure}, new/old value", "ratio", values[figure]).replace("RESULT|", "COMPARE|", 1)
                  + "\n")
        if figure in ratios:
            out.write(result_line(f"{figure}, new/old of its ratio to the baseline", "ratio", ratios[figure])
                      .replace("RESULT|", "COMPARE|", 1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("summarize")
    sub.add_parser("config")
    alt = sub.add_parser("alternate")
    alt.add_argument("--figure", required=True)
    alt.add_argument("--unit", required=True)
    alt.add_argument("--a", required=True)
    alt.add_argument("--b", required=True)
    cmp = sub.add_parser("compare")
    cmp.add_argument("--a", required=True, help="the new build's benchmark command")
    cmp.add_argument("--b", required=True, help="the old build's benchmark command")
    cmp.add_argument("--log", default="/dev/stderr")
    args = parser.parse_args()
    if args.mode == "summarize":
        summarize(sys.stdin, sys.stdout)
    elif args.mode == "config":
        print(*schedule())
    elif args.mode == "alternate":
        alternate(args.figure, args.unit, args.a, args.b, sys.stdout)
    else:
        with open(args.log, "a") as log:
            compare(args.a, args.b, sys.stdout, log)


if __name__ == "__main__":
    main()
