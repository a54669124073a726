# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Shared by the tests of targets in other namespaces: container roots made
with Debian's tools only, entered by unshare + pivot_root, bwrap or chroot; an
attach by host PID to the program started inside; frames compared with a run
of the same program outside.

Two kinds of root:
  copied  the program and the ldd closure of it (and of umount) copied in, so
          its libc is another inode than the host's;
  host /usr  the host's /usr bind-mounted read-only, /lib and /lib64 links into
          it, so its libc is the host's inode."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from dtlib import expect_sites, load, sites

UNKNOWN = "???"


def need_namespaces(*kinds):
    """Exit 77 (skip) when the kernel has no such namespaces at all."""
    missing = [k for k in kinds if not os.path.exists(f"/proc/self/ns/{k}")]
    if missing:
        print(f"SKIP: kernel without {', '.join(missing)} namespaces")
        sys.exit(77)


def ldd_closure(prog):
    r = subprocess.run(["ldd", prog], capture_output=True, text=True, check=True)
    return sorted(set(re.findall(r"(/\S+) \(0x", r.stdout)))


def place(root, src, inside):
    dst = root + inside
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)


def copied_root(root, programs):
    """programs: {path inside: host file}.  The root also gets umount, which
    pivot_argv runs inside to drop the old root."""
    tools = {"/usr/bin/umount": shutil.which("umount")}
    for inside, src in {**programs, **tools}.items():
        place(root, src, inside)
        for lib in ldd_closure(src):
            if not os.path.exists(root + lib):
                place(root, lib, lib)
    for d in ("proc", "dev", ".old"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    return root


def usr_root(root, programs):
    """A root for pivot_argv(bind_usr=True): the host's /usr goes on usr/."""
    for d in ("usr", "proc", "dev", ".old"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link in ("lib", "lib64", "bin", "sbin"):
        os.symlink("usr/" + link, os.path.join(root, link))
    for inside, src in programs.items():
        place(root, src, inside)
    return root


def pivot_argv(root, argv, bind_usr=False, pid_ns=False, overlay=None):
    """A private mount namespace whose root is `root` (pivot_root, old root
    unmounted), as runc does, and with pid_ns a PID namespace too; the program
    is exec'ed there.  overlay=(lower, upper, work): root (an empty directory)
    becomes an overlayfs of lower, as Docker's and Podman's roots are."""
    first = ('mount --bind "$0" "$0"; ' if not overlay else
             'mount -t overlay overlay -o lowerdir={},upperdir={},workdir={} "$0"; '
             .format(*overlay))
    script = ('set -e; ' + first
              + ('mount --bind -o ro /usr "$0/usr"; ' if bind_usr else '')
              + 'mount -t proc proc "$0/proc"; cd "$0"; pivot_root . .old; cd /; '
              'umount -l /.old; exec "$@"')
    return (["unshare", "-m", "--propagation", "private"] + (["-p", "-f"] if pid_ns else [])
            + ["sh", "-c", script, root, *argv])


def bwrap_argv(argv, root=None, binds=(), unshare_pid=False):
    """bwrap with `root` as / (copied), or else the host's /usr read-only plus
    binds [(host file, path inside)]."""
    a = ["bwrap"] + (["--unshare-pid"] if unshare_pid else [])
    if root:
        a += ["--bind", root, "/"]
    else:
        a += ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
              "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin"]
    for src, inside in binds:
        a += ["--ro-bind", src, inside]
    return a + ["--proc", "/proc", "--dev", "/dev", "--", *argv]


def descendant(pid, comm, timeout=10):
    """pid itself or the first process below it named comm."""
    deadline = time.time() + timeout
    while True:
        names, kids = {}, {}
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                with open(f"/proc/{e}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            i = s.rindex(")")
            names[int(e)] = s[s.index("(") + 1:i]
            kids.setdefault(int(s[i + 2:].split()[1]), []).append(int(e))
        todo = [pid]
        while todo:
            p = todo.pop()
            if names.get(p) == comm:
                return p
            todo += kids.get(p, [])
        if time.time() > deadline:
            raise RuntimeError(f"no process {comm} below {pid}")
        time.sleep(0.05)


class Run:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def ns_of(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def nspid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def attach_inside(dt, out, argv, comm, *opts, timeout=60):
    """Start argv (a wrapper whose program, named comm, says "ready" and waits
    for SIGUSR1), attach to that program by its host PID, release it, wait.
    The program is released also when the tracer fails to start."""
    target = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tracer = None
    try:
        ready = target.stdout.readline()
        if ready != b"ready\n":
            _, err = target.communicate(timeout=timeout)
            raise RuntimeError(f"{argv}: not ready: {ready!r} {err.decode(errors='replace')}")
        pid = descendant(target.pid, comm)
        info = dict(pid=pid, mnt=ns_of(pid, "mnt"), pidns=ns_of(pid, "pid"), nspid=nspid(pid),
                    root=os.readlink(f"/proc/{pid}/root"))
        tracer = subprocess.Popen([dt, "-i", "0", "-p", str(pid), "-o", out, "-d", "60s", *opts],
                                  stderr=subprocess.PIPE, text=True)
        first = tracer.stderr.readline()
        os.kill(pid, signal.SIGUSR1)
        stdout, _ = target.communicate(timeout=timeout)
        rest = tracer.stderr.read()
        tracer.wait(timeout=timeout)
        return Run(rc=tracer.returncode, err=first + rest, stdout=(ready + stdout).decode(),
                   target_rc=target.returncode, **info)
    finally:
        for p in (target, tracer):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def key(frame):
    """A frame string without its address; "(in /some/obj)" keeps the base name."""
    s = frame.split(": ", 1)[1] if re.match(r"0x[0-9A-Fa-f]+: ", frame) else frame
    return re.sub(r"\(in (?:.*/)?([^/]*)\)$", r"(in \1)", s)


def unknown(frame):
    return key(frame).startswith(UNKNOWN)


def stacks(d):
    return [[d["ftbl"][i] for i in pp["fs"]] for pp in d["pps"]]


def stack_of(d, fn):
    """Keys of the first stack whose innermost frame is function fn."""
    for s in stacks(d):
        if s and key(s[0]).startswith(fn + " ("):
            return [key(f) for f in s]
    return None


def check_container_run(c, label, run, out, ref, leak, foreign=("host_fn", "(host.c:")):
    """The checks every containerized run gets: the tracer ran, the leak site
    of ctr.c with its exact bytes, no frame from the host's file at the same
    path, every frame one the run outside has (or ???), the leak's stack as
    outside."""
    if not c.check(run.rc == 0, f"{label}: dhat-trace -p {run.pid} exit 0",
                   run.err.strip()[-600:]):
        return
    expect_sites(c, sites(out, "ctr.c"), leak, label)
    d = load(out)
    frames = d["ftbl"][1:]
    bad = [f for f in frames if any(x in f for x in foreign)]
    c.check(not bad, f"{label}: no frame names the host's file at that path", str(bad[:6]))
    wrong = [f for f in frames if not unknown(f) and key(f) not in ref["keys"]]
    c.check(not wrong, f"{label}: every frame a right name or ???", str(wrong[:6]))
    got = stack_of(d, next(iter(leak)))
    c.check(got == ref["leak_stack"], f"{label}: leak stack as outside the container",
            f"got {got}, outside {ref['leak_stack']}")


def reference(dt, prog, out, leak_fn):
    """The same program run outside any container: its frame keys and the
    leak's stack, what a containerized run must show."""
    r = subprocess.run([dt, "-q", "-o", out, "--", prog], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"reference run of {prog}: {r.stderr}")
    d = load(out)
    stack = stack_of(d, leak_fn)
    if not stack or any(s.startswith(UNKNOWN) for s in stack):
        raise RuntimeError(f"reference run of {prog}: leak stack incomplete: {stack}")
    return {"keys": {key(f) for f in d["ftbl"][1:]}, "leak_stack": stack}



def samepath_setup(dt, tmp, ctr, host):
    """A host file where the container's program will sit, a path the host
    does not have, and the program's reference run outside any container:
    (app, only, ref)."""
    app = os.path.join(tmp, "opt", "app")        # the host's file here is host.c's
    only = os.path.join(tmp, "only", "app")      # the host has nothing here
    os.makedirs(os.path.dirname(app))
    shutil.copy2(host, app)
    os.makedirs(os.path.join(tmp, "ref"))
    shutil.copy2(ctr, os.path.join(tmp, "ref", "app"))
    ref = reference(dt, os.path.join(tmp, "ref", "app"), os.path.join(tmp, "ref.json"),
                    "ctr_leak_site")
    return app, only, ref
