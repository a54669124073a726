/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_ALLOCFNS_H
#define DT_ALLOCFNS_H

/*
 * The one table of the functions dhat-trace intercepts, for both ways of
 * doing it: the uprobes (src/probes.c) and the in-process agent's GOT hooks
 * (src/agent/hooks.c).  Each includer defines X(id, sym, kind, fn, required,
 * nargs, prog) to take the columns it needs:
 *   id        a C identifier for the entry
 *   sym       the symbol's name
 *   kind      DT_PK_*
 *   fn        DT_FN_* (include/dhat_abi.h): what the records name
 *   required  the uprobe mode refuses a target without it
 *   nargs     integer arguments (registers a moved probe must keep)
 *   prog      the BPF program of its uprobe
 *
 * operator new is intercepted (it calls malloc too; only the outermost call
 * counts) so that the user's call is the one attributed, whichever
 * allocator new ends up in.  operator delete too, but not the C++ runtime's
 * own (libstdc++'s calls free() through its PLT: a second probe on every
 * delete for nothing): an interposed allocator's delete may never call free
 * (libjemalloc's sized and aligned ones go to its sdallocx), and a delete
 * that does is a nested call, its free not counted again.
 */
enum dt_probe_kind { DT_PK_ALLOC, DT_PK_FREE, DT_PK_MAP };

#define DT_ALLOC_FNS(X) \
	X(free, "free", DT_PK_FREE, DT_FN_FREE, 1, 1, free_enter) \
	X(malloc, "malloc", DT_PK_ALLOC, DT_FN_MALLOC, 1, 1, malloc_enter) \
	X(calloc, "calloc", DT_PK_ALLOC, DT_FN_CALLOC, 0, 2, calloc_enter) \
	X(realloc, "realloc", DT_PK_ALLOC, DT_FN_REALLOC, 0, 2, realloc_enter) \
	X(reallocarray, "reallocarray", DT_PK_ALLOC, DT_FN_REALLOCARRAY, 0, 3, reallocarray_enter) \
	X(posix_memalign, "posix_memalign", DT_PK_ALLOC, DT_FN_POSIX_MEMALIGN, 0, 3, \
	  posix_memalign_enter) \
	X(aligned_alloc, "aligned_alloc", DT_PK_ALLOC, DT_FN_ALIGNED_ALLOC, 0, 2, aligned_alloc_enter) \
	X(memalign, "memalign", DT_PK_ALLOC, DT_FN_MEMALIGN, 0, 2, memalign_enter) \
	X(valloc, "valloc", DT_PK_ALLOC, DT_FN_VALLOC, 0, 1, valloc_enter) \
	X(pvalloc, "pvalloc", DT_PK_ALLOC, DT_FN_PVALLOC, 0, 1, pvalloc_enter) \
	X(znwm, "_Znwm", DT_PK_ALLOC, DT_FN_NEW, 0, 1, new_enter) \
	X(znam, "_Znam", DT_PK_ALLOC, DT_FN_NEW, 0, 1, new_enter) \
	X(znwm_nt, "_ZnwmRKSt9nothrow_t", DT_PK_ALLOC, DT_FN_NEW, 0, 2, new_enter) \
	X(znam_nt, "_ZnamRKSt9nothrow_t", DT_PK_ALLOC, DT_FN_NEW, 0, 2, new_enter) \
	X(znwm_al, "_ZnwmSt11align_val_t", DT_PK_ALLOC, DT_FN_NEW, 0, 2, new_enter) \
	X(znam_al, "_ZnamSt11align_val_t", DT_PK_ALLOC, DT_FN_NEW, 0, 2, new_enter) \
	X(znwm_al_nt, "_ZnwmSt11align_val_tRKSt9nothrow_t", DT_PK_ALLOC, DT_FN_NEW, 0, 3, new_enter) \
	X(znam_al_nt, "_ZnamSt11align_val_tRKSt9nothrow_t", DT_PK_ALLOC, DT_FN_NEW, 0, 3, new_enter) \
	X(zdlpv, "_ZdlPv", DT_PK_FREE, DT_FN_DELETE, 0, 1, delete_enter) \
	X(zdapv, "_ZdaPv", DT_PK_FREE, DT_FN_DELETE, 0, 1, delete_enter) \
	X(zdlpv_sz, "_ZdlPvm", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdapv_sz, "_ZdaPvm", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdlpv_nt, "_ZdlPvRKSt9nothrow_t", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdapv_nt, "_ZdaPvRKSt9nothrow_t", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdlpv_al, "_ZdlPvSt11align_val_t", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdapv_al, "_ZdaPvSt11align_val_t", DT_PK_FREE, DT_FN_DELETE, 0, 2, delete_enter) \
	X(zdlpv_sz_al, "_ZdlPvmSt11align_val_t", DT_PK_FREE, DT_FN_DELETE, 0, 3, delete_enter) \
	X(zdapv_sz_al, "_ZdaPvmSt11align_val_t", DT_PK_FREE, DT_FN_DELETE, 0, 3, delete_enter) \
	X(zdlpv_al_nt, "_ZdlPvSt11align_val_tRKSt9nothrow_t", DT_PK_FREE, DT_FN_DELETE, 0, 3, \
	  delete_enter) \
	X(zdapv_al_nt, "_ZdaPvSt11align_val_tRKSt9nothrow_t", DT_PK_FREE, DT_FN_DELETE, 0, 3, \
	  delete_enter)

/*
 * Not allocators: where the target's code can go away, for the uprobe
 * mode's view of its mappings (mapwatch.h).  libc's wrappers, and ld.so's
 * hook around dlopen/dlclose (which unmap without libc).  Without munmap and
 * _dl_debug_state both, mapwatch.c watches every system call instead.
 */
#define DT_MAP_FNS(X) \
	X(munmap, "munmap", DT_PK_MAP, DT_FN_MUNMAP, 0, 2, munmap_enter) \
	X(mmap, "mmap", DT_PK_MAP, DT_FN_MMAP, 0, 4, mmap_enter) \
	X(mremap, "mremap", DT_PK_MAP, DT_FN_MREMAP, 0, 5, mremap_enter) \
	X(dl_debug_state, "_dl_debug_state", DT_PK_MAP, DT_FN_DL_DEBUG_STATE, 0, 0, \
	  dl_debug_state_enter)

#endif
