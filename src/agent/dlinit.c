// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The objects a dlopen loads, patched before their constructors run.  The
 * dlopen hook (got.c) gets control back only after the loader has run the
 * new objects' constructors, through slots not yet patched.  The tracer's
 * one probe (bpf/dlinit.bpf.c) sends this thread a signal just before the
 * loader calls them, and this handler patches then.  It also covers the
 * loads no hook sees (libc's own: NSS modules, iconv's gconv modules).
 *
 * The signal is SIGURG, taken only if the program leaves it at its default
 * action (ignored): should the program install a handler of its own later,
 * the probe sees the handler is not this one and sends nothing.  Restored
 * when the agent goes inert.  Where no signal comes (no probe: the tracer
 * could not load BPF; the thread blocks it), the hook counts the dlopen
 * whose constructors it could not see (ctors_unseen).
 *
 * The handler runs inside the loader, with its dl_load_lock held by this
 * thread, at a point where the loader holds no other lock: dl_iterate_phdr
 * (dl_load_write_lock) and dlsym (dl_load_lock, recursive) are safe there.
 */
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stddef.h>
#include "agent.h"

#define AG_DLINIT_SIG SIGURG

static struct sigaction old_action;
static int taken;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	struct ag_thread tmp, *t;
	int saved = errno;

	(void)sig;
	(void)si;
	(void)uc;
	if (!ag_inert && ag_dl_rescan()) {
		/* Per thread too: a dlopen's hook tells its own from another's. */
		t = ag_thread_get(&tmp);
		if (t)
			t->dlinit_passes++;
		__atomic_fetch_add(&ag_ctrl->dlinit_passes, 1, __ATOMIC_RELAXED);
	}
	errno = saved;
}

void ag_dlinit_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };

	if (!ag_ctrl->dlinit_want || sigaction(AG_DLINIT_SIG, NULL, &old_action) ||
	    old_action.sa_handler != SIG_DFL)
		return;
	sigfillset(&sa.sa_mask);
	if (sigaction(AG_DLINIT_SIG, &sa, NULL))
		return;
	taken = 1;
	ag_ctrl->dlinit_sig = AG_DLINIT_SIG;
	ag_ctrl->dlinit_handler = (uint64_t)(uintptr_t)on_signal;
}

/* Put the program's action back, unless it has set one of its own since. */
void ag_dlinit_restore(void)
{
	struct sigaction cur;

	if (!taken || sigaction(AG_DLINIT_SIG, NULL, &cur))
		return;
	taken = 0;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
		sigaction(AG_DLINIT_SIG, &old_action, NULL);
}

uint64_t ag_dlinit_passes(void)
{
	struct ag_thread tmp, *t = ag_thread_get(&tmp);

	return t ? t->dlinit_passes : 0;
}
