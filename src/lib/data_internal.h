/* data_internal.h: the loader's streaming entry point, for tests and the fuzz harness: the same
 * as sm_dataset_load_mem, but the bytes reach the parser `chunk` bytes at a time (0: all at once),
 * so that every buffer boundary can be exercised. */
#ifndef SMARTTY_DATA_INTERNAL_H
#define SMARTTY_DATA_INTERNAL_H

#include "smartty/data.h"

sm_status sm_dataset_load_chunked(const char *name, const void *data, size_t len, size_t chunk,
                                  const sm_data_opts *o, sm_dataset **out, sm_error *e);

#endif
