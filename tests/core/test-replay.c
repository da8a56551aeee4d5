/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replays the streams recorded from real servers in ../shared/streams/
 * (RILL_STREAMS_DIR) through the parser in random splits and through the
 * real client and store, and compares with the texts SOURCES.md gives in
 * expected/. The recordings are read from there, never copied here; without
 * the folder the tests skip and say so. */

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
      gsize len;

      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
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
  g_test_add_func ("/replay/through-client", test_through_client);
  g_test_add_func ("/replay/error-bodies", test_error_bodies);
  return g_test_run ();
}
