#!/usr/bin/env python3
# redteamcraft.py - extra attack shapes for the red-team tests (Tests/*/RedTeam*Tests.swift), built on pgpcraft.py's
# packet and armor helpers. Input files are armored or binary OpenPGP; output goes to stdout (binary packets unless
# said otherwise, ready for `pgpcraft.py wrap`). Standard library only.
#
#   relit IN --name N --date D [--crlf]   the signed message IN (compression removed) with its Literal Data packet's
#                                         file name and date replaced (not covered by an OpenPGP signature); --crlf
#                                         also turns LF into CRLF in the data (covered only by a binary signature)
#   cosign VICTIM ATTACKER [--attacker-first]
#                                         one literal (VICTIM's) carrying both messages' signatures: OPS, OPS,
#                                         Literal, Signature, Signature; the victim's signature comes first in gpg's
#                                         report unless --attacker-first
#   markers N IN                          N marker packets in front of IN's packets, armored
#   badchar IN                            IN armored with one character gpg skips ('*') in the middle of the base64
#   concat ITEM...                        packets one after the other; ITEM is PATH (its packets) or lit:TEXT

import argparse
import os
import sys
import zlib
import bz2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgpcraft as pc  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        return pc.dearmor(f.read())


def flatten(data):
    out = []
    for p in pc.parse_packets(data):
        if p.tag == 8:
            algo, raw = p.body[0], p.body[1:]
            inner = {0: lambda r: r, 1: lambda r: zlib.decompressobj(-15).decompress(r),
                     2: zlib.decompress, 3: bz2.decompress}[algo](raw)
            out += flatten(inner)
        else:
            out.append(p)
    return out


def one(packets, tag):
    found = [p for p in packets if p.tag == tag]
    if not found:
        pc.fail("no packet with tag %d" % tag)
    return found[0]


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("relit")
    p.add_argument("input")
    p.add_argument("--name", default="")
    p.add_argument("--date", type=int, default=0)
    p.add_argument("--crlf", action="store_true")
    p = sub.add_parser("cosign")
    p.add_argument("victim")
    p.add_argument("attacker")
    p.add_argument("--attacker-first", action="store_true")
    p = sub.add_parser("markers")
    p.add_argument("count", type=int)
    p.add_argument("input")
    p = sub.add_parser("badchar")
    p.add_argument("input")
    p = sub.add_parser("concat")
    p.add_argument("items", nargs="+")
    args = parser.parse_args()

    out = b""
    if args.cmd == "relit":
        for packet in flatten(read(args.input)):
            if packet.tag == 11:
                fmt, length = packet.body[0], packet.body[1]
                data = packet.body[6 + length:]
                if args.crlf:
                    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                name = args.name.encode()
                out += pc.frame_new(11, bytes([fmt, len(name)]) + name + args.date.to_bytes(4, "big") + data)
            else:
                out += pc.frame_new(packet.tag, packet.body)
    elif args.cmd == "cosign":
        victim, attacker = flatten(read(args.victim)), flatten(read(args.attacker))
        ops_v, lit, sig_v = one(victim, 4), one(victim, 11), one(victim, 2)
        ops_a, sig_a = one(attacker, 4), one(attacker, 2)
        # The last octet of a one-pass signature is its "nested" flag: 0 means another OPS follows for the same data.
        first, second = (ops_a, ops_v) if not args.attacker_first else (ops_v, ops_a)
        sigs = (sig_v, sig_a) if not args.attacker_first else (sig_a, sig_v)
        out = (pc.frame_new(4, first.body[:-1] + b"\x00") + pc.frame_new(4, second.body[:-1] + b"\x01")
               + pc.frame_new(11, lit.body) + b"".join(pc.frame_new(2, s.body) for s in sigs))
    elif args.cmd == "markers":
        out = pc.armor(pc.frame_old(10, b"PGP") * args.count + read(args.input))
    elif args.cmd == "badchar":
        text = pc.armor(read(args.input)).decode("ascii").split("\n")
        middle = 2 + (len(text) - 5) // 2
        text[middle] = text[middle][:10] + "*" + text[middle][10:]
        out = "\n".join(text).encode("ascii")
    elif args.cmd == "concat":
        for item in args.items:
            if item.startswith("lit:"):
                out += pc.literal(item[4:].encode())
            else:
                out += b"".join(pc.frame_new(q.tag, q.body) for q in pc.parse_packets(read(item)))
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    try:
        main()
    except pc.CraftError as e:
        sys.stderr.write("redteamcraft: error: %s\n" % e)
        sys.exit(2)
