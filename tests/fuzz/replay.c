// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * A fuzzer's corpus replayed without libFuzzer: every file in each directory
 * named (or each file) goes to LLVMFuzzerTestOneInput once, in name order.
 * Built with the project's own compiler, so that meson test re-checks the
 * corpus on every build, and under ASan/UBSan in dev.sh's build-asan.
 *
 *   replay_NAME DIR|FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input in a buffer of exactly its size, as libFuzzer hands it over:
 * ASan then flags the first byte read past its end. */
static int run_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int err = 0;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -errno;
		goto cleanup;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		err = buf ? -EIO : -ENOMEM;
		goto cleanup;
	}
	/* Named first: a crash inside ends the log with it. */
	printf("%s (%ld bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
cleanup:
	free(buf);
	if (f)
		fclose(f);
	if (err)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-err));
	return err;
}

static int run_dir(const char *dir, int *count)
{
	struct dirent **names;
	char path[4096];
	struct stat st;
	int i, n, err = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(-err));
		return err;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!err && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			err = run_one(path);
			*count += !err;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	struct stat st;
	int i, count = 0, err = 0;

	for (i = 1; i < argc && !err; i++) {
		if (stat(argv[i], &st)) {
			err = -errno;
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(-err));
		} else if (S_ISDIR(st.st_mode)) {
			err = run_dir(argv[i], &count);
		} else {
			err = run_one(argv[i]);
			count += !err;
		}
	}
	printf("replayed %d inputs\n", count);
	/* An empty corpus tests nothing: a wrong path, not a pass. */
	return err || !count ? 1 : 0;
}
