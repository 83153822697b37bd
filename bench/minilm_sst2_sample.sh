#!/bin/sh
# minilm_sst2_sample.sh: the 2,000-sentence SST-2 training sample of the MiniLM experiment, the same
# for smartty and for the reference: the header, then every 33rd data row of train.tsv, cut at 2,000.
# It writes to standard output and reads nothing but the file it is given.
set -eu
[ $# = 1 ] && [ -r "$1" ] || { echo "usage: minilm_sst2_sample.sh SST2/train.tsv" >&2; exit 2; }
awk 'NR == 1 { print; next } (NR - 2) % 33 == 0 && n < 2000 { print; n++ }' "$1"
