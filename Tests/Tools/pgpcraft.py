#!/usr/bin/env python3
# pgpcraft.py - builds adversarial OpenPGP messages for MailBridge's tests.
#
# The tests encrypt real messages with gpg / sq / rnp at test time and call this script to turn them into attacks:
# the same packets in other encodings (armor variants, packet-header framings), "nested encryption" (an encrypted
# message whose plaintext is another encrypted message), and truncated or bit-flipped AEAD messages. Nothing is
# checked in as a binary blob: every attack is derived from a fresh ciphertext.
#
# Self-contained: Python 3 standard library plus the `cryptography` package (only for `nest`/`wrap`). No network.
# Deterministic apart from the random CFB prefix in `nest`/`wrap`. Input is a file path (armored or binary; de-armored
# automatically); output goes to stdout. Bad input: a message on stderr and exit status 2.
#
#   reencode VARIANT IN            same packets, other encoding; armored (LF, 64 columns, CRC) unless VARIANT=binary.
#                                  VARIANT: comment line64 line76 line40 nocrc lf crlf binary marker oldheaders
#                                  newheaders partial (oldheaders keeps tags > 15 in new format: old headers cannot
#                                  carry them; partial needs an encrypted packet body of at least 512 octets)
#   nest --recipient-home H --recipient FPR [--recipient FPR2 ...] [--compress none|zip|zlib] [--literal]
#        [--cipher-algo NAME] INNER
#                                  outer PKESK(s) from gpg + our own SEIPD v1 (MDC) whose plaintext is INNER's raw
#                                  packets (or, with --literal, a Literal Data packet whose content is INNER); armored.
#                                  The session key comes from `gpg --debug crypto` (public keys suffice) and is
#                                  checked against gpg's own SEIPD before use
#   wrap --recipient-home H --recipient FPR [...] [--compress ..] [--literal] IN
#                                  the same for any packet stream IN (e.g. signed packets from `gpg --unwrap`, to
#                                  re-encrypt a signed message to someone else: surreptitious forwarding)
#   aead-info IN                   JSON description of the AEAD packet (tag 20 or SEIPD v2) and its chunks
#   aead-cut (--chunks N | --bytes K) IN     drop chunks after the first N (and the final tag) / the last K octets
#   aead-flip (--chunk I | --tag I | --final-tag) IN   flip one bit in chunk I's ciphertext / chunk I's tag / final tag
#   sigsubpackets [--home H] IN    JSON list of the signatures (and their subpackets) inside IN; decrypts with
#                                  `gpg --unwrap` when IN is encrypted (needs the secret key in H)
#   packets IN                     JSON list of the top-level packets (tag, header format, lengths, offsets)

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zlib


class CraftError(Exception):
    pass


def fail(msg):
    raise CraftError(msg)


# ---------------------------------------------------------------------------------------------------------------
# Armor

def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(raw):
    """Returns binary OpenPGP data; raw may already be binary."""
    if not raw:
        fail("empty input")
    if raw[0] & 0x80:
        return raw
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        fail("input is neither binary OpenPGP (first octet lacks bit 7) nor ASCII armor")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = None
    for i, line in enumerate(lines):
        if line.startswith("-----BEGIN PGP ") and line.rstrip().endswith("-----"):
            start = i
            break
    if start is None:
        fail("no '-----BEGIN PGP ...-----' armor header line found")
    if lines[start].startswith("-----BEGIN PGP SIGNED MESSAGE"):
        fail("cleartext-signed messages are not supported")
    i = start + 1
    while i < len(lines) and lines[i].strip() != "":
        if ":" not in lines[i]:
            break  # tolerate a missing blank line after the header line
        i += 1
    if i < len(lines) and lines[i].strip() == "":
        i += 1
    body, crc = [], None
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("-----END PGP "):
            break
        if line.startswith("=") and len(line) == 5:
            crc = line[1:]
        elif line:
            body.append(line)
        i += 1
    else:
        fail("armor END line missing")
    try:
        data = base64.b64decode("".join(body), validate=True)
    except Exception as e:  # binascii.Error
        fail("bad base64 in armor: %s" % e)
    if crc is not None:
        try:
            want = int.from_bytes(base64.b64decode(crc, validate=True), "big")
        except Exception:
            fail("bad armor checksum line")
        if want != crc24(data):
            fail("armor CRC mismatch")
    if not data:
        fail("armor contains no data")
    return data


def armor(data, kind="MESSAGE", headers=(), line_len=64, crc=True, eol="\n"):
    b64 = base64.b64encode(data).decode("ascii")
    out = ["-----BEGIN PGP %s-----" % kind]
    out += ["%s: %s" % h for h in headers]
    out.append("")
    out += [b64[i:i + line_len] for i in range(0, len(b64), line_len)]
    if crc:
        out.append("=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode("ascii"))
    out.append("-----END PGP %s-----" % kind)
    return (eol.join(out) + eol).encode("ascii")


# ---------------------------------------------------------------------------------------------------------------
# Packet framing

class Packet:
    def __init__(self, tag, body, new_format, offset=0, header_len=0, partial=False, raw_len=0):
        self.tag, self.body, self.new_format = tag, body, new_format
        self.offset, self.header_len, self.partial, self.raw_len = offset, header_len, partial, raw_len

    def info(self):
        return {"tag": self.tag, "name": TAG_NAMES.get(self.tag, "unknown"), "offset": self.offset,
                "format": "new" if self.new_format else "old", "header_len": self.header_len,
                "partial_or_indeterminate": self.partial, "body_len": len(self.body), "raw_len": self.raw_len}


TAG_NAMES = {1: "PKESK", 2: "Signature", 3: "SKESK", 4: "One-Pass Signature", 5: "Secret Key", 6: "Public Key",
             7: "Secret Subkey", 8: "Compressed Data", 9: "SED", 10: "Marker", 11: "Literal Data", 12: "Trust",
             13: "User ID", 14: "Public Subkey", 17: "User Attribute", 18: "SEIPD", 19: "MDC",
             20: "AEAD Encrypted Data", 21: "Padding"}
ENCRYPTED_TAGS = (9, 18, 20)


def parse_packets(data):
    packets, pos = [], 0
    while pos < len(data):
        start = pos
        ctb = data[pos]
        pos += 1
        if not ctb & 0x80:
            fail("octet 0x%02x at offset %d is not a packet header" % (ctb, start))
        if ctb & 0x40:  # new format
            tag, chunks, partial = ctb & 0x3F, [], False
            while True:
                if pos >= len(data):
                    fail("truncated new-format length at offset %d" % pos)
                o = data[pos]
                if o < 192:
                    n, pos, last = o, pos + 1, True
                elif o < 224:
                    if pos + 1 >= len(data):
                        fail("truncated two-octet length at offset %d" % pos)
                    n, pos, last = ((o - 192) << 8) + data[pos + 1] + 192, pos + 2, True
                elif o == 255:
                    if pos + 4 >= len(data):
                        fail("truncated five-octet length at offset %d" % pos)
                    n, pos, last = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5, True
                else:
                    n, pos, last, partial = 1 << (o & 0x1F), pos + 1, False, True
                if not chunks:
                    header_len = pos - start
                if pos + n > len(data):
                    fail("packet at offset %d (tag %d) claims %d octets, only %d left"
                         % (start, tag, n, len(data) - pos))
                chunks.append(data[pos:pos + n])
                pos += n
                if last:
                    break
            body = b"".join(chunks)
            packets.append(Packet(tag, body, True, start, header_len, partial, pos - start))
        else:  # old format
            tag, ltype = (ctb >> 2) & 0x0F, ctb & 3
            if ltype == 3:
                body, header_len = data[pos:], 1
                pos = len(data)
                packets.append(Packet(tag, body, False, start, header_len, True, pos - start))
                continue
            nlen = (1, 2, 4)[ltype]
            if pos + nlen > len(data):
                fail("truncated old-format length at offset %d" % pos)
            n = int.from_bytes(data[pos:pos + nlen], "big")
            pos += nlen
            if pos + n > len(data):
                fail("packet at offset %d (tag %d) claims %d octets, only %d left" % (start, tag, n, len(data) - pos))
            packets.append(Packet(tag, data[pos:pos + n], False, start, 1 + nlen, False, 1 + nlen + n))
            pos += n
    if not packets:
        fail("no packets")
    return packets


def new_len(n):
    if n < 192:
        return bytes([n])
    if n < 8384:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xFF])
    return b"\xff" + n.to_bytes(4, "big")


def frame_new(tag, body):
    return bytes([0xC0 | tag]) + new_len(len(body)) + body


def frame_old(tag, body):
    if tag > 15:
        fail("tag %d cannot be written with an old-format header" % tag)
    n = len(body)
    if n < 0x100:
        return bytes([0x80 | tag << 2 | 0]) + bytes([n]) + body
    if n < 0x10000:
        return bytes([0x80 | tag << 2 | 1]) + n.to_bytes(2, "big") + body
    return bytes([0x80 | tag << 2 | 2]) + n.to_bytes(4, "big") + body


def frame_partial(tag, body, chunk=512):
    if len(body) < chunk:
        fail("partial framing needs a body of at least %d octets (RFC 4880 4.2.2.4: the first partial length must "
             "be >= 512); this packet has %d - encrypt a longer plaintext" % (chunk, len(body)))
    exp = chunk.bit_length() - 1
    out, pos = bytearray([0xC0 | tag]), 0
    while len(body) - pos > chunk:  # the last part (possibly empty) is a definite length
        out += bytes([224 + exp]) + body[pos:pos + chunk]
        pos += chunk
    out += new_len(len(body) - pos) + body[pos:]
    return bytes(out)


def frame_like(p):
    """Re-emits a packet with a definite length, keeping its header format where possible."""
    if not p.new_format and p.tag <= 15:
        return frame_old(p.tag, p.body)
    return frame_new(p.tag, p.body)


# ---------------------------------------------------------------------------------------------------------------
# reencode

VARIANTS = ("comment", "line64", "line76", "line40", "nocrc", "lf", "crlf", "binary", "marker", "oldheaders",
            "newheaders", "partial")


def cmd_reencode(args):
    data = dearmor(read_input(args.input))
    packets = parse_packets(data)
    v = args.variant
    if v == "comment":
        return armor(data, headers=[("Comment", "pgpcraft reencode comment variant"),
                                    ("Version", "pgpcraft 1.0 (not the real producer)")])
    if v.startswith("line"):
        return armor(data, line_len=int(v[4:]))
    if v == "nocrc":
        return armor(data, crc=False)
    if v == "lf":
        return armor(data, eol="\n")
    if v == "crlf":
        return armor(data, eol="\r\n")
    if v == "binary":
        return data
    if v == "marker":
        return armor(frame_old(10, b"PGP") + data)
    if v == "oldheaders":  # tags > 15 (SEIPD 18, AEAD 20) have no old-format header: they get new-format ones
        return armor(b"".join(frame_old(p.tag, p.body) if p.tag <= 15 else frame_new(p.tag, p.body)
                              for p in packets))
    if v == "newheaders":
        return armor(b"".join(frame_new(p.tag, p.body) for p in packets))
    if v == "partial":
        enc = [p for p in packets if p.tag in ENCRYPTED_TAGS]
        if len(enc) != 1:
            fail("expected exactly one encrypted data packet (tag 9, 18 or 20), found %d" % len(enc))
        return armor(b"".join(frame_partial(p.tag, p.body) if p.tag in ENCRYPTED_TAGS else frame_like(p)
                              for p in packets))
    fail("unknown variant %r" % v)


# ---------------------------------------------------------------------------------------------------------------
# nest

# symmetric algorithm id -> (name, key length, block size)
SYM_ALGOS = {2: ("3DES", 24, 8), 3: ("CAST5", 16, 8), 4: ("Blowfish", 16, 8), 7: ("AES128", 16, 16),
             8: ("AES192", 24, 16), 9: ("AES256", 32, 16), 10: ("Twofish", 32, 16), 11: ("Camellia128", 16, 16),
             12: ("Camellia192", 24, 16), 13: ("Camellia256", 32, 16)}


def block_cipher(algo, key):
    from cryptography.hazmat.primitives.ciphers import algorithms
    if algo in (7, 8, 9):
        return algorithms.AES(key)
    try:
        from cryptography.hazmat.decrepit.ciphers import algorithms as old
    except ImportError:
        old = algorithms
    table = {2: "TripleDES", 3: "CAST5", 4: "Blowfish", 11: "Camellia", 12: "Camellia", 13: "Camellia"}
    if algo in table and hasattr(old, table[algo]):
        return getattr(old, table[algo])(key)
    if algo in table and hasattr(algorithms, table[algo]):
        return getattr(algorithms, table[algo])(key)
    fail("symmetric algorithm %d is not available in the cryptography package; use --cipher-algo AES256" % algo)


def cfb_modes():
    try:
        from cryptography.hazmat.decrepit.ciphers import modes  # cryptography >= 48
        if hasattr(modes, "CFB"):
            return modes
    except ImportError:
        pass
    from cryptography.hazmat.primitives.ciphers import modes
    return modes


def seipd_v1(algo, key, plaintext):
    from cryptography.hazmat.primitives.ciphers import Cipher
    modes = cfb_modes()
    name, klen, bs = SYM_ALGOS[algo]
    if len(key) != klen:
        fail("session key for %s must be %d octets, got %d" % (name, klen, len(key)))
    prefix = os.urandom(bs)
    prefix += prefix[-2:]
    mdc_input = prefix + plaintext + b"\xd3\x14"
    clear = mdc_input + hashlib.sha1(mdc_input).digest()
    enc = Cipher(block_cipher(algo, key), modes.CFB(b"\0" * bs)).encryptor()
    return b"\x01" + enc.update(clear) + enc.finalize()


def seipd_v1_decrypt(algo, key, body):
    """Decrypts a SEIPD v1 body; returns the plaintext or None when the MDC does not match."""
    from cryptography.hazmat.primitives.ciphers import Cipher
    modes = cfb_modes()
    bs = SYM_ALGOS[algo][2]
    if body[:1] != b"\x01" or len(body) < 1 + bs + 2 + 22:
        return None
    dec = Cipher(block_cipher(algo, key), modes.CFB(b"\0" * bs)).decryptor()
    clear = dec.update(body[1:]) + dec.finalize()
    if clear[bs - 2:bs] != clear[bs:bs + 2] or clear[-22:-20] != b"\xd3\x14":
        return None
    if hashlib.sha1(clear[:-20]).digest() != clear[-20:]:
        return None
    return clear[bs + 2:-22]


def gpg_session(home, recipients, cipher_algo):
    """Lets gpg encrypt a throwaway message; returns (PKESK packets, algo id, session key).

    gpg 2.2 does not reveal the session key when encrypting (--show-session-key and the SESSION_KEY status line
    only work when decrypting), so we read it from `--debug crypto` ("DBG: DEK is: ..") and the cipher from the
    BEGIN_ENCRYPTION status line, then prove it by decrypting gpg's own SEIPD packet and checking its MDC. Only
    the public keys are needed."""
    cmd = ["gpg", "--homedir", home, "--batch", "--yes", "--no-tty", "--trust-model", "always",
           "--status-fd", "2", "--debug", "crypto", "--compress-algo", "none", "--encrypt"]
    if cipher_algo:
        cmd += ["--cipher-algo", cipher_algo]
    for r in recipients:
        cmd += ["--recipient", r]
    proc = subprocess.run(cmd, input=b"pgpcraft throwaway", capture_output=True)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        fail("gpg --encrypt failed (exit %d): %s" % (proc.returncode,
                                                      "\n".join(l for l in err.splitlines() if "DBG:" not in l)))
    algo, dek, lines = None, None, err.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[GNUPG:] BEGIN_ENCRYPTION "):
            algo = int(line.split()[3])
        elif "DBG: DEK is:" in line:
            hexs = line.split("DEK is:", 1)[1].split()
            for cont in lines[i + 1:]:  # long keys may continue on further DBG lines holding only hex octets
                toks = cont.split("DBG:", 1)[1].split() if "DBG:" in cont else []
                if not toks or not all(len(t) == 2 and all(c in "0123456789abcdefABCDEF" for c in t)
                                       for t in toks):
                    break
                hexs += toks
            dek = bytes.fromhex("".join(hexs))
    if algo is None or dek is None:
        fail("could not read the session key from gpg --debug crypto output")
    if algo not in SYM_ALGOS:
        fail("gpg chose unsupported symmetric algorithm %d" % algo)
    dek = dek[:SYM_ALGOS[algo][1]]
    packets = parse_packets(proc.stdout)
    pkesks = [p for p in packets if p.tag == 1]
    enc = [p for p in packets if p.tag in ENCRYPTED_TAGS]
    if not pkesks or len(enc) != 1 or enc[0].tag != 18 or enc[0].body[:1] != b"\x01":
        fail("unexpected packet structure from gpg: %s" % [p.tag for p in packets])
    if seipd_v1_decrypt(algo, dek, enc[0].body) is None:
        fail("the session key read from gpg's debug output does not decrypt gpg's own SEIPD packet")
    return pkesks, algo, dek


def compress(algo, data):
    if algo == "none":
        return data
    if algo == "zip":
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return frame_new(8, b"\x01" + c.compress(data) + c.flush())
    if algo == "zlib":
        return frame_new(8, b"\x02" + zlib.compress(data, 9))
    fail("unknown compression %r" % algo)


def literal(data, name=b""):
    return frame_new(11, b"b" + bytes([len(name)]) + name + b"\0\0\0\0" + data)


def cmd_nest(args):
    inner = dearmor(read_input(args.inner))
    inner_packets = parse_packets(inner)
    if args.cmd == "nest" and not args.literal and not any(p.tag in ENCRYPTED_TAGS for p in inner_packets):
        fail("INNER contains no encrypted data packet; is it an encrypted message? (use `wrap` for other packets)")
    pkesks, algo, key = gpg_session(args.recipient_home, args.recipient, args.cipher_algo)
    plain = literal(inner) if args.literal else inner
    plain = compress(args.compress, plain)
    seipd = seipd_v1(algo, key, plain)
    return armor(b"".join(frame_new(1, p.body) for p in pkesks) + frame_new(18, seipd))


# ---------------------------------------------------------------------------------------------------------------
# AEAD

AEAD_ALGOS = {1: ("EAX", 16), 2: ("OCB", 15), 3: ("GCM", 12)}
TAG_LEN = 16


def aead_layout(packets):
    idx = [i for i, p in enumerate(packets) if p.tag in ENCRYPTED_TAGS]
    if len(idx) != 1:
        fail("expected exactly one encrypted data packet, found %d" % len(idx))
    i = idx[0]
    p = packets[i]
    b = p.body
    info = {"packet_index": i, "tag": p.tag, "packet_offset": p.offset, "header_len": p.header_len,
            "header_format": "new" if p.new_format else "old", "partial_lengths_in_input": p.partial,
            "body_len": len(b)}
    if p.tag == 20 and len(b) >= 4 and b[0] == 1:
        cipher, aead, cbyte = b[1], b[2], b[3]
        if aead not in AEAD_ALGOS:
            fail("unknown AEAD algorithm %d" % aead)
        ivlen = AEAD_ALGOS[aead][1]
        hdr = 4 + ivlen
        info.update(form="AEAD Encrypted Data packet v1 (tag 20, rfc4880bis)", iv_hex=b[4:hdr].hex())
    elif p.tag == 18 and len(b) >= 4 and b[0] == 2:
        cipher, aead, cbyte = b[1], b[2], b[3]
        if aead not in AEAD_ALGOS:
            fail("unknown AEAD algorithm %d" % aead)
        hdr = 4 + 32
        info.update(form="SEIPD v2 (tag 18, RFC 9580)", salt_hex=b[4:hdr].hex())
    else:
        fail("encrypted packet is tag %d version %s, not AEAD (tag 20 v1 or tag 18 v2)"
             % (p.tag, b[0] if b else None))
    if cbyte > 16:
        fail("chunk size octet %d out of range" % cbyte)
    csize = 1 << (cbyte + 6)
    if len(b) < hdr + TAG_LEN:
        fail("AEAD packet too short for its header and final tag")
    info.update(cipher=cipher, cipher_name=SYM_ALGOS.get(cipher, ("unknown",))[0], aead_algo=aead,
                aead_name=AEAD_ALGOS[aead][0], chunk_size_octet=cbyte, chunk_size=csize, data_offset=hdr)
    chunks, pos, end = [], hdr, len(b) - TAG_LEN
    while pos < end:
        n = min(csize + TAG_LEN, end - pos)
        if n < TAG_LEN:
            fail("trailing %d octets are too short for a chunk tag" % n)
        chunks.append({"index": len(chunks), "offset": pos, "ciphertext_len": n - TAG_LEN,
                       "tag_offset": pos + n - TAG_LEN})
        pos += n
    info.update(chunks=chunks, num_chunks=len(chunks), final_tag_offset=end,
                plaintext_len=sum(c["ciphertext_len"] for c in chunks),
                offsets_note="chunk/tag offsets are relative to the start of the packet body")
    return p, info


def rebuild(packets, p, body):
    return b"".join(frame_new(q.tag, body) if q is p else frame_like(q) for q in packets)


def cmd_aead_info(args):
    packets = parse_packets(dearmor(read_input(args.input)))
    _, info = aead_layout(packets)
    return (json.dumps(info, indent=2) + "\n").encode()


def cmd_aead_cut(args):
    packets = parse_packets(dearmor(read_input(args.input)))
    p, info = aead_layout(packets)
    if args.chunks is not None:
        if not 0 <= args.chunks <= info["num_chunks"]:
            fail("--chunks must be between 0 and %d" % info["num_chunks"])
        end = info["chunks"][args.chunks]["offset"] if args.chunks < info["num_chunks"] else info["final_tag_offset"]
        body = p.body[:end]
    else:
        if not 0 < args.bytes <= len(p.body) - info["data_offset"]:
            fail("--bytes must be between 1 and %d" % (len(p.body) - info["data_offset"]))
        body = p.body[:-args.bytes]
    return armor(rebuild(packets, p, body))


def cmd_aead_flip(args):
    packets = parse_packets(dearmor(read_input(args.input)))
    p, info = aead_layout(packets)
    if args.final_tag:
        off = info["final_tag_offset"]
    else:
        i = args.chunk if args.chunk is not None else args.tag
        if not 0 <= i < info["num_chunks"]:
            fail("chunk index must be between 0 and %d" % (info["num_chunks"] - 1))
        c = info["chunks"][i]
        if args.chunk is not None:
            if c["ciphertext_len"] == 0:
                fail("chunk %d has no ciphertext octets" % i)
            off = c["offset"] + c["ciphertext_len"] // 2
        else:
            off = c["tag_offset"]
    body = bytearray(p.body)
    body[off] ^= 0x01
    return armor(rebuild(packets, p, bytes(body)))


# ---------------------------------------------------------------------------------------------------------------
# Signatures and their subpackets

SUBPACKETS = {2: "Signature Creation Time", 3: "Signature Expiration Time", 4: "Exportable Certification",
              5: "Trust Signature", 6: "Regular Expression", 7: "Revocable", 9: "Key Expiration Time",
              11: "Preferred Symmetric Ciphers", 12: "Revocation Key", 16: "Issuer Key ID", 20: "Notation Data",
              21: "Preferred Hash Algorithms", 22: "Preferred Compression Algorithms", 23: "Key Server Preferences",
              24: "Preferred Key Server", 25: "Primary User ID", 26: "Policy URI", 27: "Key Flags",
              28: "Signer's User ID", 29: "Reason for Revocation", 30: "Features", 31: "Signature Target",
              32: "Embedded Signature", 33: "Issuer Fingerprint", 34: "Preferred AEAD Algorithms",
              35: "Intended Recipient Fingerprint", 37: "Attested Certifications", 38: "Key Block",
              39: "Preferred AEAD Ciphersuites"}


def parse_subpackets(data):
    out, pos = [], 0
    while pos < len(data):
        o = data[pos]
        if o < 192:
            n, pos = o, pos + 1
        elif o < 255:
            n, pos = ((o - 192) << 8) + data[pos + 1] + 192, pos + 2
        else:
            n, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
        if n == 0 or pos + n > len(data):
            fail("malformed signature subpacket")
        t, val = data[pos], data[pos + 1:pos + n]
        pos += n
        sp = {"type": t & 0x7F, "critical": bool(t & 0x80), "name": SUBPACKETS.get(t & 0x7F, "unknown"),
              "value_hex": val.hex()}
        if t & 0x7F in (2, 3, 9) and len(val) == 4:
            sp["value"] = int.from_bytes(val, "big")
        elif t & 0x7F in (33, 35) and val:
            sp["key_version"], sp["fingerprint"] = val[0], val[1:].hex().upper()
        elif t & 0x7F == 16:
            sp["keyid"] = val.hex().upper()
        out.append(sp)
    return out


def parse_signature(body):
    v = body[0]
    if v == 3:
        return {"version": 3, "type": body[2], "created": int.from_bytes(body[3:7], "big"),
                "keyid": body[7:15].hex().upper(), "pubkey_algo": body[15], "hash_algo": body[16]}
    if v not in (4, 5, 6):
        return {"version": v, "error": "unsupported signature version"}
    sig = {"version": v, "type": body[1], "pubkey_algo": body[2], "hash_algo": body[3]}
    w = 4 if v == 6 else 2
    n = int.from_bytes(body[4:4 + w], "big")
    sig["hashed"] = parse_subpackets(body[4 + w:4 + w + n])
    pos = 4 + w + n
    m = int.from_bytes(body[pos:pos + w], "big")
    sig["unhashed"] = parse_subpackets(body[pos + w:pos + w + m])
    return sig


def walk_signatures(data, depth=0, out=None):
    out = [] if out is None else out
    for p in parse_packets(data):
        if p.tag == 2:
            s = parse_signature(p.body)
            s["depth"] = depth
            out.append(s)
        elif p.tag == 4:
            out.append({"one_pass_signature": True, "depth": depth, "type": p.body[1], "hash_algo": p.body[2],
                        "pubkey_algo": p.body[3], "keyid": p.body[4:12].hex().upper(), "nested": p.body[12]})
        elif p.tag == 8:
            algo, comp = p.body[0], p.body[1:]
            if algo == 1:
                plain = zlib.decompress(comp, -15)
            elif algo == 2:
                plain = zlib.decompress(comp)
            elif algo == 3:
                import bz2
                plain = bz2.decompress(comp)
            elif algo == 0:
                plain = comp
            else:
                fail("unknown compression algorithm %d" % algo)
            out.append({"compressed_data": algo, "depth": depth})
            walk_signatures(plain, depth + 1, out)
    return out


def cmd_sigsubpackets(args):
    data = dearmor(read_input(args.input))
    packets = parse_packets(data)
    result = {}
    if any(p.tag in ENCRYPTED_TAGS for p in packets):
        if not args.home:
            fail("IN is encrypted: pass --home GNUPGHOME holding the secret key")
        proc = subprocess.run(["gpg", "--homedir", args.home, "--batch", "--no-tty", "--quiet", "--status-fd", "2",
                               "--unwrap", "--decrypt"], input=data, capture_output=True)
        if proc.returncode != 0:
            fail("gpg --unwrap failed (exit %d): %s" % (proc.returncode,
                                                         proc.stderr.decode(errors="replace").strip()))
        result["unwrapped_top_level_tags"] = [p.tag for p in parse_packets(proc.stdout)]
        data = proc.stdout
    result["signatures"] = walk_signatures(data)
    return (json.dumps(result, indent=2) + "\n").encode()


def cmd_packets(args):
    return (json.dumps([p.info() for p in parse_packets(dearmor(read_input(args.input)))], indent=2)
            + "\n").encode()


# ---------------------------------------------------------------------------------------------------------------

def read_input(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror))


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write("pgpcraft: error: %s\n" % message)
        sys.exit(2)


def main(argv):
    ap = Parser(prog="pgpcraft.py", description="Build adversarial OpenPGP messages for tests.")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    p = sub.add_parser("reencode", help="same packets, other encoding")
    p.add_argument("variant", choices=VARIANTS)
    p.add_argument("input")
    p.set_defaults(fn=cmd_reencode)
    p = sub.add_parser("nest", help="encrypted message inside an encrypted message")
    p.add_argument("--recipient-home", required=True)
    p.add_argument("--recipient", required=True, action="append")
    p.add_argument("--compress", choices=("none", "zip", "zlib"), default="none")
    p.add_argument("--literal", action="store_true", help="wrap INNER in a Literal Data packet")
    p.add_argument("--cipher-algo", help="passed to gpg (e.g. AES256); default: gpg's choice")
    p.add_argument("inner")
    p.set_defaults(fn=cmd_nest)
    p = sub.add_parser("wrap", help="encrypt any packet stream (e.g. a `gpg --unwrap` output) as SEIPD plaintext")
    p.add_argument("--recipient-home", required=True)
    p.add_argument("--recipient", required=True, action="append")
    p.add_argument("--compress", choices=("none", "zip", "zlib"), default="none")
    p.add_argument("--literal", action="store_true", help="wrap IN in a Literal Data packet")
    p.add_argument("--cipher-algo", help="passed to gpg (e.g. AES256); default: gpg's choice")
    p.add_argument("inner", metavar="input")
    p.set_defaults(fn=cmd_nest)
    p = sub.add_parser("aead-info", help="describe an AEAD packet (JSON)")
    p.add_argument("input")
    p.set_defaults(fn=cmd_aead_info)
    p = sub.add_parser("aead-cut", help="truncate an AEAD packet")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--chunks", type=int)
    g.add_argument("--bytes", type=int)
    p.add_argument("input")
    p.set_defaults(fn=cmd_aead_cut)
    p = sub.add_parser("aead-flip", help="flip one bit in an AEAD packet")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--chunk", type=int)
    g.add_argument("--tag", type=int)
    g.add_argument("--final-tag", action="store_true")
    p.add_argument("input")
    p.set_defaults(fn=cmd_aead_flip)
    p = sub.add_parser("sigsubpackets", help="list signature subpackets (JSON)")
    p.add_argument("--home")
    p.add_argument("input")
    p.set_defaults(fn=cmd_sigsubpackets)
    p = sub.add_parser("packets", help="list top-level packets (JSON)")
    p.add_argument("input")
    p.set_defaults(fn=cmd_packets)
    args = ap.parse_args(argv)
    try:
        out = args.fn(args)
    except CraftError as e:
        sys.stderr.write("pgpcraft: error: %s\n" % e)
        return 2
    except (IndexError, ValueError, zlib.error, OSError) as e:
        sys.stderr.write("pgpcraft: error: malformed input (%s: %s)\n" % (type(e).__name__, e))
        return 2
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
