"""Helpers of the sections of bench/RESULTS.md (idle_section.py, services_section.py): reading a
run's JSON report, formatting a figure that may be missing, and splicing one section (and its
row of the Targets table) into the page, for the `run-results.sh --*-only` modes that measure one
part of the page and keep the rest."""
import json
import os


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


def splice_target(page, line):
    """`page` with the Targets row that starts like `line` (up to its first " | ") replaced by
    `line`, or `line` added at the end of that table."""
    lines = page.split("\n")
    key = line.split(" | ")[0]
    for i, l in enumerate(lines):
        if l.split(" | ")[0] == key:
            lines[i] = line
            return "\n".join(lines)
    if "## Targets" not in lines:
        return page
    i = lines.index("## Targets") + 1
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    while i < len(lines) and lines[i].startswith("|"):
        i += 1
    lines.insert(i, line)
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
