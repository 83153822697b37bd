/* safetensors.c: a validating safetensors reader (memory-mapped) with F32/F16/BF16 to float
 * conversion, and a streaming, atomic writer of float tensors in the layout the safetensors library
 * writes. Knows nothing of model names or shapes: that is hf.c's business. */
#include "smartty/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[SM_ST_DTYPE_COUNT] = {
    [SM_ST_BOOL] = {"BOOL", 1},       [SM_ST_U8] = {"U8", 1},
    [SM_ST_I8] = {"I8", 1},           [SM_ST_F8_E5M2] = {"F8_E5M2", 1},
    [SM_ST_F8_E4M3] = {"F8_E4M3", 1}, [SM_ST_I16] = {"I16", 2},
    [SM_ST_U16] = {"U16", 2},         [SM_ST_F16] = {"F16", 2},
    [SM_ST_BF16] = {"BF16", 2},       [SM_ST_I32] = {"I32", 4},
    [SM_ST_U32] = {"U32", 4},         [SM_ST_F32] = {"F32", 4},
    [SM_ST_F64] = {"F64", 8},         [SM_ST_I64] = {"I64", 8},
    [SM_ST_U64] = {"U64", 8},
};

const char *sm_st_dtype_name(sm_st_dtype d)
{
    return (unsigned)d < SM_ST_DTYPE_COUNT ? dtype_info[d].name : "?";
}

size_t sm_st_dtype_size(sm_st_dtype d)
{
    return (unsigned)d < SM_ST_DTYPE_COUNT ? dtype_info[d].size : 0;
}

static int dtype_parse(const char *s, sm_st_dtype *out)
{
    for (int d = 0; d < SM_ST_DTYPE_COUNT; d++)
        if (!strcmp(s, dtype_info[d].name)) {
            *out = (sm_st_dtype)d;
            return 1;
        }
    return 0;
}

/* ---- conversions ---- */

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float sm_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) /* infinity, or NaN with its payload */
        return u2f(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return u2f(sign);
        /* subnormal: mant * 2^-24; normalise so the leading bit becomes the implicit one */
        int e = 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        return u2f(sign | ((uint32_t)(e + 127 - 15) << 23) | (mant << 13));
    }
    return u2f(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

float sm_bf16_to_float(uint16_t b)
{
    return u2f((uint32_t)b << 16);
}

uint16_t sm_float_to_half(float f)
{
    uint32_t x = f2u(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u)
            return sign | 0x7c00u;
        uint32_t m = (ax >> 13) & 0x3ffu;
        return (uint16_t)(sign | 0x7c00u | (m ? m : 0x200u));
    }
    if (ax >= 0x477ff000u) /* 65520 and above round to infinity */
        return sign | 0x7c00u;
    if (ax >= 0x38800000u) { /* a normal half: round the 13 dropped bits to nearest even */
        uint32_t odd = (ax >> 13) & 1u;
        ax += 0xfffu + odd - ((uint32_t)(127 - 15) << 23);
        return (uint16_t)(sign | (ax >> 13));
    }
    /* a subnormal half (or zero): adding 0.5 puts the value's 2^-24 units in the low mantissa bits,
     * and the float addition rounds to nearest even */
    float t = u2f(ax) + 0.5f;
    return (uint16_t)(sign | (f2u(t) - 0x3f000000u));
}

uint16_t sm_float_to_bf16(float f)
{
    uint32_t x = f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the top payload bits and make it quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* ---- reading ---- */

struct name_ref {
    const char *name;
    size_t idx;
};

static int cmp_name_ref(const void *a, const void *b)
{
    return strcmp(((const struct name_ref *)a)->name, ((const struct name_ref *)b)->name);
}

struct sm_st_file {
    char *path;
    const uint8_t *buf; /* the whole file */
    size_t len;
    void *map;          /* non-NULL when buf is our mapping */
    const uint8_t *data; /* the data section: buf + 8 + header length */
    size_t data_len;
    sm_st_tensor *t;    /* [n], sorted by begin */
    size_t n;
    struct name_ref *by_name; /* [n] sorted by name */
    char **meta;        /* [2 * n_meta] key, value */
    size_t n_meta;
};

void sm_st_close(sm_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free((void *)(uintptr_t)f->t[i].name);
    for (size_t i = 0; i < 2 * f->n_meta; i++)
        free(f->meta[i]);
    free(f->meta);
    free(f->t);
    free(f->by_name);
    if (f->map)
        munmap(f->map, f->len);
    free(f->path);
    free(f);
}

static const char *const hint_resave = "the file is damaged or not a safetensors file: save or download it again";

static int cmp_begin(const void *a, const void *b)
{
    const sm_st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static sm_status parse_metadata(sm_st_file *f, json_t *m, sm_error *e)
{
    if (!json_is_object(m))
        return sm_err(e, SM_ERR_FORMAT, "%s: header: __metadata__ is not an object of strings; %s",
                      f->path, hint_resave);
    size_t n = json_object_size(m);
    f->meta = sm_calloc(2 * n + 1, sizeof *f->meta, e, "safetensors metadata");
    if (!f->meta)
        return SM_ERR_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return sm_err(e, SM_ERR_FORMAT, "%s: header: __metadata__ value '%s' is not a string; %s",
                          f->path, k, hint_resave);
        f->meta[2 * f->n_meta] = sm_strdup(k);
        f->meta[2 * f->n_meta + 1] = sm_strdup(json_string_value(v));
        f->n_meta++;
        if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1])
            return sm_err(e, SM_ERR_NOMEM, "%s: out of memory for the metadata", f->path);
    }
    return SM_OK;
}

static sm_status parse_tensor(sm_st_file *f, const char *name, json_t *v, sm_st_tensor *t, sm_error *e)
{
    const char *p = f->path;
    if (!json_is_object(v))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': its header entry is not an object with dtype, "
                      "shape and data_offsets; %s", p, name, hint_resave);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    const char *missing = !jd ? "dtype" : !js ? "shape" : !jo ? "data_offsets" : NULL;
    if (missing)
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': the header entry lacks \"%s\"; %s", p, name,
                      missing, hint_resave);
    if (!json_is_string(jd))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': dtype is not a string; %s", p, name, hint_resave);
    if (!dtype_parse(json_string_value(jd), &t->dtype))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%s\" (safetensors dtypes are "
                      "BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64); "
                      "re-save the checkpoint as F32, F16 or BF16", p, name, json_string_value(jd));
    if (!json_is_array(js))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': shape is not an array of dimensions; %s", p,
                      name, hint_resave);
    size_t nd = json_array_size(js);
    if (nd > SM_ST_MAX_DIMS)
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: tensor '%s': %zu dimensions, more than the %d smartty "
                      "handles", p, name, nd, SM_ST_MAX_DIMS);
    t->ndim = (int)nd;
    size_t numel = 1;
    for (size_t d = 0; d < nd; d++) {
        json_t *jv = json_array_get(js, d);
        if (!json_is_integer(jv) || json_integer_value(jv) < 0)
            return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer; %s",
                          p, name, d, hint_resave);
        json_int_t dim = json_integer_value(jv);
        t->shape[d] = (int64_t)dim;
        if ((unsigned long long)dim > SIZE_MAX || __builtin_mul_overflow(numel, (size_t)dim, &numel))
            return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': the shape's element count overflows "
                          "(dimension %zu is %lld); %s", p, name, d, (long long)dim, hint_resave);
    }
    t->numel = numel;
    size_t bytes;
    if (__builtin_mul_overflow(numel, sm_st_dtype_size(t->dtype), &bytes))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': %zu elements of %s overflow the byte count; %s",
                      p, name, numel, sm_st_dtype_name(t->dtype), hint_resave);
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)))
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets is not a pair of integers "
                      "[begin, end]; %s", p, name, hint_resave);
    json_int_t b = json_integer_value(json_array_get(jo, 0)), en = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || en < b)
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] are not increasing "
                      "non-negative offsets; %s", p, name, (long long)b, (long long)en, hint_resave);
    if ((unsigned long long)en > f->data_len)
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] run past the data, which "
                      "has %zu bytes; the file is truncated: save or download it again", p, name,
                      (long long)b, (long long)en, f->data_len);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    if (t->end - t->begin != bytes)
        return sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] hold %zu bytes but dtype %s "
                      "x shape (%zu elements) needs %zu; %s", p, name, t->begin, t->end, t->end - t->begin,
                      sm_st_dtype_name(t->dtype), numel, bytes, hint_resave);
    return SM_OK;
}

static sm_status parse(sm_st_file *f, sm_error *e)
{
    const char *p = f->path;
    if (f->len < 8)
        return sm_err(e, SM_ERR_FORMAT, "%s: only %zu bytes, but a safetensors file starts with an 8-byte "
                      "header length; %s", p, f->len, hint_resave);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->buf[i];
    if (hlen > SM_ST_MAX_HEADER)
        return sm_err(e, SM_ERR_FORMAT, "%s: header length %llu bytes is absurdly large (the limit is %llu); "
                      "%s", p, (unsigned long long)hlen, (unsigned long long)SM_ST_MAX_HEADER, hint_resave);
    if (hlen > f->len - 8)
        return sm_err(e, SM_ERR_FORMAT, "%s: header length %llu bytes runs past the end of the file (%zu "
                      "bytes follow the length); the file is truncated or not a safetensors file: save "
                      "or download it again", p, (unsigned long long)hlen, f->len - 8);
    f->data = f->buf + 8 + hlen;
    f->data_len = f->len - 8 - (size_t)hlen;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return sm_err(e, SM_ERR_FORMAT, "%s: header is not valid JSON (at byte %d of the file: %s); %s", p,
                      jerr.position + 8, jerr.text, hint_resave);
    sm_status st = SM_OK;
    if (!json_is_object(root)) {
        st = sm_err(e, SM_ERR_FORMAT, "%s: header is JSON but not an object mapping tensor names to "
                    "entries; %s", p, hint_resave);
        goto out;
    }
    size_t cap = json_object_size(root);
    f->t = sm_calloc(cap ? cap : 1, sizeof *f->t, e, "safetensors tensor table");
    f->by_name = sm_calloc(cap ? cap : 1, sizeof *f->by_name, e, "safetensors tensor table");
    if (!f->t || !f->by_name) {
        st = SM_ERR_NOMEM;
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "__metadata__")) {
            if ((st = parse_metadata(f, v, e)) != SM_OK)
                goto out;
            continue;
        }
        sm_st_tensor *t = &f->t[f->n];
        if ((st = parse_tensor(f, k, v, t, e)) != SM_OK)
            goto out;
        t->name = sm_strdup(k);
        if (!t->name) {
            st = sm_err(e, SM_ERR_NOMEM, "%s: out of memory for tensor names", p);
            goto out;
        }
        f->n++;
    }
    /* the byte ranges must tile the data section exactly, as the safetensors library requires */
    qsort(f->t, f->n, sizeof *f->t, cmp_begin);
    size_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        const sm_st_tensor *t = &f->t[i];
        if (t->begin < pos) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s' "
                        "[%zu, %zu]; %s", p, t->name, t->begin, t->end, f->t[i - 1].name, f->t[i - 1].begin,
                        f->t[i - 1].end, hint_resave);
            goto out;
        }
        if (t->begin > pos) {
            st = sm_err(e, SM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] leave a gap of %zu unused "
                        "bytes before it (offsets must be contiguous); %s", p, t->name, t->begin, t->end,
                        t->begin - pos, hint_resave);
            goto out;
        }
        pos = t->end;
    }
    if (pos != f->data_len) {
        st = sm_err(e, SM_ERR_FORMAT, "%s: the tensors cover %zu bytes but the data section has %zu; %s", p,
                    pos, f->data_len, hint_resave);
        goto out;
    }
    for (size_t i = 0; i < f->n; i++)
        f->by_name[i] = (struct name_ref){f->t[i].name, i};
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name_ref);
out:
    json_decref(root);
    return st;
}

static sm_st_file *file_new(const char *name, sm_error *e)
{
    sm_st_file *f = sm_calloc(1, sizeof *f, e, "safetensors file");
    if (!f)
        return NULL;
    f->path = sm_strdup(name ? name : "(memory)");
    if (!f->path) {
        free(f);
        sm_err(e, SM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return f;
}

sm_status sm_st_open_memory(const void *data, size_t len, const char *name, sm_st_file **out, sm_error *e)
{
    *out = NULL;
    sm_st_file *f = file_new(name, e);
    if (!f)
        return SM_ERR_NOMEM;
    f->buf = data;
    f->len = len;
    sm_status st = parse(f, e);
    if (st != SM_OK) {
        sm_st_close(f);
        return st;
    }
    *out = f;
    return SM_OK;
}

sm_status sm_st_open(const char *path, sm_st_file **out, sm_error *e)
{
    *out = NULL;
    struct stat sb;
    /* before opening: opening a FIFO waits for a writer, for ever */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return sm_err(e, SM_ERR_IO, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_err(e, SM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sm_err(e, SM_ERR_IO, "%s: not a regular file", path);
    }
    sm_st_file *f = file_new(path, e);
    if (!f) {
        close(fd);
        return SM_ERR_NOMEM;
    }
    f->len = (size_t)sb.st_size;
    static const uint8_t empty[1];
    f->buf = empty;
    if (f->len > 0) {
        void *m = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int err = errno;
            close(fd);
            sm_st_close(f);
            return sm_err(e, err == ENOMEM ? SM_ERR_NOMEM : SM_ERR_IO, "%s: cannot map %zu bytes: %s", path,
                          (size_t)sb.st_size, strerror(err));
        }
        f->map = m;
        f->buf = m;
    }
    close(fd);
    sm_status st = parse(f, e);
    if (st != SM_OK) {
        sm_st_close(f);
        return st;
    }
    *out = f;
    return SM_OK;
}

const char *sm_st_path(const sm_st_file *f)
{
    return f->path;
}

size_t sm_st_count(const sm_st_file *f)
{
    return f->n;
}

const sm_st_tensor *sm_st_tensor_at(const sm_st_file *f, size_t i)
{
    return i < f->n ? &f->t[i] : NULL;
}

long sm_st_find(const sm_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->by_name[mid].name);
        if (c == 0)
            return (long)f->by_name[mid].idx;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *sm_st_metadata(const sm_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[2 * i], key))
            return f->meta[2 * i + 1];
    return NULL;
}

const void *sm_st_raw(const sm_st_file *f, size_t i)
{
    return i < f->n ? f->data + f->t[i].begin : NULL;
}

sm_status sm_st_read_float(const sm_st_file *f, size_t i, float *out, size_t numel, sm_error *e)
{
    if (i >= f->n)
        return sm_err(e, SM_ERR_INVALID, "%s: tensor index %zu out of range (%zu tensors)", f->path, i, f->n);
    const sm_st_tensor *t = &f->t[i];
    if (numel != t->numel)
        return sm_err(e, SM_ERR_INVALID, "%s: tensor '%s' has %zu elements, but %zu were expected", f->path,
                      t->name, t->numel, numel);
    const uint8_t *s = f->data + t->begin;
    switch (t->dtype) {
    case SM_ST_F32:
        for (size_t k = 0; k < numel; k++, s += 4)
            out[k] = u2f((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24);
        return SM_OK;
    case SM_ST_F16:
        for (size_t k = 0; k < numel; k++, s += 2)
            out[k] = sm_half_to_float((uint16_t)(s[0] | s[1] << 8));
        return SM_OK;
    case SM_ST_BF16:
        for (size_t k = 0; k < numel; k++, s += 2)
            out[k] = sm_bf16_to_float((uint16_t)(s[0] | s[1] << 8));
        return SM_OK;
    default:
        return sm_err(e, SM_ERR_UNSUPPORTED, "%s: tensor '%s' is stored as %s; smartty reads F32, F16 and BF16 "
                      "tensors as floats: convert the checkpoint", f->path, t->name, sm_st_dtype_name(t->dtype));
    }
}

/* ---- writing ---- */

static sm_status write_all(FILE *fp, const void *p, size_t n, const char *tmp, sm_error *e)
{
    if (n && fwrite(p, 1, n, fp) != n)
        return sm_err(e, SM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    return SM_OK;
}

/* Write tensor data converted to dtype, little-endian, in chunks. */
static sm_status write_tensor(FILE *fp, const float *x, size_t numel, sm_st_dtype dtype, const char *tmp,
                              sm_error *e)
{
    uint8_t chunk[16384];
    size_t esz = sm_st_dtype_size(dtype), per = sizeof chunk / esz;
    for (size_t off = 0; off < numel; off += per) {
        size_t m = numel - off < per ? numel - off : per;
        for (size_t k = 0; k < m; k++) {
            uint8_t *d = chunk + k * esz;
            if (dtype == SM_ST_F32) {
                uint32_t u = f2u(x[off + k]);
                d[0] = (uint8_t)u, d[1] = (uint8_t)(u >> 8), d[2] = (uint8_t)(u >> 16), d[3] = (uint8_t)(u >> 24);
            } else {
                uint16_t h = dtype == SM_ST_F16 ? sm_float_to_half(x[off + k]) : sm_float_to_bf16(x[off + k]);
                d[0] = (uint8_t)h, d[1] = (uint8_t)(h >> 8);
            }
        }
        sm_status st = write_all(fp, chunk, m * esz, tmp, e);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

static void fsync_parent(const char *path)
{
    char *copy = sm_strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

sm_status sm_st_write(const char *path, const sm_st_entry *t, size_t n, sm_st_dtype dtype, const sm_st_meta *meta,
                      size_t n_meta, sm_error *e)
{
    if (dtype != SM_ST_F32 && dtype != SM_ST_F16 && dtype != SM_ST_BF16)
        return sm_err(e, SM_ERR_INVALID, "%s: can only write F32, F16 or BF16 tensors, not %s", path,
                      sm_st_dtype_name(dtype));
    sm_status st = SM_OK;
    struct name_ref *sorted = sm_calloc(n ? n : 1, sizeof *sorted, e, "safetensors writer");
    size_t *numel = sm_calloc(n ? n : 1, sizeof *numel, e, "safetensors writer");
    json_t *root = json_object();
    char *hdr = NULL;
    FILE *fp = NULL;
    char tmp[4096] = "";
    if (!sorted || !numel || !root) {
        st = sm_err(e, SM_ERR_NOMEM, "%s: out of memory building the header", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = (struct name_ref){t[i].name, i};
        if (!t[i].name || t[i].ndim < 0 || t[i].ndim > SM_ST_MAX_DIMS) {
            st = sm_err(e, SM_ERR_INVALID, "%s: tensor %zu: %s", path, i,
                        t[i].name ? "ndim out of range" : "no name");
            goto out;
        }
        size_t m = 1;
        for (int d = 0; d < t[i].ndim; d++)
            if (t[i].shape[d] < 0 || __builtin_mul_overflow(m, (size_t)t[i].shape[d], &m)) {
                st = sm_err(e, SM_ERR_INVALID, "%s: tensor '%s': bad shape[%d] = %lld", path, t[i].name, d,
                            (long long)t[i].shape[d]);
                goto out;
            }
        if (m && !t[i].data) {
            st = sm_err(e, SM_ERR_INVALID, "%s: tensor '%s': no data", path, t[i].name);
            goto out;
        }
        numel[i] = m;
    }
    qsort(sorted, n, sizeof *sorted, cmp_name_ref);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(sorted[i].name, sorted[i - 1].name)) {
            st = sm_err(e, SM_ERR_INVALID, "%s: tensor '%s' is given twice", path, sorted[i].name);
            goto out;
        }
    if (n_meta > 0) {
        json_t *m = json_object();
        if (!m || json_object_set_new(root, "__metadata__", m) != 0) {
            st = sm_err(e, SM_ERR_NOMEM, "%s: out of memory building the header", path);
            goto out;
        }
        for (size_t i = 0; i < n_meta; i++)
            if (!meta[i].key || !meta[i].value || json_object_set_new(m, meta[i].key, json_string(meta[i].value))) {
                st = sm_err(e, SM_ERR_INVALID, "%s: metadata entry %zu is not a valid UTF-8 key and value", path, i);
                goto out;
            }
    }
    size_t off = 0, esz = sm_st_dtype_size(dtype);
    for (size_t k = 0; k < n; k++) {
        size_t i = sorted[k].idx;
        if (!strcmp(t[i].name, "__metadata__")) {
            st = sm_err(e, SM_ERR_INVALID, "%s: a tensor cannot be named __metadata__", path);
            goto out;
        }
        json_t *shape = json_array(), *offs = json_array(), *ent = json_object();
        int bad = !shape || !offs || !ent;
        for (int d = 0; !bad && d < t[i].ndim; d++)
            bad |= json_array_append_new(shape, json_integer((json_int_t)t[i].shape[d]));
        bad = bad || json_array_append_new(offs, json_integer((json_int_t)off)) ||
              json_array_append_new(offs, json_integer((json_int_t)(off + numel[i] * esz)));
        if (bad || json_object_set_new(ent, "dtype", json_string(sm_st_dtype_name(dtype))) ||
            json_object_set_new(ent, "shape", shape) || json_object_set_new(ent, "data_offsets", offs) ||
            json_object_set_new(root, t[i].name, ent)) {
            st = sm_err(e, SM_ERR_INVALID, "%s: tensor '%s': cannot build its header entry (is the name "
                        "valid UTF-8?)", path, t[i].name);
            goto out;
        }
        off += numel[i] * esz;
    }
    hdr = json_dumps(root, JSON_COMPACT);
    if (!hdr) {
        st = sm_err(e, SM_ERR_NOMEM, "%s: out of memory serialising the header", path);
        goto out;
    }
    size_t hlen = strlen(hdr), pad = (8 - hlen % 8) % 8;
    uint8_t lenb[8];
    for (int b = 0; b < 8; b++)
        lenb[b] = (uint8_t)((uint64_t)(hlen + pad) >> (8 * b));

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        tmp[0] = '\0';
        st = sm_err(e, SM_ERR_INVALID, "%s: path too long", path);
        goto out;
    }
    /* never through what is already there (see sm_write_file_atomic) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        tmp[0] = '\0';
        goto out;
    }
    static const char spaces[8] = "        ";
    if ((st = write_all(fp, lenb, 8, tmp, e)) || (st = write_all(fp, hdr, hlen, tmp, e)) ||
        (st = write_all(fp, spaces, pad, tmp, e)))
        goto out;
    for (size_t k = 0; k < n; k++)
        if ((st = write_tensor(fp, t[sorted[k].idx].data, numel[sorted[k].idx], dtype, tmp, e)) != SM_OK)
            goto out;
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot flush to disk: %s", tmp, strerror(errno));
        goto out;
    }
    int rc = fclose(fp);
    fp = NULL;
    if (rc != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot close: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        st = sm_err(e, SM_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    fsync_parent(path);
out:
    if (fp)
        fclose(fp);
    if (tmp[0])
        unlink(tmp);
    free(hdr);
    json_decref(root);
    free(sorted);
    free(numel);
    return st;
}
