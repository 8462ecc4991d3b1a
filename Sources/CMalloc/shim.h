#ifndef TRIAGE_CMALLOC_SHIM_H
#define TRIAGE_CMALLOC_SHIM_H
// glibc's allocator settings, which Swift's Glibc module does not expose (malloc.h).
#if defined(__GLIBC__)
#include <malloc.h>
// Fixes the size from which allocations are mmapped (and returned to the system when freed).
// Setting it also turns off glibc's dynamic threshold, which otherwise rises each time a large
// block is freed (up to 32 MiB), after which large buffers come from the heap and fragment it.
// Returns 1 on success, 0 on failure or on a C library without the setting.
static inline int triage_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
#else
static inline int triage_fix_mmap_threshold(int bytes) { (void)bytes; return 0; }
#endif
#endif
