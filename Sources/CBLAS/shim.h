#ifndef TRIAGE_CBLAS_SHIM_H
#define TRIAGE_CBLAS_SHIM_H
#include <cblas.h>
// Declared by OpenBLAS in cblas.h; repeated so the shim also documents what we rely on.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
// Not BLAS: a software prefetch for Swift code (no intrinsic there), used by the forest
// predictor to pull the next tree into the cache while the current one is walked.
static inline void triage_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
