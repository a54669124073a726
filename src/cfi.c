// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * .eh_frame → unwind rows.  libdw interprets the CFI (dwarf_cfi_addrframe
 * gives the rule set and its [start, end) for any address); the FDE list
 * comes from .eh_frame_hdr, whose sorted table the dynamic linker and
 * libgcc use too.  Only the rules a compiler emits for x86-64 calls are
 * kept: CFA = rsp/rbp + offset, the return address at CFA - 8, rbp saved
 * at CFA + offset; the two GCC PLT expressions and signal trampolines are
 * recognised by shape.  Anything else becomes DT_UW_INVALID, never an
 * abort: a stack that reaches such code ends there and is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "cfi.h"
#include "util.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/*
 * libdw sizes a frame by the highest register number its rules name, up to
 * 2^28: a 2 GiB frame, zeroed at every look-up in a crafted object.  x86-64
 * has fewer than 130 DWARF registers, so a frame past this comes from such
 * an object, which is given up after that one look-up, not at each FDE.
 */
#define MAX_FRAME_BYTES (64 * 1024)

struct builder {
	struct cfi_table *t;
	size_t cap;
};

static int push(struct builder *b, uint64_t pc, struct dt_uw_row r)
{
	struct cfi_table *t = b->t;

	if (pc > UINT32_MAX)
		return -ERANGE;
	r.pc = (uint32_t)pc;
	if (t->nrows) {
		struct dt_uw_row *last = &t->rows[t->nrows - 1];

		/* Same rule as the row before: that row already covers pc. */
		if (last->kind == r.kind && last->cfa_off == r.cfa_off &&
		    last->rbp_off8 == r.rbp_off8)
			return 0;
		if (last->pc == r.pc) {
			*last = r;
			return 0;
		}
	}
	if (t->nrows == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct dt_uw_row *n = realloc(t->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->rows = n;
		b->cap = cap;
	}
	t->rows[t->nrows++] = r;
	return 0;
}

/* GCC's .plt CFA: rsp + 8 + ((rip & 15) >= N) << 3, N = 11 or 10. */
static int plt_threshold(const Dwarf_Op *op, size_t n)
{
	static const uint8_t shape[] = { DW_OP_breg0 + REG_RSP, DW_OP_breg0 + REG_RA, DW_OP_lit15,
					 DW_OP_and, 0, DW_OP_ge, DW_OP_lit3, DW_OP_shl, DW_OP_plus };
	size_t i;

	if (n != sizeof(shape) || op[0].number != 8 || op[1].number != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (shape[i] && op[i].atom != shape[i])
			return -1;
	if (op[4].atom < DW_OP_lit0 || op[4].atom > DW_OP_lit15)
		return -1;
	return op[4].atom - DW_OP_lit0;
}

/* "CFA + off" as libdw spells a saved-register rule; false for others. */
static bool cfa_offset_rule(const Dwarf_Op *op, size_t n, int64_t *off)
{
	if (n < 1 || op[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*off = 0;
		return true;
	}
	if (n == 2 && op[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)op[1].number;
		return true;
	}
	return false;
}

static struct dt_uw_row row_of(Dwarf_Frame *f, bool signal)
{
	struct dt_uw_row r = { .kind = DT_UW_INVALID };
	Dwarf_Op mem[3], *op;
	size_t n;
	int64_t off;
	int thr;

	if (signal) {
		r.kind = DT_UW_SIGNAL;
		return r;
	}
	if (dwarf_frame_register(f, REG_RA, mem, &op, &n) < 0)
		return r;
	if (n == 0 && op == mem) {
		r.kind = DT_UW_STOP;	/* undefined: the outermost frame */
		return r;
	}
	if (!cfa_offset_rule(op, n, &off) || off != -8)
		return r;

	if (dwarf_frame_cfa(f, &op, &n) < 0 || n == 0)
		return r;
	off = n == 1 ? (int64_t)op[0].number2 : 1;
	if (n == 1 && op[0].atom == DW_OP_bregx &&
	    (op[0].number == REG_RSP || op[0].number == REG_RBP) &&
	    off % 8 == 0 && off / 8 >= INT16_MIN && off / 8 <= INT16_MAX) {
		/* In words: frames of 32 KiB and more are common enough
		 * (buffers on the stack), bytes would not fit. */
		r.cfa_off = (int16_t)(off / 8);
		r.kind = op[0].number == REG_RSP ? DT_UW_CFA_RSP : DT_UW_CFA_RBP;
	} else if ((thr = plt_threshold(op, n)) >= 0) {
		r.cfa_off = (int16_t)thr;
		r.kind = DT_UW_PLT;
	} else {
		return r;
	}

	if (dwarf_frame_register(f, REG_RBP, mem, &op, &n) < 0)
		goto invalid;
	if (n == 0)
		return r;	/* same value, or undefined: rbp left as it is */
	if (!cfa_offset_rule(op, n, &off) || off % 8 || off == 0 || off / 8 < INT8_MIN ||
	    off / 8 > INT8_MAX)
		goto invalid;
	r.rbp_off8 = (int8_t)(off / 8);
	return r;
invalid:
	r.kind = DT_UW_INVALID;
	r.cfa_off = 0;
	return r;
}

/*
 * libdw finds the row for an address by running the FDE's rules from the
 * FDE's start, so the rows of one FDE cost time quadratic in their number:
 * a crafted 80 KB .eh_frame with one 40,000-row FDE took 7 s, a few MB of
 * them would take hours.  Real FDEs have a few hundred at most (574 in
 * libLLVM-14); past this many, the rest of the FDE is unsupported (for
 * the last FDE, whose end the index does not say, a gap: the stack ends
 * there all the same).
 */
#define MAX_FDE_ROWS 1024

/*
 * Rows from the FDE at addr up to limit, where the next FDE in the index
 * starts (UINT64_MAX if none or out of order: then on through any FDE that
 * follows without a gap).
 */
static int walk_from(struct builder *b, Dwarf_CFI *cfi, uint64_t addr, uint64_t limit,
		     uint64_t *end)
{
	Dwarf_Addr start, stop;
	Dwarf_Frame *f;
	size_t n = 0;
	bool signal;
	int err;

	while (addr < limit && dwarf_cfi_addrframe(cfi, addr, &f) == 0) {
		if (++n > MAX_FDE_ROWS) {
			free(f);
			err = push(b, addr, (struct dt_uw_row){ .kind = DT_UW_INVALID });
			if (err)
				return err;
			if (limit != UINT64_MAX)
				addr = limit;
			break;
		}
		/* The frame is malloc'd (libdw.h says so): its size is known. */
		if (malloc_usable_size(f) > MAX_FRAME_BYTES) {
			free(f);
			return -ENODATA;
		}
		if (dwarf_frame_info(f, &start, &stop, &signal) < 0) {
			free(f);
			break;
		}
		/* glibc starts the signal trampoline's FDE one byte early so that
		 * a lookup at return address - 1 still finds it. */
		err = push(b, start > addr ? start : addr, row_of(f, signal));
		free(f);
		if (err)
			return err;
		if (stop <= addr)
			break;
		addr = stop;
	}
	*end = addr;
	return 0;
}

struct hdr_table {
	const uint8_t *p;	/* first {initial_location, fde} pair */
	size_t count;
	uint64_t base;		/* vaddr the datarel values are relative to */
};

/* .eh_frame_hdr version 1 with the usual encodings (pcrel sdata4 pointer,
 * udata4 count, datarel sdata4 table): what GNU ld, gold and lld write. */
static int find_hdr(Elf *elf, struct hdr_table *h)
{
	size_t nph, i, size;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &size), *p;
	GElf_Phdr ph;
	uint32_t count;

	if (!file || elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		/* Two checks: the sum of the header's fields can wrap. */
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset || ph.p_filesz < 12)
			return -ENODATA;
		p = file + ph.p_offset;
		if (p[0] != 1 || p[2] != DW_EH_PE_udata4 ||
		    p[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
			return -ENODATA;
		memcpy(&count, p + 8, 4);
		if (12 + (uint64_t)count * 8 > ph.p_filesz)
			return -ENODATA;
		h->p = p + 12;
		h->count = count;
		h->base = ph.p_vaddr;
		return 0;
	}
	return -ENODATA;
}

/* Where the index's i-th FDE starts. */
static uint64_t hdr_fde(const struct hdr_table *h, size_t i)
{
	int32_t v;

	memcpy(&v, h->p + i * 8, 4);
	return h->base + (int64_t)v;
}

static int exec_delta(Elf *elf, int64_t *delta)
{
	size_t nph, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (i = 0; i < nph; i++) {
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*delta = (int64_t)(ph.p_vaddr - ph.p_offset);
			return 0;
		}
	}
	return -ENOEXEC;
}

/* A pointer in .eh_frame's encoding (DW_EH_PE_*) at p, at vaddr; false if
 * the encoding is one FDE starts never use. */
static bool read_encoded(const uint8_t *p, const uint8_t *end, uint8_t enc, uint64_t vaddr,
			 uint64_t *out)
{
	int64_t v;
	size_t len;

	switch (enc & 0x0f) {
	case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8: len = 8; break;
	case DW_EH_PE_udata4: case DW_EH_PE_sdata4: len = 4; break;
	case DW_EH_PE_udata2: case DW_EH_PE_sdata2: len = 2; break;
	default: return false;
	}
	if ((size_t)(end - p) < len || (enc & DW_EH_PE_indirect))
		return false;
	if (len == 8) {
		memcpy(&v, p, 8);
	} else if (len == 4) {
		int32_t s4; uint32_t u4;

		memcpy(&s4, p, 4);
		memcpy(&u4, p, 4);
		v = (enc & 0x08) ? s4 : (int64_t)u4;
	} else {
		int16_t s2; uint16_t u2;

		memcpy(&s2, p, 2);
		memcpy(&u2, p, 2);
		v = (enc & 0x08) ? s2 : (int64_t)u2;
	}
	switch (enc & 0x70) {
	case DW_EH_PE_absptr: *out = (uint64_t)v; return true;
	case DW_EH_PE_pcrel: *out = vaddr + (uint64_t)v; return true;
	default: return false;
	}
}

/* The FDE pointer encoding of a CIE ('R' in its "z" augmentation). */
static uint8_t cie_encoding(const Dwarf_CIE *c)
{
	const uint8_t *d = c->augmentation_data, *end = d ? d + c->augmentation_data_size : d;
	const char *a = c->augmentation;

	if (!a || a[0] != 'z' || !d)
		return DW_EH_PE_absptr;
	for (a++; *a && d < end; a++) {
		if (*a == 'R')
			return *d;
		if (*a == 'L')
			d++;
		else if (*a == 'P') {
			uint8_t penc = *d++;

			d += (penc & 0x0f) == DW_EH_PE_udata2 || (penc & 0x0f) == DW_EH_PE_sdata2 ? 2 :
			     (penc & 0x0f) == DW_EH_PE_udata4 || (penc & 0x0f) == DW_EH_PE_sdata4 ? 4 : 8;
		} else if (*a != 'S' && *a != 'B') {
			break;
		}
	}
	return DW_EH_PE_absptr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Where each FDE starts, sorted.  From .eh_frame_hdr's table when there is
 * one; static executables have none (ld writes it only for dynamic ones),
 * so then from .eh_frame itself.
 */
static int fde_starts(Elf *elf, uint64_t **out, size_t *n)
{
	struct { Dwarf_Off off; uint8_t enc; } *cies = NULL;
	size_t ncies = 0, capcies = 0, cap = 0, shstrndx, i;
	uint64_t *v = NULL;
	struct hdr_table h;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *data = NULL;
	const char *ident;
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;

	*n = 0;
	if (find_hdr(elf, &h) == 0) {
		v = malloc((h.count ? h.count : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (i = 0; i < h.count; i++)
			v[i] = hdr_fde(&h, i);
		*out = v;
		*n = h.count;
		return 0;
	}
	ident = elf_getident(elf, NULL);
	if (!ident || elf_getshdrstrndx(elf, &shstrndx))
		return -ENODATA;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".eh_frame") == 0) {
			data = elf_getdata(scn, NULL);
			break;
		}
	}
	if (!data || !data->d_buf)
		return -ENODATA;
	while (dwarf_next_cfi((const unsigned char *)ident, data, true, off, &next, &e) == 0) {
		if (dwarf_cfi_cie_p(&e)) {
			if (array_reserve(&cies, &capcies, ncies + 1, sizeof(*cies)))
				goto nomem;
			cies[ncies].off = off;
			cies[ncies++].enc = cie_encoding(&e.cie);
		} else {
			const uint8_t *p = e.fde.start;
			uint8_t enc = DW_EH_PE_absptr;
			uint64_t start;

			for (i = ncies; i--;)
				if (cies[i].off == e.fde.CIE_pointer) {
					enc = cies[i].enc;
					break;
				}
			if (read_encoded(p, e.fde.end, enc,
					 sh.sh_addr + (uint64_t)(p - (const uint8_t *)data->d_buf),
					 &start) && start) {
				if (array_reserve(&v, &cap, *n + 1, sizeof(*v)))
					goto nomem;
				v[(*n)++] = start;
			}
		}
		if (next <= off)
			break;
		off = next;
	}
	free(cies);
	if (!*n) {
		free(v);
		return -ENODATA;
	}
	qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
nomem:
	free(cies);
	free(v);
	return -ENOMEM;
}

static int build_rows(Elf *elf, struct cfi_table *t)
{
	struct builder b = { .t = t };
	Dwarf_CFI *cfi;
	uint64_t covered = 0, fde, next, *starts = NULL;
	size_t i, count;
	int err;

	err = fde_starts(elf, &starts, &count);
	if (err)
		return err;
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi) {
		free(starts);
		return -ENODATA;
	}
	for (i = 0; i < count; i++) {
		fde = starts[i];
		next = i + 1 < count ? starts[i + 1] : UINT64_MAX;
		if (next <= fde)
			next = UINT64_MAX;
		if (i && fde < covered)
			continue;	/* reached already by walking on from an FDE before */
		if (i && fde > covered) {
			err = push(&b, covered, (struct dt_uw_row){ .kind = DT_UW_GAP });
			if (err)
				break;
		}
		err = walk_from(&b, cfi, fde, next, &covered);
		if (err)
			break;
	}
	if (!err && t->nrows)
		err = push(&b, covered, (struct dt_uw_row){ .kind = DT_UW_GAP });
	dwarf_cfi_end(cfi);
	free(starts);
	for (i = 0; i < t->nrows; i++)
		t->unsupported += t->rows[i].kind == DT_UW_INVALID;
	return err;
}

int cfi__build_fd(int fd, struct cfi_table *t)
{
	struct stat st;
	Elf *elf = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st))
		return -errno;
	t->ino = st.st_ino;
	t->size = (uint64_t)st.st_size;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = exec_delta(elf, &t->vaddr_delta);
	if (!err)
		err = build_rows(elf, t);
	if (err) {
		free(t->rows);
		t->rows = NULL;
		t->nrows = 0;
		t->unsupported = 0;
	}
cleanup:
	elf_end(elf);
	return err;
}

int cfi__build(const char *path, struct cfi_table *t)
{
	int fd, err;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = cfi__build_fd(fd, t);
	close(fd);
	return err;
}

void cfi__table_free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}
