/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fuzzers' checks, shared by the libFuzzer targets (clang) and the
 * regression replay test (any compiler). Each returns 0 and aborts on a
 * broken invariant, so libFuzzer keeps the input as a crash.
 *
 * Splits: the whole input is always fed; its first bytes also choose the
 * lengths of the pieces of a second, split feed (and inputs under 1 KiB get
 * a third, byte-at-a-time feed). Every feed must give the same result. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int rill_fuzz_sse          (const uint8_t *data, size_t size);
int rill_fuzz_ndjson       (const uint8_t *data, size_t size);
int rill_fuzz_stream_parser (const uint8_t *data, size_t size);
