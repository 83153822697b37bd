/* common.h: what every part of libsmartty shares: status codes and error reports, the logging hook,
 * a seedable and serialisable random-number generator, polite allocation and whole-file reading.
 * The library never prints and never exits: it returns a status and fills an sm_error. */
#ifndef SMARTTY_COMMON_H
#define SMARTTY_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SM_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SM_PRINTF(a, b)
#define SM_WARN_UNUSED
#endif

typedef enum sm_status {
    SM_OK = 0,
    SM_ERR_IO,          /* a file could not be opened, read or written */
    SM_ERR_FORMAT,      /* a file's contents are malformed */
    SM_ERR_NOMEM,       /* an allocation failed */
    SM_ERR_INVALID,     /* a bad argument or value */
    SM_ERR_RANGE,       /* a value outside its allowed range */
    SM_ERR_UNSUPPORTED, /* well-formed but not something smartty handles */
    SM_ERR_NONFINITE,   /* a NaN or infinity where a finite number is needed */
    SM_ERR_CANCELLED,   /* stopped on request */
    SM_ERR_STATE,       /* the operation does not fit the current state */
    SM_ERR_NOTFOUND     /* a named thing does not exist */
} sm_status;

const char *sm_status_to_string(sm_status st);

/* How far a long computation (an evaluation) got, and a way to end it early: fn(ud, done, total) is
 * called before each of its pieces (done of total rows), and nonzero stops it with SM_ERR_CANCELLED.
 * A NULL sm_progress (or fn) is neither told nor stopped. */
typedef struct sm_progress {
    int (*fn)(void *ud, size_t done, size_t total);
    void *ud;
} sm_progress;

/* An error report: what was wrong, where (file:line:column, tensor name, argument) and what to do,
 * in one message. */
typedef struct sm_error {
    sm_status status;
    char msg[1024];
} sm_error;

/* Fill *e (which may be NULL) and return st, so that `return sm_err(e, SM_ERR_IO, ...)` reads well. */
sm_status sm_err(sm_error *e, sm_status st, const char *fmt, ...) SM_PRINTF(3, 4);
sm_status sm_verr(sm_error *e, sm_status st, const char *fmt, va_list ap) SM_PRINTF(3, 0);
/* Prefix an existing message with more context: "context: old message". */
sm_status sm_err_prefix(sm_error *e, const char *fmt, ...) SM_PRINTF(2, 3);
void sm_error_clear(sm_error *e);

/* ---- logging: the library's notices go through a hook the program installs ---- */
typedef enum sm_log_level {
    SM_LOG_DEBUG = 0,
    SM_LOG_INFO,
    SM_LOG_NOTICE,
    SM_LOG_WARN
} sm_log_level;
typedef void (*sm_log_fn)(void *ud, sm_log_level level, const char *msg);
/* Install a hook (NULL: discard). Thread-safe to call sm_log from any thread; the hook must be too. */
void sm_log_set(sm_log_fn fn, void *ud);
void sm_log(sm_log_level level, const char *fmt, ...) SM_PRINTF(2, 3);

/* ---- random numbers: xoshiro256** seeded by splitmix64; the whole state is plain data ---- */
typedef struct sm_rng {
    uint64_t s[4];
    double spare;      /* second normal deviate of a Box-Muller pair */
    int has_spare;
} sm_rng;

void sm_rng_seed(sm_rng *r, uint64_t seed);
uint64_t sm_rng_u64(sm_rng *r);
double sm_rng_uniform(sm_rng *r);            /* [0, 1) with 53 random bits */
float sm_rng_uniformf(sm_rng *r);            /* [0, 1) with 24 random bits */
double sm_rng_normal(sm_rng *r);             /* N(0, 1) */
uint64_t sm_rng_below(sm_rng *r, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */
/* An independent stream derived from r's seed material and a label (e.g. "dropout", "delta"). */
void sm_rng_derive(sm_rng *out, const sm_rng *r, uint64_t label);
/* Fisher-Yates shuffle of idx[0..n). */
void sm_rng_shuffle(sm_rng *r, uint32_t *idx, size_t n);

/* ---- memory: large allocations fail politely with a status, never abort ---- */
void *sm_malloc(size_t n, sm_error *e, const char *what);
void *sm_calloc(size_t count, size_t size, sm_error *e, const char *what);
/* 64-byte aligned floats, zeroed; free with sm_free_aligned. */
float *sm_alloc_floats(size_t n, sm_error *e, const char *what);
/* Not zeroed: for a buffer that is written whole at once (a copy of a state); from 4 MiB on its
 * pages are made in one call (MADV_POPULATE_WRITE) rather than by a fault each. */
float *sm_alloc_floats_uninit(size_t n, sm_error *e, const char *what);
void sm_free_aligned(void *p);
char *sm_strdup(const char *s);

/* ---- files ---- */
/* Read a whole file into a NUL-terminated buffer (the NUL is not counted in *len). max_len 0: no
 * limit; otherwise a larger file is an error naming the limit. */
sm_status sm_read_file(const char *path, char **data, size_t *len, size_t max_len, sm_error *e);
/* Write data to path atomically: a temporary file beside it, fsync, rename. */
sm_status sm_write_file_atomic(const char *path, const void *data, size_t len, sm_error *e);
/* Join a directory and a file name into buf; returns buf or NULL if it does not fit. */
char *sm_path_join(char *buf, size_t cap, const char *dir, const char *name);
int sm_file_exists(const char *path);
int sm_dir_exists(const char *path);

/* Monotonic time in seconds. */
double sm_now(void);

/* A parallel-for lent by whoever owns threads (the engine: sm_bert_par), so that flat passes over
 * the parameter arena (optimizer, gradient norm, teacher) use them without knowing about pools.
 * run(self, total, grain, fn, ctx) calls fn(ctx, part, begin, end) on disjoint ranges covering
 * [0, total) whose bounds are multiples of grain, and returns when all are done. A NULL sm_par, or
 * one whose run is NULL, means: run fn(ctx, 0, 0, total) in the caller. */
typedef void (*sm_par_body)(void *ctx, int part, size_t begin, size_t end);
typedef struct sm_par {
    void (*run)(void *self, size_t total, size_t grain, sm_par_body fn, void *ctx);
    void *self;
} sm_par;
void sm_par_for(const sm_par *par, size_t total, size_t grain, sm_par_body fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
