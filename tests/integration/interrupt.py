#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Signals while the DHAT file is written (issue 15): one Ctrl-C keeps the
capture, a second one abandons it and leaves nothing behind, SIGKILL leaves
nothing either; SIGHUP ends a capture like SIGINT.

The target (manysites) makes 500,000 sites whose file takes about 0.5 s to
write; the test waits until dhat-trace has reaped it (the capture is over) and
signals at once, so the signals land while the file is being written."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from dtlib import Checks, fixture

DT, BUILD = sys.argv[1], sys.argv[2]
MANY = fixture(BUILD, "manysites")
SITES = 500000      # distinct stacks: enough that writing takes >= 0.3 s
STATUS = 3          # the target's exit status, to tell it from dhat-trace's own 0
NOTE = "is being written to "
c = Checks()


class Tracer:
    """dhat-trace launching manysites, its stderr collected line by line."""

    def __init__(self, out, *args):
        self.p = subprocess.Popen([DT, "-i", "0", "-o", out, "--", MANY, *args],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        first = self.p.stderr.readline()
        self.lines.append(first)
        m = re.match(r"dhat-trace: tracing PID (\d+) ", first)
        if not m:
            self.p.kill()
            raise RuntimeError(f"tracer did not start: {first!r}")
        self.target = int(m.group(1))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)

    def wait_reaped(self, timeout=120):
        """Until dhat-trace has reaped its target: the capture is over."""
        deadline = time.time() + timeout
        while os.path.exists(f"/proc/{self.target}"):
            if time.time() > deadline:
                raise RuntimeError("the target did not exit")
            time.sleep(0.002)

    def wait_line(self, phrase, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(phrase in l for l in self.lines):
                return True
            if self.p.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.002)
        return any(phrase in l for l in self.lines)

    def writing_fd(self, directory, timeout=60):
        """The link of dhat-trace's fd on a file in directory, once it has one."""
        deadline = time.time() + timeout
        fds = f"/proc/{self.p.pid}/fd"
        while time.time() < deadline and self.p.poll() is None:
            try:
                for fd in os.listdir(fds):
                    link = os.readlink(os.path.join(fds, fd))
                    if link.startswith(directory + "/"):
                        return link
            except OSError:
                pass
            time.sleep(0.002)
        return None

    def finish(self, timeout=120):
        rc = self.p.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return rc, "".join(self.lines)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if os.path.exists(f"/proc/{self.target}"):
            try:
                os.kill(self.target, signal.SIGKILL)
            except OSError:
                pass


def run(tmp, name, body, *args):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    t = Tracer(os.path.join(d, "out.json"), *args)
    try:
        body(t, d)
    finally:
        t.kill()


def one_sigint(t, d):
    t.wait_reaped()
    t.p.send_signal(signal.SIGINT)
    rc, err = t.finish()
    c.check(rc == STATUS, f"one SIGINT while writing: exit status the target's ({STATUS})",
            f"rc={rc}: {err}")
    c.check(NOTE + os.path.join(d, "out.json") + "; another Ctrl-C abandons it" in err,
            "one SIGINT: says the file is being written and another Ctrl-C abandons it", err)
    c.check("Total:" in err and "At t-end:" in err and "wrote " in err,
            "one SIGINT: the summary is printed and the file written", err)
    c.check(err.index(NOTE) < err.index("wrote ") if NOTE in err and "wrote " in err else False,
            "one SIGINT: the note comes before the file is finished", err)
    try:
        with open(os.path.join(d, "out.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        c.check(False, "one SIGINT: the file is valid JSON", repr(e))
        return
    c.check(len(doc["pps"]) == SITES, f"one SIGINT: the file is complete ({SITES} sites)",
            str(len(doc["pps"])))
    us = doc["dhatTrace"]["output_write_us"]
    # The note came before "wrote" (checked above): the signal landed while
    # writing.  This says the window was not a lucky instant.
    c.check(us >= 100000, "writing took at least 0.1 s (the test means something)",
            f"output_write_us={us}")
    c.check(os.listdir(d) == ["out.json"], "one SIGINT: no temporary file left",
            str(os.listdir(d)))


def two_signals(first, second, want_rc):
    def body(t, d):
        label = f"{first.name} then {second.name} while writing"
        t.wait_reaped()
        t.p.send_signal(first)
        noted = t.wait_line(NOTE)
        c.check(noted, f"{label}: the first says the file is being written", "".join(t.lines))
        t.p.send_signal(second)
        rc, err = t.finish()
        c.check(rc == want_rc, f"{label}: exit {want_rc}", f"rc={rc}: {err}")
        c.check("abandoned, nothing written" in err and "wrote " not in err,
                f"{label}: says the file was abandoned", err)
        c.check(os.listdir(d) == [], f"{label}: no output file and no temporary file",
                str(os.listdir(d)))
    return body


def sigkill(t, d):
    t.wait_reaped()
    link = t.writing_fd(d)
    c.check(link is not None and "(deleted)" in link,
            "SIGKILL: dhat-trace was writing an unnamed temporary file", str(link))
    t.p.kill()
    t.p.wait()
    c.check(os.listdir(d) == [], "SIGKILL while writing: nothing left in the directory",
            str(os.listdir(d)))


def sighup_capture(t, d):
    time.sleep(0.5)
    alive = os.path.exists(f"/proc/{t.target}")
    t.p.send_signal(signal.SIGHUP)
    rc, err = t.finish()
    # 0 if the command still runs when dhat-trace is done; its own status
    # if it ended meanwhile (once the probes are off, it has ~30 ms left).
    c.check(alive and rc in (0, STATUS) and "wrote " in err,
            f"SIGHUP ends the capture: exit 0 or the command's {STATUS}, file written",
            f"alive={alive} rc={rc}: {err}")
    try:
        with open(os.path.join(d, "out.json")) as f:
            n = sum(pp["tbk"] for pp in json.load(f)["pps"])
    except (OSError, ValueError, KeyError) as e:
        n = repr(e)
    c.check(isinstance(n, int) and 0 < n < SITES, "SIGHUP: the file holds the capture so far",
            str(n))


with tempfile.TemporaryDirectory() as tmp:
    run(tmp, "int1", one_sigint, str(SITES), str(STATUS))
    run(tmp, "int2", two_signals(signal.SIGINT, signal.SIGINT, 130), str(SITES), str(STATUS))
    run(tmp, "hupterm", two_signals(signal.SIGHUP, signal.SIGTERM, 128 + signal.SIGTERM),
        str(SITES), str(STATUS))
    run(tmp, "kill", sigkill, str(SITES), str(STATUS))
    run(tmp, "hup", sighup_capture, str(SITES), str(STATUS))
sys.exit(c.finish())
