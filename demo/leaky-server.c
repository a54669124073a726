// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * A pretend server for the quick start, running ~5 seconds: every request
 * uses a temporary buffer (freed), a session cache grows and is never
 * evicted (the leak), a periodic burst makes a peak that is freed again
 * (so t-gmax is not t-end), and a log buffer grows with realloc.
 *   --seconds=N   run about N seconds (default 5), for attaching by PID
 *   --fixed       the fix: the cache keeps the newest 1000 sessions and the
 *                 log is cut when it passes 4 KiB (docs/tutorial.md)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct session {
	struct session *next;
	char token[48];
};

static struct session *cache;	/* grows forever: nobody evicts */
static unsigned int cached;
static char *logbuf;
static size_t loglen;
static int fixed;

/* The fix: drop the oldest sessions beyond the newest 1000. */
static void evict(void)
{
	struct session *s = cache, *next;
	unsigned int n = 1;

	while (s && n < 1000) {
		s = s->next;
		n++;
	}
	if (!s)
		return;
	next = s->next;
	s->next = NULL;
	for (; next; next = s) {
		s = next->next;
		free(next);
		cached--;
	}
}
static volatile char sink;

__attribute__((noinline)) static void cache_insert(unsigned int id)
{
	struct session *s = malloc(sizeof(*s));

	memset(s->token, 'a' + id % 26, sizeof(s->token));
	s->next = cache;
	cache = s;
	if (fixed && ++cached > 1100)
		evict();
}

__attribute__((noinline)) static void log_line(const char *msg)
{
	size_t n = strlen(msg);

	if (fixed && loglen > 4096)
		loglen = 0;	/* the fix: rotated */
	logbuf = realloc(logbuf, loglen + n + 1);
	memcpy(logbuf + loglen, msg, n + 1);
	loglen += n;
}

__attribute__((noinline)) static void handle_request(unsigned int id)
{
	char *buf = malloc(512 + id % 1024);

	memset(buf, 0, 512);
	sink = buf[id % 512];
	if (id % 3 == 0)
		cache_insert(id);
	if (id % 50 == 0)
		log_line("served a batch of requests\n");
	free(buf);
}

__attribute__((noinline)) static void burst(void)
{
	void *blocks[64];
	int i;

	for (i = 0; i < 64; i++) {
		blocks[i] = calloc(1, 16384);
		sink = ((char *)blocks[i])[i];
	}
	for (i = 0; i < 64; i++)
		free(blocks[i]);
}

int main(int argc, char **argv)
{
	struct timespec pause = { 0, 200000 };
	unsigned int id, requests = 20000;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--seconds=", 10))
			requests = (unsigned int)atoi(argv[i] + 10) * 4000;
		else if (!strcmp(argv[i], "--fixed"))
			fixed = 1;
	}
	printf("leaky-server: PID %d, %u requests%s\n", (int)getpid(), requests,
	       fixed ? ", fixed" : "");
	fflush(stdout);
	for (id = 1; id <= requests; id++) {
		handle_request(id);
		if (id % 40000 == 6000)
			burst();
		nanosleep(&pause, NULL);
	}
	return 0;
}
