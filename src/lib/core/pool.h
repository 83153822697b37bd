/* pool.h: a tiny fork-join thread pool for the engine's elementwise kernels and attention (the matrix
 * products are threaded by OpenBLAS itself). One job at a time, run by the caller and n - 1 workers;
 * used from one thread at a time (the model's owner). Internal to libsmartty. */
#ifndef SMARTTY_POOL_H
#define SMARTTY_POOL_H

#include <stddef.h>

#include "smartty/common.h"

typedef struct sm_pool sm_pool;

/* fn(ctx, part, begin, end) on part number `part` (0 <= part < size(), one thread each), the range
 * [begin, end) of [0, total). */
typedef void (*sm_pool_fn)(void *ctx, int part, size_t begin, size_t end);

/* A pool of n threads counting the caller (n <= 1: everything runs in the caller, no thread). */
sm_status sm_pool_create(sm_pool **out, int n, sm_error *e);
void sm_pool_free(sm_pool *p);
int sm_pool_size(const sm_pool *p);
/* Split [0, total) into at most min(size(), max_parts) contiguous parts whose bounds are multiples of
 * grain (except the end), run them in parallel, return when all are done. p may be NULL (serial). */
void sm_pool_for(sm_pool *p, size_t total, size_t grain, int max_parts, sm_pool_fn fn, void *ctx);

#endif
