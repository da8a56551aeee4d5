/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-stream-parser.h: a reply's bytes in, its text and ending out.
 *
 * One parser per reply: it owns the framing decoder (SSE for
 * OpenAI-compatible servers, NDJSON for Ollama) and folds each event into
 * the reply so far. It does no I/O, so tests, fuzzers and benchmarks drive it
 * with any split of the bytes. */
#pragma once

#include <glib.h>

#include "rill-types.h"

G_BEGIN_DECLS

typedef struct _RillStreamParser RillStreamParser;

/* What a server can make a reply hold: an event (or NDJSON line, or a
 * whole JSON answer), and the reply's text, content and reasoning together.
 * Past either, the parser stops with an error of its own
 * (rill_stream_parser_is_too_large()), keeping the text that came before. */
#define RILL_MAX_EVENT_BYTES (16 * 1024 * 1024)
#define RILL_MAX_REPLY_BYTES (64 * 1024 * 1024)

RillStreamParser *rill_stream_parser_new          (RillProviderKind   kind);
void              rill_stream_parser_free         (RillStreamParser  *self);
/* Before the first feed, when the server said its answer is JSON: the body
 * may be one JSON document, not a stream (a server that ignored "stream":
 * true, as some proxies do). If it begins with '{', it is read whole at
 * rill_stream_parser_end(), and a reply in it is the whole reply; anything
 * else is read as a stream, as usual. */
void              rill_stream_parser_allow_document (RillStreamParser *self);

/* Returns TRUE when content or reasoning grew. Once the server has said it
 * is done, or sent an error, later bytes are ignored. */
gboolean          rill_stream_parser_feed         (RillStreamParser  *self,
                                                   const char        *bytes,
                                                   gsize              len);
/* The connection ended cleanly. */
void              rill_stream_parser_end          (RillStreamParser  *self);

const GString    *rill_stream_parser_get_content  (RillStreamParser  *self);
const GString    *rill_stream_parser_get_reasoning (RillStreamParser *self);
const char       *rill_stream_parser_get_model    (RillStreamParser  *self);
const char       *rill_stream_parser_get_finish_reason (RillStreamParser *self);
/* The server's error, in its words, from an error event or line. */
const char       *rill_stream_parser_get_error    (RillStreamParser  *self);
/* TRUE when that error is the parser's own: the server sent something
 * that is not an event it understands, rather than an error. */
gboolean          rill_stream_parser_is_malformed (RillStreamParser  *self);
/* TRUE when that error is a limit reached: see RILL_MAX_EVENT_BYTES. */
gboolean          rill_stream_parser_is_too_large (RillStreamParser  *self);
/* [DONE] or Ollama's done: true. */
gboolean          rill_stream_parser_is_done      (RillStreamParser  *self);
/* The server finished the reply: done, or a finish reason was given. */
gboolean          rill_stream_parser_has_finished (RillStreamParser  *self);
/* Usage and timings as the server sent them, as a JSON object, or NULL. */
const char       *rill_stream_parser_get_usage_json (RillStreamParser *self);
/* -1 where the server said nothing. */
gint64            rill_stream_parser_get_prompt_tokens     (RillStreamParser *self);
gint64            rill_stream_parser_get_completion_tokens (RillStreamParser *self);
guint             rill_stream_parser_get_n_events (RillStreamParser  *self);

/* Reads the message out of an error body such as {"error":{"message":…}},
 * {"error":"…"} or {"message":…}; NULL when there is none. */
char             *rill_error_message_from_json    (const char        *body,
                                                   gsize              len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillStreamParser, rill_stream_parser_free)

G_END_DECLS
