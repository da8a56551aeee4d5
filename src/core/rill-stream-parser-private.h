/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-stream-parser-private.h: for the tests and fuzzers, not the client. */
#pragma once

#include "rill-stream-parser.h"

G_BEGIN_DECLS

typedef enum {
  RILL_STREAM_PARSER_DEFAULT        = 0,
  /* Every event is read with json-glib, never with the chunk scanner: the
   * reference the fuzzers hold the scanner's fast path to. */
  RILL_STREAM_PARSER_JSON_GLIB_ONLY = 1 << 0,
} RillStreamParserFlags;

RillStreamParser *_rill_stream_parser_new_with_flags (RillProviderKind      kind,
                                                      RillStreamParserFlags flags);
/* The limits of parsers made from now on, so that a test need not send
 * hundreds of MiB; 0 restores RILL_MAX_EVENT_BYTES or RILL_MAX_REPLY_BYTES. */
void              _rill_stream_parser_set_limits     (gsize                 max_event,
                                                      gsize                 max_reply);

G_END_DECLS
