#!/bin/bash
# Self-test for pgpcraft.py (the attack-message builder used by the tests). Needs gpg; the AEAD part needs rnp
# (skipped when rnp is missing). Makes throwaway keys in temporary GNUPGHOMEs, removes them (and their gpg-agents)
# at exit, and exits non-zero on the first failed check.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CRAFT="$HERE/pgpcraft.py"
T=$(mktemp -d /tmp/pgpcraft-selftest.XXXXXX)
HOMES=()
cleanup() {
    for h in "${HOMES[@]}"; do gpgconf --homedir "$h" --kill all >/dev/null 2>&1; done
    rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
die() { echo "FAIL - $*"; exit 1; }

newhome() {  # newhome NAME -> $T/NAME with a fresh ed25519/cv25519 key; sets FPR to its primary fingerprint
    local h="$T/$1"
    mkdir -m 700 "$h"
    HOMES+=("$h")  # not in a subshell, so that cleanup sees it
    gpg --homedir "$h" --batch --passphrase '' --quick-gen-key "$1 <$1@example.org>" future-default default never \
        >/dev/null 2>&1 || die "key generation in $h"
    FPR=$(gpg --homedir "$h" --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
}
# gpgdec HOME FILE OUT -> status lines in OUT.status, log in OUT.log, exit code in OUT.rc
gpgdec() {
    gpg --homedir "$1" --batch --yes --status-fd 3 --show-session-key --output "$3" --decrypt "$2" \
        3>"$3.status" 2>"$3.log"
    echo $? >"$3.rc"
}
count() { grep -c "^\[GNUPG:\] $1\b" "$2"; }

newhome alice && A=$FPR
newhome bob && B=$FPR
newhome carol && C=$FPR
for n in alice bob carol; do gpg --homedir "$T/$n" --export >"$T/$n.pub"; done
for n in alice bob carol; do
    for m in alice bob carol; do gpg --homedir "$T/$n" --batch --import "$T/$m.pub" >/dev/null 2>&1; done
done
# bob+carol: a home holding both secret keys (to see both layers of a nested message decrypted)
mkdir -m 700 "$T/bobcarol"
HOMES+=("$T/bobcarol")
gpg --homedir "$T/bob" --batch --export-secret-keys | gpg --homedir "$T/bobcarol" --batch --import >/dev/null 2>&1
gpg --homedir "$T/carol" --batch --export-secret-keys | gpg --homedir "$T/bobcarol" --batch --import >/dev/null 2>&1

# ---- reencode: every variant decrypts to the same plaintext with the same session key
head -c 6000 /dev/urandom | base64 >"$T/plain.txt"
gpg --homedir "$T/alice" --batch --trust-model always --recipient "$B" --armor --output "$T/msg.asc" \
    --encrypt "$T/plain.txt" || die "gpg --encrypt"
gpgdec "$T/bob" "$T/msg.asc" "$T/orig.out"
[ "$(cat "$T/orig.out.rc")" = 0 ] || die "original message does not decrypt"
SK=$(grep '^\[GNUPG:\] SESSION_KEY ' "$T/orig.out.status" | cut -d' ' -f3)
[ -n "$SK" ] || die "no SESSION_KEY for the original"
for v in comment line64 line76 line40 nocrc lf crlf binary marker oldheaders newheaders partial; do
    "$CRAFT" reencode "$v" "$T/msg.asc" >"$T/r_$v" || { bad "reencode $v: pgpcraft failed"; continue; }
    gpgdec "$T/bob" "$T/r_$v" "$T/r_$v.out"
    sk=$(grep '^\[GNUPG:\] SESSION_KEY ' "$T/r_$v.out.status" | cut -d' ' -f3)
    if [ "$(cat "$T/r_$v.out.rc")" = 0 ] && cmp -s "$T/r_$v.out" "$T/plain.txt" && [ "$sk" = "$SK" ]; then
        ok "reencode $v: same plaintext, same session key"
    else
        bad "reencode $v: rc=$(cat "$T/r_$v.out.rc") session key '$sk'"
    fi
done
head -c 4 "$T/r_binary" | od -An -tx1 | grep -q '^ *[89a-f]' && ok "binary variant is binary" || bad "binary variant"
grep -q $'\r$' "$T/r_crlf" && ok "crlf variant has CRLF" || bad "crlf variant"
grep -q $'\r' "$T/r_lf" && bad "lf variant has CR" || ok "lf variant has no CR"
grep -q '^=' "$T/r_nocrc" && bad "nocrc variant has a CRC line" || ok "nocrc variant has no CRC line"
awk 'NR > 2 && /^[A-Za-z0-9+\/]/ && length($0) > 76 {exit 1}' "$T/r_line76" && ok "line76 lines <= 76" \
    || bad "line76 line length"
"$CRAFT" packets "$T/r_oldheaders" | grep -q '"format": "old"' && ok "oldheaders has old-format headers" \
    || bad "oldheaders"
"$CRAFT" packets "$T/r_partial" | grep -q '"partial_or_indeterminate": true' && ok "partial has partial lengths" \
    || bad "partial"
"$CRAFT" reencode nosuchvariant "$T/msg.asc" >/dev/null 2>&1
[ $? = 2 ] && ok "bad variant exits 2" || bad "bad variant exit code"
echo "not openpgp" >"$T/junk"
"$CRAFT" reencode binary "$T/junk" >/dev/null 2>&1
[ $? = 2 ] && ok "bad input exits 2" || bad "bad input exit code"

# ---- nest: a message to bob whose SEIPD plaintext is a complete message to carol
echo "inner secret for carol" >"$T/inner.txt"
gpg --homedir "$T/alice" --batch --trust-model always --recipient "$C" --armor --output "$T/inner.asc" \
    --encrypt "$T/inner.txt" || die "inner encrypt"
for comp in none zip zlib; do
    "$CRAFT" nest --recipient-home "$T/alice" --recipient "$B" --compress "$comp" "$T/inner.asc" \
        >"$T/nest_$comp.asc" || { bad "nest --compress $comp: pgpcraft failed"; continue; }
    gpgdec "$T/bobcarol" "$T/nest_$comp.asc" "$T/nest_$comp.out"
    s="$T/nest_$comp.out.status"
    counts="$(count BEGIN_DECRYPTION "$s") $(count DECRYPTION_KEY "$s") $(count DECRYPTION_OKAY "$s")"
    counts="$counts $(count PLAINTEXT "$s") $(count END_DECRYPTION "$s") $(count GOODMDC "$s")"
    if [ "$(cat "$T/nest_$comp.out.rc")" = 0 ] && cmp -s "$T/nest_$comp.out" "$T/inner.txt" \
        && [ "$counts" = "2 2 2 1 2 2" ]; then
        ok "nest --compress $comp: gpg decrypts both layers (BEGIN_DECRYPTION DECRYPTION_KEY DECRYPTION_OKAY" \
            "PLAINTEXT END_DECRYPTION GOODMDC = $counts)"
    else
        bad "nest --compress $comp: rc=$(cat "$T/nest_$comp.out.rc") counts=$counts"
    fi
done
gpgdec "$T/bob" "$T/nest_none.asc" "$T/nest_bobonly.out"
if [ "$(cat "$T/nest_bobonly.out.rc")" = 2 ] && grep -q '^\[GNUPG:\] DECRYPTION_FAILED' "$T/nest_bobonly.out.status" \
    && grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$T/nest_bobonly.out.status"; then
    ok "nest, outer key only: exit 2, inner DECRYPTION_FAILED, outer DECRYPTION_OKAY"
else
    bad "nest, outer key only: rc=$(cat "$T/nest_bobonly.out.rc")"
fi
"$CRAFT" nest --literal --recipient-home "$T/alice" --recipient "$B" "$T/inner.asc" >"$T/nest_lit.asc" \
    || bad "nest --literal failed"
gpgdec "$T/bobcarol" "$T/nest_lit.asc" "$T/nest_lit.out"
gpg --dearmor <"$T/inner.asc" >"$T/inner.bin"
[ "$(cat "$T/nest_lit.out.rc")" = 0 ] && cmp -s "$T/nest_lit.out" "$T/inner.bin" \
    && ok "nest --literal: plaintext is the inner message's packets" || bad "nest --literal"

# ---- AEAD (rnp): cut and flip
if ! command -v rnp >/dev/null; then
    echo "skip - rnp not installed: AEAD checks skipped"
else
    gpg --homedir "$T/alice" --export "$A" >"$T/alice.key"
    head -c 20000 /dev/urandom >"$T/p20k.bin"
    for mode in eax ocb; do
        m="$T/aead_$mode.gpg"
        rnp --keyfile "$T/alice.key" --encrypt --recipient "$A" --aead="$mode" --aead-chunk-bits 0 -z 0 \
            --output "$m" "$T/p20k.bin" >/dev/null 2>&1 || { bad "rnp --aead=$mode"; continue; }
        n=$("$CRAFT" aead-info "$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_chunks"])')
        [ "$n" = 313 ] && ok "aead-info $mode: 313 chunks of 64 octets" || bad "aead-info $mode: $n chunks"
        gpgdec "$T/alice" "$m" "$T/a.out"
        [ "$(cat "$T/a.out.rc")" = 0 ] && cmp -s "$T/a.out" "$T/p20k.bin" && ok "$mode intact: gpg exit 0" \
            || bad "$mode intact"
        for cut in "--chunks 0" "--chunks 1" "--chunks 200" "--chunks 313" "--bytes 1" \
            "--chunk 0" "--tag 0" "--chunk 200" "--final-tag"; do
            case "$cut" in --chunks* | --bytes*) cmd=aead-cut ;; *) cmd=aead-flip ;; esac
            # shellcheck disable=SC2086
            "$CRAFT" $cmd $cut "$m" >"$T/x.asc" || { bad "$cmd $cut: pgpcraft failed"; continue; }
            rm -f "$T/x.out"
            gpgdec "$T/alice" "$T/x.asc" "$T/x.out"
            rc=$(cat "$T/x.out.rc")
            size=$([ -f "$T/x.out" ] && stat -c %s "$T/x.out" || echo 0)
            st=$(grep -E -o 'PLAINTEXT |NODATA [0-9]|DECRYPTION_OKAY|GOODMDC|END_DECRYPTION|DECRYPTION_FAILED|ERROR.*' \
                "$T/x.out.status" | tr '\n' ' ')
            if [ "$cut" = "--chunks 0" ]; then
                # no chunk and no final tag at all: gpg 2.2.40 exits 0 with no plaintext
                [ "$rc" = 0 ] && [ "$size" = 0 ] && ok "$mode $cmd $cut: exit 0, no plaintext; status: $st" \
                    || bad "$mode $cmd $cut: rc=$rc size=$size"
            elif [ "$rc" != 0 ] && grep -q 'gcry_cipher_checktag' "$T/x.out.log"; then
                ok "$mode $cmd $cut: exit $rc, $size plaintext octets released; status: $st"
            else
                bad "$mode $cmd $cut: rc=$rc size=$size status: $st"
            fi
        done
    done
fi

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
