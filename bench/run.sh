#!/usr/bin/env bash
# SIPp load harness. Prints, from one run on this machine:
#   1. the SIPp-to-SIPp loopback ceiling: uac -> uas directly, offered
#      MAXRATE calls/s for 10 s (what SIPp itself manages here);
#   k. the anchor: Kamailio (Debian's kamailio, the minimal stateful proxy
#      of bench/kamailio.cfg.tmpl) between the same uac and uas, offered
#      rising rates for 10 s each: its highest clean rate and its CPU
#      microseconds per call (skipped with a note when not installed);
#   2. switchboard (uac as a carrier trunk -> switchboard B2BUA ->
#      extension 1001 = SIPp uas) offered rising rates for 10 s each: the
#      highest rate with no failed call, its CPU microseconds per call,
#      and its ratios to the ceiling and to Kamailio's clean rate;
#   3. switchboard sustaining RATE call setups+teardowns/s for SECS seconds,
#      with its memory (RSS, Go heap, goroutines) every 10 s;
#   4. RTP_CALLS concurrent G.711 calls relayed for RTP_HOLD seconds on a
#      fresh switchboard, placed and answered by bench/rtpload, which is
#      both ends of every call's audio: per-packet loss and one-way
#      latency, kernel drops on both sides' sockets, CPU, RSS per call.
#   o. overload: twice the clean rate of section 2 (or OVERLOAD_BASE, or
#      RATE) for 30 s, then the clean rate for 10 s: goodput, refusals
#      (503 with Retry-After) against other failures, and the seconds
#      until the rate is back;
#   5. the same RTP run with every call recorded (trunk record: true) and
#      captured to PCAP with RTP: CPU, recordings written, their length
#      against the calls' billsec, and audio gaps (runs of inserted
#      silence) found by reading every WAV.
# Per-call PCAP capture (SIP + RTP) is on in every section, as it is by
# default; CAPTURE=false or CAPTURE_RTP=false in the environment measure
# without it.
# Usage: bench/run.sh [RATE] [SECS] [RTP_CALLS] [RTP_HOLD] [MAXRATE] [SECTIONS]
#   SECTIONS: which sections to run, default "1k2345" (e.g. "k2" for the
#   side-by-side call rates only, "5" for recording only).
set -euo pipefail
RATE=${1:-1000}
SECS=${2:-60}
RTP_CALLS=${3:-800}
RTP_HOLD=${4:-60}
MAXRATE=${5:-20000}
SECTIONS=${6:-1k2o345}
on() { [[ "$SECTIONS" == *"$1"* ]]; }
cd "$(dirname "$0")/.."
command -v sipp >/dev/null || { echo "sipp missing: apt-get install sip-tester"; exit 1; }
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
go build -o "$W/switchboard" ./cmd/switchboard
go build -o "$W/rtpload" ./bench/rtpload
ulimit -n 65536 2>/dev/null || true

SB_SIP=15060 SB_HTTP=18080 UAC=15070 UAC2=15072 UAS=15071 UAS_MEDIA=16000 UAC_MEDIA=17000
TOTAL=$((RATE * SECS))
common=(-i 127.0.0.1 -mi 127.0.0.1 -buff_size 4194304 -nostdin -timeout $((SECS * 3 + RTP_HOLD * 3 + 300))s)

stat_of() { # file column -> last value of a SIPp -trace_stat column
  awk -F';' -v col="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==col) c=i; next} {v=$c} END{print v}' "$1"
}

run_uac() { # label target rate total extra-args...
  local label=$1 target=$2 rate=$3 total=$4; shift 4
  rm -f "$W"/uac_*.csv "$W/uac_err.log"
  local t0 t1
  t0=$(date +%s.%N)
  sipp "$target" -sn uac -s 1001 -p $UAC -mp $UAC_MEDIA -r "$rate" -rp 1000 -m "$total" -l 30000 \
    "${common[@]}" -trace_stat -stf "$W/uac_stat.csv" -fd 1 -trace_err -error_file "$W/uac_err.log" "$@" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  local ok fail late
  ok=$(stat_of "$W/uac_stat.csv" "SuccessfulCall(C)")
  fail=$(stat_of "$W/uac_stat.csv" "FailedCall(C)")
  # SIPp's built-in uac aborts a call whose 180 arrives after its 200 (it
  # is pausing then). A proxy with several worker processes (Kamailio's
  # children) relays the two on different workers and sometimes reorders
  # them: the call was set up and answered, so it counts as completed,
  # and the line says how many.
  late=$(grep -c "while pausing (index [0-9]*), received 'SIP/2.0 18[03]" "$W/uac_err.log" 2>/dev/null || true)
  late=${late:-0}
  awk -v l="$label" -v ok="$ok" -v f="$fail" -v late="$late" -v t0="$t0" -v t1="$t1" \
    'BEGIN{printf "%-34s %8d ok %6d failed in %6.1f s = %7.0f calls/s", l, ok+late, f-late, t1-t0, (ok+late)/(t1-t0);
      if (late > 0) printf " (%d answered calls got a 180 after their 200)", late; printf "\n"}'
  echo "$((ok + late))" > "$W/last_ok"
}

# cpu_ticks PID... : user+system clock ticks the processes used so far.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
TICK=$(getconf CLK_TCK)
read -r -a STEPS <<<"${BENCH_STEPS:-1000 1500 2000 2500 3000 4000 5000 6000 8000}" # BENCH_STEPS="200 400" for a quick trial
# clean_rate LABEL TARGET PIDS-COMMAND: offers each rate of STEPS for 10 s
# until calls fail; sets BEST (highest rate with no failed call) and
# BEST_US (CPU microseconds per call of the processes PIDS-COMMAND prints,
# at that rate).
clean_rate() {
  local label=$1 target=$2 pidcmd=$3 step ok t0 t1 us
  BEST=0 BEST_US=0
  # Warm up first (workers forked, sockets and caches hot): a first step
  # that loses its first calls to a cold start measures nothing.
  run_uac "$label warm-up 200/s" "$target" 200 1000 >/dev/null
  sleep 35
  for step in "${STEPS[@]}"; do
    t0=$(cpu_ticks $($pidcmd))
    run_uac "$label offered $step/s" "$target" "$step" $((step * 10))
    t1=$(cpu_ticks $($pidcmd))
    ok=$(cat "$W/last_ok")
    us=$(awk -v d=$((t1 - t0)) -v k="$TICK" -v n="$ok" 'BEGIN{ if (n>0) printf "%.0f", d*1e6/k/n; else print 0 }')
    echo "    CPU: ${us} us per call"
    [ "$ok" -lt $((step * 10)) ] && break
    BEST=$step BEST_US=$us
    sleep 35 # let the burst's transactions expire (64*T1) before the next step
  done
}

CEIL=0
if on 1; then
echo "== 1. ceiling: SIPp uac -> SIPp uas, offered ${MAXRATE} calls/s for 10 s"
sipp -sn uas -p $UAS -mp $UAS_MEDIA "${common[@]}" >/dev/null 2>&1 &
UASPID=$!
sleep 1
run_uac "sipp -> sipp" 127.0.0.1:$UAS "$MAXRATE" $((MAXRATE * 10))
CEIL=$(cat "$W/last_ok")
kill $UASPID 2>/dev/null || true; wait $UASPID 2>/dev/null || true
fi

KAM_BEST=0 KAM_US=0
if on k; then
echo "== k. anchor: Kamailio stateful proxy (bench/kamailio.cfg.tmpl) between the same SIPp uac and uas"
if command -v kamailio >/dev/null; then
  KAM=15090
  sed -e "s/@PORT@/$KAM/; s/@UAS@/$UAS/; s/@CHILDREN@/$(nproc)/" bench/kamailio.cfg.tmpl > "$W/kamailio.cfg"
  kamailio -f "$W/kamailio.cfg" -DD -E -m 512 -M 32 >"$W/kamailio.log" 2>&1 &
  KAMPID=$!
  sipp -sn uas -p $UAS -mp $UAS_MEDIA "${common[@]}" >/dev/null 2>&1 &
  UASPID=$!
  # Ready when its workers are up (the socket alone opens earlier).
  for _ in $(seq 100); do grep -q "Listening on" "$W/kamailio.log" 2>/dev/null && break; sleep 0.1; done
  sleep 2
  kam_pids() { pgrep -f "$W/kamailio.cfg"; }
  clean_rate "kamailio" 127.0.0.1:$KAM kam_pids
  KAM_BEST=$BEST KAM_US=$BEST_US
  echo "kamailio: highest offered rate with no failed call: ${KAM_BEST} calls/s, ${KAM_US} us CPU per call"
  kill $UASPID $KAMPID 2>/dev/null || true; wait $UASPID $KAMPID 2>/dev/null || true
  sleep 35
else
  echo "kamailio not installed (apt-get install kamailio): no anchor, ratios to it are skipped"
fi
fi

write_config() { # file trunk-record
cat > "$1" <<YAML
listen: {http: "127.0.0.1:$SB_HTTP", sip: "127.0.0.1:$SB_SIP"}
rtp: {ip: 127.0.0.1, port_min: 20000, port_max: 60000, drain: 2s}
data_dir: $W/data
capture: {enabled: ${CAPTURE:-true}, rtp: ${CAPTURE_RTP:-true}}
metrics: {token: bench-metrics-token}
tenants:
  - name: bench
    domain: bench.local
    extensions:
      - {number: "1001", password: "bench-secret-1001"}
    users:
      - {name: admin, password: "bench-admin-secret", role: admin}
    trunks:
      - {name: loadgen, address: "127.0.0.1:$UAC", prefix: "9", record: $2}
      - {name: loadgen2, address: "127.0.0.1:$UAC2", prefix: "8", record: $2}
YAML
}
write_config "$W/bench.yaml" false
write_config "$W/record.yaml" true
start_sb() { # [config]
  rm -rf "$W/data"
  "$W/switchboard" serve --config "${1:-$W/bench.yaml}" --log-level warn ${PPROF:+--pprof $PPROF} 2>>"$W/sb.log" &
  SBPID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$SB_HTTP/healthz" >/dev/null && break; sleep 0.1; done
}
stop_sb() { kill $SBPID; wait $SBPID || true; }
scrape() { curl -s -H "Authorization: Bearer bench-metrics-token" "http://127.0.0.1:$SB_HTTP/metrics"; }
metric() { scrape | awk -v m="$1" '$1==m{v=$2} END{print v+0}'; } # a metric's value (0 if absent)
printf 'SEQUENTIAL\nbench.local;\n' > "$W/users.csv"
register_uas() {
  sipp 127.0.0.1:$SB_SIP -sf test/e2e/testdata/register.xml -inf "$W/users.csv" -s 1001 -au 1001 -ap bench-secret-1001 \
    -p $UAS -m 1 "${common[@]}" >/dev/null 2>&1 || { echo "uas registration failed"; exit 1; }
}

if on 2 || on 3; then
start_sb
fi
if on 2; then
echo "== 2. switchboard B2BUA: offered rates in 10 s steps until calls fail (two SIP dialogs and two RTP sockets per call)"
register_uas
sipp -sn uas -p $UAS -mp $UAS_MEDIA "${common[@]}" >/dev/null 2>&1 &
UASPID=$!
sleep 1
sb_pids() { echo "$SBPID"; }
clean_rate "switchboard" 127.0.0.1:$SB_SIP sb_pids
echo "switchboard: highest offered rate with no failed call: ${BEST} calls/s, ${BEST_US} us CPU per call; SIPp-to-SIPp ceiling: ${CEIL} calls in 10 s"
awk -v a="$BEST" -v b="$CEIL" 'BEGIN{ if (b>0) printf "ratio switchboard/ceiling: %.3f\n", a*10/b }'
awk -v a="$BEST" -v k="$KAM_BEST" -v ua="$BEST_US" -v uk="$KAM_US" 'BEGIN{ if (k>0) printf "ratio switchboard/kamailio clean rate: %.3f (issue 17 wants >= 0.5); CPU per call switchboard/kamailio: %.2f\n", a/k, (uk>0 ? ua/uk : 0) }'
sleep 35
kill $UASPID 2>/dev/null || true; wait $UASPID 2>/dev/null || true
fi

if on 3; then
echo "== 3. switchboard B2BUA sustained: ${RATE} calls/s for ${SECS} s"
register_uas
sipp -sn uas -p $UAS -mp $UAS_MEDIA "${common[@]}" >/dev/null 2>&1 &
UASPID=$!
sleep 1
# Memory under the sustained burst, every 10 s: resident set, Go heap in
# use, goroutines, calls live and in setup (transactions, capture
# buffers and event queues are all inside the heap figure and bounded).
(
  for _ in $(seq $((SECS / 10 + 4))); do
    sleep 10
    kill -0 $SBPID 2>/dev/null || break
    m=$(scrape)
    printf '    memory: RSS %s MiB, heap in use %s MiB, goroutines %s, calls live %s, in setup %s\n' \
      "$(awk '/VmRSS/{printf "%d", $2/1024}' /proc/$SBPID/status)" \
      "$(awk '$1=="go_memstats_heap_inuse_bytes"{printf "%d", $2/1048576}' <<<"$m")" \
      "$(awk '$1=="go_goroutines"{print $2}' <<<"$m")" \
      "$(awk '$1 ~ /^switchboard_calls_active/{s+=$2} END{print s+0}' <<<"$m")" \
      "$(awk '$1=="switchboard_calls_in_setup"{print $2}' <<<"$m")"
  done
) &
MEMPID=$!
run_uac "sipp -> switchboard -> sipp" 127.0.0.1:$SB_SIP "$RATE" "$TOTAL"
kill $MEMPID 2>/dev/null || true; wait $MEMPID 2>/dev/null || true
kill $UASPID 2>/dev/null || true; wait $UASPID 2>/dev/null || true
fi
if on 2 || on 3; then
stop_sb
fi

if on o; then
# Overload: twice the clean rate for 30 s, then the clean rate for 10 s
# from a second trunk address (the first SIPp is still finishing). Counts
# from SIPp's per-second statistics and switchboard's /metrics.
BASE=${BEST:-0}
[ "$BASE" -gt 0 ] || BASE=${OVERLOAD_BASE:-$RATE}
OFFER=$((BASE * 2))
echo "== o. overload: offered ${OFFER} calls/s (2x the clean rate ${BASE}/s) for 30 s, then ${BASE}/s for 10 s"
start_sb
register_uas
sipp -sn uas -p $UAS -mp $UAS_MEDIA "${common[@]}" >/dev/null 2>&1 &
UASPID=$!
sleep 1
SHED0=$(metric switchboard_sip_shed_total)
rm -f "$W"/uac_*.csv "$W"/uac2_*.csv
sipp 127.0.0.1:$SB_SIP -sn uac -s 1001 -p $UAC -mp $UAC_MEDIA -r "$OFFER" -rp 1000 -m $((OFFER * 30)) -l 30000 \
  "${common[@]}" -trace_stat -stf "$W/uac_stat.csv" -fd 1 >/dev/null 2>&1 &
BURSTPID=$!
sleep 30
sipp 127.0.0.1:$SB_SIP -sn uac -s 1001 -p $UAC2 -mp $((UAC_MEDIA + 2000)) -r "$BASE" -rp 1000 -m $((BASE * 10)) -l 30000 \
  "${common[@]}" -trace_stat -stf "$W/uac2_stat.csv" -fd 1 >/dev/null 2>&1 || true
wait $BURSTPID || true
SHED1=$(metric switchboard_sip_shed_total)
python3 - "$W/uac_stat.csv" "$W/uac2_stat.csv" "$BASE" "$OFFER" $((SHED1 - SHED0)) <<'PY'
import csv, sys
def rows(p):
    with open(p) as f:
        return list(csv.DictReader(f, delimiter=";"))
burst, after = rows(sys.argv[1]), rows(sys.argv[2])
base, offer, shed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
last = burst[-1]
ok, failed = int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])
unexpected = int(last.get("FailedUnexpectedMessage(C)", 0))  # a 503 where SIPp wanted 200
other = failed - unexpected
retrans = int(last.get("Retransmissions(C)", 0))
# Goodput while offered 2x: calls completed per second over the 30 s burst.
per_s = [int(r["SuccessfulCall(P)"]) for r in burst]
good = sum(per_s[:30]) / 30
print(f"burst: offered {offer}/s for 30 s: {ok} completed, {failed} failed ({unexpected} refused with a final response such as 503, {other} otherwise), {retrans} retransmissions")
print(f"switchboard shed {shed} INVITEs with 503 + Retry-After")
print(f"goodput during the burst: {good:.0f} calls/s = {100*good/max(base,1):.0f} % of the clean rate (issue 17 wants >= 80 %)")
rec = [int(r["SuccessfulCall(P)"]) for r in after]
first = next((i + 1 for i, v in enumerate(rec) if v >= 0.9 * base), None)
print("after the burst at the clean rate, completed per second: " + " ".join(map(str, rec[:12])))
print(f"recovered to >= 90 % of the clean rate after: {first} s (issue 17 wants <= 5 s)" if first else "did not recover within the 10 s")
PY
kill $UASPID 2>/dev/null || true; wait $UASPID 2>/dev/null || true
stop_sb
fi

rtp_run() { # config
start_sb "$1"
RSS0=$(awk '/VmRSS/{print $2}' /proc/$SBPID/status)
RAMP=$(( RTP_CALLS / 50 + 1 ))
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The generator places the calls as the trunk, answers them as extension
# 1001, and is both ends of every call's audio.
"$W/rtpload" -sip 127.0.0.1:$SB_SIP -domain bench.local -caller 127.0.0.1:$UAC \
  -callee-user 1001 -callee-pass bench-secret-1001 -calls "$RTP_CALLS" -rate 50 -hold "${RTP_HOLD}s" \
  -setup-timeout 30s >"$W/rtpload.out" 2>&1 &
GENPID=$!
# Every call is up from about RAMP s to RAMP+3+RTP_HOLD s (3 s is the
# generator's setup allowance); sample in the middle.
sleep $(( RAMP + 3 + RTP_HOLD / 4 ))
C0=$(cpu_ticks $SBPID) G0=$(cpu_ticks $GENPID) S0=$(date +%s.%N)
sleep $(( RTP_HOLD / 2 ))
C1=$(cpu_ticks $SBPID) G1=$(cpu_ticks $GENPID) S1=$(date +%s.%N)
ACTIVE=$(curl -s "http://127.0.0.1:$SB_HTTP/healthz" | sed -E 's/.*"active_calls":([0-9]+).*/\1/')
RSS1=$(awk '/VmRSS/{print $2}' /proc/$SBPID/status)
if [ -n "${PPROF:-}" ]; then curl -s "http://$PPROF/debug/pprof/heap" > "${PPROF_OUT:-/tmp}/heap.pprof"; fi
# Kernel drop counters of switchboard's live RTP sockets (last column of
# /proc/net/udp); the generator reports its own.
SBDROPS=$(python3 -c 'import sys
print(sum(int(f[-1]) for f in (l.split() for l in open("/proc/net/udp").readlines()[1:]) if 20000 <= int(f[1].split(":")[1], 16) <= 60000))')
wait $GENPID || true
cat "$W/rtpload.out"
sleep 2
curl -s -u admin:bench-admin-secret "http://127.0.0.1:$SB_HTTP/api/v1/cdrs?from=$T0&limit=10000" > "$W/cdrs.json"
python3 - "$W/cdrs.json" "$ACTIVE" "$RSS0" "$RSS1" "$RTP_CALLS" "$SBDROPS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); active, rss0, rss1, want, sbdrop = map(int, sys.argv[2:7])
ans = [c for c in d["cdrs"] if c["disposition"] == "ANSWERED"]
ab = sum(c["rtp_packets_ab"] for c in ans); ba = sum(c["rtp_packets_ba"] for c in ans)
print(f"switchboard's CDRs: {len(ans)}/{want} answered, {ab} packets from callers, {ba} from callees; concurrent at mid-run: {active}")
print(f"kernel drops on switchboard's RTP sockets at mid-run: {sbdrop}")
if active:
    print(f"resident memory: {rss0//1024} MiB idle, {rss1//1024} MiB with {active} calls = {(rss1-rss0)/active:.1f} KiB per call")
mos = [c["mos"] for c in ans if c["mos"]]
if mos: print(f"MOS min {min(mos):.2f} mean {sum(mos)/len(mos):.2f}")
PY
awk -v c=$((C1 - C0)) -v g=$((G1 - G0)) -v k="$TICK" -v s0="$S0" -v s1="$S1" -v n="$RTP_CALLS" 'BEGIN{
  t = s1 - s0; printf "CPU while all calls carried audio: switchboard %.0f %% of one core (%.1f us per relayed packet), generator %.0f %%\n",
  100*c/k/t, (c/k*1e6)/(n*2*50*t), 100*g/k/t }'
stop_sb
}

if on 4; then
echo "== 4. ${RTP_CALLS} concurrent G.711 calls with RTP for ${RTP_HOLD} s (fresh switchboard)"
rtp_run "$W/bench.yaml"
fi
if on 5; then
echo "== 5. ${RTP_CALLS} concurrent G.711 calls for ${RTP_HOLD} s, every call recorded (mono WAV) and captured"
rtp_run "$W/record.yaml"
python3 - "$W/data/recordings/bench" "$W/cdrs.json" <<'PY'
import json, os, sys, wave
d, cdrs = sys.argv[1], json.load(open(sys.argv[2]))["cdrs"]
bill = sum(c["billsec"] for c in cdrs if c["disposition"] == "ANSWERED")
files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".wav")] if os.path.isdir(d) else []
total = sum(wave.open(f).getnframes() for f in files) / 8000
print(f"recordings written: {len(files)}, audio {total:.0f} s against {bill} s billed ({100*total/max(bill,1):.1f} %)")
PY
echo "recordings that dropped audio because the writer fell behind: $(grep -c 'recording dropped audio' "$W/sb.log" || true)"
grep "recording dropped audio" "$W/sb.log" | head -3 || true
echo "(audio lost before the recorder shows as switchboard socket drops above)"
du -sh "$W/data/captures" "$W/data/recordings" 2>/dev/null || true
fi
