/* fuzz_safetensors.c: libFuzzer harness for the safetensors reader: any bytes must be either refused
 * with a message or accepted as a file whose every tensor reads back within its bounds.
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_safetensors.c
 *        src/lib/io/safetensors.c src/lib/core/common.c -ljansson -lm -lpthread -o fuzz_safetensors */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smartty/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sm_st_file *f;
    sm_error e;
    if (sm_st_open_memory(data, size, "fuzz", &f, &e) != SM_OK) {
        if (strncmp(e.msg, "fuzz", 4) != 0)
            abort(); /* every refusal names the file */
        return 0;
    }
    for (size_t i = 0; i < sm_st_count(f); i++) {
        const sm_st_tensor *t = sm_st_tensor_at(f, i);
        if (sm_st_find(f, t->name) != (long)i)
            abort();
        if (t->numel > (1u << 20))
            continue;
        float *out = malloc(t->numel * sizeof *out + 1);
        if (out) {
            (void)sm_st_read_float(f, i, out, t->numel, &e);
            free(out);
        }
    }
    sm_st_close(f);
    return 0;
}
