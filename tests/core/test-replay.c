/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replays the streams recorded from real servers in ../shared/streams/
 * (RILL_STREAMS_DIR) through the parser in random splits and through the
 * real client and store, and compares with the texts SOURCES.md gives in
 * expected/. The recordings are read from there, never copied here; without
 * the folder the tests skip and say so.
 *
 * Tool calls: what each recording asks for is worked out here on its own,
 * by reading every event with json-glib and joining the pieces by index,
 * checked against expected/<file>.tool_calls.json, and then the parser's
 * calls must be the same, byte for byte, however the stream is cut. */

#include <json-glib/json-glib.h>
#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"

static const char *
streams_dir (void)
{
  const char *dir = g_getenv ("RILL_STREAMS_DIR");

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    return NULL;
  return dir;
}

static char *
expected_text (const char *dir, const char *name, const char *suffix)
{
  g_autofree char *path = g_strdup_printf ("%s/expected/%s.%s.txt", dir, name, suffix);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static GPtrArray *
recorded_streams (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (listing && (name = g_dir_read_name (listing)))
    if (g_str_has_suffix (name, ".sse") || g_str_has_suffix (name, ".ndjson"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  return names;
}

static RillProviderKind
kind_of (const char *name)
{
  return g_str_has_suffix (name, ".ndjson") ? RILL_PROVIDER_OLLAMA : RILL_PROVIDER_OPENAI;
}

static const char *
content_suffix (const char *name)
{
  /* n=3: the person sees choice 0. */
  return strstr (name, "n3-choices") ? "choice0.content" : "content";
}

static gboolean
ends_in_error (const char *name)
{
  return strstr (name, "midstream-error") != NULL;
}

/* One call, as the test reads it from the recording. */
typedef struct
{
  gint64   index;
  char    *id;
  char    *name;
  GString *arguments;
} Call;

static void
call_free (Call *call)
{
  g_free (call->id);
  g_free (call->name);
  g_string_free (call->arguments, TRUE);
  g_free (call);
}

/* json-glib 1.6 has no _with_default for these. */
static JsonArray *
member_array (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The calls of choice 0, in the order of their indexes' first events: every
 * "data:" line of every event (each event in these recordings is one line) read
 * whole with json-glib; NULL when the recording asks for none. */
static GPtrArray *
calls_in_recording (const char *bytes, gsize len)
{
  g_auto(GStrv) lines = NULL;
  g_autofree char *text = g_strndup (bytes, len);
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);

  lines = g_strsplit (text, "\n", -1);
  for (guint l = 0; lines[l] != NULL; l++)
    {
      g_autoptr(JsonParser) json = json_parser_new ();
      JsonNode *root;
      JsonArray *choices;

      /* Error events and the like have no choices, and no calls. */
      if (!g_str_has_prefix (lines[l], "data: ")
          || !json_parser_load_from_data (json, lines[l] + 6, -1, NULL)
          || !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (json))
          || !(choices = member_array (json_node_get_object (root), "choices")))
        continue;
      for (guint c = 0; c < json_array_get_length (choices); c++)
        {
          JsonObject *choice = json_array_get_object_element (choices, c);
          JsonObject *delta = member_object (choice, "delta");
          JsonArray *pieces;

          if (json_object_get_int_member_with_default (choice, "index", 0) != 0 || delta == NULL
              || !(pieces = member_array (delta, "tool_calls")))
            continue;
          for (guint i = 0; i < json_array_get_length (pieces); i++)
            {
              JsonObject *piece = json_array_get_object_element (pieces, i);
              JsonObject *function = json_object_get_object_member (piece, "function");
              gint64 index = json_object_get_int_member (piece, "index");
              Call *call = NULL;

              for (guint k = 0; k < calls->len; k++)
                if (((Call *) g_ptr_array_index (calls, k))->index == index)
                  call = g_ptr_array_index (calls, k);
              if (call == NULL)
                {
                  call = g_new0 (Call, 1);
                  call->index = index;
                  call->arguments = g_string_new (NULL);
                  g_ptr_array_add (calls, call);
                }
              if (json_object_has_member (piece, "id"))
                {
                  g_assert_null (call->id);
                  call->id = g_strdup (json_object_get_string_member (piece, "id"));
                }
              if (json_object_has_member (function, "name"))
                {
                  g_assert_null (call->name);
                  call->name = g_strdup (json_object_get_string_member (function, "name"));
                }
              if (json_object_has_member (function, "arguments"))
                g_string_append (call->arguments,
                                 json_object_get_string_member (function, "arguments"));
            }
        }
    }
  if (calls->len == 0)
    g_clear_pointer (&calls, g_ptr_array_unref);
  return calls;
}

/* The calls SOURCES.md lists in expected/<name>.tool_calls.json, keyed
 * "choice/index", with name and arguments; NULL when there is no file. */
static JsonObject *
expected_calls (const char *dir, const char *name)
{
  g_autofree char *path = g_strdup_printf ("%s/expected/%s.tool_calls.json", dir, name);
  g_autoptr(JsonParser) json = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  json_parser_load_from_file (json, path, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (json)));
}

/* The parser's calls are @calls, byte for byte, with the type OpenAI
 * gives each call. */
static void
assert_calls (const char *name, RillStreamParser *parser, GPtrArray *calls, const char *cut)
{
  GPtrArray *got = rill_stream_parser_get_tool_calls (parser);

  if (calls == NULL)
    {
      g_assert_cmpuint (got->len, ==, 0);
      return;
    }
  if (got->len != calls->len)
    g_error ("%s (%s): %u calls, not %u", name, cut, got->len, calls->len);
  for (guint i = 0; i < calls->len; i++)
    {
      const RillToolCall *call = g_ptr_array_index (got, i);
      const Call *want = g_ptr_array_index (calls, i);

      if (call->index != want->index || g_strcmp0 (call->id, want->id) != 0
          || g_strcmp0 (call->name, want->name) != 0 || g_strcmp0 (call->type, "function") != 0
          || call->arguments->len != want->arguments->len
          || memcmp (call->arguments->str, want->arguments->str, want->arguments->len) != 0)
        g_error ("%s (%s): call %u is %u %s %s %s, not %" G_GINT64_FORMAT " %s %s %s", name, cut,
                 i, call->index, call->id, call->name, call->arguments->str, want->index,
                 want->id, want->name, want->arguments->str);
    }
  g_assert_cmpstr (rill_stream_parser_get_finish_reason (parser), ==, "tool_calls");
}

static void
test_random_splits (void)
{
  const char *dir = streams_dir ();
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261124);

  if (dir == NULL)
    {
      g_test_skip ("../shared/streams is not here (RILL_STREAMS_DIR); nothing to replay");
      return;
    }
  names = recorded_streams (dir);
  g_assert_cmpuint (names->len, >=, 10);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *bytes = NULL;
      g_autofree char *content = expected_text (dir, name, content_suffix (name));
      g_autofree char *reasoning = expected_text (dir, name, "reasoning");
      g_autoptr(GPtrArray) calls = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      if (kind_of (name) == RILL_PROVIDER_OPENAI)
        calls = calls_in_recording (bytes, len);
      for (guint round = 0; round < 30; round++)
        {
          g_autoptr(RillStreamParser) parser = rill_stream_parser_new (kind_of (name));
          /* Round 0 is byte by byte; the others cut at random places. */
          for (gsize at = 0; at < len;)
            {
              gsize piece = round == 0 ? 1 : (gsize) g_rand_int_range (rand, 1, 300);
              piece = MIN (piece, len - at);
              rill_stream_parser_feed (parser, bytes + at, piece);
              at += piece;
            }
          rill_stream_parser_end (parser);
          if (g_strcmp0 (rill_stream_parser_get_content (parser)->str, content) != 0)
            g_error ("%s: content differs in round %u", name, round);
          g_assert_cmpstr (rill_stream_parser_get_reasoning (parser)->str, ==, reasoning);
          assert_calls (name, parser, calls, round == 0 ? "byte by byte" : "random cuts");
          if (ends_in_error (name))
            g_assert_nonnull (rill_stream_parser_get_error (parser));
          else
            {
              g_assert_null (rill_stream_parser_get_error (parser));
              g_assert_true (rill_stream_parser_has_finished (parser));
            }
        }
      g_test_message ("%s: %zu bytes of content match", name, strlen (content));
    }
}

/* The recordings with tool calls: the test's own reading agrees with
 * expected/, and the parser gives the same calls cut at every byte. */
static void
test_tool_calls (void)
{
  const char *dir = streams_dir ();
  g_autoptr(GPtrArray) names = NULL;
  guint n_recordings = 0;
  guint n_calls = 0;

  if (dir == NULL)
    {
      g_test_skip ("../shared/streams is not here (RILL_STREAMS_DIR); nothing to replay");
      return;
    }
  names = recorded_streams (dir);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *bytes = NULL;
      g_autoptr(JsonObject) expected = expected_calls (dir, name);
      g_autoptr(GPtrArray) calls = NULL;
      gsize len;

      if (expected == NULL)
        continue;
      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      calls = calls_in_recording (bytes, len);
      g_assert_nonnull (calls);
      g_assert_cmpuint (json_object_get_size (expected), ==, calls->len);
      for (guint c = 0; c < calls->len; c++)
        {
          const Call *call = g_ptr_array_index (calls, c);
          g_autofree char *key = g_strdup_printf ("0/%" G_GINT64_FORMAT, call->index);
          JsonObject *want = json_object_get_object_member (expected, key);

          g_assert_nonnull (want);
          g_assert_cmpstr (call->name, ==, json_object_get_string_member (want, "name"));
          g_assert_cmpstr (call->arguments->str, ==,
                           json_object_get_string_member (want, "arguments"));
          g_assert_true (g_str_has_prefix (call->id, "call_"));
        }

      /* Every cut of the stream in two. */
      for (gsize at = 0; at <= len; at++)
        {
          g_autoptr(RillStreamParser) parser = rill_stream_parser_new (RILL_PROVIDER_OPENAI);
          g_autofree char *cut = g_strdup_printf ("cut at %zu", at);

          rill_stream_parser_feed (parser, bytes, at);
          rill_stream_parser_feed (parser, bytes + at, len - at);
          rill_stream_parser_end (parser);
          assert_calls (name, parser, calls, cut);
          g_assert_null (rill_stream_parser_get_error (parser));
        }
      n_recordings++;
      n_calls += calls->len;
      g_test_message ("%s: %u calls match at every cut", name, calls->len);
    }
  /* OpenAI (one and two calls), OpenRouter, DeepSeek. */
  g_assert_cmpuint (n_recordings, >=, 4);
  g_assert_cmpuint (n_calls, >=, 5);
}

typedef struct
{
  gboolean finished;
} Done;

static void
on_finished (RillReply *reply, Done *done)
{
  done->finished = TRUE;
}

static void
test_through_client (void)
{
  const char *dir = streams_dir ();
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  g_autofree char *tmp = NULL;
  g_autofree char *db = NULL;
  g_autoptr(RillTestServer) server = NULL;
  g_autoptr(GError) error = NULL;
  RillStore *store;

  if (dir == NULL)
    {
      g_test_skip ("../shared/streams is not here (RILL_STREAMS_DIR); nothing to replay");
      return;
    }
  tmp = test_make_tmpdir ();
  db = g_build_filename (tmp, "history.db", NULL);
  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  server = rill_test_server_new ();
  names = recorded_streams (dir);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *route = g_strdup_printf ("/%u", i);
      g_autofree char *base = NULL;
      g_autofree char *bytes = NULL;
      g_autofree char *content = expected_text (dir, name, content_suffix (name));
      g_autofree char *reasoning = expected_text (dir, name, "reasoning");
      g_autoptr(RillProvider) provider = NULL;
      g_autoptr(RillReply) reply = NULL;
      g_autoptr(RillMessage) stored = NULL;
      RillTestScript *script;
      RillReplyOptions options;
      Done done = { FALSE };
      gsize len;

      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      script = rill_test_script_new (200, kind_of (name) == RILL_PROVIDER_OLLAMA
                                          ? "application/x-ndjson" : "text/event-stream");
      rill_test_script_send (script, bytes, len, g_rand_int_range (rand, 1, 200));
      if (kind_of (name) == RILL_PROVIDER_OLLAMA)
        {
          g_autofree char *chat = g_strconcat (route, "/api/chat", NULL);
          rill_test_server_route (server, chat, script);
          base = g_strconcat (rill_test_server_get_url (server), route, NULL);
        }
      else
        {
          g_autofree char *chat = g_strconcat (route, "/v1/chat/completions", NULL);
          rill_test_server_route (server, chat, script);
          base = g_strconcat (rill_test_server_get_url (server), route, "/v1", NULL);
        }
      provider = rill_provider_new (kind_of (name), base, NULL);
      rill_reply_options_init (&options);
      options.model = g_strdup ("recorded");
      reply = rill_reply_new (store, provider, test_create_conversation (store, name), "replay",
                              &options);
      rill_reply_options_clear (&options);
      g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &done);
      rill_reply_start (reply);
      test_wait_for (&done.finished, 20000, name);

      stored = rill_store_get_message (store, rill_reply_get_message_id (reply), &error);
      g_assert_no_error (error);
      if (g_strcmp0 (rill_message_get_content (stored), content) != 0)
        g_error ("%s: stored content differs", name);
      g_assert_cmpstr (rill_message_get_reasoning (stored), ==, reasoning);
      g_assert_cmpint (rill_message_get_status (stored), ==,
                       ends_in_error (name) ? RILL_STATUS_FAILED : RILL_STATUS_COMPLETE);
    }

  g_assert_true (rill_store_sync (store, 10000));
  g_assert_finalize_object (store);
  test_rm_rf (tmp);
}

static void
test_error_bodies (void)
{
  const char *dir = streams_dir ();
  static const struct { const char *file; guint status; const char *starts; } cases[] = {
    { "openai-error-401-invalid-api-key.json", 401,
      "HTTP 401 Unauthorized: Incorrect API key provided: sk-XXX." },
    { "openai-error-401-invalid-api-key-newer-format.json", 401, "HTTP 401 Unauthorized: " },
    { "openai-error-429-rate-limit.json", 429,
      "HTTP 429 Too Many Requests: Rate limit reached for gpt-3.5-turbo" },
  };

  if (dir == NULL)
    {
      g_test_skip ("../shared/streams is not here (RILL_STREAMS_DIR); nothing to replay");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (dir, cases[i].file, NULL);
      g_autofree char *body = NULL;
      g_autofree char *message = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &body, &len, NULL));
      message = rill_provider_describe_http_error (cases[i].status, NULL, body, len);
      if (!g_str_has_prefix (message, cases[i].starts))
        g_error ("%s: “%s”", cases[i].file, message);
      g_assert_cmpuint (strlen (message), >, strlen ("HTTP 401 Unauthorized: ") + 5);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/replay/random-splits", test_random_splits);
  g_test_add_func ("/replay/tool-calls", test_tool_calls);
  g_test_add_func ("/replay/through-client", test_through_client);
  g_test_add_func ("/replay/error-bodies", test_error_bodies);
  return g_test_run ();
}
