/* fixtures_util.h: the data tests' shared reader of the tokenization fixtures (../shared/fixtures/
 * tokenization, one .jsonl.gz per dev set: one JSON object per row with a, b, ids, ids128, types128)
 * and the option sets that load each dev file the way the fixtures were made. */
#ifndef SMARTTY_FIXTURES_UTIL_H
#define SMARTTY_FIXTURES_UTIL_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct fixture_set {
    const char *fixture;  /* under fixtures/tokenization */
    const char *data;     /* under datasets */
    const char *argv[7];  /* data options */
} fixture_set;

static const fixture_set fixture_sets[] = {
    {"sst2-dev.jsonl.gz", "sst2/dev.tsv", {0}},
    {"sst2-dev-cased.jsonl.gz", "sst2/dev.tsv", {0}},
    {"cola-dev.jsonl.gz", "cola/dev.tsv", {"--no-header", "--text", "4", "--label", "2"}},
    {"rte-dev.jsonl.gz", "rte/dev.tsv", {0}},
    {"mrpc-dev.jsonl.gz", "mrpc/dev.tsv", {"--label", "1", "--text", "#1 String", "--text-pair", "#2 String"}},
    {"stsb-dev.jsonl.gz", "stsb/dev.tsv", {"--regression"}},
    {"wic-dev.jsonl.gz", "wic/dev.tsv", {0}},
};
#define N_FIXTURE_SETS ((int)(sizeof fixture_sets / sizeof fixture_sets[0]))

/* Read all lines of a .jsonl.gz into an array of JSON objects; returns the count, -1 on error. */
static inline long fixtures_read(const char *path, json_t ***out)
{
    *out = NULL;
    gzFile g = gzopen(path, "rb");
    if (!g)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    long n = 0, ncap = 256;
    json_t **v = malloc((size_t)ncap * sizeof *v);
    int ch;
    while (buf && v && (ch = gzgetc(g)) != -1) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                break;
            buf = nb;
        }
        if (ch != '\n') {
            buf[len++] = (char)ch;
            continue;
        }
        buf[len] = '\0';
        len = 0;
        json_error_t err;
        json_t *j = json_loads(buf, 0, &err);
        if (!j)
            break;
        if (n == ncap) {
            json_t **nv = realloc(v, (size_t)(ncap *= 2) * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = j;
    }
    gzclose(g);
    free(buf);
    *out = v;
    return n;
}

static inline void fixtures_free(json_t **v, long n)
{
    for (long i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

#endif
