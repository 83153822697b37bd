/* safetensors.h: reading and writing Hugging Face's safetensors files (an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the raw bytes).
 * The reader validates everything before any tensor is touched and converts F32, F16 and BF16 to
 * float; it does not interpret names (see hf.h). The writer stores float tensors as safetensors does. */
#ifndef SMARTTY_SAFETENSORS_H
#define SMARTTY_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "smartty/common.h"

#define SM_ST_MAX_DIMS 8
/* Largest header accepted, as in the safetensors reference implementation. */
#define SM_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* Every dtype of the safetensors format. Only F32, F16 and BF16 convert to float; the others can be
 * listed and their bytes read raw. */
typedef enum sm_st_dtype {
    SM_ST_BOOL = 0,
    SM_ST_U8,
    SM_ST_I8,
    SM_ST_F8_E5M2,
    SM_ST_F8_E4M3,
    SM_ST_I16,
    SM_ST_U16,
    SM_ST_F16,
    SM_ST_BF16,
    SM_ST_I32,
    SM_ST_U32,
    SM_ST_F32,
    SM_ST_F64,
    SM_ST_I64,
    SM_ST_U64,
    SM_ST_DTYPE_COUNT
} sm_st_dtype;

const char *sm_st_dtype_name(sm_st_dtype d); /* "F32", ... */
size_t sm_st_dtype_size(sm_st_dtype d);      /* bytes per element */

/* One tensor as the header describes it (already validated). */
typedef struct sm_st_tensor {
    const char *name;
    sm_st_dtype dtype;
    int ndim;
    int64_t shape[SM_ST_MAX_DIMS];
    size_t numel;        /* product of shape (1 for a scalar) */
    size_t begin, end;   /* byte range within the data section (after the header) */
} sm_st_tensor;

typedef struct sm_st_file sm_st_file;

/* Open and validate a file (memory-mapped, read-only). Every error names the file, the tensor where
 * there is one, and what to do. */
sm_status sm_st_open(const char *path, sm_st_file **out, sm_error *e);
/* The same over bytes in memory, which the caller keeps alive until sm_st_close; name is used in
 * messages. */
sm_status sm_st_open_memory(const void *data, size_t len, const char *name, sm_st_file **out,
                            sm_error *e);
void sm_st_close(sm_st_file *f);

const char *sm_st_path(const sm_st_file *f);
size_t sm_st_count(const sm_st_file *f);
/* Tensors in the order of their byte offsets. */
const sm_st_tensor *sm_st_tensor_at(const sm_st_file *f, size_t i);
/* Index of the tensor named name, or -1. */
long sm_st_find(const sm_st_file *f, const char *name);
/* A value of the header's __metadata__ object, or NULL. */
const char *sm_st_metadata(const sm_st_file *f, const char *key);
/* The raw little-endian bytes of tensor i (end - begin of them). */
const void *sm_st_raw(const sm_st_file *f, size_t i);

/* Convert tensor i to float into out, which holds numel floats: numel must equal the tensor's element
 * count (otherwise an error naming both). F32, F16, BF16 only; other dtypes are SM_ERR_UNSUPPORTED. */
sm_status sm_st_read_float(const sm_st_file *f, size_t i, float *out, size_t numel, sm_error *e);

/* ---- conversions (exact for every value: subnormals, infinities, NaN payloads kept where they fit) ---- */
float sm_half_to_float(uint16_t h);
float sm_bf16_to_float(uint16_t b);
uint16_t sm_float_to_half(float f);  /* round to nearest even; overflow to inf; NaN stays NaN */
uint16_t sm_float_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

/* ---- writing ---- */
/* A float tensor to write. */
typedef struct sm_st_entry {
    const char *name;
    const float *data;   /* [numel], row-major */
    int ndim;
    int64_t shape[SM_ST_MAX_DIMS];
} sm_st_entry;

typedef struct sm_st_meta {
    const char *key;
    const char *value;
} sm_st_meta;

/* Write n tensors (stored as dtype: F32, F16 or BF16) and optional string metadata to path
 * atomically (a temporary file beside it, fsync, rename), in the layout the safetensors library
 * writes: tensors sorted by name with contiguous offsets, header padded with spaces to a multiple of
 * 8. Duplicate names are an error. */
sm_status sm_st_write(const char *path, const sm_st_entry *t, size_t n, sm_st_dtype dtype,
                      const sm_st_meta *meta, size_t n_meta, sm_error *e);

#endif
