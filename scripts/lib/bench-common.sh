# Shared by scripts/bench-smtp, scripts/bench-rss and scripts/bench-imap (sourced, not run). Expects $work (a
# temporary folder that the caller removes) and bash with `set -euo pipefail`.
PY=/usr/bin/python3
BENCHROUNDS="$(dirname "${BASH_SOURCE[0]}")/benchrounds.py"

# Rounds (issue 24). The schedule and the statistics are benchrounds.py's; a script that measures several figures
# per round (or needs its own processes cleaned up by its trap) runs the rounds itself and prints one ROUND line
# per figure and round, then pipes them through bench_summarize, which adds one RESULT line per figure: the
# median of the per-round ratios with their min and max.
bench_quick() { [[ -n "${MAILBRIDGE_BENCH_QUICK:-}" && "$MAILBRIDGE_BENCH_QUICK" != 0 ]]; }
bench_rounds() { "$PY" "$BENCHROUNDS" config | cut -d' ' -f1; }   # MAILBRIDGE_BENCH_ROUNDS, 5 (3 when quick)
bench_round_seconds() { "$PY" "$BENCHROUNDS" config | cut -d' ' -f2; }  # MAILBRIDGE_BENCH_ROUND_SECONDS, 2.0 (0.3)
bench_round() { printf 'ROUND|%s|%s|%s|%s|%s\n' "$@"; }          # bench_round FIGURE UNIT ROUND VALUE BASELINE
bench_summarize() { "$PY" "$BENCHROUNDS" summarize; }             # ROUND lines on stdin -> + RESULT lines

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null; }
wait_port() {
    local deadline=$((SECONDS + 60))
    until port_open "$1"; do (( SECONDS < deadline )) || return 1; sleep 0.2; done
}

# write_gateway_config FILE PORT [EXTRA SMTP OPTIONS...]: the embedded default's mailbox, a temporary data folder
# under $work, a free loopback port and connection limits above the benchmark load (the defaults answer 421);
# no metrics and no web inbox listener.
write_gateway_config() {
    local file="$1" port="$2"; shift 2
    {
        printf '[data]\nfolder = "%s"\n[keys]\nmaster-key-file = "%s"\n' "$work/data" "$work/data/master.key"
        printf '[smtp]\nlisten = "127.0.0.1"\nport = %s\nmax-connections-per-ip = 768\nmax-connections = 768\n' "$port"
        local option; for option in "$@"; do printf '%s\n' "$option"; done
        printf '[[mailbox]]\naddress = "beratung@localhost"\nfield = "allgemein"\n'
        printf 'team-notification-address = "beratung@localhost"\nredirect-link = "https://beratung.example/login"\n'
        printf 'language = "de"\n[metrics]\nenabled = false\n'
        # No web inbox: its fixed port (8080) may be taken by another gateway on a shared machine.
        printf '[web]\nenabled = false\n'
    } >"$file"
}

# start_private_postfix PORT [EXTRA main.cf LINES...]: a private Postfix instance under $work/postfix (own
# config, queue and data folders; nothing system-wide) whose smtpd listens on 127.0.0.1:PORT only, no chroot,
# every message discarded after queueing. Sets postfix_started=1; stop it with stop_private_postfix.
# Needs root (Postfix's master) and the Debian package postfix.
postfix_started=0
start_private_postfix() {
    local port="$1"; shift
    local pf="$work/postfix"
    mkdir -p "$pf/conf" "$pf/queue" "$pf/data"
    chown postfix:postfix "$pf/data"
    cp -r /etc/postfix/master.cf /etc/postfix/dynamicmaps.cf /etc/postfix/postfix-files "$pf/conf/"
    cp -r /etc/postfix/dynamicmaps.cf.d /etc/postfix/postfix-files.d "$pf/conf/" 2>/dev/null || true
    cat >"$pf/conf/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localhost
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
local_recipient_maps =
alias_maps =
alias_database =
local_transport = discard
default_transport = discard
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
EOT
    local line; for line in "$@"; do printf '%s\n' "$line" >>"$pf/conf/main.cf"; done
    # Only our smtpd listens (not port 25); no chroot (the queue folder is not a prepared jail).
    sed -i -E 's/^smtp( +)inet .*/127.0.0.1:'"$port"' inet n - n - - smtpd/' "$pf/conf/master.cf"
    postconf -c "$pf/conf" -F '*/*/chroot = n'
    postfix -c "$pf/conf" start >&2
    postfix_started=1
    wait_port "$port" || { echo "private postfix did not start" >&2; return 1; }
}
stop_private_postfix() {
    (( postfix_started )) && postfix -c "$work/postfix/conf" stop >/dev/null 2>&1 || true
    postfix_started=0
}
# The PID of the private Postfix master (its children are smtpd, cleanup, qmgr, …).
private_postfix_master() { head -1 "$work/postfix/queue/pid/master.pid" | tr -d ' '; }
