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

G_END_DECLS
