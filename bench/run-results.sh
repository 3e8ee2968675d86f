#!/usr/bin/env bash
# Regenerates bench/RESULTS.md: runs cube-bench in a fixed set of configurations on this
# machine, keeps the raw JSON and latency distributions in bench/results/, draws the plots with
# gnuplot and writes the tables next to the targets of the benchmark issue.
#
#   bench/run-results.sh            the default set, a few minutes
#   bench/run-results.sh --full     more agent counts and larger runs (about three times longer)
#   bench/run-results.sh --quick    tiny runs that only check the script works (numbers mean
#                                   nothing; RESULTS.md says so)
#   ... --swarm N                   also run bench/compare-swarm.sh N (real containers through
#                                   Cube, Docker Swarm and dockerd's API; needs dockerd and
#                                   briefly puts it in swarm mode) and its rolling-update
#                                   comparison (--update 6 2), and add their tables
#   bench/run-results.sh --idle-only  only the idle-agents runs (cube-bench --idle against a
#                                   separate broker, 1,000 / 2,000 / 5,000 agents, a few
#                                   minutes): rewrites only that section of RESULTS.md
#   bench/run-results.sh --services-only  only the services runs (cube-bench --services 100
#                                   --replicas 1000, in-process and against a separate broker,
#                                   a minute or two): rewrites only that section
#
# Needs a build with cube-bench and cube-broker (Release for numbers worth reading):
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j
# BUILD_DIR=... picks another build directory. Needs gnuplot (apt-get install gnuplot-nox) and
# python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
BENCH=$BUILD/bench/cube-bench
BROKER=$BUILD/broker/cube-broker
OUT=$ROOT/bench/results
FULL=0
SWARM=0
IDLE_ONLY=0
SERVICES_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --full) FULL=1 ;;
    --quick) FULL=q ;;
    --idle-only) IDLE_ONLY=1 ;;
    --services-only) SERVICES_ONLY=1 ;;
    --swarm) SWARM=${2:?--swarm needs N}; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--full|--quick] [--swarm N] [--idle-only|--services-only]" >&2; exit 2 ;;
  esac
  shift
done

for bin in "$BENCH" "$BROKER"; do
  [ -x "$bin" ] || { echo "missing $bin: build first (see $0 --help)" >&2; exit 2; }
done
[ "$IDLE_ONLY" = 1 ] || [ "$SERVICES_ONLY" = 1 ] || command -v gnuplot >/dev/null || { echo "gnuplot is missing: apt-get install gnuplot-nox" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 2; }

mkdir -p "$OUT"
if [ "$IDLE_ONLY" = 1 ]; then
  rm -f "$OUT"/idle-*
elif [ "$SERVICES_ONLY" = 1 ]; then
  rm -f "$OUT"/services-*
else
  rm -f "$OUT"/*.json "$OUT"/*.latency "$OUT"/*.log "$OUT"/*.svg "$OUT"/*.dat
fi
WORK=$(mktemp -d)
BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$FULL" = 1 ]; then
  SCALE_AGENTS="1 10 100 300 1000 1500"; SCALE_TASKS=100000; TASKS=200000
elif [ "$FULL" = q ]; then
  SCALE_AGENTS="1 10"; SCALE_TASKS=500; TASKS=1000
else
  SCALE_AGENTS="1 10 100 1000"; SCALE_TASKS=50000; TASKS=100000
fi
# Idle agents (issue 13: 5,000 agents with 1 s heartbeats cost the broker at most 25 % of a core).
if [ "$FULL" = q ]; then
  IDLE_AGENTS="20 40"; IDLE_SECONDS=2
else
  IDLE_AGENTS="1000 2000 5000"; IDLE_SECONDS=20
fi
# Services (issue 15: Nomad's C1M, 1,000 jobs x 1,000 tasks, scaled: 100 x 1,000 on 1,000 agents).
if [ "$FULL" = q ]; then
  SERVICES=4; REPLICAS=50; SERVICE_SLOTS=1
else
  SERVICES=100; REPLICAS=1000; SERVICE_SLOTS=128
fi
CLIENTS=16
DURATION=100

# run NAME ARGS...: one cube-bench run, JSON to $OUT/NAME.json. A failed run keeps its JSON
# (cube-bench reports what it measured, with "complete": false) and its stderr in NAME.log.
run() {
  local name=$1; shift
  echo "== $name: cube-bench $*" >&2
  "$BENCH" "$@" -o json -q --latency-out "$OUT/$name.latency" >"$OUT/$name.json" 2>"$OUT/$name.log" ||
    echo "   (incomplete: see bench/results/$name.log)" >&2
  python3 - "$OUT/$name.json" <<'EOF' >&2 || true
import json, sys
d = json.load(open(sys.argv[1]))
print("   placements/s %.0f  p99 %.1f ms  complete %s" % (d["placements_per_s"], d["latency_ms"]["p99"], d["complete"]))
EOF
}

# A cube-broker process of its own, so that its CPU and memory are its alone.
start_broker() {
  local store=$1; shift
  rm -f "$WORK/ready"
  "$BROKER" --bind 127.0.0.1:0 --store "$store" --data-dir "$WORK/data" --log-level warn \
    --ready-file "$WORK/ready" "$@" >"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
  [ -s "$WORK/ready" ] || { cat "$WORK/broker.log" >&2; echo "cube-broker did not start" >&2; exit 1; }
  BROKER_ADDR=$(cat "$WORK/ready")
}
stop_broker() {
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
NICENESS=$(nice)  # run the script under `nice -n -10` on a busy machine to measure Cube, not the rest
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Idle agents against a separate broker (cube-bench --idle: no tasks, heartbeats only); each
# count gets a fresh broker, so the previous run's lost agents are not in its figures.
run_idle() {
  for n in $IDLE_AGENTS; do
    start_broker memory --heartbeat 1s
    echo "== idle-$n: cube-bench --idle --agents $n --idle-seconds $IDLE_SECONDS" >&2
    "$BENCH" --idle --broker "$BROKER_ADDR" --broker-pid "$BROKER_PID" --agents "$n" \
      --idle-seconds "$IDLE_SECONDS" -o json -q >"$OUT/idle-$n.json" 2>"$OUT/idle-$n.log" ||
      echo "   (incomplete: see bench/results/idle-$n.log)" >&2
    stop_broker
    python3 - "$OUT/idle-$n.json" <<'EOF' >&2 || true
import json, sys
d = json.load(open(sys.argv[1]))
print("   broker CPU %.1f %% of a core, %.1f us per agent per heartbeat, complete %s" % (d["broker_cpu_percent"], d["broker_cpu_us_per_heartbeat"], d["complete"]))
EOF
  done
}
if [ "$IDLE_ONLY" = 1 ]; then
  run_idle
  IDLE_STARTED="$STARTED (\`run-results.sh --idle-only\`; load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); niceness $NICENESS)" \
    python3 "$ROOT/bench/idle_section.py" "$OUT" --splice "$ROOT/bench/RESULTS.md" $IDLE_AGENTS
  echo "wrote the Idle agents section of bench/RESULTS.md and bench/results/idle-*" >&2
  exit 0
fi

# Services (cube-bench --services): the C1M shape scaled to this machine, in-process and against
# a separate broker.
SERVICE_RUNS="services-in-process services-process"
run_services() {
  local name
  for name in $SERVICE_RUNS; do
    local where=()
    if [ "$name" = services-process ]; then
      start_broker memory
      where=(--broker "$BROKER_ADDR" --broker-pid "$BROKER_PID")
    fi
    echo "== $name: cube-bench --services $SERVICES --replicas $REPLICAS ${where[*]}" >&2
    "$BENCH" "${where[@]}" --services "$SERVICES" --replicas "$REPLICAS" --agents 1000 \
      --slots "$SERVICE_SLOTS" --clients "$CLIENTS" -o json -q >"$OUT/$name.json" \
      2>"$OUT/$name.log" || echo "   (incomplete: see bench/results/$name.log)" >&2
    [ "$name" != services-process ] || stop_broker
    python3 - "$OUT/$name.json" <<'EOF' >&2 || true
import json, sys
d = json.load(open(sys.argv[1]))
print("   %.0f placements/s, broker CPU %.1f us per replica, complete %s" % (d["placements_per_s"], d["broker_cpu_us_per_task"] or 0, d["complete"]))
EOF
  done
}
if [ "$SERVICES_ONLY" = 1 ]; then
  run_services
  SERVICES_STARTED="$STARTED (\`run-results.sh --services-only\`; load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); niceness $NICENESS)" \
    python3 "$ROOT/bench/services_section.py" "$OUT" --splice "$ROOT/bench/RESULTS.md" $SERVICE_RUNS
  echo "wrote the Services section of bench/RESULTS.md and bench/results/services-*" >&2
  exit 0
fi

# 1. Throughput against agents: the same total number of slots (32,000) however many agents.
for n in $SCALE_AGENTS; do
  slots=$(( (32000 + n - 1) / n ))
  run "scale-$n" --agents "$n" --slots "$slots" --tasks "$SCALE_TASKS" --clients "$CLIENTS" \
    --duration-ms "$DURATION"
done

# 2. The headline configuration, with each store.
run headline-memory --agents 1000 --slots 32 --tasks "$TASKS" --clients "$CLIENTS" \
  --duration-ms "$DURATION" --store memory
rm -f "$WORK/bench.db"*
run headline-sqlite --agents 1000 --slots 32 --tasks "$TASKS" --clients "$CLIENTS" \
  --duration-ms "$DURATION" --store "sqlite:$WORK/bench.db"

# 2b. The same with batched submits (issue 13: SUBMIT_BATCH of 64 tasks per request).
run batch-memory --agents 1000 --slots 32 --tasks "$TASKS" --clients "$CLIENTS" \
  --duration-ms "$DURATION" --store memory --batch 64
rm -f "$WORK/bench.db"*
run batch-sqlite --agents 1000 --slots 32 --tasks "$TASKS" --clients "$CLIENTS" \
  --duration-ms "$DURATION" --store "sqlite:$WORK/bench.db" --batch 64

# 3. Open loop at half the closed-loop placement rate: latency from the intended send time.
HALF=$(python3 -c "import json; print(max(100, int(json.load(open('$OUT/headline-memory.json'))['placements_per_s'] / 2)))")
OPEN_TASKS=$(( HALF * 10 ))
run open-half --agents 1000 --slots 32 --tasks "$OPEN_TASKS" --clients 64 \
  --duration-ms "$DURATION" --rate "$HALF"

# 4. A separate broker process: its own CPU, peak RSS and memory growth per task held.
start_broker memory
run process-memory --broker "$BROKER_ADDR" --broker-pid "$BROKER_PID" --agents 1000 --slots 32 \
  --tasks "$TASKS" --clients "$CLIENTS" --duration-ms "$DURATION"
stop_broker
start_broker memory
run process-batch --broker "$BROKER_ADDR" --broker-pid "$BROKER_PID" --agents 1000 --slots 32 \
  --tasks "$TASKS" --clients "$CLIENTS" --duration-ms "$DURATION" --batch 64
stop_broker
# The same with half the tasks: the two runs' growths differ by what the other half of the tasks
# holds, without what any run costs whatever its size (the agents' sessions and socket queues,
# the event ring once full).
start_broker memory
run process-batch-half --broker "$BROKER_ADDR" --broker-pid "$BROKER_PID" --agents 1000 \
  --slots 32 --tasks "$(( TASKS / 2 ))" --clients "$CLIENTS" --duration-ms "$DURATION" --batch 64
stop_broker
start_broker "sqlite:$WORK/process.db"
run process-sqlite --broker "$BROKER_ADDR" --broker-pid "$BROKER_PID" --agents 1000 --slots 32 \
  --tasks "$TASKS" --clients "$CLIENTS" --duration-ms "$DURATION"
stop_broker

# 5. Idle agents against a separate broker.
run_idle

# 5b. Services.
run_services

# 6. Real containers: Cube against Docker Swarm and dockerd's own API (opt-in).
rm -f "$OUT/swarm.txt"
if [ "$SWARM" != 0 ]; then
  echo "== compare-swarm.sh $SWARM" >&2
  BUILD_DIR=$BUILD "$ROOT/bench/compare-swarm.sh" "$SWARM" >"$OUT/swarm.txt" 2>"$OUT/swarm.log" ||
    echo "   (failed: see bench/results/swarm.log)" >&2
  echo "== compare-swarm.sh --update 6 2" >&2
  echo >>"$OUT/swarm.txt"
  BUILD_DIR=$BUILD "$ROOT/bench/compare-swarm.sh" --update 6 2 >>"$OUT/swarm.txt" \
    2>>"$OUT/swarm.log" || echo "   (failed: see bench/results/swarm.log)" >&2
fi

# --- plots ---
python3 - "$OUT" $SCALE_AGENTS <<'EOF'
import json, sys
out, agents = sys.argv[1], sys.argv[2:]
with open(out + "/scale.dat", "w") as f:
    f.write("# agents submits_per_s placements_per_s completed_per_s p99_ms\n")
    for n in agents:
        d = json.load(open("%s/scale-%s.json" % (out, n)))
        f.write("%s %.0f %.0f %.0f %.2f\n" % (n, d["submits_per_s"], d["placements_per_s"],
                                             d["completed_per_s"], d["latency_ms"]["p99"]))
EOF
gnuplot <<EOF
set terminal svg size 720,420 dynamic font "sans,12"
set output "$OUT/throughput-vs-agents.svg"
set title "cube-bench: throughput against agents (32,000 slots in total, memory store)"
set xlabel "sim agents"
set ylabel "tasks per second"
set logscale x
set key bottom left
set grid
plot "$OUT/scale.dat" using 1:3 with linespoints lw 2 title "placements/s", \
     "" using 1:2 with linespoints lw 2 title "submits acknowledged/s", \
     "" using 1:4 with linespoints lw 2 title "completions/s"
EOF
gnuplot <<EOF
set terminal svg size 720,420 dynamic font "sans,12"
set output "$OUT/latency-distribution.svg"
set title "submit -> Running latency distribution (1,000 agents)"
set xlabel "percentile"
set ylabel "milliseconds"
set logscale x
set logscale y
set grid
set key top left
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000)
plot "$OUT/headline-memory.latency" using (1/(1-\$1+1e-9)):2 with lines lw 2 title "closed loop, memory store", \
     "$OUT/headline-sqlite.latency" using (1/(1-\$1+1e-9)):2 with lines lw 2 title "closed loop, SQLite store", \
     "$OUT/open-half.latency" using (1/(1-\$1+1e-9)):2 with lines lw 2 title "open loop at half the max rate (from intended send time)"
EOF

# --- RESULTS.md ---
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
IDLE_AGENTS="$IDLE_AGENTS" SERVICE_RUNS="$SERVICE_RUNS" python3 - "$ROOT" "$OUT" "$STARTED" "$LOAD_BEFORE" "$FULL" "$BENCH" "$NICENESS" "$LOAD_AFTER" $SCALE_AGENTS <<'EOF'
import json, os, platform, subprocess, sys
root, out, started, load_before, full, bench, niceness, load_after = sys.argv[1:9]
agents = sys.argv[9:]
sys.path.insert(0, root + "/bench")
import idle_section
import services_section
idle_agents = os.environ["IDLE_AGENTS"].split()
def load(name):
    return json.load(open("%s/%s.json" % (out, name)))
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"
def rate(v): return "{:,.0f}".format(v)
def ms(v): return "%.2f" % v if v < 10 else "%.1f" % v
def mib(b): return "—" if b is None else "%.0f MiB" % (b / 1048576)
def cpu(v): return "—" if v is None else "%.2f s" % v
def row(name, d, store=None):
    c = d["config"]
    cells = [name, str(c["agents"]), str(c["slots"]), "{:,}".format(c["tasks"]), store or c["store"].split(":")[0],
             rate(d["submits_per_s"]), rate(d["placements_per_s"]), rate(d["completed_per_s"]),
             ms(d["latency_ms"]["p50"]), ms(d["latency_ms"]["p99"]), ms(d["latency_ms"]["p999"]),
             cpu(d["broker_cpu_s"]), mib(d["broker_peak_rss_bytes"]),
             "yes" if d["complete"] else "**no**"]
    return "| " + " | ".join(cells) + " |"
header = ("| run | agents | slots | tasks | store | submits/s | placements/s | completions/s | "
          "p50 ms | p99 ms | p99.9 ms | broker CPU | peak RSS | complete |\n"
          "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
cpu_model = sh("lscpu | sed -n 's/^Model name: *//p'")
mem = sh("free -h | awk '/^Mem:/{print $2}'")
hm, hs, op = load("headline-memory"), load("headline-sqlite"), load("open-half")
pm, ps = load("process-memory"), load("process-sqlite")
bm, bs, pb = load("batch-memory"), load("batch-sqlite"), load("process-batch")
ph = load("process-batch-half")
def held_per_task(full, half):
    """Bytes per task held at the margin: the growth of the full run minus the half run's,
    over the tasks between them (both runs' growth is RSS after minus before, per task)."""
    gf, gh = full.get("rss_growth_per_task_bytes"), half.get("rss_growth_per_task_bytes")
    nf, nh = full["config"]["tasks"], half["config"]["tasks"]
    if gf is None or gh is None or nf <= nh:
        return None
    return (gf * nf - gh * nh) / (nf - nh)
L = []
L.append("# cube-bench results\n")
if full == "q":
    L.append("**This page comes from `run-results.sh --quick`: tiny runs that only check the "
             "script; the numbers mean nothing.**\n")
L.append("Generated by `bench/run-results.sh%s` on %s. Every number below comes from the JSON files in "
         "`bench/results/` (one per run, with the full configuration); rerun the script to "
         "regenerate this page. How each figure is measured: `bench/bench_report.h` and the "
         "Benchmarking section of README.md.\n" % ({"1": " --full", "q": " --quick"}.get(full, ""), started))
L.append("## Machine\n")
L.append("- CPU: %s, %s cores (`nproc`); memory %s" % (cpu_model, os.cpu_count(), mem))
L.append("- Kernel %s; %s" % (platform.release(), sh("zmq_v=$(dpkg-query -W -f='${Version}' libzmq5 2>/dev/null); echo libzmq $zmq_v")))
build_type = sh("sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' %s/../CMakeCache.txt" % os.path.dirname(bench))
L.append("- Build: %s (`CMAKE_BUILD_TYPE`), commit %s" % (build_type or "?", sh("git -C %s rev-parse --short HEAD" % root)))
L.append("- Load average before the runs: %s; after: %s. The machine is shared: other work "
         "running at the same time takes cores from the benchmark, and every figure here is "
         "lower than on a quiet machine by about that much. The runs had niceness %s."
         % (load_before, load_after, niceness))
L.append("- Everything runs on these cores at once: the broker, the simulated agents (with their "
         "own ZeroMQ I/O thread) and the client threads. In a real deployment the agents and "
         "clients are elsewhere.\n")
L.append("## Targets\n")
L.append("| target | measured | met |")
L.append("|---|---|---|")
def met(ok): return "yes" if ok else "**no**"
L.append("| >= 20,000 placements/s, 1,000 agents, 100,000 tasks, memory store | %s/s | %s |" % (rate(hm["placements_per_s"]), met(hm["placements_per_s"] >= 20000)))
L.append("| >= 10,000 placements/s, SQLite store | %s/s | %s |" % (rate(hs["placements_per_s"]), met(hs["placements_per_s"] >= 10000)))
L.append("| p99 submit->Running <= 20 ms at half the max rate (open loop, %s/s) | %s ms | %s |" % (rate(op["config"]["rate"]), ms(op["latency_ms"]["p99"]), met(op["latency_ms"]["p99"] <= 20)))
g = pm.get("rss_growth_per_task_bytes")
L.append("| broker memory growth <= 2 KiB per task held (separate broker process, memory store) | %s | %s |" % ("—" if g is None else "%.0f B" % g, met(g is not None and g <= 2048)))
g2 = ps.get("rss_growth_per_task_bytes")
L.append("| the same with the SQLite store | %s | %s |" % ("—" if g2 is None else "%.0f B" % g2, met(g2 is not None and g2 <= 2048)))
def us(v): return "—" if v is None else "%.1f µs" % v
L.append("| issue 13: >= 50,000 placements/s, the headline run with `--batch 64`, memory store | %s/s | %s |" % (rate(bm["placements_per_s"]), met(bm["placements_per_s"] >= 50000)))
L.append("| issue 13: >= 30,000 placements/s, the same with the SQLite store | %s/s | %s |" % (rate(bs["placements_per_s"]), met(bs["placements_per_s"] >= 30000)))
c = pb.get("broker_cpu_us_per_task")
L.append("| issue 13: broker CPU <= 15 µs per task, separate broker, memory store, `--batch 64` | %s | %s |" % (us(c), met(c is not None and c <= 15)))
L.append("| issue 13: p99 submit->Running <= 5 ms at half the max rate (open loop, the run above) | %s ms | %s |" % (ms(op["latency_ms"]["p99"]), met(op["latency_ms"]["p99"] <= 5)))
g3 = pb.get("rss_growth_per_task_bytes")
L.append("| issue 13: broker memory growth <= 1 KiB per task held (separate broker, memory store, `--batch 64`) | %s | %s |" % ("—" if g3 is None else "%.0f B" % g3, met(g3 is not None and g3 <= 1024)))
h = held_per_task(pb, ph)
L.append("| the same at the margin: what each task past the first %s adds ([below](#a-separate-broker-process)) | %s | %s |" % (rate(ph["config"]["tasks"]), "—" if h is None else "%.0f B" % h, met(h is not None and h <= 1024)))
idle_target = idle_section.target_line(out, idle_agents)
if idle_target:
    L.append(idle_target)
L.append("")
L.append("## Headline runs (broker in the bench process)\n")
L.append(header)
L.append(row("closed loop", hm))
L.append(row("closed loop", hs))
L.append(row("open loop at %s/s" % rate(op["config"]["rate"]), op))
L.append(row("closed loop, batches of 64", bm))
L.append(row("closed loop, batches of 64", bs))
L.append("\nClosed loop: %d client threads each submit their next task when the previous one is "
         "acknowledged; latency counts from the send. Open loop: a fixed arrival schedule at half "
         "the closed-loop placement rate; latency counts from each task's intended send time, so "
         "queueing in the clients is included (no coordinated omission). Broker CPU is the "
         "in-process broker's loop thread plus its ZeroMQ I/O and reaper threads and its store "
         "writer during the run (the JSON files also have it per completed task, "
         "`broker_cpu_us_per_task`, and the whole bench process's CPU per task, "
         "`process_cpu_us_per_task`); peak RSS is the whole bench process.\n"
         % hm["config"]["clients"])
L.append("## A separate broker process\n")
L.append("`cube-broker` started on its own, `cube-bench --broker ADDR --broker-pid PID`: CPU and "
         "memory are the broker's alone.\n")
L.append(header)
L.append(row("cube-broker", pm, "memory"))
L.append(row("cube-broker", ps, "sqlite"))
L.append(row("cube-broker, batches of 64", pb, "memory"))
L.append("\n| run | RSS growth per task held | broker CPU per task |")
L.append("|---|---:|---:|")
for name, d in (("memory", pm), ("sqlite", ps), ("memory, batches of 64", pb),
                ("memory, batches of 64, %s tasks" % rate(ph["config"]["tasks"]), ph)):
    g = d.get("rss_growth_per_task_bytes")
    L.append("| %s | %s | %s |" % (name, "—" if g is None else "%.0f B" % g,
             us(d.get("broker_cpu_us_per_task"))))
L.append("\nRSS growth per task is the broker's RSS after the run minus before it (agents "
         "registered), over the run's tasks: it includes what a run costs whatever its size, "
         "chiefly libzmq's queue chunks for each agent's connection and the event ring "
         "(`--event-buffer`, full after about 16,000 tasks). The batched run with half the tasks "
         "separates the two: at the margin each task held adds %s (the %s-task run's growth "
         "minus the %s-task run's, over the tasks between them).\n"
         % ("—" if h is None else "%.0f B" % h, rate(pb["config"]["tasks"]),
            rate(ph["config"]["tasks"])))
L.append(services_section.section(out, os.environ["SERVICE_RUNS"].split()))
L.append(idle_section.section(out, idle_agents))
swarm = out + "/swarm.txt"
if os.path.exists(swarm) and os.path.getsize(swarm) > 0:
    L.append("## Real containers: Cube, Docker Swarm and dockerd\n")
    L.append("`bench/compare-swarm.sh` (targets: Cube at least 95 % of what dockerd's API does "
             "directly, and at least 1.3 times Swarm), then `bench/compare-swarm.sh --update 6 2`: "
             "a rolling update of the image of a 6-replica service, 2 at a time, through each:\n")
    L.append("```\n" + open(swarm).read().rstrip() + "\n```\n")
L.append("## Throughput against agents\n")
L.append("The same 32,000 slots in total, split over 1 to %s agents, %s tasks of %d ms each.\n"
         % (agents[-1], "{:,}".format(load("scale-" + agents[0])["config"]["tasks"]),
            load("scale-" + agents[0])["config"]["duration_ms"]))
L.append(header)
for n in agents:
    L.append(row("%s agents" % n, load("scale-" + n)))
L.append("\n![throughput against agents](results/throughput-vs-agents.svg)\n")
L.append("## Latency distribution\n")
L.append("![latency distribution](results/latency-distribution.svg)\n")
L.append("Percentiles of submit->Running per task (the sim agent starts a task the moment its "
         "ASSIGN arrives; its start time is recorded in the bench process and joined to the "
         "task's send time by task ID).\n")
# What this run does not measure (the etcd store, the event feed's cost, the swarm comparison
# without --swarm) stays as the page had it.
import results_page
page_path = root + "/bench/RESULTS.md"
old_page = open(page_path).read() if os.path.exists(page_path) else ""
open(page_path, "w").write(results_page.keep_unmeasured(old_page, "\n".join(L)))
EOF
echo "wrote bench/RESULTS.md and bench/results/" >&2
