#!/usr/bin/env python3
"""The "Idle agents" section of bench/RESULTS.md, from bench/results/idle-N.json (one
`cube-bench --idle -o json` report per agent count; bench/idle_report.h defines each figure).

  idle_section.py RESULTS_DIR N...                     print the section
  idle_section.py RESULTS_DIR --splice RESULTS.md N... put it into RESULTS.md in place of the
                                                       old one (or where a whole page has it:
                                                       before "## Real containers"), and its
                                                       row into the Targets table

bench/run-results.sh calls it: the first form while writing the whole page, the second for
`run-results.sh --idle-only`, which measures only the idle agents.
"""
import os
import sys

import results_page

HEADING = "## Idle agents"
TARGET_AGENTS = 5000
TARGET_PERCENT = 25.0


def load(out, n):
    return results_page.load_report(out, "idle-%s" % n)


def target_line(out, agents):
    """The Targets table's row for the idle budget, or None without a 5,000-agent run."""
    d = load(out, TARGET_AGENTS) if str(TARGET_AGENTS) in agents else None
    if d is None:
        return None
    p = d.get("broker_cpu_percent")
    ok = p is not None and d.get("complete") and p <= TARGET_PERCENT
    return ("| 5,000 idle agents, 1 s heartbeats, separate broker process: broker CPU <= 25 %% "
            "of one core | %s | %s |" % (results_page.cell(p, lambda v: "%.1f %%" % v), "yes" if ok else "**no**"))


def section(out, agents, started=None):
    L = [HEADING + "\n"]
    first = next((load(out, n) for n in agents if load(out, n) is not None), None)
    window = first["config"]["window_s"] if first else 0
    L.append("`cube-bench --idle --broker ADDR --broker-pid PID --agents N --idle-seconds %g`: no "
             "tasks; N sim agents (split over fleet processes, at most the open-file limit's "
             "worth each) register with a separate `cube-broker --store memory --heartbeat 1s` "
             "and only heartbeat; once all are ready and two heartbeats have passed, the broker "
             "process is measured for %g s. Target: at most %g %% of one core with %s agents.%s\n"
             % (window, window, TARGET_PERCENT, "{:,}".format(TARGET_AGENTS),
                "" if started is None else " Measured on %s." % started))
    L.append("| agents | fleet processes | broker CPU (% of a core) | per agent per heartbeat | "
             "heartbeat period | broker RSS | broker fds | fleet CPU (% of a core) | complete |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in agents:
        d = load(out, n)
        if d is None:
            L.append("| %s | — | — | — | — | — | — | — | **no report** (see bench/results/idle-%s.log) |" % (n, n))
            continue
        c = d["config"]
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            "{:,}".format(d["agents"]), len(c["agents_per_process"]),
            results_page.cell(d.get("broker_cpu_percent"), lambda v: "%.1f %%" % v),
            results_page.cell(d.get("broker_cpu_us_per_heartbeat"), lambda v: "%.1f µs" % v),
            results_page.cell(d.get("heartbeat_period_ms"), lambda v: "%.0f ms" % v),
            results_page.cell(d.get("broker_rss_bytes"), lambda v: "%.0f MiB" % (v / 1048576)),
            results_page.cell(d.get("broker_fds"), lambda v: "{:,}".format(v)),
            results_page.cell(d.get("fleet_cpu_percent"), lambda v: "%.0f %%" % v),
            "yes" if d.get("complete") else "**no**: " + d.get("error", "")))
    L.append("\nPer agent per heartbeat: the broker's CPU in the window divided by the "
             "AGENT_HEARTBEATs it counted (`events.received.AGENT_HEARTBEAT`), so it includes everything else "
             "an idle broker does for its agents (beacons, ZMTP pings, liveness timers). The "
             "heartbeat period is measured the same way: agents × window / heartbeats counted. "
             "Fleet CPU is the sim agents' processes over the same window, for scale. "
             "Each sim agent heartbeats at a point of the interval given by its ID, as agents "
             "started at different times do, so the broker gets an even stream of heartbeats "
             "rather than one burst a second (fleets before 2026-12-07 beat in step, which let "
             "the broker read them in groups and cost it less; docs/decisions.md, \"Idle agents "
             "whose heartbeats are spread\").\n")
    return "\n".join(L)


def main(argv):
    out = argv[1]
    if len(argv) > 3 and argv[2] == "--splice":
        agents = argv[4:]
        started = os.environ.get("IDLE_STARTED")
        # Where run-results.sh puts it in a whole page: after the separate-broker runs.
        results_page.splice(argv[3], HEADING, section(out, agents, started),
                            ("Real containers", "Throughput against agents"),
                            target_line(out, agents))
    else:
        sys.stdout.write(section(out, argv[2:]))


if __name__ == "__main__":
    main(sys.argv)
