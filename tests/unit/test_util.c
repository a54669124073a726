// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <string.h>
#include "tap.h"
#include "util.h"

int main(void)
{
	static const struct { const char *s; uint64_t ns; } good[] = {
		{ "500ms", 500000000ULL }, { "30s", 30000000000ULL }, { "5m", 300000000000ULL },
		{ "1h", 3600000000000ULL }, { "2", 2000000000ULL }, { "1.5s", 1500000000ULL },
		{ "0", 0 },
	};
	static const char *const bad[] = { "", "5x", "-1s", "s", "1 s", "abc", "1e400", "+3" };
	uint64_t v;
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		v = 1;
		ok(parse_duration(good[i].s, &v) == 0 && v == good[i].ns, "duration '%s'", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ok(parse_duration(bad[i], &v) != 0, "bad duration '%s' refused", bad[i]);
	ok(parse_size("64M", &v) == 0 && v == 64ULL << 20, "size 64M");
	ok(parse_size("4096", &v) == 0 && v == 4096, "size 4096");
	ok(parse_size("1Gx", &v) != 0, "size 1Gx refused");
	ok(strcmp(fmt_thousands(1234567, buf, sizeof(buf)), "1,234,567") == 0, "1,234,567");
	ok(strcmp(fmt_thousands(999, buf, sizeof(buf)), "999") == 0, "999");
	ok(strcmp(fmt_thousands(1000, buf, sizeof(buf)), "1,000") == 0, "1,000");
	ok(strcmp(fmt_thousands(0, buf, sizeof(buf)), "0") == 0, "0");
	return tap_done();
}
