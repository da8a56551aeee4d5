/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: see fuzz-checks.c for what is checked. */
#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  return rill_fuzz_sse (data, size);
}
