#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""`dhat-trace report`, `diff` and `check` on real files: the leakfix fixture
traced by dhat-trace and by valgrind --tool=dhat, leaking and fixed, and the
dhat-rs fixtures (tests/fixtures/dhat-rs).  The numbers printed are checked
against the files' own; malformed, truncated, empty and non-DHAT input gives
one line and exit 1, on every subcommand."""
import json
import os
import re
import subprocess
import sys
import tempfile
from dtlib import Checks, fixture, launch, load, valgrind

DT, BUILD = sys.argv[1], sys.argv[2]
RS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "dhat-rs")
EXIT_GATE = 23
# leak_site's malloc line, read from the source so edits elsewhere in it
# do not break the test.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "leakfix.c")) as _f:
    LEAK_LINE = next(i for i, line in enumerate(_f, 1) if "malloc(64)" in line)
LEAK = f"leak_site (leakfix.c:{LEAK_LINE})"
N = lambda s: int(s.replace(",", ""))


def run(*args):
    return subprocess.run([DT, *args], capture_output=True, text=True, timeout=60)


def totals(d):
    return {k: sum(pp.get(k, 0) for pp in d["pps"]) for k in ("tb", "tbk", "gb", "gbk", "eb", "ebk")}


def check_report_totals(c, label, path):
    """The header's numbers are the sums over the file's program points."""
    r = run("report", path)
    if not c.check(r.returncode == 0 and not r.stderr, f"{label}: report exits 0", r.stderr):
        return r.stdout
    t = totals(load(path))
    m = re.search(r"^Total: +([\d,]+) bytes in ([\d,]+) blocks", r.stdout, re.M)
    c.check(m and (N(m[1]), N(m[2])) == (t["tb"], t["tbk"]), f"{label}: report total = sums",
            f"{m and m[0]} vs {t}")
    if load(path)["bklt"]:
        m = re.search(r"^At t-end: +([\d,]+) bytes in ([\d,]+) blocks", r.stdout, re.M)
        c.check(m and (N(m[1]), N(m[2])) == (t["eb"], t["ebk"]), f"{label}: report t-end = sums",
                f"{m and m[0]} vs {t}")
        m = re.search(r"^At t-gmax: +([\d,]+) bytes in ([\d,]+) blocks", r.stdout, re.M)
        c.check(m and (N(m[1]), N(m[2])) == (t["gb"], t["gbk"]),
                f"{label}: report t-gmax = sums", f"{m and m[0]} vs {t}")
    return r.stdout


def site_blocks(out):
    """[(numbers line, [frames])] of report's or diff's '#N' entries."""
    entries = []
    for block in re.split(r"\n(?=#\d+)", out)[1:]:
        lines = block.strip("\n").split("\n")
        entries.append((lines[0], [l.strip() for l in lines[1:] if l.startswith("    ")]))
    return entries


def check_sorts(c, label, path):
    """Every --sort orders the sites as the file's own numbers say."""
    d = load(path)
    keys = {"total": lambda p: p["tb"], "blocks": lambda p: p["tbk"],
            "tgmax": lambda p: p["gb"], "tend": lambda p: p["eb"],
            "lifetime": lambda p: p.get("tl", 0) // p["tbk"] if p["tbk"] else 0}
    for name, key in keys.items():
        r = run("report", "--sort", name, "--top", "1000", path)
        got = [frames for _, frames in site_blocks(r.stdout)]
        want = sorted(d["pps"], key=lambda p: (-key(p), -p["tb"]))
        by_frames = {tuple(d["ftbl"][i] for i in p["fs"]): p for p in d["pps"]}
        c.check(r.returncode == 0 and len(got) == len(d["pps"]) and
                [key(p) for p in want] == [key(by_frames[tuple(f)]) for f in got],
                f"{label}: --sort={name} orders {len(got)} sites", r.stdout[-300:] + r.stderr)


def check_bad_input(c, tmp, good):
    """Each one line 'dhat-trace: FILE: ...' on stderr, nothing on stdout, exit 1."""
    text = open(good).read()
    d = json.loads(text)
    two = dict(d, pps=[d["pps"][0], dict(d["pps"][1], fs=d["pps"][0]["fs"])])
    cases = {
        "empty": ("", "empty"),
        "blank": ("  \n\n", "empty"),
        "truncated": (text[: len(text) // 2], "truncated"),
        "not-json": ("dhat-heap.json is here\n", "not JSON"),
        "trailing": (text + "}", "not JSON"),
        "array": ("[1, 2, 3]", "not a DHAT file"),
        "other-json": ('{"name": "x", "version": 2}', "missing a field: dhatFileVersion"),
        "version-1": (json.dumps(dict(d, dhatFileVersion=1)), "version number 1"),
        "no-ftbl": (json.dumps({k: v for k, v in d.items() if k != "ftbl"}),
                    "missing a field: ftbl"),
        "no-tg": (json.dumps({k: v for k, v in d.items() if k != "tg"}), "missing a field: tg"),
        "pp-no-eb": (json.dumps(dict(d, pps=[{k: v for k, v in d["pps"][0].items() if k != "eb"}])),
                     "pps[0] is missing a field: eb"),
        "repeated": (json.dumps(two), "repeated location"),
        "bad-index": (json.dumps(dict(d, pps=[dict(d["pps"][0], fs=[len(d["ftbl"])])])),
                      "not an index into ftbl"),
        "negative": (json.dumps(dict(d, pps=[dict(d["pps"][0], tb=-5)])), "pps[0].tb is not"),
        "acc": (json.dumps(dict(d, pps=[dict(d["pps"][0], acc=[-3, 70000])])),
                "too-large access value"),
    }
    for name, (content, why) in cases.items():
        path = os.path.join(tmp, f"bad-{name}.json")
        with open(path, "w") as f:
            f.write(content)
        for cmd in (["report", path], ["diff", good, path], ["check", path]):
            r = run(*cmd)
            lines = r.stderr.splitlines()
            c.check(r.returncode == 1 and not r.stdout and len(lines) == 1 and
                    lines[0].startswith(f"dhat-trace: {path}: ") and why in lines[0],
                    f"{name}: {cmd[0]} gives one line and exit 1", repr(r.stderr) + r.stdout[:200])
    r = run("report", os.path.join(tmp, "missing.json"))
    c.check(r.returncode == 1 and r.stderr.endswith("missing.json: No such file or directory\n"),
            "a missing file: one line, exit 1", r.stderr)
    # What the viewer accepts is accepted: "2" for the version, unknown fields.
    path = os.path.join(tmp, "loose.json")
    with open(path, "w") as f:
        json.dump(dict(d, dhatFileVersion="2", extra={"x": [1]}), f)
    c.check(run("report", path).returncode == 0, "version \"2\" and extra fields are accepted")


def check_usage(c, good):
    for args, what in ((["report"], "report without FILE"), (["diff", good], "diff with one file"),
                       (["check", "--fail-on-leak=lots", good], "check with bad BYTES"),
                       (["report", "--sort=size", good], "report --sort=size")):
        r = run(*args)
        # One line that says what is wrong, then argp's pointer to --help
        # (the one format of every usage error, cli_errors.py).
        lines = r.stderr.splitlines()
        c.check(r.returncode == 64 and lines and lines[0].startswith(f"dhat-trace {args[0]}: ")
                and " ".join(lines[1:]).startswith("Try ") and "--help" in r.stderr,
                f"{what}: exit 64, one line and the pointer to --help", r.stderr)
    for cmd in ("report", "diff", "check"):
        for h in ("-h", "--help"):
            r = run(cmd, h)
            c.check(r.returncode == 0 and r.stdout.startswith(f"Usage: dhat-trace {cmd} "),
                    f"{cmd} {h}", r.stdout[:100] + r.stderr)


def check_diff(c, label, before, after, want_changed, want_unchanged):
    r = run("diff", before, after)
    if not c.check(r.returncode == 0, f"{label}: diff exits 0", r.stderr):
        return
    m = re.search(r"^Sites: +(\d+) in both \((\d+) changed, (\d+) unchanged\), (\d+) new, "
                  r"(\d+) gone", r.stdout, re.M)
    c.check(m and tuple(map(int, m.groups()[1:])) == (want_changed, want_unchanged, 0, 0),
            f"{label}: {want_changed} changed, {want_unchanged} unchanged, none new or gone",
            m and m[0])
    return r.stdout


def check_leakfix(c, tmp):
    prog = fixture(BUILD, "leakfix")
    files = {}
    for tool in ("dt", "vg"):
        for mode, argv in (("leak", [prog]), ("fixed", [prog, "--fixed"])):
            path = os.path.join(tmp, f"{tool}-{mode}.json")
            r = launch(DT, path, argv) if tool == "dt" else valgrind(path, argv)
            c.check(r.returncode == 0 and os.path.exists(path), f"{tool} {mode}: traced",
                    r.stderr[-300:])
            files[tool, mode] = path
    for key, path in files.items():
        check_report_totals(c, " ".join(key), path)
    check_sorts(c, "dt leak", files["dt", "leak"])

    # The fix: the leaking site's t-end goes to 0, everything else stays.
    out = check_diff(c, "dt leak -> fixed", files["dt", "leak"], files["dt", "fixed"], 1, 2)
    rows = site_blocks(out or "")
    c.check(rows and rows[0][1][0] == LEAK and rows[0][0].startswith(
        "#1 changed: t-end 2,560 -> 0 bytes (-2,560), 40 -> 0 blocks (-40); t-gmax 2,560 -> "
        "2,560 bytes (0), 40 -> 40 blocks (0); total 2,560 -> 2,560 bytes (0)"),
            "dt: leak_site's t-end 2,560 -> 0 bytes, its total and t-gmax unchanged",
            str(rows[:1]))
    m = re.search(r"^At t-end: +([\d,]+) -> ([\d,]+) bytes", out or "", re.M)
    c.check(m and (N(m[1]), N(m[2])) == (3560, 1000), "dt: t-end 3,560 -> 1,000 bytes",
            m and m[0])
    # Across tools: the same run seen by Valgrind and by dhat-trace.
    check_diff(c, "vg leak -> dt leak", files["vg", "leak"], files["dt", "leak"], 0, 3)
    check_diff(c, "vg leak -> dt fixed", files["vg", "leak"], files["dt", "fixed"], 1, 2)
    # Before and after, swapped: the site comes back as a change of +2,560.
    out = check_diff(c, "vg fixed -> vg leak", files["vg", "fixed"], files["vg", "leak"], 1, 2)
    c.check("t-end 0 -> 2,560 bytes (+2,560)" in (out or ""), "vg: the leak back is +2,560")

    # check: the gate and its ignore patterns.
    for tool in ("dt", "vg"):
        leak, fixed = files[tool, "leak"], files[tool, "fixed"]
        r = run("check", leak)
        c.check(r.returncode == EXIT_GATE and "leak check: FAIL: 3,560 bytes in 41 blocks in 2 "
                "sites at t-end (limit 0 bytes)" in r.stdout and
                re.search(r"2,560 bytes in +40 blocks: " + re.escape(LEAK), r.stdout),
                f"{tool}: check fails (23) with 3,560 bytes, leak_site's 2,560 printed",
                r.stdout + r.stderr)
        r = run("check", "--ignore-site=keep_site", fixed)
        c.check(r.returncode == 0 and "ignored: 1,000 bytes in 1 sites" in r.stdout,
                f"{tool}: fixed, keep_site ignored: passes", r.stdout + r.stderr)
        r = run("check", "--ignore-site=keep_site", leak)
        c.check(r.returncode == EXIT_GATE and "FAIL: 2,560 bytes in 40 blocks in 1 sites"
                in r.stdout, f"{tool}: leaking, keep_site ignored: fails on 2,560", r.stdout)
        pats = os.path.join(tmp, "ignore.txt")
        with open(pats, "w") as f:
            f.write(f"# known\n\n  keep_site  \n*leakfix.c:{LEAK_LINE})\n")
        r = run("check", f"--ignore-file={pats}", leak)
        c.check(r.returncode == 0, f"{tool}: --ignore-file by function and by text: passes",
                r.stdout + r.stderr)
        r = run("check", "--fail-on-leak=3560", leak)
        c.check(r.returncode == 0, f"{tool}: --fail-on-leak=3560 (= t-end) passes", r.stdout)
        r = run("check", "--fail-on-leak=3559", leak)
        c.check(r.returncode == EXIT_GATE, f"{tool}: --fail-on-leak=3559 fails", r.stdout)
        r = run("check", "--max-peak=3760", "--fail-on-leak=4K", leak)
        c.check(r.returncode == 0 and "peak check: ok: 3,760 bytes" in r.stdout,
                f"{tool}: --max-peak=3760 (= t-gmax) passes", r.stdout)
        r = run("check", "--max-peak=3K", "--fail-on-leak=4K", leak)
        c.check(r.returncode == EXIT_GATE and "peak check: FAIL: 3,760 bytes" in r.stdout and
                "leak check: ok" in r.stdout, f"{tool}: --max-peak=3K fails alone", r.stdout)
    # report's filters on a real file.
    r = run("report", "--match=leak_site", files["dt", "leak"])
    rows = site_blocks(r.stdout)
    c.check(len(rows) == 1 and LEAK in rows[0][1][0], "report --match: leak_site only",
            r.stdout[-400:])
    r = run("report", "--sort=tend", "--min-bytes=1001", files["dt", "leak"])
    rows = site_blocks(r.stdout)
    c.check(len(rows) == 1 and rows[0][0].startswith("#1: total 2,560 bytes in 40 blocks"),
            "report --sort=tend --min-bytes=1001: leak_site only", r.stdout[-400:])
    return files


def check_dhat_rs(c, tmp, dt_file):
    heap, adhoc = os.path.join(RS, "heap.json"), os.path.join(RS, "ad-hoc.json")
    check_report_totals(c, "dhat-rs heap", heap)
    check_report_totals(c, "dhat-rs ad-hoc", adhoc)
    check_sorts(c, "dhat-rs heap", heap)
    r = run("report", heap)
    c.check("Total:     1,642 bytes in 14 blocks" in r.stdout and
            "At t-gmax: 1,432 bytes in 3 blocks, at 287 of 301 µs" in r.stdout and
            "At t-end:  32 bytes in 1 blocks" in r.stdout, "dhat-rs heap: heap.rs's numbers",
            r.stdout[:400])
    r = run("report", "--sort=tend", adhoc)
    c.check(r.returncode == 1 and "bklt is false" in r.stderr, "ad-hoc: --sort=tend refused",
            r.stderr)
    r = run("check", heap)
    c.check(r.returncode == EXIT_GATE and "32 bytes in 1 blocks in 1 sites" in r.stdout,
            "dhat-rs heap: check fails on v3's 32 bytes", r.stdout)
    r = run("check", "--ignore-site=alloc::vec::Vec<T,A>::push", heap)
    c.check(r.returncode == 0, "dhat-rs heap: ignoring Vec::push passes", r.stdout)
    r = run("check", adhoc)
    c.check(r.returncode == 1 and len(r.stderr.splitlines()) == 1, "ad-hoc: check refused",
            r.stderr)
    # dhat-rs's "file:line:column" matches "file:line": its v3 site as
    # another tool would write it.
    d = load(heap)
    d["ftbl"] = [re.sub(r":(\d+):\d+\)$", r":\1)", f) for f in d["ftbl"]]
    d["ftbl"] = [re.sub(r"^0x[0-9a-f]+", "0xDEAD", f) for f in d["ftbl"]]
    d["pps"][2]["eb"] = d["pps"][2]["ebk"] = 0
    other = os.path.join(tmp, "rs-nocol.json")
    with open(other, "w") as f:
        json.dump(d, f)
    out = check_diff(c, "dhat-rs vs without columns", heap, other, 1, 3)
    c.check("t-end 32 -> 0 bytes (-32)" in (out or ""), "dhat-rs: v3 matched without columns",
            out)
    # Different programs: every site new or gone.
    r = run("diff", heap, dt_file)
    m = re.search(r"^Sites: +0 in both \(0 changed, 0 unchanged\), 3 new, 4 gone", r.stdout,
                  re.M)
    c.check(r.returncode == 0 and m, "dhat-rs vs dhat-trace: 3 new, 4 gone", r.stdout[:600])


def check_suspects(c, tmp, dt_file):
    """dhatTrace.suspects, when there: shown first; malformed entries counted."""
    d = load(dt_file)
    leak = next(i for i, pp in enumerate(d["pps"]) if LEAK in d["ftbl"][pp["fs"][0]])
    d["dhatTrace"]["suspects"] = [{"pp": leak, "reason": "LEAK? +2,560 B in 3 of 3 reports"},
                                  {"pp": 99}, "x"]
    path = os.path.join(tmp, "suspects.json")
    with open(path, "w") as f:
        json.dump(d, f)
    r = run("report", path)
    head = r.stdout.split("\n#1")[0]
    c.check(r.returncode == 0 and "Leak suspects" in head and
            f"LEAK? +2,560 B in 3 of 3 reports\n      pps[{leak}]: 2,560 bytes in 40 blocks "
            "at t-end" in head and
            "(2 entries of dhatTrace.suspects not understood)" in head,
            "suspects shown first, 2 malformed counted", head)
    r = run("report", dt_file)
    c.check("Leak suspects" not in r.stdout, "no suspects section without dhatTrace.suspects")


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    files = check_leakfix(c, tmp)
    check_dhat_rs(c, tmp, files["dt", "leak"])
    check_suspects(c, tmp, files["dt", "leak"])
    check_bad_input(c, tmp, files["dt", "leak"])
    check_usage(c, files["dt", "leak"])
sys.exit(c.finish())
