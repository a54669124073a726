# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Shared by the tests of separate debug files: two programs of one shape,
real (real_site) and decoy (decoy_site), each with its debug file beside it;
the decoy's debug info would name real's code wrongly."""
import os
import subprocess

REAL = r"""
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void *volatile keep[4];
__attribute__((noinline)) void real_site(int i) { keep[i] = malloc(210); }
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--wait")) {
		sigset_t s; int sig;
		sigemptyset(&s); sigaddset(&s, SIGUSR1); sigprocmask(SIG_BLOCK, &s, 0);
		if (write(1, "ready\n", 6) < 0) return 2;
		sigwait(&s, &sig);
	}
	for (int i = 0; i < 4; i++) real_site(i);
	return 0;
}
"""
DECOY = REAL.replace("real_site", "decoy_site")


def build_pair(tmp):
    """tmp/real, tmp/decoy and their .debug files; returns real's build-id."""
    for name, src in (("real", REAL), ("decoy", DECOY)):
        exe = os.path.join(tmp, name)
        with open(exe + ".c", "w") as f:
            f.write(src)
        subprocess.run(["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", exe, exe + ".c"],
                       check=True)
        subprocess.run(["objcopy", "--only-keep-debug", exe, exe + ".debug"], check=True)
    r = subprocess.run(["readelf", "-n", os.path.join(tmp, "real")], capture_output=True,
                       text=True, check=True)
    return r.stdout.split("Build ID: ")[1].split()[0]
