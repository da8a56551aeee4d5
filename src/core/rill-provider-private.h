/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-provider-private.h: for the tests, not the client. */
#pragma once

#include "rill-provider.h"

G_BEGIN_DECLS

/* The limit of lists of models read from now on, so that a test need not
 * send megabytes; 0 restores RILL_MAX_MODELS_BYTES. */
void _rill_provider_set_max_models_bytes (gsize max);

G_END_DECLS
