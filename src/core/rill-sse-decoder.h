/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sse-decoder.h: incremental text/event-stream decoder (WHATWG rules). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RillSseDecoder RillSseDecoder;

/* @event_type is "message" unless an event: field said otherwise; @data is
 * NUL-terminated and @data_len long; @last_id is the last id: seen, or "". */
typedef void (*RillSseEventFunc) (const char *event_type,
                                  const char *data,
                                  gsize       data_len,
                                  const char *last_id,
                                  gpointer    user_data);

RillSseDecoder *rill_sse_decoder_new    (RillSseEventFunc  func,
                                         gpointer          user_data);
void            rill_sse_decoder_feed   (RillSseDecoder   *self,
                                         const char       *bytes,
                                         gsize             len);
/* An event whose data would pass @max bytes, or a line that would pass it
 * with the event's data before it (give or take a field name), is not
 * kept: the decoder stops there, hands nothing more over and says so in
 * rill_sse_decoder_overflowed(), whatever the split of the bytes. 0, the
 * default, is no limit; rill_sse_decoder_finish() starts afresh. */
void            rill_sse_decoder_set_max_event (RillSseDecoder *self,
                                                gsize           max);
gboolean        rill_sse_decoder_overflowed    (RillSseDecoder *self);
/* End of stream: a trailing event that was never closed by a blank line is
 * dropped, as the EventSource rules say. */
void            rill_sse_decoder_finish (RillSseDecoder   *self);
void            rill_sse_decoder_free   (RillSseDecoder   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillSseDecoder, rill_sse_decoder_free)

G_END_DECLS
