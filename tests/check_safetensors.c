/* check_safetensors.c: the safetensors reader and writer: every hostile-file case gets its status and
 * message checked, every prefix of a valid file is refused cleanly, the writer round-trips bit-exactly
 * and reproduces a file written by transformers byte for byte, and F16/BF16 conversions are exact. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartty/safetensors.h"
#define TU_SPLIT /* tests/check_safetensors_shared runs the tests that need the shared data */
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
    tu_mkdtemp(tmpdir, sizeof tmpdir, "check_st");
}

static void teardown(void)
{
    ck_assert_int_eq(tu_rmtree(tmpdir), 0);
}

static const char *tpath(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* A file whose 8-byte length says hlen, followed by the header text and data_len bytes of data. */
static const char *write_st(const char *name, uint64_t hlen, const char *header, size_t data_len)
{
    size_t h = strlen(header), n = 8 + h + data_len;
    uint8_t *buf = calloc(n, 1);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8, header, h);
    const char *p = tpath(name);
    write_bytes(p, buf, n);
    free(buf);
    return p;
}

static const char *write_hdr(const char *name, const char *header, size_t data_len)
{
    return write_st(name, strlen(header), header, data_len);
}

/* Open must fail with status st and a message containing the path and every given fragment. */
static void expect_fail(const char *path, sm_status st, const char *const *frags)
{
    sm_st_file *f = (sm_st_file *)1;
    sm_error e;
    sm_error_clear(&e);
    sm_status got = sm_st_open(path, &f, &e);
    ck_assert_ptr_null(f);
    ck_assert_msg(got == st, "%s: status %s, expected %s (%s)", path, sm_status_to_string(got),
                  sm_status_to_string(st), e.msg);
    ck_assert_msg(strstr(e.msg, path) != NULL, "message does not name the file: %s", e.msg);
    for (; *frags; frags++)
        ck_assert_msg(strstr(e.msg, *frags) != NULL, "message lacks \"%s\": %s", *frags, e.msg);
}

#define EXPECT_FAIL(path, st, ...)                                 \
    do {                                                           \
        const char *const fr_[] = {__VA_ARGS__, NULL};             \
        expect_fail((path), (st), fr_);                            \
    } while (0)

START_TEST(test_hostile_lengths)
{
    write_bytes(tpath("short"), "\x10\0\0\0\0", 5);
    EXPECT_FAIL(tpath("short"), SM_ERR_FORMAT, "only 5 bytes", "8-byte header length", "save or download");
    write_bytes(tpath("empty"), "", 0);
    EXPECT_FAIL(tpath("empty"), SM_ERR_FORMAT, "only 0 bytes");
    EXPECT_FAIL(write_st("past", 1000, "{}", 0), SM_ERR_FORMAT, "header length 1000 bytes runs past the end",
                "2 bytes follow", "truncated");
    EXPECT_FAIL(write_st("huge", (uint64_t)1 << 40, "{}", 0), SM_ERR_FORMAT, "absurdly large", "1099511627776");
    EXPECT_FAIL(write_st("huge2", UINT64_MAX, "{}", 0), SM_ERR_FORMAT, "absurdly large");
    EXPECT_FAIL(tpath("does-not-exist"), SM_ERR_IO, "cannot open");
}
END_TEST

START_TEST(test_hostile_json)
{
    EXPECT_FAIL(write_hdr("notjson", "{\"a\": [1, 2", 0), SM_ERR_FORMAT, "header is not valid JSON");
    EXPECT_FAIL(write_st("zero", 0, "", 0), SM_ERR_FORMAT, "header is not valid JSON");
    EXPECT_FAIL(write_hdr("array", "[1, 2, 3]", 0), SM_ERR_FORMAT, "not an object");
    EXPECT_FAIL(write_hdr("string", "\"hello\"", 0), SM_ERR_FORMAT, "not an object");
    EXPECT_FAIL(write_hdr("dup", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                SM_ERR_FORMAT, "not valid JSON", "duplicate");
    EXPECT_FAIL(write_hdr("meta", "{\"__metadata__\":{\"format\":3}}", 0), SM_ERR_FORMAT, "__metadata__",
                "'format' is not a string");
    EXPECT_FAIL(write_hdr("meta2", "{\"__metadata__\":[]}", 0), SM_ERR_FORMAT, "__metadata__ is not an object");
}
END_TEST

START_TEST(test_hostile_entries)
{
    EXPECT_FAIL(write_hdr("e1", "{\"w\": 5}", 0), SM_ERR_FORMAT, "tensor 'w'", "not an object");
    EXPECT_FAIL(write_hdr("e2", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SM_ERR_FORMAT,
                "tensor 'w'", "lacks \"dtype\"");
    EXPECT_FAIL(write_hdr("e3", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), SM_ERR_FORMAT,
                "tensor 'w'", "lacks \"shape\"");
    EXPECT_FAIL(write_hdr("e4", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), SM_ERR_FORMAT, "tensor 'w'",
                "lacks \"data_offsets\"");
    EXPECT_FAIL(write_hdr("e5", "{\"w\":{\"dtype\":\"F42\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                SM_ERR_FORMAT, "tensor 'w'", "unknown dtype \"F42\"", "re-save");
    EXPECT_FAIL(write_hdr("e6", "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SM_ERR_FORMAT,
                "tensor 'w'", "dtype is not a string");
    EXPECT_FAIL(write_hdr("e7", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
                SM_ERR_FORMAT, "tensor 'w'", "shape[0] is not a non-negative integer");
    EXPECT_FAIL(write_hdr("e8", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2, 1.5],\"data_offsets\":[0,4]}}", 4),
                SM_ERR_FORMAT, "shape[1] is not a non-negative integer");
    EXPECT_FAIL(write_hdr("e9", "{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4),
                SM_ERR_FORMAT, "shape is not an array");
    EXPECT_FAIL(write_hdr("e10", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                          "\"data_offsets\":[0,4]}}", 4), SM_ERR_FORMAT, "tensor 'w'", "overflows");
    EXPECT_FAIL(write_hdr("e11", "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
                          "\"data_offsets\":[0,4]}}", 4), SM_ERR_FORMAT, "tensor 'w'", "overflow the byte count");
    EXPECT_FAIL(write_hdr("e12", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
                          4), SM_ERR_UNSUPPORTED, "tensor 'w'", "9 dimensions");
}
END_TEST

START_TEST(test_hostile_offsets)
{
    EXPECT_FAIL(write_hdr("o1", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4),
                SM_ERR_FORMAT, "tensor 'w'", "data_offsets is not a pair of integers");
    EXPECT_FAIL(write_hdr("o2", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4),
                SM_ERR_FORMAT, "data_offsets is not a pair of integers");
    EXPECT_FAIL(write_hdr("o3", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8),
                SM_ERR_FORMAT, "tensor 'w'", "[8, 4] are not increasing");
    EXPECT_FAIL(write_hdr("o4", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8),
                SM_ERR_FORMAT, "not increasing non-negative");
    EXPECT_FAIL(write_hdr("o5", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
                SM_ERR_FORMAT, "tensor 'w'", "run past the data, which has 4 bytes");
    EXPECT_FAIL(write_hdr("o6", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                SM_ERR_FORMAT, "tensor 'w'", "hold 8 bytes", "F32", "needs 12");
    EXPECT_FAIL(write_hdr("o7", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
                SM_ERR_FORMAT, "tensor 'b'", "overlap tensor 'a'");
    EXPECT_FAIL(write_hdr("o8", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
                SM_ERR_FORMAT, "tensor 'b'", "gap of 4");
    EXPECT_FAIL(write_hdr("o9", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6),
                SM_ERR_FORMAT, "cover 4 bytes but the data section has 6");
    EXPECT_FAIL(write_hdr("o10", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,"
                          "99999999999999999999999]}}", 4), SM_ERR_FORMAT, "not valid JSON");
    /* a FIFO is refused before it is opened (opening it waited for a writer for ever) */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.safetensors", tmpdir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    EXPECT_FAIL(fifo, SM_ERR_IO, "not a regular file");
    unlink(fifo);
}
END_TEST

START_TEST(test_valid_small)
{
    /* two F16 values and a BF16 one, header padded with spaces, metadata, out-of-order offsets */
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"h\":{\"dtype\":\"BF16\",\"shape\":[],"
                      "\"data_offsets\":[4,6]},\"g\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                      "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[6,14]}}   ";
    size_t h = strlen(hdr);
    uint8_t buf[512] = {0};
    buf[0] = (uint8_t)h;
    memcpy(buf + 8, hdr, h);
    const uint8_t data[14] = {0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 7, 0, 0, 0, 0, 0, 0, 0};
    memcpy(buf + 8 + h, data, sizeof data);
    sm_st_file *f;
    sm_error e;
    ck_assert_int_eq(sm_st_open_memory(buf, 8 + h + sizeof data, "mem", &f, &e), SM_OK);
    ck_assert_uint_eq(sm_st_count(f), 3);
    ck_assert_str_eq(sm_st_metadata(f, "format"), "pt");
    ck_assert_ptr_null(sm_st_metadata(f, "nope"));
    long g = sm_st_find(f, "g"), hh = sm_st_find(f, "h"), ii = sm_st_find(f, "i");
    ck_assert_int_eq(g, 0); /* in offset order */
    ck_assert_int_eq(hh, 1);
    ck_assert_int_eq(sm_st_find(f, "x"), -1);
    const sm_st_tensor *t = sm_st_tensor_at(f, (size_t)hh);
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_uint_eq(t->numel, 1);
    float v[2];
    ck_assert_int_eq(sm_st_read_float(f, (size_t)g, v, 2, &e), SM_OK);
    ck_assert(v[0] == 1.0f && v[1] == -2.0f);
    ck_assert_int_eq(sm_st_read_float(f, (size_t)hh, v, 1, &e), SM_OK);
    ck_assert(v[0] == 1.0f);
    ck_assert_int_eq(sm_st_read_float(f, (size_t)g, v, 3, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "tensor 'g' has 2 elements, but 3 were expected"));
    ck_assert_int_eq(sm_st_read_float(f, (size_t)ii, v, 1, &e), SM_ERR_UNSUPPORTED);
    ck_assert(strstr(e.msg, "'i' is stored as I64"));
    ck_assert_int_eq(((const uint8_t *)sm_st_raw(f, (size_t)ii))[0], 7);
    sm_st_close(f);

    /* every strict prefix of the file, and every single-byte corruption of the header, is either
     * refused with a message or (for harmless edits) accepted: never a crash */
    size_t n = 8 + h + sizeof data;
    for (size_t k = 0; k < n; k++) {
        e.msg[0] = '\0';
        ck_assert_int_ne(sm_st_open_memory(buf, k, "mem", &f, &e), SM_OK);
        ck_assert(strstr(e.msg, "mem: ") == e.msg);
    }
    uint8_t copy[512];
    for (size_t k = 0; k < 8 + h; k++)
        for (int x = 0; x < 3; x++) {
            static const uint8_t subst[3] = {'9', '"', 0xff};
            memcpy(copy, buf, n);
            copy[k] = subst[x];
            if (sm_st_open_memory(copy, n, "mem", &f, &e) == SM_OK)
                sm_st_close(f);
        }
}
END_TEST

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

START_TEST(test_half_conversions)
{
    ck_assert(sm_half_to_float(0x3c00) == 1.0f);
    ck_assert(sm_half_to_float(0xc000) == -2.0f);
    ck_assert(sm_half_to_float(0x7bff) == 65504.0f);
    ck_assert(sm_half_to_float(0x0400) == ldexpf(1.0f, -14));    /* smallest normal */
    ck_assert(sm_half_to_float(0x0001) == ldexpf(1.0f, -24));    /* smallest subnormal */
    ck_assert(sm_half_to_float(0x03ff) == ldexpf(1023.0f, -24)); /* largest subnormal */
    ck_assert(sm_half_to_float(0x8001) == -ldexpf(1.0f, -24));
    ck_assert(sm_half_to_float(0x3555) == 0x155p-12f + 0.25f);   /* 0.333251953125 */
    ck_assert_uint_eq(bits(sm_half_to_float(0x8000)), 0x80000000u);
    ck_assert(isinf(sm_half_to_float(0x7c00)) && sm_half_to_float(0x7c00) > 0);
    ck_assert(isinf(sm_half_to_float(0xfc00)) && sm_half_to_float(0xfc00) < 0);
    ck_assert(isnan(sm_half_to_float(0x7e00)));
    ck_assert(isnan(sm_half_to_float(0x7c01))); /* signalling NaN stays NaN */
    ck_assert(isnan(sm_half_to_float(0xfe00)));

    /* every half value survives half -> float -> half exactly */
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = sm_half_to_float((uint16_t)h);
        if (isnan(f))
            ck_assert(isnan(sm_half_to_float(sm_float_to_half(f))));
        else
            ck_assert_uint_eq(sm_float_to_half(f), h);
    }
    /* rounding: to nearest, ties to even; overflow to infinity; underflow through the subnormals */
    ck_assert_uint_eq(sm_float_to_half(1.0f + 0x1p-11f), 0x3c00);        /* tie -> even */
    ck_assert_uint_eq(sm_float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);    /* tie -> even (up) */
    ck_assert_uint_eq(sm_float_to_half(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    ck_assert_uint_eq(sm_float_to_half(65519.0f), 0x7bff);
    ck_assert_uint_eq(sm_float_to_half(65520.0f), 0x7c00);
    ck_assert_uint_eq(sm_float_to_half(-1e10f), 0xfc00);
    ck_assert_uint_eq(sm_float_to_half(0x1p-25f), 0x0000);               /* tie -> even zero */
    ck_assert_uint_eq(sm_float_to_half(0x1.8p-25f), 0x0001);
    ck_assert_uint_eq(sm_float_to_half(0x1.8p-24f), 0x0002);             /* tie -> even */
    ck_assert_uint_eq(sm_float_to_half(0x1.ffcp-15f), 0x0400);           /* rounds up into normals */
    ck_assert_uint_eq(sm_float_to_half(-0.0f), 0x8000);
    ck_assert_uint_eq(sm_float_to_half(1e-30f), 0x0000);
    ck_assert_uint_eq(sm_float_to_half(INFINITY), 0x7c00);
    ck_assert_uint_eq(sm_float_to_half(NAN) & 0x7c00, 0x7c00);
    ck_assert_uint_ne(sm_float_to_half(NAN) & 0x3ff, 0);
}
END_TEST

START_TEST(test_bf16_conversions)
{
    ck_assert(sm_bf16_to_float(0x3f80) == 1.0f);
    ck_assert(sm_bf16_to_float(0xc040) == -3.0f);
    ck_assert(sm_bf16_to_float(0x0001) == 0x1p-133f); /* smallest subnormal */
    ck_assert(sm_bf16_to_float(0x0080) == 0x1p-126f); /* smallest normal */
    ck_assert(isinf(sm_bf16_to_float(0x7f80)));
    ck_assert(isinf(sm_bf16_to_float(0xff80)) && sm_bf16_to_float(0xff80) < 0);
    ck_assert(isnan(sm_bf16_to_float(0x7fc0)));
    ck_assert(isnan(sm_bf16_to_float(0x7f81)));
    for (uint32_t b = 0; b < 0x10000; b++) {
        float f = sm_bf16_to_float((uint16_t)b);
        if (isnan(f))
            ck_assert(isnan(sm_bf16_to_float(sm_float_to_bf16(f))));
        else
            ck_assert_uint_eq(sm_float_to_bf16(f), b);
    }
    ck_assert_uint_eq(sm_float_to_bf16(1.0f + 0x1p-8f), 0x3f80);            /* tie -> even */
    ck_assert_uint_eq(sm_float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);        /* tie -> even (up) */
    ck_assert_uint_eq(sm_float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
    ck_assert_uint_eq(sm_float_to_bf16(0x1.fffffep127f), 0x7f80);           /* overflows */
    ck_assert_uint_eq(sm_float_to_bf16(0x1.8p-133f), 0x0002);               /* subnormal tie -> even */
    ck_assert(isnan(sm_bf16_to_float(sm_float_to_bf16(NAN))));
}
END_TEST

START_TEST(test_write_roundtrip)
{
    float a[6] = {1.5f, -0.0f, 0x1p-149f, INFINITY, -3.25e7f, 0.1f};
    float b[3] = {NAN, 2.0f, -INFINITY};
    float c[1] = {42.0f};
    memcpy(&b[0], &(uint32_t){0x7fc01234u}, 4); /* a NaN with a payload: bits must survive */
    sm_st_entry ent[] = {
        {.name = "zeta.weight", .data = a, .ndim = 2, .shape = {2, 3}},
        {.name = "alpha", .data = b, .ndim = 1, .shape = {3}},
        {.name = "scalar", .data = c, .ndim = 0},
        {.name = "empty", .data = NULL, .ndim = 2, .shape = {0, 4}},
    };
    sm_st_meta meta[] = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\""}};
    sm_error e;
    const char *p = tpath("rt.safetensors");
    ck_assert_msg(sm_st_write(p, ent, 4, SM_ST_F32, meta, 2, &e) == SM_OK, "%s", e.msg);

    char *raw;
    size_t len;
    ck_assert_int_eq(sm_read_file(p, &raw, &len, 0, &e), SM_OK);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | (uint8_t)raw[i];
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + 4 * (6 + 3 + 1));
    /* the layout the safetensors library writes: compact JSON, metadata first, names sorted,
     * contiguous offsets, space padding */
    const char *want = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\"},"
                       "\"alpha\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                       "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[12,12]},"
                       "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[12,16]},"
                       "\"zeta.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}}";
    ck_assert_uint_eq(hlen, (strlen(want) + 7) / 8 * 8);
    ck_assert_int_eq(memcmp(raw + 8, want, strlen(want)), 0);
    for (size_t k = 8 + strlen(want); k < 8 + hlen; k++)
        ck_assert_int_eq(raw[k], ' ');
    free(raw);

    sm_st_file *f;
    ck_assert_int_eq(sm_st_open(p, &f, &e), SM_OK);
    ck_assert_str_eq(sm_st_metadata(f, "note"), "caf\xc3\xa9 \"quoted\"");
    float out[6];
    long i = sm_st_find(f, "zeta.weight");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(sm_st_tensor_at(f, (size_t)i)->shape[1], 3);
    ck_assert_int_eq(sm_st_read_float(f, (size_t)i, out, 6, &e), SM_OK);
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(bits(out[k]), bits(a[k]));
    ck_assert_int_eq(sm_st_read_float(f, (size_t)sm_st_find(f, "alpha"), out, 3, &e), SM_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(bits(out[k]), bits(b[k]));
    ck_assert_int_eq(sm_st_read_float(f, (size_t)sm_st_find(f, "empty"), out, 0, &e), SM_OK);
    sm_st_close(f);

    /* F16 and BF16 storage: values come back as the conversions say */
    ck_assert_int_eq(sm_st_write(p, ent, 2, SM_ST_F16, NULL, 0, &e), SM_OK);
    ck_assert_int_eq(sm_st_open(p, &f, &e), SM_OK);
    ck_assert_str_eq(sm_st_dtype_name(sm_st_tensor_at(f, 0)->dtype), "F16");
    ck_assert_int_eq(sm_st_read_float(f, (size_t)sm_st_find(f, "zeta.weight"), out, 6, &e), SM_OK);
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(bits(out[k]), bits(sm_half_to_float(sm_float_to_half(a[k]))));
    sm_st_close(f);
    ck_assert_int_eq(sm_st_write(p, ent, 2, SM_ST_BF16, NULL, 0, &e), SM_OK);
    ck_assert_int_eq(sm_st_open(p, &f, &e), SM_OK);
    ck_assert_int_eq(sm_st_read_float(f, (size_t)sm_st_find(f, "zeta.weight"), out, 6, &e), SM_OK);
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(bits(out[k]), bits(sm_bf16_to_float(sm_float_to_bf16(a[k]))));
    sm_st_close(f);

    /* writer refusals */
    sm_st_entry dup[] = {{.name = "x", .data = c, .ndim = 0}, {.name = "x", .data = c, .ndim = 0}};
    ck_assert_int_eq(sm_st_write(p, dup, 2, SM_ST_F32, NULL, 0, &e), SM_ERR_INVALID);
    ck_assert(strstr(e.msg, "'x' is given twice"));
    ck_assert_int_eq(sm_st_write(p, ent, 1, SM_ST_I32, NULL, 0, &e), SM_ERR_INVALID);
    ck_assert_int_eq(sm_st_write("/nonexistent-dir/x.safetensors", ent, 1, SM_ST_F32, NULL, 0, &e), SM_ERR_IO);
    ck_assert(strstr(e.msg, "cannot create"));
}
END_TEST

/* Reading a file transformers wrote and writing its tensors back gives the same bytes. */
static void rewrite_identical(const char *rel)
{
    char buf[512];
    const char *src = tu_shared(buf, sizeof buf, rel);
    if (!src)
        return;
    sm_error e;
    sm_st_file *f;
    ck_assert_msg(sm_st_open(src, &f, &e) == SM_OK, "%s", e.msg);
    size_t n = sm_st_count(f);
    sm_st_entry *ent = calloc(n, sizeof *ent);
    ck_assert_ptr_nonnull(ent);
    for (size_t i = 0; i < n; i++) {
        const sm_st_tensor *t = sm_st_tensor_at(f, i);
        float *d = malloc(t->numel * sizeof *d + 1);
        ck_assert_int_eq(sm_st_read_float(f, i, d, t->numel, &e), SM_OK);
        ent[i].name = t->name;
        ent[i].data = d;
        ent[i].ndim = t->ndim;
        memcpy(ent[i].shape, t->shape, sizeof t->shape);
    }
    sm_st_meta meta = {"format", sm_st_metadata(f, "format")};
    const char *dst = tpath("copy.safetensors");
    ck_assert_int_eq(sm_st_write(dst, ent, n, sm_st_tensor_at(f, 0)->dtype, &meta, meta.value ? 1 : 0, &e), SM_OK);
    char *a, *b;
    size_t la, lb;
    ck_assert_int_eq(sm_read_file(src, &a, &la, 0, &e), SM_OK);
    ck_assert_int_eq(sm_read_file(dst, &b, &lb, 0, &e), SM_OK);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(a, b, la) == 0, "%s: the rewritten file differs", rel);
    free(a);
    free(b);
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)ent[i].data);
    free(ent);
    sm_st_close(f);
}

START_TEST(test_rewrite_transformers_file)
{
    rewrite_identical("fixtures/hf-bert/bert-tiny-random-cls3/model.safetensors");
    rewrite_identical("fixtures/hf-bert/bert-tiny-random-reg/reference_grads.safetensors");
    rewrite_identical("models/bert-mini-mlm/model.safetensors"); /* F16: half -> float -> half is exact */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    if (tu_want(TU_LOCAL)) {
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_hostile_lengths);
        tcase_add_test(tc, test_hostile_json);
        tcase_add_test(tc, test_hostile_entries);
        tcase_add_test(tc, test_hostile_offsets);
        tcase_add_test(tc, test_valid_small);
        tcase_add_test(tc, test_half_conversions);
        tcase_add_test(tc, test_bf16_conversions);
        tcase_add_test(tc, test_write_roundtrip);
        suite_add_tcase(s, tc);
    }
    if (tu_want(TU_SHARED)) {
        TCase *tc = tcase_create("shared");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_rewrite_transformers_file);
        suite_add_tcase(s, tc);
    }
    return tu_run(s);
}
