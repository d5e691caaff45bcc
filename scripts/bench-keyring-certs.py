#!/usr/bin/env python3
"""Writes N OpenPGP v4 certificates (binary, one after the other) for scripts/bench-keyring, fast.

Each certificate is what a client's mail program makes: an Ed25519 primary key (certify, sign) with one user ID
`Klient I <klientI@fill.example>` and a Curve25519 encryption subkey, both with valid self-signatures (SHA-256),
so `gpg --import` accepts every one of them. gpg's key generation runs a process and an agent round
trip per key; this needs about 2 ms a key (Python `cryptography`), 100,000 in a few minutes.

    scripts/bench-keyring-certs.py COUNT FIRST-INDEX > certs.pgp

RFC 4880 (packets, signatures, fingerprints), RFC 6637 (ECDH), draft-ietf-openpgp-rfc4880bis-10 §5.5.5.5
(EdDSA keys, algorithm 22) and §13.3 (Curve25519 point format, 0x40 prefix).
"""
import hashlib
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives import serialization

ED25519_OID = bytes.fromhex("2b06010401da470f01")      # 1.3.6.1.4.1.11591.15.1
CV25519_OID = bytes.fromhex("2b060104019755010501")    # 1.3.6.1.4.1.3029.1.5.1
KDF_SHA256_AES128 = bytes([3, 1, 8, 7])                # RFC 6637 §9: length, reserved, SHA-256, AES-128
RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def packet(tag, body):
    """RFC 4880 §4.2.2: new-format packet header."""
    n = len(body)
    if n < 192:
        length = bytes([n])
    elif n < 8384:
        n -= 192
        length = bytes([(n >> 8) + 192, n & 0xFF])
    else:
        length = b"\xff" + struct.pack(">I", n)
    return bytes([0xC0 | tag]) + length + body


def mpi(data):
    """RFC 4880 §3.2: bit count, then the big-endian octets without leading zeros."""
    data = data.lstrip(b"\x00")
    bits = (len(data) - 1) * 8 + data[0].bit_length() if data else 0
    return struct.pack(">H", bits) + data


def subpacket(kind, data):
    return bytes([len(data) + 1, kind]) + data


def key_body(created, algorithm, oid, point, extra=b""):
    return bytes([4]) + struct.pack(">I", created) + bytes([algorithm, len(oid)]) + oid + mpi(b"\x40" + point) + extra


def key_hash_prefix(body):
    return b"\x99" + struct.pack(">H", len(body)) + body


def signature(signer, primary_body, kind, created, flags, hashed_tail):
    """A v4 signature of `kind` by the primary key; `hashed_tail` is what follows the primary key in the hash."""
    fingerprint = hashlib.sha1(key_hash_prefix(primary_body)).digest()
    hashed = subpacket(2, struct.pack(">I", created)) + subpacket(27, bytes([flags])) \
        + subpacket(33, b"\x04" + fingerprint)
    head = bytes([4, kind, 22, 8]) + struct.pack(">H", len(hashed)) + hashed
    digest = hashlib.sha256(key_hash_prefix(primary_body) + hashed_tail + head
                            + b"\x04\xff" + struct.pack(">I", len(head))).digest()
    raw = signer.sign(digest)  # legacy EdDSA signs the hash value
    unhashed = subpacket(16, fingerprint[-8:])
    return packet(2, head + struct.pack(">H", len(unhashed)) + unhashed + digest[:2] + mpi(raw[:32]) + mpi(raw[32:]))


def certificate(index, created):
    primary = ed25519.Ed25519PrivateKey.generate()
    primary_body = key_body(created, 22, ED25519_OID, primary.public_key().public_bytes(**RAW))
    uid = f"Klient {index} <klient{index}@fill.example>".encode()
    uid_sig = signature(primary, primary_body, 0x13, created, 0x03, b"\xb4" + struct.pack(">I", len(uid)) + uid)
    sub = x25519.X25519PrivateKey.generate().public_key().public_bytes(**RAW)
    sub_body = key_body(created, 18, CV25519_OID, sub, KDF_SHA256_AES128)
    sub_sig = signature(primary, primary_body, 0x18, created, 0x0C, key_hash_prefix(sub_body))
    return packet(6, primary_body) + packet(13, uid) + uid_sig + packet(14, sub_body) + sub_sig


def main():
    count, first = int(sys.argv[1]), int(sys.argv[2])
    created = int(time.time()) - 86_400
    out = sys.stdout.buffer
    for index in range(first, first + count):
        out.write(certificate(index, created))


if __name__ == "__main__":
    main()
