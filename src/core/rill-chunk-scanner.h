/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-chunk-scanner.h: the common chunk shapes, read straight from the bytes.
 *
 * Nearly every event of a streamed reply is one token in the same shape, and
 * building a json-glib tree for it costs more than everything else the client
 * does with that token. These functions read the members RillStreamParser
 * needs from an OpenAI-compatible event's data or an Ollama line without
 * building or allocating anything: strings come back as spans of the input.
 *
 * They accept only a strict subset of JSON that json-glib reads the same way,
 * and only the common shapes. They return FALSE, so that json-glib takes
 * over, when the chunk
 *
 *  - is not one object, with nothing around it but spaces, tabs and LFs (a CR
 *    anywhere between tokens is left to json-glib);
 *  - is not valid UTF-8;
 *  - has a string with a raw control character, an escape JSON does not
 *    define or a lone surrogate escape, or a member name with any escape at
 *    all;
 *  - has a number with an exponent, a leading zero before another digit, or
 *    more than 18 digits before the point; or an "index" with a fraction;
 *  - has true, false or null followed by anything but a delimiter;
 *  - nests objects and arrays more than 32 deep;
 *  - gives a member it looks at (one named in a table in
 *    rill-chunk-scanner.c) twice in one object;
 *  - has more than RILL_CHUNK_MAX_CHOICES objects in "choices";
 *  - (OpenAI) has an "error" other than null, or a "usage" or "timings" object;
 *  - has "tool_calls" in a delta or message other than null or []: calls are
 *    assembled from the json-glib tree;
 *  - (Ollama) has an "error" other than null, or a "done" other than false:
 *    the done line carries the counters, and those are json-glib's.
 *
 * Everything else is read. Other members are read past (and checked all the
 * same); a member whose value is not of the type its field holds is read as
 * absent, as the json-glib path reads it; \u0000 is read as U+FFFD, as the
 * parser has json-glib read it. The fuzzers compare the two paths
 * on every input, so a change here that makes them disagree is found there. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RILL_CHUNK_MAX_CHOICES 8

/* A string member as it is in the chunk. @start is NULL when the member was
 * absent or not a string; otherwise it points into the chunk, and @len bytes
 * from it are the string between its quotes, still escaped when @escaped. */
typedef struct
{
  const char *start;
  gsize       len;
  gboolean    escaped;
} RillChunkString;

/* An OpenAI choice's "delta" or "message", or Ollama's "message". */
typedef struct
{
  gboolean        present;            /* the member was an object */
  RillChunkString content;
  RillChunkString reasoning_content;  /* DeepSeek, llama.cpp */
  RillChunkString reasoning;          /* Ollama /v1, OpenRouter; Ollama's message.thinking */
} RillChunkText;

typedef struct
{
  gint64          index;              /* -1 when absent or not an integer */
  RillChunkText   delta;
  RillChunkText   message;
  RillChunkString finish_reason;
} RillChunkChoice;

/* {"model":…,"choices":[{"index":…,"delta":{…},"finish_reason":…}]} */
typedef struct
{
  RillChunkString model;
  guint           n_choices;          /* the elements of "choices" that are objects */
  RillChunkChoice choices[RILL_CHUNK_MAX_CHOICES];
} RillChunkOpenai;

/* /api/chat: {"model":…,"message":{"content":…,"thinking":…},"done":false}
 * /api/generate: {"model":…,"response":…,"thinking":…,"done":false} */
typedef struct
{
  RillChunkString model;
  RillChunkText   message;            /* thinking in reasoning */
  RillChunkString thinking;
  RillChunkString response;
} RillChunkOllama;

/* Each returns TRUE and fills @chunk when it could read the whole of @data;
 * FALSE leaves @chunk undefined. Only the first n_choices choices are set. */
gboolean rill_chunk_scan_openai   (const char            *data,
                                   gsize                  len,
                                   RillChunkOpenai       *chunk);
gboolean rill_chunk_scan_ollama   (const char            *line,
                                   gsize                  len,
                                   RillChunkOllama       *chunk);

/* Appends @string to @to, unescaped. @string must come from a scan above
 * whose chunk is still alive. */
void     rill_chunk_string_append (GString               *to,
                                   const RillChunkString *string);

G_END_DECLS
