// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Each thread's state in the agent (struct ag_thread), without thread-local
 * storage of the agent's own.  An object with a TLS segment is one more
 * module in the DTV of every thread: each new thread's DTV, which ld.so
 * allocates and the program's capture shows, came out 64 bytes larger
 * than without the agent.  And a dlopen'ed object with initial-exec TLS
 * needs room in the static TLS surplus, which a process may have used up.
 *
 * A pthread key holds the thread's slot instead (for the first 32 keys, in
 * the thread's descriptor: no allocation), from a pool of our own taken
 * and given back without locks, since a hook may run in a signal handler.
 * The key's destructor gives the slot back as the thread exits and leaves
 * GONE in its place: libc frees what it keeps per thread after that
 * (__libc_thread_freeres), calls recorded as any other, with a state on the
 * hook's stack (ag_thread_get's tmp).  The cost: pthread_getspecific() on
 * each call, ~2% of a hooked malloc+free here.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include "agent.h"

#define POOL_BYTES (64ULL << 20)	/* reserved, touched as threads come */
#define GONE ((struct ag_thread *)1)
#define INIT_MAX 16

/* The key is read on every call: kept off the lines acquire() writes. */
pthread_key_t ag_thread_key __attribute__((aligned(64)));
static bool key_ok;
static struct ag_thread *pool;
static uint32_t pool_cap;
static uint32_t pool_used __attribute__((aligned(64)));
/* The free slots: (tag << 32) | (index + 1); 0 in the low half: none.
 * The tag makes a pop that raced another pop and a push fail. */
static uint64_t free_head;
/* Threads setting their key (a key past the first 32 makes libc allocate
 * there, through a hooked slot): their calls are the agent's own. */
static uint64_t initializing[INIT_MAX];

static void push(struct ag_thread *t)
{
	uint32_t idx = (uint32_t)(t - pool);
	uint64_t h = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE);

	do
		t->next_free = (uint32_t)h;
	while (!__atomic_compare_exchange_n(&free_head, &h, ((h >> 32) + 1) << 32 | (idx + 1),
					    true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
}

static struct ag_thread *pop(void)
{
	uint64_t h = __atomic_load_n(&free_head, __ATOMIC_ACQUIRE), next;
	uint32_t idx;

	do {
		if (!(uint32_t)h)
			return NULL;
		idx = (uint32_t)h - 1;
		/* May be stale if another thread took it meanwhile: then the
		 * tag has moved and the exchange fails. */
		next = __atomic_load_n(&pool[idx].next_free, __ATOMIC_RELAXED);
	} while (!__atomic_compare_exchange_n(&free_head, &h, ((h >> 32) + 1) << 32 | next, true,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return &pool[idx];
}

static void on_exit_of_thread(void *v)
{
	if (v && v != GONE)
		push(v);
	pthread_setspecific(ag_thread_key, GONE);
}

int ag_thread_init(void)
{
	void *m = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	if (pthread_key_create(&ag_thread_key, on_exit_of_thread)) {
		munmap(m, POOL_BYTES);
		return -1;
	}
	pool = m;
	pool_cap = (uint32_t)(POOL_BYTES / sizeof(*pool));
	key_ok = true;
	return 0;
}

static int claim_init(uint64_t tp)
{
	uint64_t zero;
	int i;

	for (i = 0; i < INIT_MAX; i++) {
		zero = 0;
		if (__atomic_compare_exchange_n(&initializing[i], &zero, tp, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return i;
	}
	return -1;
}

static bool initializing_now(uint64_t tp)
{
	int i;

	for (i = 0; i < INIT_MAX; i++)
		if (__atomic_load_n(&initializing[i], __ATOMIC_ACQUIRE) == tp)
			return true;
	return false;
}

/* A first call on this thread: its slot. */
static struct ag_thread *acquire(struct ag_thread *tmp)
{
	uint64_t tp = (uint64_t)(uintptr_t)__builtin_thread_pointer();
	struct ag_thread *t;
	uint32_t idx;
	int slot;

	if (initializing_now(tp))
		return NULL;
	slot = claim_init(tp);
	t = slot < 0 ? NULL : pop();
	if (slot >= 0 && !t) {
		idx = __atomic_fetch_add(&pool_used, 1, __ATOMIC_RELAXED);
		t = idx < pool_cap ? &pool[idx] : NULL;
	}
	if (t) {
		memset(t, 0, sizeof(*t));
		if (pthread_setspecific(ag_thread_key, t)) {
			push(t);
			t = NULL;
		}
	}
	if (slot >= 0)
		__atomic_store_n(&initializing[slot], 0, __ATOMIC_RELEASE);
	if (t)
		return t;
	/* No slot (the pool is spent): recorded all the same, but a call
	 * nested in this one is not known as such. */
	memset(tmp, 0, sizeof(*tmp));
	return tmp;
}

/* ag_thread_get() found no slot (t: NULL or GONE). */
struct ag_thread *ag_thread_none(struct ag_thread *tmp, struct ag_thread *t)
{
	if (t == GONE || !key_ok) {
		memset(tmp, 0, sizeof(*tmp));
		return tmp;
	}
	return acquire(tmp);
}
