#!/usr/bin/env python3
"""Where a process's resident memory goes (issue 23): /proc/PID/smaps summed by what each mapping holds.

    scripts/rss-breakdown.py PID

Groups: the executable (text, read-only data, writable data), each shared library, glibc's main heap, glibc's
thread arenas (anonymous mappings at 64 MiB boundaries: HEAP_MAX_SIZE on 64-bit), thread stacks (the mapping
holding each thread's stack pointer, read from /proc/PID/task/TID/syscall; needs ptrace access, e.g. root), other
anonymous mappings (mmap'd buffers, Swift runtime), and other files (the store's WAL index, …). Prints Rss, Pss and
the anonymous part of each group in KiB, largest first, then the threads by name.
"""
import collections
import os
import re
import sys

pid = sys.argv[1]
exe = os.readlink(f"/proc/{pid}/exe")
header = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")

mappings = []
with open(f"/proc/{pid}/smaps") as smaps:
    current = None
    for line in smaps:
        match = header.match(line)
        if match:
            current = {"start": int(match[1], 16), "end": int(match[2], 16), "perms": match[3],
                       "path": match[4].strip(), "Rss": 0, "Pss": 0, "Anonymous": 0}
            mappings.append(current)
        else:
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss", "Anonymous"):
                current[key] = int(value.split()[0])

# Each thread's stack pointer (field 9 of /proc/PID/task/TID/syscall while it waits in a system call).
threads = {}
for tid in os.listdir(f"/proc/{pid}/task"):
    name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
    stack_pointer = None
    try:
        fields = open(f"/proc/{pid}/task/{tid}/syscall").read().split()
        if len(fields) >= 9:
            stack_pointer = int(fields[7], 16)
    except OSError:
        pass
    threads[int(tid)] = (name, stack_pointer)
stack_owner = {}
for tid, (name, stack_pointer) in threads.items():
    for mapping in mappings:
        if stack_pointer is not None and mapping["start"] <= stack_pointer < mapping["end"]:
            stack_owner[mapping["start"]] = name

ARENA = 64 << 20
groups = collections.defaultdict(lambda: [0, 0, 0, 0])   # rss, pss, anonymous, mappings
stacks = []
for mapping in mappings:
    path, perms = mapping["path"], mapping["perms"]
    if path == exe:
        kind = "r-x" if "x" in perms else ("rw-" if "w" in perms else "r--")
        group = f"executable ({kind})"
    elif path == "[heap]":
        group = "glibc main heap ([heap])"
    elif path == "[stack]":
        group = "main thread stack ([stack])"
    elif path.startswith("["):
        group = path
    elif path.startswith("/"):
        name = os.path.basename(path.replace(" (deleted)", ""))
        group = ("shared library " + name) if ".so" in name else ("file " + path)
    elif mapping["start"] in stack_owner:
        group = "thread stacks"
        stacks.append((stack_owner[mapping["start"]], mapping["Rss"], mapping["end"] - mapping["start"]))
    elif mapping["start"] % ARENA == 0 or (mapping["start"] % ARENA == 4096 and perms == "rw-p"):
        group = "glibc thread arenas"
    else:
        group = "other anonymous mappings"
    values = groups[group]
    values[0] += mapping["Rss"]; values[1] += mapping["Pss"]; values[2] += mapping["Anonymous"]; values[3] += 1

total = [sum(v[i] for v in groups.values()) for i in range(3)]
print(f"{'group':<58} {'Rss KiB':>9} {'Pss KiB':>9} {'Anon KiB':>9} {'maps':>5}")
for group, (rss, pss, anonymous, count) in sorted(groups.items(), key=lambda item: -item[1][0]):
    if rss == 0:
        continue
    print(f"{group[:58]:<58} {rss:>9} {pss:>9} {anonymous:>9} {count:>5}")
print(f"{'total':<58} {total[0]:>9} {total[1]:>9} {total[2]:>9} {len(mappings):>5}")
names = collections.Counter(name for name, _ in threads.values())
print(f"\nthreads: {len(threads)} — " + ", ".join(f"{name} × {n}" for name, n in sorted(names.items())))
print("thread stacks (name: resident KiB of mapped KiB): "
      + ", ".join(f"{name}: {rss}/{size >> 10}" for name, rss, size in sorted(stacks)))
