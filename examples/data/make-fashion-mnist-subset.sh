#!/usr/bin/env bash
# Makes the Fashion-MNIST subset embedded in the loradrop app, reproducibly: the FIRST N images and
# labels of each split, in the original IDX format (header count rewritten), gzipped without a
# name or time stamp (gzip -n -9), so the same input gives the same bytes.
#
#   examples/data/make-fashion-mnist-subset.sh [SOURCE_DIR] [TRAIN_N] [TEST_N]
#
# SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (Debian: apt-get install
# dataset-fashion-mnist); TRAIN_N and TEST_N default to 6000 and 2000, the committed subset.
set -euo pipefail
src="${1:-/usr/share/datasets/fashion-mnist}"
train_n="${2:-6000}"
test_n="${3:-2000}"
dst="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/main/resources/dev/loradrop/examples/fashion-mnist"
mkdir -p "$dst"

be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }

subset() { # prefix count; head closes the pipe early, so zcat's SIGPIPE is expected here
  local prefix="$1" n="$2"
  set +o pipefail
  { printf '\x00\x00\x08\x03'; be32 "$n"; be32 28; be32 28
    zcat "$src/$prefix-images-idx3-ubyte.gz" | tail -c +17 | head -c $((n * 784)); } \
    | gzip -n -9 > "$dst/$prefix-images-idx3-ubyte.gz"
  { printf '\x00\x00\x08\x01'; be32 "$n"
    zcat "$src/$prefix-labels-idx1-ubyte.gz" | tail -c +9 | head -c "$n"; } \
    | gzip -n -9 > "$dst/$prefix-labels-idx1-ubyte.gz"
  set -o pipefail
  [ "$(zcat "$dst/$prefix-images-idx3-ubyte.gz" | wc -c)" -eq $((16 + n * 784)) ] \
    || { echo "$prefix images: the source has fewer than $n images" >&2; exit 1; }
  [ "$(zcat "$dst/$prefix-labels-idx1-ubyte.gz" | wc -c)" -eq $((8 + n)) ] \
    || { echo "$prefix labels: the source has fewer than $n labels" >&2; exit 1; }
}

subset train "$train_n"
subset t10k "$test_n"
ls -l "$dst"
