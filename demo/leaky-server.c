// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * A pretend server for the quick start, running ~5 seconds: every request
 * uses a temporary buffer (freed), a session cache grows and is never
 * evicted (the leak), a periodic burst makes a peak that is freed again
 * (so t-gmax is not t-end), and a log buffer grows with realloc.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
	struct session *next;
	char token[48];
};

static struct session *cache;	/* grows forever: nobody evicts */
static char *logbuf;
static size_t loglen;
static volatile char sink;

__attribute__((noinline)) static void cache_insert(unsigned int id)
{
	struct session *s = malloc(sizeof(*s));

	memset(s->token, 'a' + id % 26, sizeof(s->token));
	s->next = cache;
	cache = s;
}

__attribute__((noinline)) static void log_line(const char *msg)
{
	size_t n = strlen(msg);

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

int main(void)
{
	struct timespec pause = { 0, 200000 };
	unsigned int id;

	for (id = 1; id <= 20000; id++) {
		handle_request(id);
		if (id == 6000)
			burst();
		nanosleep(&pause, NULL);
	}
	return 0;
}
