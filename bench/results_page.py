"""Helpers of the sections of bench/RESULTS.md (idle_section.py, services_section.py): reading a
run's JSON report, formatting a figure that may be missing, splicing one section (and its row of
the Targets table) into the page, for the `run-results.sh --*-only` modes that measure one part
of the page and keep the rest, and keeping what a full run does not measure (keep_unmeasured)."""
import json
import os
import re


def load_report(out, name):
    """bench/results/NAME.json as a dict, or None when it is missing, empty or not JSON."""
    path = "%s/%s.json" % (out, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    try:
        return json.load(open(path))
    except ValueError:
        return None


def cell(v, fmt):
    """`fmt(v)`, or an em dash for a figure the report does not have."""
    return "—" if v is None else fmt(v)


def target_table(lines):
    """(first, end): lines[first:end] are the Targets table of the page's `lines`, its header
    and rule lines included; None when the page has no Targets section."""
    if "## Targets" not in lines:
        return None
    first = lines.index("## Targets") + 1
    while first < len(lines) and not lines[first].startswith("|"):
        first += 1
    end = first
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return first, end


def splice_target(page, line):
    """`page` with the Targets row that starts like `line` (up to its first " | ") replaced by
    `line`, or `line` added at the end of that table."""
    lines = page.split("\n")
    key = line.split(" | ")[0]
    for i, l in enumerate(lines):
        if l.split(" | ")[0] == key:
            lines[i] = line
            return "\n".join(lines)
    table = target_table(lines)
    if table is None:
        return page
    lines.insert(table[1], line)
    return "\n".join(lines)


def splice(path, heading, text, before, target=None):
    """Puts `text` (a section starting with `heading`) into the page at `path` in place of the
    old one, or else before the first of the `before` headings that the page has (at its end
    when none); with `target`, its row of the Targets table too."""
    page = open(path).read()
    if target:
        page = splice_target(page, target)
    start = page.find("\n" + heading + "\n")
    if start >= 0:
        end = page.find("\n## ", start + 1)
        page = page[:start + 1] + text + ("\n" + page[end + 1:] if end >= 0 else "")
    else:
        anchors = [page.find("\n## " + h) for h in before]
        anchor = next((a for a in anchors if a >= 0), -1)
        if anchor < 0:
            page = page.rstrip("\n") + "\n\n" + text
        else:
            page = page[:anchor + 1] + text + "\n" + page[anchor + 1:]
    open(path, "w").write(page)


# Sections of the page that run-results.sh does not measure (by hand, or only with --swarm).
KEPT_HEADINGS = ("## The etcd store", "## Real containers", "## The event feed's cost")


def sections(page):
    """The page's `## ` sections as (heading line, text up to the next one) pairs, in order."""
    lines = page.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")] + [len(lines)]
    return [(lines[a], "\n".join(lines[a:b]).rstrip("\n") + "\n")
            for a, b in zip(starts, starts[1:])]


def target_rows(page):
    """The rows of the page's Targets table (after its header and rule lines)."""
    lines = page.split("\n")
    table = target_table(lines)
    return [] if table is None else lines[table[0] + 2:table[1]]


def target_key(row):
    """What a Targets row is about: its first cell with the figures in it (a rate the run
    chose, say) blurred, so that a target reads the same whatever was measured."""
    return re.sub(r"[0-9][0-9,.]*", "#", row.split(" | ")[0])


def keep_unmeasured(old_page, new_page):
    """`new_page` with what `old_page` had and this run did not measure: each section of
    KEPT_HEADINGS missing from `new_page` (at the end, in the old order), and each row of the old
    Targets table whose target the new table does not have."""
    new_keys = {target_key(row) for row in target_rows(new_page)}
    for row in target_rows(old_page):
        if target_key(row) not in new_keys:
            new_page = splice_target(new_page, row)
    new_headings = [h for h, _ in sections(new_page)]
    for heading, text in sections(old_page):
        kept = any(heading.startswith(k) for k in KEPT_HEADINGS)
        if kept and heading not in new_headings:
            new_page = new_page.rstrip("\n") + "\n\n" + text
    return new_page
