#ifndef TRIAGE_CBLAS_SHIM_H
#define TRIAGE_CBLAS_SHIM_H
#include <cblas.h>
// Declared by OpenBLAS in cblas.h; repeated so the shim also documents what we rely on.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
