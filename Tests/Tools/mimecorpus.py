#!/usr/bin/env python3
"""Corpus for MailBridge's MIME differential test (issue 27).

Usage: mimecorpus.py OUTDIR CANARY_PREFIX

Writes OUTDIR/NNN.eml (inner messages, the entities a client encrypts) and OUTDIR/expected.json: for every
message Python's own reading of it with the `email` package (policy=default), which the Swift test compares
with what the counsellor gets from MailBridge.

The corpus: CPython's e-mail test corpus (Debian package libpython3.11-testsuite, msg_*.txt) plus generated
messages in the shapes Thunderbird, Outlook with GpgOL, Apple Mail, K-9/FairEmail and Mailvelope build, across a
charset matrix, and HTML-only, multipart/alternative, forwarded (message/rfc822), format=flowed and
Content-Type-less entities. Every message carries a canary (CANARY_PREFIX + a number) in its content.

Python's reading (what a reader built on the `email` package shows), per message:
  subject      str(msg['subject']) or null
  body         the leaves in walk order, except attachments:
                 {"kind": "text", "text": get_content(), "flowed": RFC 3676 decoded text or null,
                  "named": the part has a file name}       text/plain without Content-Disposition: attachment
                 {"kind": "html", "plainAlternative", "empty"} text/html without Content-Disposition: attachment
                 {"kind": "forwarded", "reading": {...}}    message/rfc822 (also listed as an attachment)
                 {"kind": "fields", "type"}                 other message/* (delivery-status, external-body)
  defects      the names of Python's defect classes found anywhere in the message
  attachments  every other leaf, in walk order: {"name", "type", "size", "sha256", "inline"}; a message/rfc822
               part is listed with size and sha256 null (Python re-serialises it; the raw octets are not kept)
"""

import base64
import glob
import hashlib
import json
import os
import sys
import email
import email.policy

CHARSETS = {
    "koi8-r": "Здравствуйте, мне нужна помощь. Ёлка",
    "windows-1250": "Dzień dobry, potrzebuję pomocy. Zażółć gęślą jaźń",
    "windows-1251": "Добрий день, мені потрібна допомога. Їжак, ґанок",
    "windows-1254": "Merhaba, yardıma ihtiyacım var. Şğüöçİı",
    "windows-1255": "שלום, אני צריך עזרה דחופה",
    "windows-1256": "مرحبا، أحتاج إلى مساعدة من فضلك",
    "iso-8859-2": "Dobrý den, potřebuji pomoc. Příliš žluťoučký kůň",
    "iso-8859-5": "Привет, мне очень плохо. Жду ответа",
    "iso-8859-7": "Καλημέρα, χρειάζομαι βοήθεια",
    "iso-8859-9": "Günaydın, yardım lazım. Şişli, Üsküdar",
    "shift_jis": "こんにちは、助けが必要です。相談",
    "iso-2022-jp": "こんにちは、相談したいことがあります。",
    "euc-jp": "相談したいことがあります。よろしく",
    "euc-kr": "안녕하세요, 도움이 필요합니다",
    "gbk": "你好，我需要帮助。谢谢",
    "gb18030": "您好，我需要帮助。非常感谢",
    "big5": "您好，我需要幫助。謝謝",
    "utf-8": "Привет 你好 مرحبا Grüße 😀",
}

SHAPES = ["thunderbird", "outlook", "apple", "k9", "mailvelope"]


def ew(text, charset):
    """One RFC 2047 B encoded word."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode("ascii"))


def pct(text, charset):
    """An RFC 2231 extended value."""
    return "%s''%s" % (charset, "".join("%%%02X" % b for b in text.encode(charset)))


def b64(data):
    encoded = base64.b64encode(data).decode("ascii")
    return "\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def qp(data):
    import quopri
    encoded = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode("ascii")
    return encoded.replace("\n", "\r\n").rstrip("\r\n")


def attachment_bytes(canary, index):
    return ("%%PDF-1.4\n%% %s\n" % canary).encode("ascii") + bytes((index * 7 + i) % 256 for i in range(300))


class Builder:
    def __init__(self, prefix):
        self.prefix = prefix
        self.messages = []

    def canary(self):
        return "%s%04d" % (self.prefix, len(self.messages))

    def add(self, source, data):
        self.messages.append((source, data))

    # Shapes. Each returns the entity as bytes with CRLF line ends.

    def shape(self, shape, charset, text, canary, n):
        subject = ew("Anfrage " + text[:14], charset) + " " + canary
        fname = text.split()[0].strip(",،") + "-" + canary + ".pdf"
        body = ("%s\r\n%s\r\n" % (text, canary)).encode(charset)
        att = attachment_bytes(canary, n)
        if shape == "thunderbird":
            # protected headers first in Content-Type, format=flowed 8-bit text, RFC 2231 file name
            flowed = ("%s \r\n%s\r\n" % (text, canary)).encode(charset)
            return (
                'Content-Type: multipart/mixed; boundary="------------tb%d"; protected-headers="v1"\r\n'
                "Subject: %s\r\nFrom: Klient <klient@example.net>\r\nTo: beratung@example.org\r\n\r\n"
                "This is a multi-part message in MIME format.\r\n"
                "--------------tb%d\r\nContent-Type: text/plain; charset=%s; format=flowed\r\n"
                "Content-Transfer-Encoding: %s\r\n\r\n" % (n, subject, n, charset,
                                                           "7bit" if charset == "iso-2022-jp" else "8bit")
            ).encode("ascii") + flowed + (
                "\r\n--------------tb%d\r\nContent-Type: application/pdf; name*=%s\r\n"
                "Content-Disposition: attachment; filename*=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "%s\r\n\r\n--------------tb%d--\r\n" % (n, pct(fname, charset), pct(fname, charset), b64(att), n)
            ).encode("ascii")
        if shape == "outlook":
            # GpgOL: Subject and MIME-Version first, quoted-printable, file name as an encoded word (not RFC 2231)
            return (
                "Subject: %s\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/mixed;\r\n\tboundary="_002_OL%d_"\r\n\r\n'
                "--_002_OL%d_\r\nContent-Type: text/plain; charset=\"%s\"\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n\r\n"
                "--_002_OL%d_\r\nContent-Type: application/pdf; name=\"%s\"\r\n"
                "Content-Description: %s\r\nContent-Disposition: attachment; filename=\"%s\"; size=%d\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n\r\n--_002_OL%d_--\r\n"
                % (subject, n, n, charset, qp(body), n, ew(fname, charset), ew(fname, charset),
                   ew(fname, charset), len(att), b64(att), n)
            ).encode("ascii")
        if shape == "apple":
            # Apple Mail: Content-Transfer-Encoding first, folded Content-Type
            if n % 2 == 0:
                return (
                    "Content-Transfer-Encoding: base64\r\nContent-Type: text/plain;\r\n\tcharset=%s\r\n"
                    "Subject: %s\r\nMime-Version: 1.0 (Mac OS X Mail 16.0)\r\n\r\n%s\r\n" % (charset, subject, b64(body))
                ).encode("ascii")
            return (
                "Content-Transfer-Encoding: 7bit\r\nContent-Type: multipart/mixed;\r\n"
                '\tboundary="Apple-Mail=_%d"\r\nSubject: %s\r\nMime-Version: 1.0 (Mac OS X Mail 16.0)\r\n\r\n'
                "--Apple-Mail=_%d\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                "Content-Type: text/plain;\r\n\tcharset=%s\r\n\r\n%s\r\n\r\n"
                "--Apple-Mail=_%d\r\nContent-Disposition: attachment;\r\n\tfilename*=%s\r\n"
                "Content-Type: application/pdf;\r\n\tx-unix-mode=0644;\r\n\tname*=%s\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--Apple-Mail=_%d--\r\n"
                % (n, subject, n, charset, qp(body), n, pct(fname, charset), pct(fname, charset), b64(att), n)
            ).encode("ascii")
        if shape == "k9":
            # K-9 / FairEmail: multipart/alternative, plain and HTML, base64 parts
            html = ("<html><body><div dir=\"auto\">%s<br>%s</div></body></html>" % (text, canary)).encode(charset)
            return (
                "MIME-Version: 1.0\r\nSubject: %s\r\n"
                'Content-Type: multipart/alternative; boundary="k9-%d"\r\n\r\n'
                "--k9-%d\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                "--k9-%d\r\nContent-Type: text/html; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                "--k9-%d--\r\n" % (subject, n, n, charset, b64(body), n, charset, b64(html), n)
            ).encode("ascii")
        # Mailvelope: rich-text editor, HTML only, plus an attachment
        html = ("<p>%s</p><ul><li>%s</li></ul><p><a href=\"https://example.net/x\">Link</a></p>"
                % (text, canary)).encode(charset)
        return (
            'Content-Type: multipart/mixed; boundary="mv%d"\r\nSubject: %s\r\n\r\n'
            "--mv%d\r\nContent-Type: text/html; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            "--mv%d\r\nContent-Type: application/octet-stream; name*=%s\r\n"
            "Content-Disposition: attachment; filename*=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            "--mv%d--\r\n" % (n, subject, n, charset, b64(html), n, pct(fname, charset), pct(fname, charset),
                              b64(att), n)
        ).encode("ascii")

    def specials(self):
        """HTML-only, forwarded, flowed, no Content-Type, and other single shapes."""
        out = []
        for charset in ["koi8-r", "windows-1256", "utf-8", "iso-8859-7", "shift_jis"]:
            c = self.canary()
            html = ("<html><head><style>p{}</style><script>x()</script></head><body><p>%s</p>"
                    "<p>Zeile<br>zwei %s</p><ol><li>eins</li></ol></body></html>"
                    % (CHARSETS[charset], c)).encode(charset)
            out.append(("gen/html-only/%s" % charset, (
                "Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=%s\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n" % (ew("HTML", charset) + " " + c, charset, b64(html))
            ).encode("ascii")))
            self.add(*out.pop())
        for charset in ["windows-1251", "iso-8859-2", "euc-kr", "utf-8", "big5"]:
            c = self.canary()
            text = CHARSETS[charset]
            inner = (
                "From: %s <amt@example.org>\r\nDate: Mon, 1 Dec 2026 10:00:00 +0100\r\nSubject: %s\r\n"
                'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="in"\r\n\r\n'
                "--in\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                "--in\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=%s\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--in--\r\n"
                % (ew("Amt " + text[:6], charset), ew("Bescheid " + text[:8], charset), charset,
                   b64(("%s\r\nBescheid %s\r\n" % (text, c)).encode(charset)), pct("bescheid-" + text[:5] + ".pdf", charset),
                   b64(attachment_bytes(c, 3)))
            )
            self.add("gen/forwarded/%s" % charset, (
                'Content-Type: multipart/mixed; boundary="fw"; protected-headers="v1"\r\nSubject: Fwd: %s\r\n\r\n'
                "--fw\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "Hier der Brief vom Amt %s\r\n"
                "--fw\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"brief.eml\"\r\n\r\n"
                "%s--fw--\r\n" % (c, c, inner)).encode("utf-8"))
        for delsp in ["no", "yes"]:
            for n in range(2):
                c = self.canary()
                sep = "" if delsp == "yes" else " "
                text = ("Das ist ein sehr langer Absatz, der%s \r\numbrochen wurde und %s\r\n> zitiert \r\n"
                        "> weiter\r\n From here\r\n-- \r\nK.\r\n" % ("" if delsp == "no" else " ", c))
                self.add("gen/flowed/delsp-%s" % delsp, (
                    "Subject: Flowed %s\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=%s\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n%s" % (c, delsp, text)).encode("utf-8"))
        for n in range(3):
            c = self.canary()
            self.add("gen/no-content-type", (
                ["Subject: Ohne Typ %s\r\n\r\nHallo, nur ASCII %s.\r\n",
                 "MIME-Version: 1.0\r\nSubject: Ohne Typ %s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 "Gr=FC=DFe ist kein ASCII, also U+FFFD oder Latin-1? %s\r\n",
                 "Subject: Ohne Typ %s\r\nFrom: k@example.net\r\n\r\nZweite Zeile\r\n\r\n%s\r\n"][n] % (c, c)
            ).encode("ascii"))
        for charset in ["utf-8", "windows-1256", "koi8-r"]:
            c = self.canary()
            text = CHARSETS[charset]
            html = ("<div dir=\"rtl\">%s</div><div>%s</div>" % (text, c)).encode(charset)
            self.add("gen/alternative-related/%s" % charset, (
                'Content-Type: multipart/alternative; boundary="a"\r\nSubject: %s\r\n\r\n'
                "--a\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                '--a\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
                "--r\r\nContent-Type: text/html; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                "--r\r\nContent-Type: image/png\r\nContent-ID: <img1>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "iVBORw0KGgo=\r\n--r--\r\n--a--\r\n"
                % (ew(text[:10], charset) + " " + c, charset, b64(("%s\r\n%s\r\n" % (text, c)).encode(charset)),
                   charset, b64(html))).encode("ascii"))

    def cpython(self):
        files = sorted(glob.glob("/usr/lib/python3.11/test/test_email/data/msg_*.txt"))
        for path in files:
            data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            # An mbox envelope line ("From " + sender + date) is not part of a message (RFC 4155); a client
            # never encrypts one. Python's parser skips it; strip it so both read the same entity.
            if data.startswith(b"From "):
                data = data[data.find(b"\r\n") + 2:]
            c = self.canary()
            # The canary as the last header field, so the entity's first field stays the corpus author's.
            end = data.find(b"\r\n\r\n")
            if end < 0:
                data = data + b"\r\nX-MB-Canary: " + c.encode() + b"\r\n\r\n"
            else:
                data = data[:end] + b"\r\nX-MB-Canary: " + c.encode() + data[end:]
            self.add("cpython/" + os.path.basename(path), data)


def flowed_decode(text, delsp):
    """RFC 3676 §4.2 reading of a format=flowed text (un-stuffing, joining soft breaks), for comparison."""
    out, current, current_depth = [], None, 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        line = line[depth:]
        if line.startswith(" "):
            line = line[1:]
        soft = line.endswith(" ") and line != "-- "
        if soft and delsp:
            line = line[:-1]
        if current is not None and depth == current_depth:
            current += line
        else:
            if current is not None:
                out.append(">" * current_depth + (" " if current_depth else "") + current)
            current, current_depth = line, depth
        if not soft:
            out.append(">" * depth + (" " if depth and current else "") + current)
            current = None
    if current is not None:
        out.append(">" * current_depth + current)
    return "\n".join(out)


def reading(msg):
    result = {"subject": None if msg["subject"] is None else str(msg["subject"]), "body": [], "attachments": [],
              "from": None if msg["from"] is None else str(msg["from"]),
              "defects": sorted({type(d).__name__ for part in msg.walk() for d in part.defects})}
    visit(msg, result, False)
    return result


def has_plain(part):
    if part.is_multipart():
        return any(has_plain(p) for p in part.get_payload())
    return part.get_content_type() == "text/plain" and not part.is_attachment()


def visit(part, result, plain_alternative):
    ctype = part.get_content_type()
    if ctype == "message/rfc822" and isinstance(part.get_payload(), list):
        result["attachments"].append({"name": part.get_filename(), "type": ctype, "size": None, "sha256": None,
                                      "inline": not part.is_attachment()})
        result["body"].append({"kind": "forwarded", "reading": reading(part.get_payload()[0])})
        return
    if part.get_content_maintype() == "message" and ctype != "message/rfc822":
        # message/delivery-status, message/external-body …: Python reads their field blocks as text/plain bodies
        result["body"].append({"kind": "fields", "type": ctype})
        return
    if part.is_multipart():
        alternative = part.get_content_subtype() == "alternative" and any(has_plain(p) for p in part.get_payload())
        for child in part.get_payload():
            visit(child, result, plain_alternative or alternative)
        return
    if ctype == "text/plain" and not part.is_attachment():
        try:
            text = part.get_content()
        except Exception:  # an unknown charset: Python's own fallback
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        flowed = None
        if (part.get_param("format") or "").lower() == "flowed":
            flowed = flowed_decode(text, (part.get_param("delsp") or "").lower() == "yes")
        result["body"].append({"kind": "text", "text": text, "flowed": flowed, "named": part.get_filename() is not None})
        return
    if ctype == "text/html" and not part.is_attachment():
        empty = not (part.get_payload(decode=True) or b"").strip()
        result["body"].append({"kind": "html", "plainAlternative": plain_alternative, "empty": empty})
        return
    content = part.get_payload(decode=True) or b""
    result["attachments"].append({"name": part.get_filename(), "type": ctype, "size": len(content),
                                  "sha256": hashlib.sha256(content).hexdigest(), "inline": not part.is_attachment()})


def main():
    outdir, prefix = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    builder = Builder(prefix)
    builder.cpython()
    for index, (charset, text) in enumerate(sorted(CHARSETS.items())):
        for shape_index, shape in enumerate(SHAPES):
            c = builder.canary()
            builder.add("gen/%s/%s" % (shape, charset),
                        builder.shape(shape, charset, text, c, index * len(SHAPES) + shape_index))
    builder.specials()
    expected = []
    for number, (source, data) in enumerate(builder.messages):
        name = "%03d.eml" % number
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        msg = email.message_from_bytes(data, policy=email.policy.default)
        entry = reading(msg)
        entry.update({"file": name, "source": source, "canary": "%s%04d" % (prefix, number)})
        expected.append(entry)
    with open(os.path.join(outdir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
    print(len(expected))


if __name__ == "__main__":
    main()
