// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The target view on this very process: two files (copies of this program,
 * so two inodes) mapped executable in turn at one address, with the unmap log
 * filled as the BPF side would.  A stack taken in an epoch must be placed in
 * the object mapped then, whatever came after.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "tap.h"
#include "targetview.h"

static struct dt_unmap unmap_log[DT_UNMAP_LOG];
static uint32_t epoch;

static void copy_self(const char *to)
{
	int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT, 0700);
	struct stat st;

	if (in < 0 || out < 0 || fstat(in, &st) || sendfile(out, in, NULL, st.st_size) < 0)
		exit(2);
	close(in);
	close(out);
}

static void *map_at(const char *path, void *at, size_t len)
{
	int fd = open(path, O_RDONLY);
	void *p = mmap(at, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | (at ? MAP_FIXED : 0), fd, 0);

	close(fd);
	if (p == MAP_FAILED)
		exit(3);
	return p;
}

/* What the BPF side does at an unmap of [start, start + len). */
static void log_unmap(void *start, size_t len)
{
	epoch++;
	unmap_log[epoch & (DT_UNMAP_LOG - 1)] = (struct dt_unmap){
		.start = (uintptr_t)start, .end = (uintptr_t)start + len, .epoch = epoch };
}

/* ... at a dlclose (_dl_debug_state, RT_DELETE): no range. */
static void log_loader(void)
{
	epoch++;
	unmap_log[epoch & (DT_UNMAP_LOG - 1)] = (struct dt_unmap){
		.start = 0, .end = UINT64_MAX, .epoch = epoch, .flags = DT_UNMAP_LOADER };
}

static const char *where(struct tview *tv, uint32_t e, uint64_t ip, uint64_t *vaddr)
{
	uint64_t loc;
	const struct tv_module *m;

	tview__translate(tv, e, &ip, 1, &loc);
	*vaddr = TV_LOC_ADDR(loc);
	m = tview__module(tv, TV_LOC_MOD(loc));
	return m ? m->path : TV_LOC_MOD(loc) == TV_LOC_GONE ? "gone" : "none";
}

int main(void)
{
	char dir[] = "/tmp/dt-tv-XXXXXX", a[64], b[64];
	const size_t len = 4096;
	struct tview *tv;
	uint64_t ip, v;
	void *at;

	if (!mkdtemp(dir))
		return 2;
	snprintf(a, sizeof(a), "%s/liba", dir);
	snprintf(b, sizeof(b), "%s/libb", dir);
	copy_self(a);
	copy_self(b);

	tv = tview__new(getpid());
	tview__bind(tv, &epoch, unmap_log);
	at = map_at(a, NULL, len);
	ip = (uintptr_t)at + 0x123;
	ok(tview__sync(tv) == 0, "sync");
	ok(strcmp(where(tv, 0, ip, &v), a) == 0, "epoch 0: in A");
	is_u64(v, 0x123, "epoch 0: at A's offset");

	/* dlclose A, dlopen B at the same address. */
	log_unmap(at, len);
	munmap(at, len);
	map_at(b, at, len);
	ok(strcmp(where(tv, 1, ip, &v), b) == 0, "epoch 1: in B (looked up at once)");
	ok(strcmp(where(tv, 0, ip, &v), a) == 0, "epoch 0 still in A, after B came");

	/* And back to A, never synced before the stack arrives. */
	log_unmap(at, len);
	munmap(at, len);
	map_at(a, at, len);
	ok(strcmp(where(tv, 2, ip, &v), a) == 0, "epoch 2: in A again");
	ok(strcmp(where(tv, 1, ip, &v), b) == 0, "epoch 1 still in B");

	/* A library that came and went between two looks: never a name. */
	log_unmap(at, len);
	munmap(at, len);
	map_at(b, at, len);
	log_unmap(at, len);
	munmap(at, len);
	ok(strcmp(where(tv, 3, ip, &v), "gone") == 0, "epoch 3: unmapped before read: ???");
	ok(strcmp(where(tv, 4, ip, &v), "none") == 0, "epoch 4: nothing there");
	ok(strcmp(where(tv, 2, ip, &v), a) == 0, "epoch 2 still in A");
	is_u64(tview__stats(tv)->unmaps, 4, "four unmaps applied");

	/* More unmaps than the log holds between two looks: nothing trusted. */
	at = map_at(a, at, len);
	ok(tview__sync(tv) == 0, "sync");
	for (int i = 0; i < DT_UNMAP_LOG + 5; i++)
		log_unmap((void *)0x1000, 0x1000);	/* elsewhere, but unread */
	tview__sync(tv);
	ok(tview__stats(tv)->log_overflows > 0, "log overflow counted");
	ok(strcmp(where(tv, 4, ip, &v), a) == 0, "a stack from before the overflow: still A");
	ok(strcmp(where(tv, 5, ip, &v), "gone") == 0,
	   "a stack from the unread epochs: ???, not A");

	/* A dlclose somewhere: the program and libc (its DT_NEEDED) are
	 * never unloaded, so they keep their names; A may have gone. */
	ok(tview__sync(tv) == 0, "sync");
	log_loader();
	ip = (uintptr_t)&main;
	ok(strcmp(where(tv, epoch, ip, &v), "gone") != 0 &&
	   strcmp(where(tv, epoch, ip, &v), "none") != 0, "after a dlclose: the program named");
	ip = (uintptr_t)&getpid;	/* not malloc: ASan builds have their own */
	ok(strstr(where(tv, epoch, ip, &v), "libc") != NULL, "after a dlclose: libc named");
	ip = (uintptr_t)at + 0x123;
	munmap(at, len);
	ok(strcmp(where(tv, epoch, ip, &v), a) != 0, "after a dlclose: A unmapped: not A");
	ok(strcmp(where(tv, epoch - 1, ip, &v), a) == 0, "before the dlclose: A");
	/* exec, or an unreadable log entry: nothing is kept. */
	log_unmap(NULL, UINT64_MAX);
	ip = (uintptr_t)&getpid;	/* not malloc: ASan builds have their own */
	ok(strcmp(where(tv, epoch - 1, ip, &v), "gone") != 0, "before exec: libc");
	tview__sync(tv);

	tview__free(tv);
	unlink(a);
	unlink(b);
	rmdir(dir);
	return tap_done();
}
