/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Events to a reply: the shapes real servers send, fed in every split, read
 * both by the chunk scanner (with json-glib for what it refuses) and by
 * json-glib alone; and what the chunk scanner takes and what it leaves to
 * json-glib. */

#include <string.h>

#include "rill-chunk-scanner.h"
#include "rill-stream-parser-private.h"

static RillStreamParser *
parse_with (RillStreamParserFlags flags, RillProviderKind kind, const char *input, gsize piece)
{
  RillStreamParser *parser = _rill_stream_parser_new_with_flags (kind, flags);
  gsize n = strlen (input);

  if (piece == 0)
    piece = n;
  for (gsize at = 0; at < n; at += piece)
    rill_stream_parser_feed (parser, input + at, MIN (piece, n - at));
  rill_stream_parser_end (parser);
  return parser;
}

static RillStreamParser *
parse (RillProviderKind kind, const char *input, gsize piece)
{
  return parse_with (RILL_STREAM_PARSER_DEFAULT, kind, input, piece);
}

static const char *openai_stream =
  "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"prompt_filter_results\":[]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
  "\"content\":null,\"reasoning_content\":\"think \"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"more\"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"héllo \"}},"
  "{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"finish_reason\":\"length\",\"index\":0,"
  "\"delta\":{\"content\":\"世界\"}}],\"usage\":null}\n\n"
  "data: {\"choices\":[],"
  "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":22,\"total_tokens\":33},"
  "\"timings\":{\"predicted_per_second\":10.5}}\n\n"
  "data: [DONE]\n\n"
  "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n";

static void
test_openai_shapes (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);

  for (gsize piece = 0; piece < 40; piece++)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, openai_stream,
                                                  piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "héllo 世界");
      g_assert_cmpstr (rill_stream_parser_get_reasoning (p)->str, ==, "think more");
      g_assert_cmpstr (rill_stream_parser_get_model (p), ==, "m-1");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "length");
      g_assert_true (rill_stream_parser_is_done (p));
      g_assert_null (rill_stream_parser_get_error (p));
      g_assert_cmpint (rill_stream_parser_get_prompt_tokens (p), ==, 11);
      g_assert_cmpint (rill_stream_parser_get_completion_tokens (p), ==, 22);
      g_assert_nonnull (strstr (rill_stream_parser_get_usage_json (p),
                                "\"predicted_per_second\":10.5"));
    }
}

static void
test_openai_error_shapes (void)
{
  static const struct { const char *input; const char *error; const char *content; } cases[] = {
    { "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"Provider returned error\",\"code\":502,"
      "\"metadata\":{\"raw\":\"boom\"}}}\n\n",
      "Provider returned error (boom)", "a" },
    { "event: error\ndata: {\"message\":\"overloaded\"}\n\n", "overloaded", "" },
    { "data: {\"error\":\"plain\"}\n\n", "plain", "" },
    { "data: not json\n\n", "The server sent something that is not JSON: not json", "" },
    { "data: [1,2]\n\n", "The server sent an unexpected event: [1,2]", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(RillStreamParser) p = parse (RILL_PROVIDER_OPENAI, cases[i].input, 3);

      g_assert_cmpstr (rill_stream_parser_get_error (p), ==, cases[i].error);
      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, cases[i].content);
      g_assert_false (rill_stream_parser_has_finished (p));
    }
}

static void
test_invalid_utf8_repaired (void)
{
  g_autoptr(RillStreamParser) p =
    parse (RILL_PROVIDER_OPENAI,
           "data: {\"choices\":[{\"delta\":{\"content\":\"a\xC3\x28z\"}}]}\n\n", 1);

  g_assert_true (g_utf8_validate (rill_stream_parser_get_content (p)->str, -1, NULL));
  g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "a\xEF\xBF\xBD(z");
}

static void
test_ollama_shapes (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *chat =
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"thinking\":\"hmm \"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\" there\"},"
    "\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"done_reason\":\"length\",\"done\":true,"
    "\"prompt_eval_count\":4,\"eval_count\":2,\"eval_duration\":100}\n";
  const char *generate =
    "{\"model\":\"g\",\"response\":\" Yes\",\"done\":false}\n"
    "{\"model\":\"g\",\"response\":\".\",\"done\":false}\n"
    "{\"error\":\"an error was encountered while running the model\"}\n";

  for (gsize piece = 1; piece < 30; piece += 3)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OLLAMA, chat, piece);
      g_autoptr(RillStreamParser) g = parse_with (flags, RILL_PROVIDER_OLLAMA, generate, piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "Hi there");
      g_assert_cmpstr (rill_stream_parser_get_reasoning (p)->str, ==, "hmm ");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "length");
      g_assert_true (rill_stream_parser_is_done (p));
      g_assert_cmpint (rill_stream_parser_get_prompt_tokens (p), ==, 4);
      g_assert_cmpint (rill_stream_parser_get_completion_tokens (p), ==, 2);

      g_assert_cmpstr (rill_stream_parser_get_content (g)->str, ==, " Yes.");
      g_assert_cmpstr (rill_stream_parser_get_error (g), ==,
                       "an error was encountered while running the model");
    }
}

static void
test_error_bodies (void)
{
  static const struct { const char *body; const char *message; } cases[] = {
    { "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"invalid_request_error\"}}",
      "Incorrect API key" },
    { "{\"error\":\"model 'x' not found\"}", "model 'x' not found" },
    { "{\"message\":\"Unauthorized\",\"status\":401}", "Unauthorized" },
    { "{\"detail\":\"Not Found\"}", "Not Found" },
    { "<html>502</html>", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *message = rill_error_message_from_json (cases[i].body,
                                                               strlen (cases[i].body));
      g_assert_cmpstr (message, ==, cases[i].message);
    }
}

/* \u0000 becomes U+FFFD and the rest of the string stays, on both paths
 * (the second event has a usage object, which only json-glib reads); an
 * escaped backslash before "u0000" is text. */
static void
test_nul_escapes (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *sse =
    "data: {\"model\":\"m\\u0000\",\"choices\":[{\"delta\":{\"content\":\"\\u0000a\\u0000\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"b\\u0000c\\\\u0000\"}}],"
    "\"usage\":{\"prompt_tokens\":1}}\n\n";
  const char *ndjson = "{\"message\":{\"content\":\"x\\u0000y\"},\"done\":true}\n";

  for (gsize piece = 1; piece < 20; piece += 6)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, sse, piece);
      g_autoptr(RillStreamParser) o = parse_with (flags, RILL_PROVIDER_OLLAMA, ndjson, piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==,
                       "\xEF\xBF\xBD" "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\\u0000");
      g_assert_cmpstr (rill_stream_parser_get_model (p), ==, "m\xEF\xBF\xBD");
      g_assert_cmpstr (rill_stream_parser_get_content (o)->str, ==, "x\xEF\xBF\xBDy");
    }
  {
    const char *body = "{\"error\":\"a\\u0000b\"}";
    g_autofree char *message = rill_error_message_from_json (body, strlen (body));

    g_assert_cmpstr (message, ==, "a\xEF\xBF\xBD" "b");
  }
}

/* With limits of 64 bytes an event and 20 bytes of text: the tokens that
 * fit are kept whole, the one that would pass is not, and nothing after. */
static void
test_limits (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *tokens =
    "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"01234\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
  const char *event =
    "data: {\"choices\":[{\"delta\":{\"content\":\"fits\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"0123456789012345678901234567890\"}}]}\n\n";
  const char *line =
    "{\"message\":{\"content\":\"fits\"}}\n"
    "{\"message\":{\"content\":\"0123456789012345678901234567890123456789\"}}\n";

  _rill_stream_parser_set_limits (64, 20);
  for (gsize piece = 1; piece < 30; piece += 4)
    {
      g_autoptr(RillStreamParser) t = parse_with (flags, RILL_PROVIDER_OPENAI, tokens, piece);
      g_autoptr(RillStreamParser) e = parse_with (flags, RILL_PROVIDER_OPENAI, event, piece);
      g_autoptr(RillStreamParser) l = parse_with (flags, RILL_PROVIDER_OLLAMA, line, piece);

      g_assert_cmpstr (rill_stream_parser_get_reasoning (t)->str, ==, "01234");
      g_assert_cmpstr (rill_stream_parser_get_content (t)->str, ==, "0123456789");
      g_assert_cmpstr (rill_stream_parser_get_error (t), ==,
                       "The server sent a reply larger than 20 bytes; the text before it is kept");
      g_assert_true (rill_stream_parser_is_too_large (t));
      g_assert_true (rill_stream_parser_is_malformed (t));

      g_assert_cmpstr (rill_stream_parser_get_content (e)->str, ==, "fits");
      g_assert_cmpstr (rill_stream_parser_get_error (e), ==,
                       "The server sent an event larger than 64 bytes; the text before it is kept");
      g_assert_true (rill_stream_parser_is_too_large (e));

      g_assert_cmpstr (rill_stream_parser_get_content (l)->str, ==, "fits");
      g_assert_cmpstr (rill_stream_parser_get_error (l), ==,
                       "The server sent a line larger than 64 bytes; the text before it is kept");
    }
  _rill_stream_parser_set_limits (0, 0);
  {
    g_autoptr(RillStreamParser) p = rill_stream_parser_new (RILL_PROVIDER_OPENAI);

    rill_stream_parser_feed (p, tokens, strlen (tokens));
    g_assert_null (rill_stream_parser_get_error (p));
    g_assert_false (rill_stream_parser_is_too_large (p));
  }
}

static RillStreamParser *
parse_document (RillProviderKind kind, const char *input, gsize piece)
{
  RillStreamParser *parser = rill_stream_parser_new (kind);
  gsize n = strlen (input);

  rill_stream_parser_allow_document (parser);
  for (gsize at = 0; at < n; at += piece)
    rill_stream_parser_feed (parser, input + at, MIN (piece, n - at));
  rill_stream_parser_end (parser);
  return parser;
}

/* A body the server said is JSON: a whole answer, a stream after all, an
 * error, or JSON that is no reply. */
static void
test_documents (void)
{
  const char *whole =
    "\n  {\n \"model\": \"m\",\n \"choices\": [{\"index\": 0, \"message\": {\"role\": "
    "\"assistant\", \"content\": \"Whole.\"}, \"finish_reason\": \"length\"}],\n"
    " \"usage\": {\"prompt_tokens\": 2, \"completion_tokens\": 3}\n}\n";

  for (gsize piece = 1; piece < 40; piece += 3)
    {
      g_autoptr(RillStreamParser) p = parse_document (RILL_PROVIDER_OPENAI, whole, piece);
      g_autoptr(RillStreamParser) s = parse_document (RILL_PROVIDER_OPENAI, openai_stream, piece);
      g_autoptr(RillStreamParser) e =
        parse_document (RILL_PROVIDER_OPENAI, "{\"error\":{\"message\":\"nope\"}}", piece);
      g_autoptr(RillStreamParser) n = parse_document (RILL_PROVIDER_OPENAI, "{\"x\":1}", piece);
      g_autoptr(RillStreamParser) o =
        parse_document (RILL_PROVIDER_OLLAMA,
                        "{\"message\":{\"content\":\"O.\"},\"done\":true,\"eval_count\":1}",
                        piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "Whole.");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "length");
      g_assert_true (rill_stream_parser_is_done (p));
      g_assert_cmpint (rill_stream_parser_get_completion_tokens (p), ==, 3);
      g_assert_null (rill_stream_parser_get_error (p));

      g_assert_cmpstr (rill_stream_parser_get_content (s)->str, ==, "héllo 世界");
      g_assert_true (rill_stream_parser_is_done (s));

      g_assert_cmpstr (rill_stream_parser_get_error (e), ==, "nope");
      g_assert_false (rill_stream_parser_is_malformed (e));

      g_assert_cmpstr (rill_stream_parser_get_error (n), ==,
                       "The server answered with JSON that is not a reply: {\"x\":1}");
      g_assert_true (rill_stream_parser_is_malformed (n));
      g_assert_false (rill_stream_parser_has_finished (n));

      g_assert_cmpstr (rill_stream_parser_get_content (o)->str, ==, "O.");
      g_assert_true (rill_stream_parser_is_done (o));
    }
  /* The whole answer is held only up to the event limit. */
  _rill_stream_parser_set_limits (64, 0);
  {
    g_autoptr(RillStreamParser) p = parse_document (RILL_PROVIDER_OPENAI, whole, 7);

    g_assert_true (rill_stream_parser_is_too_large (p));
    g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "");
  }
  _rill_stream_parser_set_limits (0, 0);
}

/* Tool calls */

static const RillToolCall *
call_at (RillStreamParser *p, guint i)
{
  GPtrArray *calls = rill_stream_parser_get_tool_calls (p);

  g_assert_cmpuint (i, <, calls->len);
  return g_ptr_array_index (calls, i);
}

static void
assert_call (RillStreamParser *p, guint i, guint index, const char *id, const char *type,
             const char *name, const char *arguments)
{
  const RillToolCall *call = call_at (p, i);

  g_assert_cmpuint (call->index, ==, index);
  g_assert_cmpstr (call->id, ==, id);
  g_assert_cmpstr (call->type, ==, type);
  g_assert_cmpstr (call->name, ==, name);
  g_assert_cmpuint (call->arguments->len, ==, strlen (arguments));
  g_assert_cmpstr (call->arguments->str, ==, arguments);
}

/* Text, then two calls whose argument pieces interleave, with escapes;
 * argument text is what the pieces' strings say, joined, never written
 * again. Choice 1's pieces are not the person's. */
static const char *tool_stream =
  "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
  "\"content\":\"Let me look.\",\"tool_calls\":null}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_A\","
  "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"{\\\"city\\\": \"}}]}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_B\","
  "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":\"}}]},"
  "\"finish_reason\":null}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"\\\"Z\\u00fcrich\\\\n\\u4e16\"}},{\"index\":1,"
  "\"function\":{\"arguments\":\" \\\"CET\\\"}\"}}]}}]}\n\n"
  "data: {\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"other choice\"}}]}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"\\\"}\"}}]}}]}\n\n"
  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\",\"tool_calls\":[]},"
  "\"finish_reason\":\"tool_calls\"}]}\n\n"
  "data: [DONE]\n\n";

static void
test_openai_tool_calls (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);

  for (gsize piece = 0; piece < 60; piece++)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, tool_stream, piece);

      g_assert_null (rill_stream_parser_get_error (p));
      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "Let me look.");
      g_assert_cmpuint (rill_stream_parser_get_tool_calls (p)->len, ==, 2);
      assert_call (p, 0, 0, "call_A", "function", "get_weather",
                   "{\"city\": \"Z\xC3\xBCrich\\n\xE4\xB8\x96\"}");
      assert_call (p, 1, 1, "call_B", "function", "get_time", "{\"tz\": \"CET\"}");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "tool_calls");
      g_assert_true (rill_stream_parser_is_done (p));
    }
}

/* Ollama: text, a line with two whole calls, a line with a third, then
 * done. The arguments object is kept as json-glib writes it. */
static void
test_ollama_tool_calls (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *chat =
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"Checking.\"},"
    "\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":"
    "{\"city\": \"Z\\u00fcrich\", \"days\": [1, 2], \"opts\": {\"metric\": true, \"x\": null}}}},"
    "{\"function\":{\"name\":\"get_time\",\"arguments\":{}}}]},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"tool_calls\":[{\"id\":\"call_3\",\"function\":{\"index\":0,\"name\":\"echo\","
    "\"arguments\":{\"text\":\"a\\\"b\"}}}]},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"done_reason\":\"stop\",\"done\":true,\"eval_count\":9}\n";

  for (gsize piece = 0; piece < 50; piece++)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OLLAMA, chat, piece);

      g_assert_null (rill_stream_parser_get_error (p));
      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "Checking.");
      g_assert_cmpuint (rill_stream_parser_get_tool_calls (p)->len, ==, 3);
      assert_call (p, 0, 0, NULL, NULL, "get_weather",
                   "{\"city\":\"Z\xC3\xBCrich\",\"days\":[1,2],"
                   "\"opts\":{\"metric\":true,\"x\":null}}");
      assert_call (p, 1, 1, NULL, NULL, "get_time", "{}");
      assert_call (p, 2, 2, "call_3", NULL, "echo", "{\"text\":\"a\\\"b\"}");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "stop");
      g_assert_true (rill_stream_parser_is_done (p));
    }
}

/* tool_calls_changed() says whether the last feed touched the calls. */
static void
test_tool_calls_changed (void)
{
  static const struct { const char *event; gboolean text; gboolean calls; } steps[] = {
    { "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", TRUE, FALSE },
    { "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\"}]}}]}\n\n",
      FALSE, TRUE },
    { "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\"}]}}]}\n\n",
      FALSE, FALSE },
    { "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"name\":\"f\"}}]}}]}\n\n", FALSE, TRUE },
    { "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"arguments\":\"\"}}]}}]}\n\n", FALSE, FALSE },
    { "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"arguments\":\"{}\"}}]}}]}\n", FALSE, FALSE },
    { "\n", FALSE, TRUE },
    { "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n", TRUE, FALSE },
  };
  g_autoptr(RillStreamParser) p = rill_stream_parser_new (RILL_PROVIDER_OPENAI);

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      gboolean grew = rill_stream_parser_feed (p, steps[i].event, strlen (steps[i].event));

      if (grew != steps[i].text || rill_stream_parser_tool_calls_changed (p) != steps[i].calls)
        g_error ("step %u: text %d, calls %d", i, grew, rill_stream_parser_tool_calls_changed (p));
    }
  assert_call (p, 0, 0, "c", NULL, "f", "{}");
  g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "ab");

  /* A last line without its newline is read by end(). */
  {
    g_autoptr(RillStreamParser) q = rill_stream_parser_new (RILL_PROVIDER_OLLAMA);
    const char *last = "{\"message\":{\"tool_calls\":[{\"function\":{}}]}}";

    rill_stream_parser_feed (q, last, strlen (last));
    g_assert_false (rill_stream_parser_tool_calls_changed (q));
    rill_stream_parser_end (q);
    g_assert_true (rill_stream_parser_tool_calls_changed (q));
    assert_call (q, 0, 0, NULL, NULL, NULL, "");
  }
}

#define PIECES(...) "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[" \
  __VA_ARGS__ "]}}]}\n\n"

/* Pieces that do not fit the usual shape are kept, never dropped. */
static void
test_tool_call_odd_pieces (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *stream =
    /* Arguments for an index no piece named. */
    PIECES ("{\"index\":3,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}")
    PIECES ("{\"index\":3,\"function\":{\"arguments\":\"1}\"}}")
    /* No usable index: the last call's, until another id comes. */
    PIECES ("{\"id\":\"call_x\",\"function\":{\"name\":\"f\",\"arguments\":\"[\"}}")
    PIECES ("{\"function\":{\"arguments\":\"1\"}}")
    PIECES ("{\"index\":-1,\"id\":\"call_x\",\"function\":{\"arguments\":\"]\"}}")
    PIECES ("{\"index\":\"7\",\"id\":\"call_y\",\"function\":{\"name\":\"g\","
            "\"arguments\":\"\"}}")
    /* Arguments that are not a string; null adds nothing. */
    PIECES ("{\"index\":0,\"id\":\"call_z\",\"type\":\"function\",\"function\":"
            "{\"name\":\"h\",\"arguments\":{\"k\": [\"v\", 2]}}}")
    PIECES ("{\"index\":0,\"function\":{\"arguments\":null}}")
    PIECES ("{\"index\":0,\"function\":{\"arguments\":5}}")
    /* Not objects, a name given again, a function that is not an object. */
    PIECES ("1,\"x\",null,{\"index\":0,\"function\":{\"name\":\"h\"}}")
    PIECES ("{\"index\":3,\"function\":\"not an object\"}")
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":{\"index\":0}}}]}\n\n";

  for (gsize piece = 0; piece < 40; piece += 3)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, stream, piece);

      g_assert_null (rill_stream_parser_get_error (p));
      g_assert_cmpuint (rill_stream_parser_get_tool_calls (p)->len, ==, 4);
      assert_call (p, 0, 3, NULL, NULL, NULL, "{\"a\":1}");
      assert_call (p, 1, 4, "call_x", NULL, "f", "[1]");
      assert_call (p, 2, 5, "call_y", NULL, "g", "");
      assert_call (p, 3, 0, "call_z", "function", "h", "{\"k\":[\"v\",2]}5");
    }
}

/* Ids, names and arguments count with the text, whole or not at all; and
 * a reply holds no more than RILL_MAX_TOOL_CALLS calls. */
static void
test_tool_call_limits (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *stream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"0123\",\"tool_calls\":[{\"index\":0,"
    "\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"0123456789\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"0123\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"x\"}}]}}]}\n\n";
  g_autoptr(GString) many = g_string_new (NULL);
  g_autofree char *error = g_strdup_printf ("The server sent more than %d tool calls; "
                                            "the text and calls before them are kept",
                                            RILL_MAX_TOOL_CALLS);

  _rill_stream_parser_set_limits (0, 20);
  for (gsize piece = 1; piece < 30; piece += 4)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, stream, piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "0123");
      /* 4 + 1 + 1 + 14 bytes: the 20 allowed. */
      assert_call (p, 0, 0, "c", NULL, "f", "01234567890123");
      g_assert_cmpstr (rill_stream_parser_get_error (p), ==,
                       "The server sent a reply larger than 20 bytes; the text before it is kept");
      g_assert_true (rill_stream_parser_is_too_large (p));
    }
  _rill_stream_parser_set_limits (0, 0);

  for (guint i = 0; i <= RILL_MAX_TOOL_CALLS; i++)
    g_string_append_printf (many, "data: {\"choices\":[{\"delta\":{\"tool_calls\":"
                            "[{\"index\":%u,\"function\":{\"name\":\"f\"}}]}}]}\n\n", i * 1000);
  {
    g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, many->str, 0);

    g_assert_cmpuint (rill_stream_parser_get_tool_calls (p)->len, ==, RILL_MAX_TOOL_CALLS);
    assert_call (p, RILL_MAX_TOOL_CALLS - 1, (RILL_MAX_TOOL_CALLS - 1) * 1000, NULL, NULL, "f",
                 "");
    g_assert_cmpstr (rill_stream_parser_get_error (p), ==, error);
    g_assert_true (rill_stream_parser_is_too_large (p));
  }
}

/* A whole answer with calls is a reply; the boxed copy is a deep copy. */
static void
test_tool_call_document (void)
{
  const char *whole =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
    "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": 1}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
  g_autoptr(RillStreamParser) p = parse_document (RILL_PROVIDER_OPENAI, whole, 5);
  g_autoptr(RillToolCall) copy = NULL;

  g_assert_null (rill_stream_parser_get_error (p));
  g_assert_true (rill_stream_parser_is_done (p));
  assert_call (p, 0, 0, "call_1", "function", "f", "{\"a\": 1}");
  copy = g_boxed_copy (RILL_TYPE_TOOL_CALL, call_at (p, 0));
  g_assert_true (copy != call_at (p, 0));
  g_assert_true (copy->arguments != call_at (p, 0)->arguments);
  g_assert_cmpstr (copy->arguments->str, ==, "{\"a\": 1}");
  g_assert_cmpstr (copy->id, ==, "call_1");
  g_assert_cmpstr (copy->name, ==, "f");
  g_assert_cmpstr (copy->type, ==, "function");
}

/* The chunk scanner */

static char *
unescaped (const RillChunkString *string)
{
  GString *out = g_string_new (NULL);

  g_assert_nonnull (string->start);
  rill_chunk_string_append (out, string);
  return g_string_free (out, FALSE);
}

static void
test_scanner_reads_common_shapes (void)
{
  const char *event =
    "{\"id\":\"c\",\"model\":\"m\\/1\",\"created\":1727346168,\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"a\\n\\u00e9\\ud83d\\ude00\",\"reasoning_content\":7},"
    "\"logprobs\":null,"
    "\"finish_reason\":null},{\"index\":1,\"delta\":\"x\",\"message\":{\"reasoning\":\"r\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":null}";
  const char *line =
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
    "\"thinking\":\"hm\"},"
    "\"thinking\":\"t\",\"response\":\"r\",\"done\":false}";
  RillChunkOpenai o;
  RillChunkOllama l;
  g_autofree char *model = NULL, *content = NULL, *reasoning = NULL, *finish = NULL;
  g_autofree char *ollama_content = NULL, *ollama_thinking = NULL;

  g_assert_true (rill_chunk_scan_openai (event, strlen (event), &o));
  g_assert_cmpstr ((model = unescaped (&o.model)), ==, "m/1");
  g_assert_cmpuint (o.n_choices, ==, 2);
  g_assert_cmpint (o.choices[0].index, ==, 0);
  g_assert_true (o.choices[0].delta.present);
  g_assert_false (o.choices[0].message.present);
  g_assert_cmpstr ((content = unescaped (&o.choices[0].delta.content)), ==, "a\né😀");
  g_assert_null (o.choices[0].delta.reasoning_content.start);   /* not a string */
  g_assert_null (o.choices[0].finish_reason.start);
  g_assert_cmpint (o.choices[1].index, ==, 1);
  g_assert_false (o.choices[1].delta.present);                   /* not an object */
  g_assert_true (o.choices[1].message.present);
  g_assert_cmpstr ((reasoning = unescaped (&o.choices[1].message.reasoning)), ==, "r");
  g_assert_cmpstr ((finish = unescaped (&o.choices[1].finish_reason)), ==, "stop");

  g_assert_true (rill_chunk_scan_ollama (line, strlen (line), &l));
  g_assert_true (l.message.present);
  g_assert_cmpstr ((ollama_content = unescaped (&l.message.content)), ==, "Hi");
  g_assert_cmpstr ((ollama_thinking = unescaped (&l.message.reasoning)), ==, "hm");
  g_assert_null (l.message.reasoning_content.start);
  g_assert_cmpint (l.thinking.len, ==, 1);
  g_assert_cmpint (l.response.len, ==, 1);
}

/* Each rule of rill-chunk-scanner.h, with a near twin that is read. */
static void
test_scanner_leaves_the_rest_to_json_glib (void)
{
  static const struct { RillProviderKind kind; const char *chunk; gboolean read; } cases[] = {
    { RILL_PROVIDER_OPENAI, "{}", TRUE },
    { RILL_PROVIDER_OPENAI, "", FALSE },
    { RILL_PROVIDER_OPENAI, "[]", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[]} \n\t", TRUE },
    { RILL_PROVIDER_OPENAI, " {\"choices\":[]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[]}\r", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[]}{}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"a\":1,}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\xC3\xA9\"}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\xC3\x28\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"id\":\"\xC3\x28\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"\xC3\xA9\":\"\xE4\xB8\x96\xF0\x9F\x91\x8B\xEF\xBF\xBF\"}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"\xC3\":1}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xC0\x80\"}", FALSE },              /* overlong */
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xE0\x9F\xBF\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xED\xA0\x80\"}", FALSE },          /* a surrogate */
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xF4\x90\x80\x80\"}", FALSE },      /* past U+10FFFF */
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xE4\xB8\"}", FALSE },              /* cut short */
    { RILL_PROVIDER_OPENAI, "{\"x\":\"\xBF\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":1\xC3\xA9}", FALSE },                 /* outside a string */
    { RILL_PROVIDER_OPENAI, "{\"x\":1}\xC3\xA9", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"a\tb\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\\x\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\\u0001\"}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\\u0000\"}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\\ud83d\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"\\ude00\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"mod\\u0065l\":\"m\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":-0.25}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"x\":1e3}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":01}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":123456789012345678}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"x\":1234567890123456789}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"index\":\"0\"}]}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"index\":0.0}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"x\":[true,false,null]}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"x\":nullx}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"id\":1,\"id\":2}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"model\":\"a\",\"model\":\"b\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
      FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{},{},{},{},{},{},{},{},1,\"x\"]}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{},{},{},{},{},{},{},{},{}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"error\":null,\"usage\":null,\"timings\":null}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"error\":{\"message\":\"e\"}}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"error\":\"e\"}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"usage\":{}}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"timings\":{}}", FALSE },
    { RILL_PROVIDER_OLLAMA, "{\"done\":false,\"usage\":{}}", TRUE },
    { RILL_PROVIDER_OLLAMA, "{\"done\":true}", FALSE },
    { RILL_PROVIDER_OLLAMA, "{\"done\":false,\"done\":false}", FALSE },
    { RILL_PROVIDER_OLLAMA, "{\"error\":null}", TRUE },
    { RILL_PROVIDER_OLLAMA, "{\"error\":\"e\"}", FALSE },
    { RILL_PROVIDER_OLLAMA, "{\"message\":{\"thinking\":\"a\",\"thinking\":\"b\"}}", FALSE },
    /* Tool calls are json-glib's; none, said as null or [], is not. */
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"tool_calls\":null}}]}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"tool_calls\":[ ]}}]}", TRUE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"tool_calls\":[{}]}}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"delta\":{\"tool_calls\":\"x\"}}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"choices\":[{\"message\":{\"tool_calls\":[1]}}]}", FALSE },
    { RILL_PROVIDER_OPENAI,
      "{\"choices\":[{\"delta\":{\"tool_calls\":null,\"tool_calls\":null}}]}", FALSE },
    { RILL_PROVIDER_OPENAI, "{\"tool_calls\":[{}]}", TRUE },
    { RILL_PROVIDER_OLLAMA, "{\"message\":{\"tool_calls\":[]}}", TRUE },
    { RILL_PROVIDER_OLLAMA, "{\"message\":{\"tool_calls\":null}}", TRUE },
    { RILL_PROVIDER_OLLAMA, "{\"message\":{\"tool_calls\":[{\"function\":{}}]}}", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = strlen (cases[i].chunk);
      RillChunkOpenai o;
      RillChunkOllama l;
      gboolean read = cases[i].kind == RILL_PROVIDER_OPENAI
                      ? rill_chunk_scan_openai (cases[i].chunk, len, &o)
                      : rill_chunk_scan_ollama (cases[i].chunk, len, &l);

      if (read != cases[i].read)
        g_error ("%s was %s", cases[i].chunk, read ? "read" : "refused");
    }
}

/* Up to 32 arrays or objects nest inside the chunk's object; deeper is
 * json-glib's. */
static void
test_scanner_depth (void)
{
  for (guint depth = 30; depth <= 34; depth++)
    {
      g_autoptr(GString) chunk = g_string_new ("{\"x\":");
      RillChunkOpenai o;

      for (guint i = 0; i < depth; i++)
        g_string_append_c (chunk, '[');
      for (guint i = 0; i < depth; i++)
        g_string_append_c (chunk, ']');
      g_string_append_c (chunk, '}');
      g_assert_cmpint (rill_chunk_scan_openai (chunk->str, chunk->len, &o), ==, depth <= 32);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/parser/openai-shapes", GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT),
                        test_openai_shapes);
  g_test_add_data_func ("/parser/openai-shapes/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY), test_openai_shapes);
  g_test_add_func ("/parser/openai-error-shapes", test_openai_error_shapes);
  g_test_add_func ("/parser/invalid-utf8-repaired", test_invalid_utf8_repaired);
  g_test_add_data_func ("/parser/ollama-shapes", GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT),
                        test_ollama_shapes);
  g_test_add_data_func ("/parser/ollama-shapes/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY), test_ollama_shapes);
  g_test_add_func ("/parser/error-bodies", test_error_bodies);
  g_test_add_data_func ("/parser/nul-escapes", GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT),
                        test_nul_escapes);
  g_test_add_data_func ("/parser/nul-escapes/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY), test_nul_escapes);
  g_test_add_data_func ("/parser/limits", GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT),
                        test_limits);
  g_test_add_data_func ("/parser/limits/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY), test_limits);
  g_test_add_func ("/parser/documents", test_documents);
  g_test_add_data_func ("/parser/openai-tool-calls",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT), test_openai_tool_calls);
  g_test_add_data_func ("/parser/openai-tool-calls/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY),
                        test_openai_tool_calls);
  g_test_add_data_func ("/parser/ollama-tool-calls",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT), test_ollama_tool_calls);
  g_test_add_data_func ("/parser/ollama-tool-calls/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY),
                        test_ollama_tool_calls);
  g_test_add_func ("/parser/tool-calls-changed", test_tool_calls_changed);
  g_test_add_data_func ("/parser/tool-call-odd-pieces",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT), test_tool_call_odd_pieces);
  g_test_add_data_func ("/parser/tool-call-odd-pieces/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY),
                        test_tool_call_odd_pieces);
  g_test_add_data_func ("/parser/tool-call-limits",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_DEFAULT), test_tool_call_limits);
  g_test_add_data_func ("/parser/tool-call-limits/json-glib-only",
                        GUINT_TO_POINTER (RILL_STREAM_PARSER_JSON_GLIB_ONLY),
                        test_tool_call_limits);
  g_test_add_func ("/parser/tool-call-document", test_tool_call_document);
  g_test_add_func ("/chunk-scanner/reads-common-shapes", test_scanner_reads_common_shapes);
  g_test_add_func ("/chunk-scanner/leaves-the-rest-to-json-glib",
                   test_scanner_leaves_the_rest_to_json_glib);
  g_test_add_func ("/chunk-scanner/depth", test_scanner_depth);
  return g_test_run ();
}
