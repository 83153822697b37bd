/* fuzz_proto.c: libFuzzer harness for the run server's protocol decoder (src/server/proto.c): the
 * bytes go through the line framer in chunks sized by the first byte, each line is decoded, and what
 * decodes is encoded again and must decode to the same type. Looks for crashes, sanitizer reports
 * and round-trip failures (abort). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *line, size_t len)
{
    sv_msg m;
    char code[32];
    sm_error e;
    if (sv_decode(line, len, &m, code, &e) != SM_OK) {
        if (!code[0] || !e.msg[0])
            abort(); /* every refusal has a code and a message */
        return;
    }
    size_t n;
    char *again = sv_encode(&m, &n);
    if (again) {
        sv_msg m2;
        if (sv_decode(again, n, &m2, code, &e) != SM_OK || m2.type != m.type)
            abort();
        sv_msg_free(&m2);
        free(again);
    }
    sv_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    one((const char *)data, size); /* the whole input as one frame */
    sv_lines l;
    sv_lines_init(&l);
    for (size_t off = 0; off < size; off += chunk) {
        size_t k = size - off < chunk ? size - off : chunk;
        if (sv_lines_feed(&l, (const char *)data + off, k))
            break;
        const char *line;
        size_t len;
        int r;
        while ((r = sv_lines_next(&l, &line, &len)) != 0)
            if (r > 0)
                one(line, len);
    }
    sv_lines_free(&l);
    return 0;
}
