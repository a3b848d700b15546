#!/usr/bin/env bash
# Mailgenic and a peer deployment side by side in one run: starts Mailgenic (a given binary, its own
# config and data in a fresh temporary directory) and the peer (commands given), provisions the same
# users in both, runs every loadtest scenario against both in alternation, samples each server's CPU
# seconds from /proc (utime+stime of the process tree, plus the reaped children's cutime+cstime) around
# each run, and writes a markdown table (figure, Mailgenic, peer, ratio) into the benchmarks file.
#
#   loadtest/side-by-side.sh --mailgenic /var/tmp/mailgenic-target/debug/mailgenic \
#       --peer-start /work/shared/peers/dovecot-postfix/setup.sh \
#       --peer-stop /work/shared/peers/dovecot-postfix/stop.sh \
#       [--peer-reset 'for n in $(seq 1 $NUSERS); do doveadm expunge -u user$n@example.test mailbox INBOX all; done'] [--ops 200] [--users 20] [--idle 300] [--out docs/benchmarks.md]
#
# Mailgenic starts with empty mailboxes every time; --peer-reset (run after the peer starts) empties the
# peer's, so that imap-fetch reads the same messages from both.
# The peer's start command gets NUSERS in its environment and must create user1..user$NUSERS with the
# password `pass` (the Dovecot + Postfix peer in ../shared/peers does). The peer listens on
# PEER_IMAPS (9993), PEER_SUBMISSION (4465), PEER_SMTP (2525, an MX without STARTTLS) and the LMTP
# socket PEER_LMTP; its processes are found by name: PEER_PROCESSES
# ("dovecot master", Postfix's master process being called `master`).
set -euo pipefail

MAILGENIC="" PEER_START="" PEER_STOP="" PEER_RESET="" OPS=200 USERS=20 IDLE=300
OUT="$(cd "$(dirname "$0")/.." && pwd)/docs/benchmarks.md"
LOADTEST="${LOADTEST:-${CARGO_TARGET_DIR:-/var/tmp/mailgenic-target}/release/mailgenic-loadtest}"
PEER_IMAPS="${PEER_IMAPS:-9993}" PEER_SUBMISSION="${PEER_SUBMISSION:-4465}" PEER_SMTP="${PEER_SMTP:-2525}"
PEER_LMTP="${PEER_LMTP:-/var/spool/postfix/private/dovecot-lmtp}"
PEER_PROCESSES="${PEER_PROCESSES:-dovecot master}"
MG_IMAPS="${MG_IMAPS:-31993}" MG_SUBMISSION="${MG_SUBMISSION:-31465}" MG_SMTP="${MG_SMTP:-31025}"
while [ $# -gt 0 ]; do
  case "$1" in
    --mailgenic) MAILGENIC="$2"; shift 2 ;;
    --peer-start) PEER_START="$2"; shift 2 ;;
    --peer-stop) PEER_STOP="$2"; shift 2 ;;
    --peer-reset) PEER_RESET="$2"; shift 2 ;;
    --ops) OPS="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --idle) IDLE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$MAILGENIC" ] && [ -n "$PEER_START" ] && [ -n "$PEER_STOP" ] || {
  echo "usage: $0 --mailgenic BIN --peer-start CMD --peer-stop CMD [--ops N] [--users N] [--out FILE]" >&2; exit 2; }
[ -x "$LOADTEST" ] || { echo "no load tester at $LOADTEST (cargo build --release -p mailgenic-loadtest)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/mg-side-by-side.XXXXXX)"
CONFIG="$WORK/mailgenic.toml"
cat > "$CONFIG" <<EOF
hostname = "localhost"
data_dir = "./data"
cores = 0

[listen]
imaps = "127.0.0.1:$MG_IMAPS"
submissions = "127.0.0.1:$MG_SUBMISSION"
smtp = "127.0.0.1:$MG_SMTP"

[log]
level = "warn"

[targets.mailgenic]
host = "localhost"
imaps_port = $MG_IMAPS
submissions_port = $MG_SUBMISSION
smtp_port = $MG_SMTP
lmtp_socket = "./data/lmtp.sock"

[targets.peer]
host = "localhost"
imaps_port = $PEER_IMAPS
submissions_port = $PEER_SUBMISSION
smtp_port = $PEER_SMTP
lmtp_socket = "$PEER_LMTP"
EOF

MG_PID=""
cleanup() {
  [ -n "$MG_PID" ] && kill "$MG_PID" 2>/dev/null && wait "$MG_PID" 2>/dev/null || true
  sh -c "$PEER_STOP" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    ss -ltn | grep -q "127.0.0.1:$1 " && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; return 1
}

echo "== provisioning $USERS users in Mailgenic ($WORK) and starting it"
"$MAILGENIC" --config "$CONFIG" domain add example.test >/dev/null
for n in $(seq 1 "$USERS"); do
  echo pass | "$MAILGENIC" --config "$CONFIG" user add "user$n@example.test" --password-stdin >/dev/null
done
"$MAILGENIC" --config "$CONFIG" serve >"$WORK/serve.log" 2>&1 &
MG_PID=$!
wait_port "$MG_IMAPS"; wait_port "$MG_SUBMISSION"

echo "== starting the peer (NUSERS=$USERS)"
NUSERS="$USERS" sh -c "$PEER_START" >"$WORK/peer-start.log" 2>&1
wait_port "$PEER_IMAPS"; wait_port "$PEER_SUBMISSION"
[ -z "$PEER_RESET" ] || NUSERS="$USERS" sh -c "$PEER_RESET"

TCK=$(getconf CLK_TCK)
# PIDs of a server: Mailgenic's PID, or every process named in PEER_PROCESSES.
roots() { if [ "$1" = mailgenic ]; then echo "$MG_PID"; else for n in $PEER_PROCESSES; do pgrep -x "$n" || true; done; fi; }
# CPU ticks of the trees under the roots: utime+stime+cutime+cstime of every live process (a reaped
# child's time is in its parent's cutime/cstime, so per-connection processes are not lost).
cpu_ticks() {
  local roots; roots="$(roots "$1" | tr '\n' ' ')"
  # cat, not awk's own file list: processes that exit during the glob must not fail the sample.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$roots" '
    { line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ");
      pid = $1; ppid[pid] = f[2]; t[pid] = f[12] + f[13] + f[14] + f[15] }
    END { n = split(roots, r, " "); for (i = 1; i <= n; i++) inset[r[i]] = 1;
      do { grown = 0; for (p in ppid) if (!(p in inset) && (ppid[p] in inset)) { inset[p] = 1; grown = 1 } } while (grown);
      s = 0; for (p in inset) if (p in t) s += t[p]; print s }'
}
memory_flags() { if [ "$1" = mailgenic ]; then echo "--server-pid $MG_PID"; else echo "--server-process $(echo $PEER_PROCESSES | tr ' ' ',')"; fi; }

# run NAME TARGET ARGS...: one loadtest run; leaves its JSON in $WORK/NAME.TARGET.json with the
# server's CPU milliseconds per successful operation added as cpu_ms_per_op.
run() {
  local name="$1" target="$2"; shift 2
  local before after
  before=$(cpu_ticks "$target")
  "$LOADTEST" --config "$CONFIG" --target "$target" --insecure --password pass --json "$@" \
    --hdr-out "$WORK/$name.$target.hdr" > "$WORK/$name.$target.out"
  sleep 1 # let queued deliveries finish before the CPU sample
  after=$(cpu_ticks "$target")
  tail -1 "$WORK/$name.$target.out" | jq --argjson ms "$(( (after - before) * 1000 / TCK ))" \
    '. + {cpu_ms: $ms, cpu_ms_per_op: (if .ok > 0 then $ms / .ok else null end)}' > "$WORK/$name.$target.json"
  printf '%-14s %-9s %s\n' "$name" "$target" "$(head -3 "$WORK/$name.$target.out" | tail -2 | tr -s ' ' | tr '\n' ' ')"
}

both() { local name="$1"; shift; for target in mailgenic peer; do run "$name" "$target" "$@"; done; }

U="--user-count $USERS"
echo "== scenarios (Mailgenic, then the peer, for each)"
# imap-idle first. A warm-up run of 100 sessions logs every user in once (on Mailgenic: argon2id's
# working memory on the verify threads, the allocator's first growth), so that the measured run
# shows what each further idle session costs rather than one-off start-up costs, which a fresh
# server also partly hands back meanwhile (a run without it measured a negative figure).
for target in mailgenic peer; do
  # shellcheck disable=SC2046 # word splitting of the flags is intended
  run imap-idle-warmup "$target" --scenario imap-idle $U --connections 100 --duration-secs 2 $(memory_flags "$target")
  # shellcheck disable=SC2046
  run imap-idle "$target" --scenario imap-idle $U --connections "$IDLE" --duration-secs 6 $(memory_flags "$target")
done
both smtp-auth --scenario smtp-auth $U --connections 4 --operations "$OPS"
# The reference figures of the load-test issue: 10 KiB messages over 16 connections, e2e at 20/s.
both smtp-submit --scenario smtp-submit $U --connections 16 --operations "$OPS" --size-kb 10
# The same with RSET, MAIL, RCPT and DATA pipelined (RFC 2920), as MTAs send them.
both smtp-submit-pipe --scenario smtp-submit $U --connections 16 --operations "$OPS" --size-kb 10 --pipelining
both smtp-submit-open --scenario smtp-submit $U --connections 16 --operations "$OPS" --size-kb 10 --rate 50
both imap-login --scenario imap-login $U --connections 4 --operations "$OPS"
both imap-fetch --scenario imap-fetch $U --connections 4 --operations "$OPS"
both e2e --scenario e2e --user-count 5 --operations $(( OPS / 2 )) --size-kb 10 --rate 20
# The peer's MX has no STARTTLS: Mailgenic's runs with TLS, the peer's without.
run smtp-mx mailgenic --scenario smtp-mx $U --connections 8 --operations "$OPS" --size-kb 8
run smtp-mx peer --scenario smtp-mx $U --connections 8 --operations "$OPS" --size-kb 8 --mx-plaintext
both lmtp --scenario lmtp $U --connections 8 --operations "$OPS" --size-kb 8 --rcpts 2
both imap-mix --scenario imap-mix $U --connections 10 --operations $(( OPS * 10 )) --size-kb 8

# The table: figure | Mailgenic | peer | ratio (Mailgenic / peer).
row() { # row LABEL NAME JQ-EXPR FORMAT
  local m p ratio
  m=$(jq -r "$3 // empty" "$WORK/$2.mailgenic.json"); p=$(jq -r "$3 // empty" "$WORK/$2.peer.json")
  ratio=$(awk -v m="$m" -v p="$p" 'BEGIN { if (m != "" && p != "" && p + 0 != 0) printf "%.2f", m / p; else print "n/a" }')
  printf '| %s | %s | %s | %s |\n' "$1" "$(printf "$4" "${m:-0}")" "$(printf "$4" "${p:-0}")" "$ratio"
}
TABLE="$WORK/table.md"
{
  echo "| figure | Mailgenic | peer | ratio |"
  echo "|---|---:|---:|---:|"
  row "smtp-auth: logins/s (4 conns)" smtp-auth .rate %.1f
  row "smtp-auth: p99 ms" smtp-auth .p99_ms %.1f
  row "smtp-auth: server CPU ms/login" smtp-auth .cpu_ms_per_op %.2f
  row "smtp-submit 10 KiB, closed loop, 16 conns: msg/s" smtp-submit .rate %.1f
  row "smtp-submit: p50 ms" smtp-submit .p50_ms %.1f
  row "smtp-submit: p99 ms" smtp-submit .p99_ms %.1f
  row "smtp-submit: server CPU ms/msg (incl. delivery)" smtp-submit .cpu_ms_per_op %.2f
  row "smtp-submit pipelined: msg/s" smtp-submit-pipe .rate %.1f
  row "smtp-submit pipelined: p50 ms" smtp-submit-pipe .p50_ms %.1f
  row "smtp-submit pipelined: server CPU ms/msg (incl. delivery)" smtp-submit-pipe .cpu_ms_per_op %.2f
  row "smtp-submit open loop 50/s: p50 ms" smtp-submit-open .p50_ms %.1f
  row "smtp-submit open loop 50/s: p99 ms" smtp-submit-open .p99_ms %.1f
  row "imap-login: logins/s (4 conns)" imap-login .rate %.1f
  row "imap-login: p99 ms" imap-login .p99_ms %.1f
  row "imap-login: server CPU ms/login" imap-login .cpu_ms_per_op %.2f
  row "imap-fetch (LOGIN, SELECT, UID FETCH 1:* FLAGS ENVELOPE BODYSTRUCTURE): ops/s" imap-fetch .rate %.1f
  row "imap-fetch: p50 ms" imap-fetch .p50_ms %.1f
  row "imap-fetch: server CPU ms/op" imap-fetch .cpu_ms_per_op %.2f
  row "smtp-mx 8 KiB, 8 conns (Mailgenic STARTTLS, peer plaintext): msg/s" smtp-mx .rate %.1f
  row "smtp-mx: p99 ms" smtp-mx .p99_ms %.1f
  row "smtp-mx: server CPU ms/msg (incl. delivery)" smtp-mx .cpu_ms_per_op %.2f
  row "lmtp 8 KiB, 2 recipients, 8 conns: msg/s" lmtp .rate %.1f
  row "lmtp: p99 ms" lmtp .p99_ms %.1f
  row "lmtp: server CPU ms/msg" lmtp .cpu_ms_per_op %.2f
  row "imap-mix (default weights), 10 conns: commands/s" imap-mix .rate %.1f
  row "imap-mix: p99 ms" imap-mix .p99_ms %.1f
  row "imap-mix: server CPU ms/command" imap-mix .cpu_ms_per_op %.2f
  row "e2e at 20/s, MAIL FROM to EXISTS in IDLE: p50 ms" e2e .p50_ms %.1f
  row "e2e: p99 ms" e2e .p99_ms %.1f
  row "imap-idle, $IDLE conns: PSS KiB per connection" imap-idle .pss_per_conn_kib %.0f
  row "imap-idle: RSS KiB per connection" imap-idle .rss_per_conn_kib %.0f
  errors=$(cat "$WORK"/*.json | jq -s '[.[] | .errors[].count] | add // 0')
  echo
  echo "Failed operations over all runs: $errors (per run: \`$WORK/*.json\`)."
} > "$TABLE"
cat "$TABLE"

# Into the benchmarks file, between the markers (added at the end the first time).
BEGIN='<!-- side-by-side:begin -->' END='<!-- side-by-side:end -->'
[ -f "$OUT" ] || printf '# Benchmarks\n' > "$OUT"
grep -q "$BEGIN" "$OUT" || printf '\n%s\n%s\n' "$BEGIN" "$END" >> "$OUT"
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)); --ops $OPS, --users $USERS."
  echo
  cat "$TABLE"
} > "$WORK/section.md"
awk -v begin="$BEGIN" -v end="$END" -v file="$WORK/section.md" '
  $0 == begin { print; while ((getline l < file) > 0) print l; skip = 1; next }
  $0 == end { skip = 0 } !skip { print }' "$OUT" > "$WORK/out.md" && cp "$WORK/out.md" "$OUT"
echo "== table written into $OUT; raw results in $WORK"
