/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-stream-parser.h: a reply's bytes in, its text and ending out.
 *
 * One parser per reply: it owns the framing decoder (SSE for
 * OpenAI-compatible servers, NDJSON for Ollama) and folds each event into
 * the reply so far. It does no I/O, so tests, fuzzers and benchmarks drive it
 * with any split of the bytes.
 *
 * Tool calls are assembled here too. OpenAI-compatible servers stream each
 * call as choices[0].delta.tool_calls pieces keyed by "index": the first
 * piece usually has the id, type and function.name, later ones carry
 * function.arguments as text in fragments, which are joined exactly as
 * received (never parsed and written again: the text is what the model
 * said, and what is shown and stored). Ollama sends message.tool_calls with
 * each call whole, and its function.arguments as a JSON object, not text:
 * that object is kept as json-glib writes it (compact, members in the
 * order received). */
#pragma once

#include <glib-object.h>

#include "rill-types.h"

G_BEGIN_DECLS

typedef struct _RillStreamParser RillStreamParser;

/* What a server can make a reply hold: an event (or NDJSON line, or a
 * whole JSON answer); the reply's text, content, reasoning and the tool
 * calls' ids, names and arguments together; and a number of tool calls.
 * Past either, the parser stops with an error of its own
 * (rill_stream_parser_is_too_large()), keeping the text that came before. */
#define RILL_MAX_EVENT_BYTES (16 * 1024 * 1024)
#define RILL_MAX_REPLY_BYTES (64 * 1024 * 1024)
#define RILL_MAX_TOOL_CALLS  128

/* One call the model asked for, as assembled so far. @index is the
 * server's (OpenAI) or the call's place in the reply (Ollama). @id, @type
 * and @name are NULL until the server gives them; a call whose pieces came
 * without a name keeps its arguments and a NULL @name, for the caller to
 * refuse in words. */
typedef struct
{
  guint    index;
  char    *id;
  char    *type;
  char    *name;
  GString *arguments;
} RillToolCall;

#define RILL_TYPE_TOOL_CALL (rill_tool_call_get_type ())

GType             rill_tool_call_get_type         (void) G_GNUC_CONST;
RillToolCall     *rill_tool_call_copy             (const RillToolCall *call);
void              rill_tool_call_free             (RillToolCall      *call);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillToolCall, rill_tool_call_free)

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
/* TRUE when the last feed() or end() added, named or extended a tool
 * call. feed()'s answer is about text only, so that a caller showing text
 * is not woken by argument fragments it does not show. */
gboolean          rill_stream_parser_tool_calls_changed (RillStreamParser *self);
/* The connection ended cleanly. */
void              rill_stream_parser_end          (RillStreamParser  *self);

const GString    *rill_stream_parser_get_content  (RillStreamParser  *self);
const GString    *rill_stream_parser_get_reasoning (RillStreamParser *self);
const char       *rill_stream_parser_get_model    (RillStreamParser  *self);
const char       *rill_stream_parser_get_finish_reason (RillStreamParser *self);
/* The calls so far, RillToolCall in the order each was first seen;
 * (transfer none), owned by the parser and changed by the next feed. */
GPtrArray        *rill_stream_parser_get_tool_calls (RillStreamParser *self);
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
