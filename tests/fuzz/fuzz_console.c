/* fuzz_console.c: arbitrary bytes as console command lines (one a line) through the dispatcher
 * (tokenizer, command table, argument checks, every handler, breakpoint conditions, settings) with
 * the pretend session of tests/console_fake.h. The first byte sets the pretend session's state,
 * whether it has a model and unsaved training, and whether the console is interactive. `source` is
 * kept from reading files (the nesting limit is reached), and the pretend session touches no disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "console_fake.h"

static void sink(void *ud, con_out_kind kind, const char *text)
{
    (void)ud;
    (void)kind;
    (void)strlen(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    con_ctx c;
    fake_session f;
    fake_console(&c, &f, sink);
    f.state = (con_run_state)(data[0] % (CON_RUN_DONE + 1));
    f.has_model = (data[0] & 0x10) != 0;
    f.unsaved = data[0] & 0x20 ? 3 : 0;
    c.interactive = data[0] >> 7;
    for (char *p = buf; p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        c.depth = 8; /* `source` refuses: no file is read */
        con_exec_line(&c, p);
        p = nl ? nl + 1 : NULL;
    }
    con_free(&c);
    free(buf);
    return 0;
}
