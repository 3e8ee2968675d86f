#!/usr/bin/env python3
"""The "Services" section of bench/RESULTS.md, from bench/results/services-*.json (one
`cube-bench --services S --replicas R -o json` report per run; bench/service_report.h defines
each figure).

  services_section.py RESULTS_DIR NAME...                      print the section
  services_section.py RESULTS_DIR --splice RESULTS.md NAME...  put it into RESULTS.md in place
                                                               of the old one (or before
                                                               "## Idle agents")

bench/run-results.sh calls it: the first form while writing the whole page, the second for
`run-results.sh --services-only`.
"""
import os
import sys

import results_page

HEADING = "## Services"


def section(out, names, started=None):
    L = [HEADING + "\n"]
    L.append("`cube-bench --services S --replicas R`: S services of R sim replicas each (Nomad's "
             "C1M shape, 1,000 jobs x 1,000 tasks, scaled to this machine), created from the "
             "client threads with one SERVICE_CREATE each; the broker's service loop makes the "
             "tasks and places them spread over the agents. Placements/s counts from the first "
             "create to the last replica's start on an agent (creates included); then every "
             "service is removed and stops/s counts to the last replica's stop.%s\n"
             % ("" if started is None else " Measured on %s." % started))
    L.append("| run | services x replicas | agents x slots | broker | creates | scale-up | "
             "placements/s | broker CPU per replica | stops/s | peak RSS | complete |")
    L.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for name in names:
        d = results_page.load_report(out, name)
        if d is None:
            L.append("| %s | — | — | — | — | — | — | — | — | — | **no report** (see bench/results/%s.log) |" % (name, name))
            continue
        c = d["config"]
        L.append("| %s | %s x %s | %s x %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, "{:,}".format(c["services"]), "{:,}".format(c["replicas"]),
            "{:,}".format(c["agents"]), c["slots"],
            "in-process" if c["broker"] == "in-process" else "separate process",
            "%.2f s" % d["create_s"], "%.2f s" % d["scale_up_s"],
            "{:,.0f}".format(d["placements_per_s"]),
            results_page.cell(d.get("broker_cpu_us_per_task"), lambda v: "%.1f µs" % v),
            "{:,.0f}".format(d["stops_per_s"]),
            results_page.cell(d.get("broker_peak_rss_bytes"), lambda v: "%.0f MiB" % (v / 1048576)),
            "yes" if d.get("complete") else "**no**: " + d.get("error", "")))
    L.append("\nBroker CPU per replica covers the scale-up (in-process: the broker's loop, "
             "ZeroMQ and writer threads; separate: the broker process). Peak RSS is the whole "
             "bench process in-process, the broker process otherwise.\n")
    return "\n".join(L)


def main(argv):
    out = argv[1]
    if len(argv) > 3 and argv[2] == "--splice":
        started = os.environ.get("SERVICES_STARTED")
        results_page.splice(argv[3], HEADING, section(out, argv[4:], started),
                            ("Idle agents", "Real containers", "Throughput against agents"))
    else:
        sys.stdout.write(section(out, argv[2:]))


if __name__ == "__main__":
    main(sys.argv)
