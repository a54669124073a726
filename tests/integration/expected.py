# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Per-site totals the fixtures must produce (tb, tbk, gb, gbk, eb, ebk): the
tables at the top of each fixture's source."""

BASIC = {
    "site_leak": (300, 3, 300, 3, 300, 3),
    "site_calloc": (400, 2, 400, 2, 0, 0),
    "site_zero": (1, 1, 1, 1, 1, 1),
    "site_chain": (370, 3, 120, 1, 0, 0),
    "site_realloc_null": (64, 1, 64, 1, 64, 1),
    "site_reallocarray": (32, 1, 32, 1, 32, 1),
    "site_pm_small": (48, 1, 48, 1, 0, 0),
    "site_pm_big": (48, 1, 48, 1, 48, 1),
    "site_aligned": (128, 1, 128, 1, 128, 1),
    "site_memalign": (96, 1, 96, 1, 0, 0),
    "site_valloc": (1000, 1, 1000, 1, 1000, 1),
    "site_big": (10000, 1, 10000, 1, 0, 0),
    "site_rzero": (77, 1, 0, 0, 0, 0),
    "site_temp": (150, 5, 0, 0, 0, 0),
    "site_after": (40, 2, 0, 0, 40, 2),
}
THREADS = {
    # pthread_create -> ld.so's calloc of each thread's DTV: reached only by
    # unwinding through ld.so and libc, which have no frame pointers.
    "main": (1088, 4, 1088, 4, 1088, 4),
    "site_work": (16000, 400, 0, 0, 0, 0),
    "site_keep": (1024, 4, 1024, 4, 512, 2),
    "site_peak": (100000, 1, 100000, 1, 0, 0),
}
CXX = {
    "site_array": (120, 3, 120, 3, 80, 2),
    "site_object": (48, 2, 48, 2, 48, 2),
    "site_aligned": (128, 1, 128, 1, 0, 0),
    "site_nothrow": (33, 1, 33, 1, 33, 1),
    "site_vector": (424, 2, 424, 2, 424, 2),
    "site_big": (50000, 1, 50000, 1, 0, 0),
}
# realloc(p, 0) and reallocarray behave differently under jemalloc; the rest
# must count exactly as with glibc.
JEMALLOC_SAME = ("site_leak", "site_calloc", "site_zero", "site_chain", "site_realloc_null",
                 "site_pm_small", "site_pm_big", "site_aligned", "site_memalign",
                 "site_valloc", "site_big", "site_temp", "site_after")
STDCXX = {
    "site_vector_growth": (1044, 9, 536, 2, 536, 2),
    "site_strings": (219, 6, 146, 4, 146, 4),
    "helper_buffer": (128, 2, 128, 2, 128, 2),
}
