/* Events to a reply: the shapes real servers send, fed in every split, read
 * both by the fast path (with json-glib for what it refuses) and by
 * json-glib alone. */

#include <string.h>

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
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"think \"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"more\"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"héllo \"}},{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\n\n"
  "data: {\"model\":\"m-1\",\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"delta\":{\"content\":\"世界\"}}],\"usage\":null}\n\n"
  "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":22,\"total_tokens\":33},"
  "\"timings\":{\"predicted_per_second\":10.5}}\n\n"
  "data: [DONE]\n\n"
  "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n";

static void
test_openai_shapes (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);

  for (gsize piece = 0; piece < 40; piece++)
    {
      g_autoptr(RillStreamParser) p = parse_with (flags, RILL_PROVIDER_OPENAI, openai_stream, piece);

      g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "héllo 世界");
      g_assert_cmpstr (rill_stream_parser_get_reasoning (p)->str, ==, "think more");
      g_assert_cmpstr (rill_stream_parser_get_model (p), ==, "m-1");
      g_assert_cmpstr (rill_stream_parser_get_finish_reason (p), ==, "length");
      g_assert_true (rill_stream_parser_is_done (p));
      g_assert_null (rill_stream_parser_get_error (p));
      g_assert_cmpint (rill_stream_parser_get_prompt_tokens (p), ==, 11);
      g_assert_cmpint (rill_stream_parser_get_completion_tokens (p), ==, 22);
      g_assert_nonnull (strstr (rill_stream_parser_get_usage_json (p), "\"predicted_per_second\":10.5"));
    }
}

static void
test_openai_error_shapes (void)
{
  static const struct { const char *input; const char *error; const char *content; } cases[] = {
    { "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"Provider returned error\",\"code\":502,\"metadata\":{\"raw\":\"boom\"}}}\n\n",
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
    parse (RILL_PROVIDER_OPENAI, "data: {\"choices\":[{\"delta\":{\"content\":\"a\xC3\x28z\"}}]}\n\n", 1);

  g_assert_true (g_utf8_validate (rill_stream_parser_get_content (p)->str, -1, NULL));
  g_assert_cmpstr (rill_stream_parser_get_content (p)->str, ==, "a\xEF\xBF\xBD(z");
}

static void
test_ollama_shapes (gconstpointer data)
{
  RillStreamParserFlags flags = GPOINTER_TO_UINT (data);
  const char *chat =
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hmm \"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\" there\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"length\",\"done\":true,"
    "\"prompt_eval_count\":4,\"eval_count\":2,\"eval_duration\":100}\n";
  const char *generate =
    "{\"model\":\"g\",\"response\":\" Yes\",\"done\":false}\n{\"model\":\"g\",\"response\":\".\",\"done\":false}\n"
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
      g_assert_cmpstr (rill_stream_parser_get_error (g), ==, "an error was encountered while running the model");
    }
}

static void
test_error_bodies (void)
{
  static const struct { const char *body; const char *message; } cases[] = {
    { "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"invalid_request_error\"}}", "Incorrect API key" },
    { "{\"error\":\"model 'x' not found\"}", "model 'x' not found" },
    { "{\"message\":\"Unauthorized\",\"status\":401}", "Unauthorized" },
    { "{\"detail\":\"Not Found\"}", "Not Found" },
    { "<html>502</html>", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *message = rill_error_message_from_json (cases[i].body, strlen (cases[i].body));
      g_assert_cmpstr (message, ==, cases[i].message);
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
  return g_test_run ();
}
