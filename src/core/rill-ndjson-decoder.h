/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-ndjson-decoder.h: incremental newline-delimited JSON splitter. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RillNdjsonDecoder RillNdjsonDecoder;

/* @line has no line ending, is NUL-terminated and never empty. */
typedef void (*RillNdjsonLineFunc) (const char *line,
                                    gsize       len,
                                    gpointer    user_data);

RillNdjsonDecoder *rill_ndjson_decoder_new    (RillNdjsonLineFunc  func,
                                               gpointer            user_data);
void               rill_ndjson_decoder_feed   (RillNdjsonDecoder  *self,
                                               const char         *bytes,
                                               gsize               len);
/* A line that would pass @max bytes is not kept: the decoder stops there,
 * hands nothing more over and says so in rill_ndjson_decoder_overflowed().
 * 0, the default, is no limit. */
void               rill_ndjson_decoder_set_max_line (RillNdjsonDecoder *self,
                                                     gsize              max);
gboolean           rill_ndjson_decoder_overflowed   (RillNdjsonDecoder *self);
/* End of stream: a last line without a newline is still handed over. */
void               rill_ndjson_decoder_finish (RillNdjsonDecoder  *self);
void               rill_ndjson_decoder_free   (RillNdjsonDecoder  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillNdjsonDecoder, rill_ndjson_decoder_free)

G_END_DECLS
