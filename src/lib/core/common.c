/* common.c: error reports, the logging hook, the RNG, polite allocation and file helpers.
 * Nothing here prints or exits. */
#include "smartty/common.h"
#include "smartty/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *sm_status_to_string(sm_status st)
{
    switch (st) {
    case SM_OK: return "ok";
    case SM_ERR_IO: return "i/o error";
    case SM_ERR_FORMAT: return "malformed input";
    case SM_ERR_NOMEM: return "out of memory";
    case SM_ERR_INVALID: return "invalid argument";
    case SM_ERR_RANGE: return "value out of range";
    case SM_ERR_UNSUPPORTED: return "unsupported";
    case SM_ERR_NONFINITE: return "non-finite value";
    case SM_ERR_CANCELLED: return "cancelled";
    case SM_ERR_STATE: return "wrong state";
    case SM_ERR_NOTFOUND: return "not found";
    }
    return "unknown status";
}

/* A message that did not fit ends in a visible " [...]" (on a UTF-8 character boundary), so that a
 * cut is never taken for the whole text. */
static const char cut_mark[] = " [...]";

static void mark_cut(char *msg, size_t cap, int needed)
{
    if (needed < 0 || (size_t)needed < cap)
        return;
    size_t at = strlen(msg); /* the text may have been escaped since it was cut */
    if (at > cap - sizeof cut_mark)
        at = cap - sizeof cut_mark;
    while (at > 0 && ((unsigned char)msg[at] & 0xC0) == 0x80)
        at--;
    memcpy(msg + at, cut_mark, sizeof cut_mark);
}

sm_status sm_verr(sm_error *e, sm_status st, const char *fmt, va_list ap)
{
    if (e) {
        e->status = st;
        int need = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        sm_text_escape_inplace(e->msg, sizeof e->msg); /* names and text from outside, made safe */
        mark_cut(e->msg, sizeof e->msg, need);
    }
    return st;
}

sm_status sm_err(sm_error *e, sm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sm_verr(e, st, fmt, ap);
    va_end(ap);
    return st;
}

sm_status sm_err_prefix(sm_error *e, const char *fmt, ...)
{
    if (!e)
        return SM_ERR_INVALID;
    char pre[sizeof e->msg], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    mark_cut(pre, sizeof pre, vsnprintf(pre, sizeof pre, fmt, ap));
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    int need = snprintf(e->msg, sizeof e->msg, "%s: %s", pre, old);
    sm_text_escape_inplace(e->msg, sizeof e->msg);
    mark_cut(e->msg, sizeof e->msg, need);
    return e->status;
}

void sm_error_clear(sm_error *e)
{
    if (e) {
        e->status = SM_OK;
        e->msg[0] = '\0';
    }
}

/* ---- logging ---- */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static sm_log_fn log_fn;
static void *log_ud;

void sm_log_set(sm_log_fn fn, void *ud)
{
    pthread_mutex_lock(&log_mu);
    log_fn = fn;
    log_ud = ud;
    pthread_mutex_unlock(&log_mu);
}

void sm_log(sm_log_level level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_mu);
    sm_log_fn fn = log_fn;
    void *ud = log_ud;
    pthread_mutex_unlock(&log_mu);
    if (!fn)
        return;
    /* whole: a notice may list many tensor names or a long path (measured, then written) */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf) {
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    char *safe = buf ? sm_text_escape_dup(buf, 0) : NULL; /* names and text from outside, made safe */
    fn(ud, level, safe ? safe : "(out of memory formatting a notice)");
    free(safe);
    free(buf);
}

/* ---- RNG ---- */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sm_rng_seed(sm_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t sm_rng_u64(sm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sm_rng_uniform(sm_rng *r) { return (double)(sm_rng_u64(r) >> 11) * 0x1.0p-53; }

float sm_rng_uniformf(sm_rng *r) { return (float)(sm_rng_u64(r) >> 40) * 0x1.0p-24f; }

double sm_rng_normal(sm_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do {
        u1 = sm_rng_uniform(r);
    } while (u1 <= 0.0);
    u2 = sm_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

uint64_t sm_rng_below(sm_rng *r, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do {
        x = sm_rng_u64(r);
    } while (x >= lim);
    return x % n;
}

void sm_rng_derive(sm_rng *out, const sm_rng *r, uint64_t label)
{
    uint64_t x = r->s[0] ^ rotl(r->s[1], 13) ^ rotl(r->s[2], 29) ^ rotl(r->s[3], 43) ^
                 (label * 0xd6e8feb86659fd93ULL);
    sm_rng_seed(out, splitmix64(&x));
}

void sm_rng_shuffle(sm_rng *r, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sm_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- memory ---- */
static void fmt_bytes(char *buf, size_t cap, size_t n)
{
    if (n >= (1u << 30))
        snprintf(buf, cap, "%.1f GiB", (double)n / (1u << 30));
    else if (n >= (1u << 20))
        snprintf(buf, cap, "%.1f MiB", (double)n / (1u << 20));
    else
        snprintf(buf, cap, "%zu bytes", n);
}

/* A request larger than the machine's physical memory cannot be met usefully: say so instead of
 * asking the allocator (a size from a damaged config.json, say vocab_size 1e8 x hidden_size 65536,
 * is 26 TB; AddressSanitizer aborts on such a request rather than returning NULL). 1 when refused. */
static int beyond_memory(size_t bytes, sm_error *e, const char *what)
{
    if (bytes <= (size_t)1 << 30) /* ordinary requests: no system call */
        return 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0 || bytes / (size_t)page <= (size_t)pages)
        return 0;
    char b[32], m[32];
    fmt_bytes(b, sizeof b, bytes);
    fmt_bytes(m, sizeof m, (size_t)pages * (size_t)page);
    sm_err(e, SM_ERR_NOMEM, "%s would need %s, more than this machine's %s of memory: use a smaller "
           "model/batch (or check the sizes in its config.json)", what ? what : "data", b, m);
    return 1;
}

void *sm_malloc(size_t n, sm_error *e, const char *what)
{
    if (beyond_memory(n, e, what))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (!p) {
        char b[32];
        fmt_bytes(b, sizeof b, n);
        sm_err(e, SM_ERR_NOMEM, "out of memory allocating %s for %s: free memory or use a smaller model/batch",
               b, what ? what : "data");
    }
    return p;
}

void *sm_calloc(size_t count, size_t size, sm_error *e, const char *what)
{
    if (size && count > SIZE_MAX / size) {
        sm_err(e, SM_ERR_NOMEM, "allocation size overflow for %s", what ? what : "data");
        return NULL;
    }
    if (beyond_memory(count * size, e, what))
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        char b[32];
        fmt_bytes(b, sizeof b, count * size);
        sm_err(e, SM_ERR_NOMEM, "out of memory allocating %s for %s: free memory or use a smaller model/batch",
               b, what ? what : "data");
    }
    return p;
}

static float *alloc_floats(size_t n, int populate, sm_error *e, const char *what)
{
    if (n > SIZE_MAX / sizeof(float) - 64) {
        sm_err(e, SM_ERR_NOMEM, "allocation size overflow for %s", what ? what : "tensor");
        return NULL;
    }
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    if (beyond_memory(bytes, e, what ? what : "tensor"))
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        char b[32];
        fmt_bytes(b, sizeof b, bytes);
        sm_err(e, SM_ERR_NOMEM, "out of memory allocating %s for %s: free memory or use a smaller model/batch",
               b, what ? what : "tensor");
        return NULL;
    }
#ifdef MADV_POPULATE_WRITE
    /* A large copy is about to be written whole: its pages made in one call rather than one fault
     * each (a fault costs microseconds in a virtual machine). The start is rounded up to a page;
     * a kernel before 5.14 says EINVAL and the pages come by faults as before. */
    if (populate && bytes >= ((size_t)4 << 20)) {
        uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        if (end > a)
            (void)madvise((void *)a, end - a, MADV_POPULATE_WRITE);
    }
#endif
    return p;
}

float *sm_alloc_floats_uninit(size_t n, sm_error *e, const char *what) { return alloc_floats(n, 1, e, what); }

float *sm_alloc_floats(size_t n, sm_error *e, const char *what)
{
    float *p = alloc_floats(n, 0, e, what);
    if (p) {
        size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63; /* as allocated; n is checked there */
        memset(p, 0, bytes ? bytes : 64);
    }
    return p;
}

void sm_free_aligned(void *p) { free(p); }

char *sm_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- files ---- */
sm_status sm_read_file(const char *path, char **data, size_t *len, size_t max_len, sm_error *e)
{
    *data = NULL;
    if (len)
        *len = 0;
    struct stat st;
    /* before opening: opening a FIFO waits for a writer, for ever */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return sm_err(e, SM_ERR_IO, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sm_err(e, SM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sm_err(e, SM_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (max_len && n > max_len) {
        fclose(f);
        return sm_err(e, SM_ERR_FORMAT, "%s: file is %zu bytes, over the limit of %zu bytes", path, n, max_len);
    }
    char *buf = sm_malloc(n + 1, e, path);
    if (!buf) {
        fclose(f);
        return SM_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        free(buf);
        return sm_err(e, SM_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return SM_OK;
}

sm_status sm_write_file_atomic(const char *path, const void *data, size_t len, sm_error *e)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return sm_err(e, SM_ERR_INVALID, "%s: path too long", path);
    /* never through what is already there: a link planted under the temporary name would have the
     * write truncate its target; a stale file or link is unlinked (the link, not its target) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            return sm_err(e, SM_ERR_IO, "%s: write failed: %s", tmp, strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return sm_err(e, SM_ERR_IO, "%s: cannot rename into place: %s", path, strerror(err));
    }
    return SM_OK;
}

char *sm_path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    if ((size_t)snprintf(buf, cap, "%s%s%s", dir, slash ? "/" : "", name) >= cap)
        return NULL;
    return buf;
}

int sm_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int sm_dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

double sm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sm_par_for(const sm_par *par, size_t total, size_t grain, sm_par_body fn, void *ctx)
{
    if (total == 0)
        return;
    if (par && par->run)
        par->run(par->self, total, grain ? grain : 1, fn, ctx);
    else
        fn(ctx, 0, 0, total);
}
