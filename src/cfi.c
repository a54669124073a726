// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * .eh_frame → unwind rows.  libdw splits the section into CIEs and FDEs
 * (dwarf_next_cfi); each FDE's instructions are run once, in order
 * (src/cfiprog.c), and their rows laid end to end with a gap row wherever
 * no FDE covers the code.  Only the rules a compiler emits for x86-64 calls
 * are kept: CFA = rsp/rbp + offset, the return address at CFA - 8, rbp
 * saved at CFA + offset; the two GCC PLT expressions and signal trampolines
 * are recognised by shape.  Anything else becomes DT_UW_INVALID, never an
 * abort: a stack that reaches such code ends there and is counted.
 *
 * (Asking libdw for the rule at each row's address, dwarf_cfi_addrframe,
 * ran the FDE from its start every time and looked the FDE up in a tree:
 * 43 ms for libcrypto.so.3, where this takes a few.)
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "cfi.h"
#include "cfiprog.h"
#include "util.h"

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

/* Where .eh_frame_hdr (PT_GNU_EH_FRAME) says .eh_frame is. */
static int hdr_eh_frame(Elf *elf, uint64_t *at)
{
	size_t nph, i, size;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &size), *p;
	GElf_Phdr ph;

	if (!file || elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		/* Two checks: the sum of the header's fields can wrap. */
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset || ph.p_filesz < 8)
			return -ENODATA;
		p = file + ph.p_offset;
		if (p[0] != 1 || !read_encoded(p + 4, p + ph.p_filesz, p[1], ph.p_vaddr + 4, at))
			return -ENODATA;
		return 0;
	}
	return -ENODATA;
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

/* What an FDE's instructions need of its CIE. */
struct cie {
	Dwarf_Off off;
	struct cfiprog_cie prog;
	uint8_t enc;		/* FDE pointer encoding ('R') */
	bool z;			/* augmentation data sized in each FDE */
	size_t fde_aug;		/* without 'z': bytes of it, as libdw understood */
};

struct fde {
	uint64_t start, stop;
	const uint8_t *insns, *end;
	size_t cie;
};

static int cmp_fde(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static struct cie cie_of(Dwarf_Off off, const Dwarf_CIE *c)
{
	struct cie r = { .off = off, .enc = cie_encoding(c) };

	r.prog.insns = c->initial_instructions;
	r.prog.insns_end = c->initial_instructions_end;
	r.prog.code_align = c->code_alignment_factor;
	r.prog.data_align = c->data_alignment_factor;
	r.prog.signal = c->augmentation && strchr(c->augmentation, 'S');
	r.z = c->augmentation && c->augmentation[0] == 'z';
	r.fde_aug = c->fde_augmentation_data_size;
	return r;
}

/* An FDE's range and instructions; false if unreadable, or for discarded
 * code (start 0). */
static bool fde_of(const Dwarf_FDE *e, const struct cie *c, uint64_t vaddr, struct fde *f)
{
	const uint8_t *p = e->start;
	uint64_t len, range;
	size_t n;

	switch (c->enc & 0x0f) {
	case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8: n = 8; break;
	case DW_EH_PE_udata4: case DW_EH_PE_sdata4: n = 4; break;
	case DW_EH_PE_udata2: case DW_EH_PE_sdata2: n = 2; break;
	default: return false;
	}
	if (!read_encoded(p, e->end, c->enc, vaddr, &f->start) || !f->start ||
	    !read_encoded(p + n, e->end, c->enc & 0x0f, 0, &range) ||
	    range > UINT64_MAX - f->start)
		return false;
	p += 2 * n;
	if (c->z) {
		unsigned int shift = 0;

		len = 0;
		do {
			if (p >= e->end || shift >= 64)
				return false;
			len |= (uint64_t)(*p & 0x7f) << shift;
			shift += 7;
		} while (*p++ & 0x80);
	} else {
		len = c->fde_aug;
	}
	if (len > (uint64_t)(e->end - p))
		return false;
	f->stop = f->start + range;
	f->insns = p + len;
	f->end = e->end;
	return true;
}

/* .eh_frame, and its address: from the section headers, or (where they were
 * stripped) from .eh_frame_hdr's pointer to it, as far as its segment goes. */
static int find_eh_frame(Elf *elf, Elf_Data *d, uint64_t *vaddr)
{
	size_t shstrndx, nph, i, size;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &size);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	uint64_t at;

	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn))) {
			const char *name;
			Elf_Data *data;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!name || strcmp(name, ".eh_frame"))
				continue;
			data = elf_getdata(scn, NULL);
			if (!data || !data->d_buf)
				return -ENODATA;
			*d = *data;
			*vaddr = sh.sh_addr;
			return 0;
		}
	}
	if (!file || hdr_eh_frame(elf, &at) || elf_getphdrnum(elf, &nph))
		return -ENODATA;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    at < ph.p_vaddr || at - ph.p_vaddr >= ph.p_filesz ||
		    ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			continue;
		memset(d, 0, sizeof(*d));
		d->d_buf = (void *)(file + ph.p_offset + (at - ph.p_vaddr));
		d->d_size = ph.p_filesz - (at - ph.p_vaddr);
		*vaddr = at;
		return 0;
	}
	return -ENODATA;
}

/* Every FDE of .eh_frame, sorted by start, and the CIEs they name. */
static int read_fdes(Elf *elf, struct fde **out, size_t *n, struct cie **out_cies)
{
	struct cie *cies = NULL;
	struct fde *v = NULL;
	size_t ncies = 0, capcies = 0, cap = 0, i;
	const char *ident = elf_getident(elf, NULL);
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	Elf_Data data;
	uint64_t vaddr;
	int err;

	*n = 0;
	err = find_eh_frame(elf, &data, &vaddr);
	if (err || !ident)
		return err ? err : -ENODATA;
	while (dwarf_next_cfi((const unsigned char *)ident, &data, true, off, &next, &e) == 0) {
		if (dwarf_cfi_cie_p(&e)) {
			if (array_reserve(&cies, &capcies, ncies + 1, sizeof(*cies)))
				goto nomem;
			cies[ncies++] = cie_of(off, &e.cie);
		} else {
			struct fde f;

			/* Its CIE comes before it: look back from the last. */
			for (i = ncies; i--;)
				if (cies[i].off == e.fde.CIE_pointer)
					break;
			if (i != (size_t)-1 &&
			    fde_of(&e.fde, &cies[i],
				   vaddr + (uint64_t)(e.fde.start - (const uint8_t *)data.d_buf), &f)) {
				if (array_reserve(&v, &cap, *n + 1, sizeof(*v)))
					goto nomem;
				f.cie = i;
				v[(*n)++] = f;
			}
		}
		if (next <= off)
			break;
		off = next;
	}
	if (!*n) {
		free(cies);
		free(v);
		return -ENODATA;
	}
	qsort(v, *n, sizeof(*v), cmp_fde);
	*out = v;
	*out_cies = cies;
	return 0;
nomem:
	free(cies);
	free(v);
	return -ENOMEM;
}

static int push_row(void *ctx, uint64_t pc, struct dt_uw_row r)
{
	return push(ctx, pc, r);
}

static int build_rows(Elf *elf, struct cfi_table *t)
{
	struct builder b = { .t = t };
	uint64_t covered = 0, end;
	struct fde *fdes = NULL;
	struct cie *cies = NULL;
	size_t i, count;
	int err;

	err = read_fdes(elf, &fdes, &count, &cies);
	if (err)
		return err;
	for (i = 0; i < count && !err; i++) {
		const struct fde *f = &fdes[i];

		if (i && f->start < covered)
			continue;	/* overlaps one before: the first wins */
		if (i && f->start > covered)
			err = push(&b, covered, (struct dt_uw_row){ .kind = DT_UW_GAP });
		if (!err)
			err = cfiprog__rows(&cies[f->cie].prog, f->insns, f->end, f->start,
					    f->stop, push_row, &b, &end);
		covered = end > covered ? end : covered;
	}
	if (!err && t->nrows)
		err = push(&b, covered, (struct dt_uw_row){ .kind = DT_UW_GAP });
	free(fdes);
	free(cies);
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
