/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Invariants of the stream decoders, for the fuzzers and their regression
 * test. See fuzz-checks.h. */

#include "fuzz-checks.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"
#include "rill-stream-parser-private.h"

#define CHECK(cond, ...)                                        \
  G_STMT_START {                                                \
    if (G_UNLIKELY (!(cond)))                                   \
      {                                                         \
        fprintf (stderr, "invariant broken: %s: ", #cond);      \
        fprintf (stderr, __VA_ARGS__);                          \
        fprintf (stderr, "\n");                                 \
        abort ();                                               \
      }                                                         \
  } G_STMT_END

typedef void (*FeedFunc) (gpointer decoder, const char *bytes, gsize len);

/* Piece lengths from the input's first bytes: 1..97, often 1. */
static gsize
piece_length (const uint8_t *data, size_t size, guint i)
{
  guint b = data[i % MIN (size, 8)];

  return 1 + ((b * 7u + i * 13u) % 97u) * (b & 1);
}

typedef enum { FEED_WHOLE, FEED_SPLIT, FEED_BYTES } FeedMode;

static void
feed (gpointer decoder, FeedFunc func, const uint8_t *data, size_t size, FeedMode mode)
{
  gsize at = 0;

  if (mode == FEED_WHOLE)
    {
      func (decoder, (const char *) data, size);
      return;
    }
  for (guint i = 0; at < size; i++)
    {
      gsize n = mode == FEED_BYTES ? 1 : MIN (piece_length (data, size, i), size - at);

      func (decoder, (const char *) data + at, n);
      at += n;
    }
}

static guint
n_feeds (size_t size)
{
  return size > 0 && size < 1024 ? 3 : 2;
}

/* SSE */

static void
record_event (GString *log, const char *type, const char *data, gsize data_len, const char *id)
{
  guint64 len = data_len;

  g_string_append (log, type);
  g_string_append_c (log, '\0');
  g_string_append_len (log, (const char *) &len, sizeof len);
  g_string_append_len (log, data, data_len);
  g_string_append (log, id);
  g_string_append_c (log, '\0');
}

static void
sse_cb (const char *type, const char *data, gsize data_len, const char *id, gpointer user_data)
{
  CHECK (type != NULL && data != NULL && id != NULL, "NULL out");
  CHECK (data[data_len] == '\0', "data not NUL-terminated");
  CHECK (memchr (data, '\r', data_len) == NULL, "CR in data");
  CHECK (type[0] != '\0', "empty event type");
  CHECK (strpbrk (type, "\r\n") == NULL, "line break in event type");
  CHECK (strpbrk (id, "\r\n") == NULL, "line break in id");
  record_event (user_data, type, data, data_len, id);
}

/* The EventSource rules written out plainly over the whole input, to check
 * the incremental decoder against. */
static void
reference_sse (const char *buf, gsize len, GString *log)
{
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GString) type = g_string_new (NULL);
  g_autoptr(GString) id = g_string_new (NULL);
  gboolean first = TRUE;
  gsize i = 0;

  while (i < len)
    {
      gsize j = i, line_len, name_len, value_len;
      const char *line = buf + i, *value, *colon;

      while (j < len && buf[j] != '\r' && buf[j] != '\n')
        j++;
      if (j == len)
        break;                  /* never ended: dropped */
      line_len = j - i;
      i = j + 1;
      if (buf[j] == '\r' && i < len && buf[i] == '\n')
        i++;
      if (first && line_len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
        {
          line += 3;
          line_len -= 3;
        }
      first = FALSE;

      if (line_len == 0)
        {
          if (data->len > 0)
            record_event (log, type->str[0] ? type->str : "message", data->str, data->len - 1,
                          id->str);
          g_string_truncate (data, 0);
          g_string_truncate (type, 0);
          continue;
        }
      if (line[0] == ':')
        continue;
      colon = memchr (line, ':', line_len);
      name_len = colon ? (gsize) (colon - line) : line_len;
      value = colon ? colon + 1 : line + line_len;
      value_len = line + line_len - value;
      if (value_len > 0 && value[0] == ' ')
        {
          value++;
          value_len--;
        }
      if (name_len == 4 && memcmp (line, "data", 4) == 0)
        {
          g_string_append_len (data, value, value_len);
          g_string_append_c (data, '\n');
        }
      else if (name_len == 5 && memcmp (line, "event", 5) == 0)
        {
          g_string_truncate (type, 0);
          g_string_append_len (type, value, value_len);
        }
      else if (name_len == 2 && memcmp (line, "id", 2) == 0 &&
               memchr (value, '\0', value_len) == NULL)
        {
          g_string_truncate (id, 0);
          g_string_append_len (id, value, value_len);
        }
    }
}

static void
sse_feed (gpointer decoder, const char *bytes, gsize len)
{
  rill_sse_decoder_feed (decoder, bytes, len);
}

int
rill_fuzz_sse (const uint8_t *data, size_t size)
{
  g_autoptr(GString) expected = g_string_new (NULL);

  reference_sse ((const char *) data, size, expected);
  for (guint mode = 0; mode < n_feeds (size); mode++)
    {
      g_autoptr(GString) log = g_string_new (NULL);
      RillSseDecoder *decoder = rill_sse_decoder_new (sse_cb, log);

      feed (decoder, sse_feed, data, size, mode);
      rill_sse_decoder_finish (decoder);
      /* A finished decoder starts afresh. */
      rill_sse_decoder_feed (decoder, "data: x\n", 8);
      rill_sse_decoder_free (decoder);
      CHECK (log->len == expected->len && memcmp (log->str, expected->str, log->len) == 0,
             "events differ from the reference (feed mode %u)", mode);
    }
  return 0;
}

/* NDJSON */

static void
ndjson_cb (const char *line, gsize len, gpointer user_data)
{
  guint64 n = len;

  CHECK (line != NULL && len > 0, "empty line handed over");
  CHECK (line[len] == '\0', "line not NUL-terminated");
  CHECK (memchr (line, '\n', len) == NULL, "LF in a line");
  g_string_append_len (user_data, (const char *) &n, sizeof n);
  g_string_append_len (user_data, line, len);
}

static void
reference_ndjson (const char *buf, gsize len, GString *log)
{
  gsize i = 0;

  while (i <= len)
    {
      const char *nl = memchr (buf + i, '\n', len - i);
      gsize end = nl ? (gsize) (nl - buf) : len;
      guint64 n = end - i;

      if (n > 0 && buf[end - 1] == '\r')
        n--;
      if (n > 0)
        {
          g_string_append_len (log, (const char *) &n, sizeof n);
          g_string_append_len (log, buf + i, n);
        }
      if (nl == NULL)
        break;
      i = end + 1;
    }
}

static void
ndjson_feed (gpointer decoder, const char *bytes, gsize len)
{
  rill_ndjson_decoder_feed (decoder, bytes, len);
}

int
rill_fuzz_ndjson (const uint8_t *data, size_t size)
{
  g_autoptr(GString) expected = g_string_new (NULL);

  reference_ndjson ((const char *) data, size, expected);
  for (guint mode = 0; mode < n_feeds (size); mode++)
    {
      g_autoptr(GString) log = g_string_new (NULL);
      RillNdjsonDecoder *decoder = rill_ndjson_decoder_new (ndjson_cb, log);

      feed (decoder, ndjson_feed, data, size, mode);
      rill_ndjson_decoder_finish (decoder);
      rill_ndjson_decoder_free (decoder);
      CHECK (log->len == expected->len && memcmp (log->str, expected->str, log->len) == 0,
             "lines differ from the reference (feed mode %u)", mode);
    }
  return 0;
}

/* Stream parser */

static void
parser_feed (gpointer parser, const char *bytes, gsize len)
{
  RillStreamParser *p = parser;
  gsize content = rill_stream_parser_get_content (p)->len;
  gsize reasoning = rill_stream_parser_get_reasoning (p)->len;
  gboolean grew = rill_stream_parser_feed (p, bytes, len);

  CHECK (grew == (rill_stream_parser_get_content (p)->len > content
                  || rill_stream_parser_get_reasoning (p)->len > reasoning),
         "feed()'s answer does not match what grew");
  CHECK (rill_stream_parser_get_content (p)->len >= content
         && rill_stream_parser_get_reasoning (p)->len >= reasoning, "text shrank");
}

static void
check_utf8 (const char *what, const char *text, gssize len)
{
  if (text == NULL)
    return;
  if (len < 0)
    len = strlen (text);
  CHECK (g_utf8_validate_len (text, len, NULL), "%s is not valid UTF-8", what);
}

static char *
describe (RillStreamParser *p)
{
  const GString *content = rill_stream_parser_get_content (p);
  const GString *reasoning = rill_stream_parser_get_reasoning (p);
  g_autoptr(GString) described = g_string_new (NULL);
  GPtrArray *calls;

  check_utf8 ("content", content->str, content->len);
  check_utf8 ("reasoning", reasoning->str, reasoning->len);
  check_utf8 ("error", rill_stream_parser_get_error (p), -1);
  check_utf8 ("model", rill_stream_parser_get_model (p), -1);
  check_utf8 ("finish reason", rill_stream_parser_get_finish_reason (p), -1);
  check_utf8 ("usage", rill_stream_parser_get_usage_json (p), -1);
  CHECK (content->str[content->len] == '\0' && reasoning->str[reasoning->len] == '\0',
         "not terminated");
  CHECK (!rill_stream_parser_is_done (p) || rill_stream_parser_has_finished (p),
         "done but not finished");
  calls = rill_stream_parser_get_tool_calls (p);
  CHECK (calls->len <= RILL_MAX_TOOL_CALLS, "too many tool calls");
  for (guint i = 0; i < calls->len; i++)
    {
      const RillToolCall *call = g_ptr_array_index (calls, i);

      check_utf8 ("tool call id", call->id, -1);
      check_utf8 ("tool call name", call->name, -1);
      check_utf8 ("tool call arguments", call->arguments->str, call->arguments->len);
      g_string_append_printf (described, "call %u: %s %s %s [%zu]%s\n", call->index, call->id,
                              call->type, call->name, call->arguments->len, call->arguments->str);
    }

  return g_strdup_printf ("%scontent[%zu]=%s\nreasoning[%zu]=%s\nmodel=%s\n"
                          "finish=%s\nerror=%s\nusage=%s\n"
                          "prompt=%" G_GINT64_FORMAT " completion=%" G_GINT64_FORMAT
                          " done=%d finished=%d events=%u",
                          described->str,
                          content->len, content->str, reasoning->len, reasoning->str,
                          rill_stream_parser_get_model (p),
                          rill_stream_parser_get_finish_reason (p),
                          rill_stream_parser_get_error (p), rill_stream_parser_get_usage_json (p),
                          rill_stream_parser_get_prompt_tokens (p),
                          rill_stream_parser_get_completion_tokens (p),
                          rill_stream_parser_is_done (p), rill_stream_parser_has_finished (p),
                          rill_stream_parser_get_n_events (p));
}

static char *
parse_with (RillProviderKind kind, const uint8_t *data, size_t size, FeedMode mode, gboolean fast)
{
  RillStreamParser *p;
  char *result;

  /* json-glib for every event is the reference for the fast path. */
  p = _rill_stream_parser_new_with_flags (kind, fast ? RILL_STREAM_PARSER_DEFAULT
                                                     : RILL_STREAM_PARSER_JSON_GLIB_ONLY);
  feed (p, parser_feed, data, size, mode);
  rill_stream_parser_end (p);
  result = describe (p);
  rill_stream_parser_free (p);
  return result;
}

int
rill_fuzz_stream_parser (const uint8_t *data, size_t size)
{
  static const RillProviderKind kinds[] = { RILL_PROVIDER_OPENAI, RILL_PROVIDER_OLLAMA };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      /* json-glib for every event is the reference. */
      g_autofree char *expected = parse_with (kinds[k], data, size, FEED_WHOLE, FALSE);

      for (guint mode = 0; mode < n_feeds (size); mode++)
        {
          g_autofree char *got = parse_with (kinds[k], data, size, mode, TRUE);

          if (strcmp (got, expected) != 0)
            {
              fprintf (stderr, "kind %d feed mode %u:\n--- json-glib, whole\n%s\n"
                       "--- fast path\n%s\n",
                       kinds[k], mode, expected, got);
              CHECK (FALSE, "the same bytes gave a different reply");
            }
        }
    }
  return 0;
}
