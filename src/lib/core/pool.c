/* pool.c: the engine's fork-join pool (see pool.h): workers spin briefly for the next job, then sleep
 * on a condition variable, so that idle workers neither burn the cores OpenBLAS needs for the matrix
 * products nor add a wake-up latency to every small kernel. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lib/core/pool.h"

#define SPINS 4000

typedef struct worker {
    sm_pool *pool;
    int index;
    pthread_t th;
} worker;

struct sm_pool {
    int n;                  /* threads, caller included */
    worker *w;              /* [n - 1] */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_ulong gen;       /* job generation: workers run a job when it changes */
    atomic_int pending;     /* workers still running the current job */
    atomic_int stop;
    /* the current job */
    sm_pool_fn fn;
    void *ctx;
    size_t total, grain;
    int parts;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void part_bounds(const sm_pool *p, int i, size_t *b, size_t *e)
{
    size_t units = (p->total + p->grain - 1) / p->grain;
    size_t ub = units * (size_t)i / (size_t)p->parts, ue = units * (size_t)(i + 1) / (size_t)p->parts;
    *b = ub * p->grain;
    *e = ue * p->grain < p->total ? ue * p->grain : p->total;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sm_pool *p = w->pool;
    unsigned long seen = 0; /* the generation at creation: a job issued before this thread runs is still seen */
    for (;;) {
        for (int k = 0; k < SPINS && atomic_load(&p->gen) == seen && !atomic_load(&p->stop); k++)
            cpu_relax();
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        seen = atomic_load(&p->gen);
        if (w->index < p->parts) {
            size_t b, e;
            part_bounds(p, w->index, &b, &e);
            if (b < e)
                p->fn(p->ctx, w->index, b, e);
        }
        atomic_fetch_sub(&p->pending, 1);
    }
    return NULL;
}

sm_status sm_pool_create(sm_pool **out, int n, sm_error *e)
{
    *out = NULL;
    sm_pool *p = sm_calloc(1, sizeof *p, e, "the thread pool");
    if (!p)
        return SM_ERR_NOMEM;
    p->n = n < 1 ? 1 : n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    if (p->n > 1) {
        p->w = sm_calloc((size_t)p->n - 1, sizeof *p->w, e, "the thread pool");
        if (!p->w) {
            sm_pool_free(p);
            return SM_ERR_NOMEM;
        }
        for (int i = 0; i < p->n - 1; i++) {
            p->w[i].pool = p;
            p->w[i].index = i + 1;
            if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0) {
                p->n = i + 1; /* the threads started so far */
                sm_pool_free(p);
                return sm_err(e, SM_ERR_NOMEM, "could not start engine thread %d: use fewer threads", i + 1);
            }
        }
    }
    *out = p;
    return SM_OK;
}

void sm_pool_free(sm_pool *p)
{
    if (!p)
        return;
    if (p->w) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n - 1; i++)
            pthread_join(p->w[i].th, NULL);
        free(p->w);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int sm_pool_size(const sm_pool *p) { return p ? p->n : 1; }

void sm_pool_for(sm_pool *p, size_t total, size_t grain, int max_parts, sm_pool_fn fn, void *ctx)
{
    if (total == 0)
        return;
    if (grain == 0)
        grain = 1;
    size_t units = (total + grain - 1) / grain;
    int parts = p ? p->n : 1;
    if (parts > max_parts)
        parts = max_parts;
    if ((size_t)parts > units)
        parts = (int)units;
    if (parts <= 1) {
        fn(ctx, 0, 0, total);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->total = total;
    p->grain = grain;
    p->parts = parts;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    size_t b, e;
    part_bounds(p, 0, &b, &e);
    if (b < e)
        fn(ctx, 0, b, e);
    for (int k = 0; atomic_load(&p->pending) > 0; k++) {
        if (k < SPINS)
            cpu_relax();
        else
            sched_yield();
    }
}
