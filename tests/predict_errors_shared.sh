#!/bin/sh
# predict_errors_shared.sh: the part of predict_errors.sh that needs the shared fixtures (a real
# checkpoint with a wrong shape, a wrong vocabulary, bad data); skipped, exit 77, without them.
SMARTTY_TEST_PART=shared
. "$(dirname "$0")/predict_errors.sh"
