/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/* The frame-pointer walk (--unwind=fp), at an allocator's entry. */
#ifndef DT_FPWALK_BPF_H
#define DT_FPWALK_BPF_H

/*
 * Frame-pointer steps, a bpf_loop() callback for the same reason as
 * uw_step(): with the window's reads inlined, a loop unrolled by the
 * verifier went over its instruction limit.  The state is uw_state's; st->sp
 * holds where the reads ended (win_reached()).  A call takes up to FP_UNROLL
 * frames that lie in the window, each two loads from it, with no helper call
 * in that loop (a call forces every live value into the few callee-saved
 * registers, and the rest onto the stack); a frame outside the window is
 * taken alone through win_word(), and the next call goes on from there.
 */
#define FP_UNROLL 8

static __always_inline int fp_bad(__u64 fp, __u64 nr)
{
	return nr >= max_frames || !fp || (fp & 7);
}

struct fp_walk {
	__u64 fp, nr, h, reach;
	__u64 nlog, nocache;	/* see sc_log() */
};

/* The frame at f->fp, whose words are next and ret: 0 to go on, 1 at the end. */
static __always_inline int fp_frame(struct fp_walk *f, struct dt_rec_stack *s, __u64 next,
				    __u64 ret)
{
	__u64 nr = f->nr;

	f->reach = f->fp + 16;
	if (!ret)
		return 1;
	/* Bounded where it is used: clang hoists the address otherwise. */
	asm volatile("" : "+r"(nr));
	if (nr >= DT_MAX_FRAMES)
		return 1;
	s->ips[nr] = ret;
	f->h = stack_hash_step(f->h, ret);
	f->nr = nr + 1;
	/* Callers' frames lie above; anything else is not a frame chain. */
	if (next <= f->fp)
		return 1;
	f->fp = next;
	return 0;
}

static long fp_step(__u32 i, void *data)
{
	__u64 next, ret, base, len, off;
	struct dt_rec_stack *s;
	struct stack_win *w;
	struct sc_entry *e;
	struct uw_state *st;
	struct fp_walk f;
	__u32 k;
	int end = 1;

	if (!walk_bufs(&st, &s, &w, &e))
		return 1;
	f.fp = st->bp;
	f.nr = st->nr;
	f.h = st->h;
	f.reach = st->sp;
	f.nlog = st->nlog;
	f.nocache = st->nocache;
	base = w->base;
	len = w->len;
	off = f.fp - base;
	if (len < 16 || off > len - 16) {
		if (fp_bad(f.fp, f.nr))
			goto out;
		if (win_word(w, f.fp, &next) || win_word(w, f.fp + 8, &ret)) {
			f.nocache = 1;	/* unreadable now, perhaps not later */
			goto out;
		}
		sc_log_pair(e, st->sp0, &f.nlog, &f.nocache, f.fp, next, ret);
		end = fp_frame(&f, s, next, ret);
		goto out;
	}
#pragma unroll
	for (k = 0; k < FP_UNROLL; k++) {
		if (fp_bad(f.fp, f.nr))
			goto out;
		off = f.fp - base;
		if (off > len - 16) {
			end = 0;	/* outside the window: the next call reads it */
			goto out;
		}
		next = *(__u64 *)(w->buf + (off & (SW_SIZE - 1)));
		ret = *(__u64 *)(w->buf + ((off + 8) & (SW_SIZE - 1)));
		sc_log_pair(e, st->sp0, &f.nlog, &f.nocache, f.fp, next, ret);
		if (fp_frame(&f, s, next, ret))
			goto out;
	}
	end = 0;
out:
	st->nr = f.nr;
	st->bp = f.fp;
	st->h = f.h;
	st->sp = f.reach;
	st->nlog = f.nlog;
	st->nocache = f.nocache;
	return end;
}

/* Frames after ips[0] by frame pointers; returns the frame count. */
static __always_inline __u32 unwind_fp(struct pt_regs *ctx, struct uw_state *st)
{
	st->bp = PT_REGS_FP(ctx);
	st->bp_used = 1;		/* the chain starts there */
	st->sp = PT_REGS_SP(ctx) + 8;	/* ips[0]'s word: what the walk read so far */
	st->nr = 1;
	bpf_loop(DT_MAX_FRAMES, fp_step, NULL, 0);
	return (__u32)st->nr;
}

#endif
