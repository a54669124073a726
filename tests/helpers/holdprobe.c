// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * holdprobe VICTIM_PID LIBRARY SYMBOL: hold a uprobe on SYMBOL in LIBRARY,
 * filtered to VICTIM_PID, with a reference counter (as USDT semaphores and
 * some tracers use).  The kernel keeps one uprobe per file offset, so another
 * tracer's uprobe there without that counter is refused ("ref_ctr_offset
 * mismatch"): the situation dhat-trace must explain.  Prints "held".
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t sym_offset(Elf *elf, const char *sym)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !data)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			if (gelf_getsym(data, (int)i, &s) && s.st_value &&
			    !strcmp(elf_strptr(elf, sh.sh_link, s.st_name), sym)) {
				size_t n, k;
				GElf_Phdr ph;

				elf_getphdrnum(elf, &n);
				for (k = 0; k < n; k++)
					if (gelf_getphdr(elf, (int)k, &ph) && ph.p_type == PT_LOAD &&
					    s.st_value >= ph.p_vaddr &&
					    s.st_value < ph.p_vaddr + ph.p_filesz)
						return s.st_value - ph.p_vaddr + ph.p_offset;
			}
		}
	}
	return 0;
}

/* Somewhere in the writable data segment: the counter must live there. */
static uint64_t data_offset(Elf *elf)
{
	size_t n, k;
	GElf_Phdr ph;

	elf_getphdrnum(elf, &n);
	for (k = 0; k < n; k++)
		if (gelf_getphdr(elf, (int)k, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_W))
			return ph.p_offset + 16;
	return 0;
}

int main(int argc, char **argv)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	uint64_t off, ref;
	int fd, type;
	FILE *f;
	Elf *elf;

	if (argc != 4)
		return 64;
	elf_version(EV_CURRENT);
	fd = open(argv[2], O_RDONLY);
	elf = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ, NULL);
	off = elf ? sym_offset(elf, argv[3]) : 0;
	ref = elf ? data_offset(elf) : 0;
	f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	if (!off || !ref || !f || fscanf(f, "%d", &type) != 1) {
		fprintf(stderr, "holdprobe: cannot find %s in %s\n", argv[3], argv[2]);
		return 1;
	}
	attr.type = (uint32_t)type;
	attr.config = ref << 32;	/* PERF_UPROBE_REF_CTR_OFFSET_SHIFT */
	attr.config1 = (uint64_t)(uintptr_t)argv[2];
	attr.config2 = off;
	fd = (int)syscall(SYS_perf_event_open, &attr, atoi(argv[1]), -1, -1, 0);
	if (fd < 0) {
		perror("holdprobe: perf_event_open");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	pause();
	return 0;
}
