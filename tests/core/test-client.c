/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The streaming path end to end: the real libsoup client against a real
 * HTTP server on 127.0.0.1, into a real SQLite file. Every test ends a
 * stream one way and compares the stored row with what the server sent,
 * byte for byte, with its status and error. */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "rill-export.h"
#include "rill-stream-parser-private.h"
#include "rill-test-server.h"
#include "rill-test-support.h"

#define CHAT "/v1/chat/completions"
#define WAIT_MS 20000

typedef struct
{
  char            *dir;
  char            *db_path;
  RillStore       *store;
  RillTestServer  *server;
  RillProvider    *provider;
  gint64           conversation_id;
  RillReplyOptions options;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;

  f->dir = test_make_tmpdir ();
  f->db_path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->store = rill_store_open (f->db_path, &error);
  g_assert_no_error (error);
  f->server = rill_test_server_new ();
  base = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-test-key");
  f->conversation_id = test_create_conversation (f->store, NULL);
  rill_reply_options_init (&f->options);
  f->options.model = g_strdup ("test-model");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rill_reply_options_clear (&f->options);
  g_clear_object (&f->provider);
  g_clear_pointer (&f->server, rill_test_server_free);
  /* Jobs hold the store until the writer has run them. */
  test_store_close (g_steal_pointer (&f->store));
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->db_path);
}

typedef struct
{
  RillReply *reply;
  guint      n_finished;
  guint      n_started;
  gboolean   finished;
} Watch;

static void
on_finished (RillReply *reply, Watch *w)
{
  w->n_finished++;
  w->finished = TRUE;
}

static void
on_started (RillReply *reply, Watch *w)
{
  w->n_started++;
}

static Watch *
start_reply (Fixture *f, gint64 conversation_id, const char *text)
{
  Watch *w = g_new0 (Watch, 1);

  w->reply = rill_reply_new (f->store, f->provider, conversation_id, text, &f->options);
  g_signal_connect (w->reply, "finished", G_CALLBACK (on_finished), w);
  g_signal_connect (w->reply, "started", G_CALLBACK (on_started), w);
  rill_reply_start (w->reply);
  return w;
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* The reply must go away once its cancelled I/O has come back: nothing may
 * keep it alive after that. */
static void
watch_free (Watch *w)
{
  gpointer reply = w->reply;

  g_object_add_weak_pointer (reply, &reply);
  g_object_unref (w->reply);
  test_wait_until (pointer_cleared, &reply, WAIT_MS, "the reply to be released");
  g_free (w);
}

static RillMessage *
stored_reply (Fixture *f, Watch *w)
{
  g_autoptr(GError) error = NULL;
  RillMessage *message;

  if (rill_reply_get_message_id (w->reply) <= 0)
    g_error ("no row: %s", rill_reply_get_error (w->reply));
  message = rill_store_get_message (f->store, rill_reply_get_message_id (w->reply), &error);
  g_assert_no_error (error);
  g_assert_cmpint (rill_message_get_role (message), ==, RILL_ROLE_ASSISTANT);
  return message;
}

/* Runs @script for one reply to "hello" and waits for its end. */
static Watch *
run_reply (Fixture *f, RillTestScript *script)
{
  Watch *w;

  rill_test_server_route (f->server, CHAT, script);
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  g_assert_cmpuint (w->n_finished, ==, 1);
  g_assert_true (rill_reply_is_finished (w->reply));
  g_assert_null (rill_reply_get_store_error (w->reply));
  return w;
}

static void
assert_stored (Fixture *f, Watch *w, RillStatus status, const char *content, const char *error_part)
{
  g_autoptr(RillMessage) message = stored_reply (f, w);

  g_assert_cmpstr (rill_status_to_string (rill_message_get_status (message)), ==,
                   rill_status_to_string (status));
  g_assert_cmpstr (rill_status_to_string (rill_reply_get_status (w->reply)), ==,
                   rill_status_to_string (status));
  g_assert_cmpstr (rill_message_get_content (message), ==, content);
  g_assert_cmpuint (strlen (rill_message_get_content (message)), ==, strlen (content));
  g_assert_cmpmem (rill_reply_get_content (w->reply)->str, rill_reply_get_content (w->reply)->len,
                   content, strlen (content));
  if (error_part != NULL)
    {
      g_auto(GStrv) alternatives = g_strsplit (error_part, "|", -1);
      gboolean mentioned = FALSE;

      g_assert_nonnull (rill_message_get_error (message));
      for (guint i = 0; alternatives[i]; i++)
        mentioned |= strstr (rill_message_get_error (message), alternatives[i]) != NULL;
      if (!mentioned)
        g_error ("error “%s” does not mention “%s”", rill_message_get_error (message), error_part);
      g_assert_cmpstr (rill_reply_get_error (w->reply), ==, rill_message_get_error (message));
    }
  else
    g_assert_null (rill_message_get_error (message));
  g_assert_cmpint (rill_message_get_finished_at (message), >, 0);
}

static const char * const greeting[] = {
  "Hello", ",", " world", "! ", "你好", "，", "世界", " 👋", "\n\n", "Line \"two\"", " ends.", NULL
};

static void
test_normal (Fixture *f, gconstpointer data)
{
  g_autofree char *sse = rill_test_openai_sse (greeting, "test-model-2024", TRUE);
  g_autofree char *expected = rill_test_join_tokens (greeting);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *body;
  JsonObject *stream_options;
  Watch *w;

  rill_test_script_send (script, sse, -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, expected, NULL);
  g_assert_null (rill_reply_get_failure (w->reply));

  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_finish_reason (message), ==, "stop");
  g_assert_cmpstr (rill_message_get_model (message), ==, "test-model-2024");
  g_assert_cmpint (rill_message_get_prompt_tokens (message), ==, 7);
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==,
                   g_strv_length ((GStrv) greeting));
  g_assert_nonnull (strstr (rill_message_get_usage (message), "\"total_tokens\""));

  /* What was sent: stream, usage requested, the key as a bearer token, and
   * the request kept with the reply without the key. */
  g_assert_cmpstr (rill_test_server_get_request_header (f->server, CHAT, "Authorization"), ==,
                   "Bearer sk-test-key");
  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (f->server, CHAT),
                                             -1, NULL));
  body = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  stream_options = json_object_get_object_member (body, "stream_options");
  g_assert_true (json_object_get_boolean_member (stream_options, "include_usage"));
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "test-model");
  g_assert_nonnull (rill_message_get_request (message));
  g_assert_null (strstr (rill_message_get_request (message), "sk-test-key"));
  /* The history by its ids (schema 5), not its text again. */
  g_assert_null (strstr (rill_message_get_request (message), "\"hello\""));
  g_assert_nonnull (strstr (rill_message_get_request (message), "\"ids\""));

  /* The user's message and the conversation's title. */
  {
    g_autoptr(GPtrArray) messages = rill_store_list_messages (f->store, f->conversation_id, NULL);
    g_autoptr(RillConversation) conversation =
      rill_store_get_conversation (f->store, f->conversation_id, NULL);

    g_assert_cmpuint (messages->len, ==, 2);
    g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, "hello");
    g_assert_cmpint (rill_message_get_role (g_ptr_array_index (messages, 0)), ==, RILL_ROLE_USER);
    g_assert_cmpstr (rill_conversation_get_title (conversation), ==, "hello");
  }
  watch_free (w);
}

/* What a reply cost: the tokens stored are the server's usage figures, as
 * the reply read them and as the JSON export writes them; the timings are
 * set, in order, and within what the test itself saw: the first token
 * comes only after the test opens the gate, and the tokens are paced. */
static gboolean
request_arrived (gpointer data)
{
  Fixture *f = data;

  return rill_test_server_get_request_count (f->server, CHAT) > 0;
}

static void
test_reply_cost (Fixture *f, gconstpointer data)
{
  static const char * const tokens[] = { "One", " two", " three", " four", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_auto(GStrv) events = g_strsplit (sse, "\n\n", -1);
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(JsonParser) usage = json_parser_new ();
  g_autoptr(JsonParser) exported = json_parser_new ();
  g_autofree char *json = NULL;
  JsonObject *figures, *last;
  JsonArray *array;
  gint64 started_us, arrived_us, opened_us, ended_us;
  const guint pace_us = 5000;
  Watch *w;

  /* One chunk an event, so the pacing spaces the tokens. */
  rill_test_script_gate (script, "first");
  rill_test_script_pace (script, pace_us);
  for (guint i = 0; events[i] && *events[i]; i++)
    {
      g_autofree char *event = g_strconcat (events[i], "\n\n", NULL);

      rill_test_script_send (script, event, -1, 0);
    }
  rill_test_server_route (f->server, CHAT, script);
  started_us = g_get_monotonic_time ();
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_until (request_arrived, f, WAIT_MS, "the request to arrive");
  arrived_us = g_get_monotonic_time ();
  g_assert_cmpint (rill_reply_get_ttft_ms (w->reply), ==, -1);
  opened_us = g_get_monotonic_time ();
  rill_test_server_open_gate (f->server, "first");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  ended_us = g_get_monotonic_time ();
  assert_stored (f, w, RILL_STATUS_COMPLETE, "One two three four", NULL);

  /* The server's figures, as it sent them. */
  message = stored_reply (f, w);
  g_assert_true (json_parser_load_from_data (usage, rill_message_get_usage (message), -1, NULL));
  figures = json_object_get_object_member (json_node_get_object (json_parser_get_root (usage)),
                                           "usage");
  g_assert_cmpint (rill_message_get_prompt_tokens (message), ==,
                   json_object_get_int_member (figures, "prompt_tokens"));
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==,
                   json_object_get_int_member (figures, "completion_tokens"));
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==, 4);
  g_assert_cmpint (rill_reply_get_prompt_tokens (w->reply), ==,
                   rill_message_get_prompt_tokens (message));
  g_assert_cmpint (rill_reply_get_completion_tokens (w->reply), ==, 4);

  /* The timings: stored as measured, in order, inside what the test saw. */
  g_assert_cmpint (rill_message_get_ttft_ms (message), ==, rill_reply_get_ttft_ms (w->reply));
  g_assert_cmpint (rill_message_get_generation_ms (message), ==,
                   rill_reply_get_generation_ms (w->reply));
  g_assert_cmpint (rill_message_get_ttft_ms (message), >=, 0);
  g_assert_cmpint (rill_message_get_generation_ms (message), >=, 0);
  /* Sent before the request arrived, first token after the gate opened. */
  g_assert_cmpint (rill_message_get_ttft_ms (message), >=, (opened_us - arrived_us) / 1000 - 1);
  g_assert_cmpint (rill_message_get_ttft_ms (message) + rill_message_get_generation_ms (message),
                   <=, (ended_us - started_us) / 1000 + 1);
  /* Four tokens and the ending after the first, each at least a pace apart. */
  g_assert_cmpint (rill_message_get_generation_ms (message), >=, 4 * pace_us / 1000 - 1);

  /* The JSON export carries the same figures. */
  conversation = rill_store_get_conversation (f->store, f->conversation_id, NULL);
  messages = rill_store_list_messages (f->store, f->conversation_id, NULL);
  json = rill_export_json (conversation, messages);
  g_assert_true (json_parser_load_from_data (exported, json, -1, NULL));
  array = json_object_get_array_member (json_node_get_object (json_parser_get_root (exported)),
                                        "messages");
  last = json_array_get_object_element (array, json_array_get_length (array) - 1);
  g_assert_cmpint (json_object_get_int_member (last, "prompt_tokens"), ==,
                   rill_message_get_prompt_tokens (message));
  g_assert_cmpint (json_object_get_int_member (last, "completion_tokens"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (last, "ttft_ms"), ==,
                   rill_message_get_ttft_ms (message));
  g_assert_cmpint (json_object_get_int_member (last, "generation_ms"), ==,
                   rill_message_get_generation_ms (message));
  /* The user's message cost nothing it could report. */
  g_assert_false (json_object_has_member (json_array_get_object_element (array, 0), "ttft_ms"));
  watch_free (w);
}

static void
test_pieces (Fixture *f, gsize piece, gboolean crlf)
{
  g_autofree char *sse = rill_test_openai_sse (greeting, NULL, TRUE);
  g_autofree char *expected = rill_test_join_tokens (greeting);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  if (crlf)
    {
      /* CRLF line ends and comment lines, as OpenRouter sends keep-alives. */
      g_auto(GStrv) lines = g_strsplit (sse, "\n", -1);
      g_autofree char *joined = g_strjoinv ("\r\n", lines);
      g_autofree char *with_comments = g_strconcat (": OPENROUTER PROCESSING\r\n\r\n", joined,
                                                    NULL);
      g_free (sse);
      sse = g_steal_pointer (&with_comments);
    }
  rill_test_script_send (script, sse, -1, piece);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, expected, NULL);
  watch_free (w);
}

static void
test_byte_at_a_time (Fixture *f, gconstpointer data)
{
  test_pieces (f, 1, FALSE);
}

static void
test_utf8_split (Fixture *f, gconstpointer data)
{
  /* Pieces of 2 and 3 bytes cut every CJK character and the emoji. */
  test_pieces (f, 2, FALSE);
}

static void
test_crlf_comments (Fixture *f, gconstpointer data)
{
  test_pieces (f, 3, TRUE);
}

static void
test_reasoning (Fixture *f, gconstpointer data)
{
  const char *sse =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
    "\"reasoning_content\":\"\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,"
    "\"reasoning_content\":\"Count the r\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,"
    "\"reasoning_content\":\"s: three.\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\" Sure.\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"There are \","
    "\"reasoning_content\":null}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"three.\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\n"
    "data: [DONE]\n\n";
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  rill_test_script_send (script, sse, -1, 7);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, "There are three.", NULL);
  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_reasoning (message), ==, "Count the rs: three. Sure.");
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==, 9);
  watch_free (w);
}

static void
test_error_event (Fixture *f, gconstpointer data)
{
  const char *sse =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The question \\\"\"}}]}\n\n"
    "data: {\"error\": {\"message\": "
    "\"The server had an error while processing your request.\", "
    "\"type\": \"server_error\"}}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"never shown\"}}]}\n\n";
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  rill_test_script_send (script, sse, -1, 0);
  rill_test_script_hang (script);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "The question \"",
                 "The server had an error while processing your request.");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_SERVER_SAID);
  g_assert_cmpstr (rill_reply_get_failure (w->reply)->message, ==, rill_reply_get_error (w->reply));
  watch_free (w);
}

typedef struct
{
  RillReply *reply;
  gsize      len;
} ContentLength;

static gboolean
content_reached (gpointer data)
{
  ContentLength *c = data;

  return rill_reply_get_content (c->reply)->len >= c->len;
}

/* Sends @tokens, waits until the client has all of them, then ends the
 * stream with @ending (so what is stored is exactly what was sent). */
static Watch *
run_partial (Fixture *f, void (*ending)(RillTestScript *), RillStatus status,
             const char *error_part)
{
  const char * const tokens[] = { "Partial ", "answer, ", "cut ", "here", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, FALSE);
  g_autofree char *expected = rill_test_join_tokens (tokens);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  char *finish = strstr (sse, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                         "\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{},"
                         "\"finish_reason\"");
  ContentLength c;
  Watch *w;

  g_assert_nonnull (finish);
  *finish = '\0';   /* the server never says it finished */
  rill_test_script_send (script, sse, -1, 5);
  rill_test_script_gate (script, "end");
  ending (script);
  rill_test_server_route (f->server, CHAT, script);

  w = start_reply (f, f->conversation_id, "hello");
  c.reply = w->reply;
  c.len = strlen (expected);
  test_wait_until (content_reached, &c, WAIT_MS, "the partial answer");
  rill_test_server_open_gate (f->server, "end");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  g_assert_cmpuint (w->n_finished, ==, 1);
  assert_stored (f, w, status, expected, error_part);
  return w;
}

static void
test_connection_reset (Fixture *f, gconstpointer data)
{
  /* Whether the reset reaches libsoup as an error or as an early end of the
   * body depends on timing; both must fail the reply, keeping its text. */
  Watch *w = run_partial (f, rill_test_script_reset, RILL_STATUS_FAILED,
                          "connection was lost|"
                          "closed the connection before the reply was finished");

  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_CONNECTION);
  watch_free (w);
}

static void
test_close_mid_body (Fixture *f, gconstpointer data)
{
  Watch *w = run_partial (f, rill_test_script_close, RILL_STATUS_FAILED,
                          "connection was lost|"
                          "closed the connection before the reply was finished");

  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_CONNECTION);
  watch_free (w);
}

static void
test_clean_close_without_end (Fixture *f, gconstpointer data)
{
  Watch *w = run_partial (f, rill_test_script_end, RILL_STATUS_FAILED,
                          "closed the connection before the reply was finished");

  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_CONNECTION);
  watch_free (w);
}

static void
test_silent_server (Fixture *f, gconstpointer data)
{
  Watch *w;

  f->options.idle_timeout_ms = 300;
  w = run_partial (f, rill_test_script_hang, RILL_STATUS_FAILED, "sent nothing for 0.3 seconds");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_TIMEOUT);
  watch_free (w);
}

static void
test_no_headers (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  /* The server takes the request and never answers. */
  rill_test_script_gate (script, "never");
  f->options.connect_timeout_ms = 300;
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "", "did not answer within 0.3 seconds");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_TIMEOUT);
  watch_free (w);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  g_autofree char *url = NULL;
  Watch *w;

  /* A port that was free a moment ago and is closed now. */
  g_socket_listener_close (listener);
  url = g_strdup_printf ("http://127.0.0.1:%u/v1", port);
  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, url, NULL);
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_FAILED, "", "Could not reach");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_CONNECTION);
  watch_free (w);
}

static void
test_http_error (Fixture *f, guint status, const char *body, const char *expected)
{
  /* The code the window decides on: the key, a wait, or the server. */
  static const struct { guint status; gint code; } codes[] = {
    { 401, RILL_ERROR_UNAUTHORIZED }, { 429, RILL_ERROR_RATE_LIMITED },
    { 500, RILL_ERROR_SERVER_ERROR },
  };
  RillTestScript *script = rill_test_script_new (status, "application/json");
  g_autoptr(GPtrArray) messages = NULL;
  gboolean coded = FALSE;
  Watch *w;

  rill_test_script_send (script, body, -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "", expected);
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (codes[i].status == status)
      {
        g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, codes[i].code);
        coded = TRUE;
      }
  g_assert_true (coded);
  g_assert_cmpstr (rill_reply_get_failure (w->reply)->message, ==, rill_reply_get_error (w->reply));
  /* The user's message was committed before the request went out. */
  messages = rill_store_list_messages (f->store, f->conversation_id, NULL);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, "hello");
  watch_free (w);
}

static void
test_http_401 (Fixture *f, gconstpointer data)
{
  test_http_error (f, 401,
                   "{\n    \"error\": {\n"
                   "        \"message\": \"Incorrect API key provided: sk-XXX.\",\n"
                   "        \"type\": \"invalid_request_error\",\n        \"param\": null,\n"
                   "        \"code\": \"invalid_api_key\"\n    }\n}\n",
                   "HTTP 401 Unauthorized: Incorrect API key provided: sk-XXX.");
}

static void
test_http_429 (Fixture *f, gconstpointer data)
{
  test_http_error (f, 429,
                   "{\"error\":{"
                   "\"message\":\"Rate limit reached for gpt-3.5-turbo on tokens per min.\","
                   "\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
                   "HTTP 429 Too Many Requests: "
                   "Rate limit reached for gpt-3.5-turbo on tokens per min.");
}

static void
test_http_500 (Fixture *f, gconstpointer data)
{
  test_http_error (f, 500, "{\"error\":\"model runner crashed\"}",
                   "HTTP 500 Internal Server Error: model runner crashed");
}

static void
test_large_reply (Fixture *f, gconstpointer data)
{
  /* 2 MiB of text without a newline, in 2,048 tokens of 1 KiB. */
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sse = NULL;
  g_autofree char *expected = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  for (guint i = 0; i < 2048; i++)
    {
      char *token = g_malloc (1025);
      for (guint j = 0; j < 1024; j++)
        token[j] = "abcdefghijklmnopqrstuvwxyz0123456789 .,;é"[(i * 31 + j * 7) % 40];
      token[1024] = '\0';
      /* keep tokens valid UTF-8: "é" is two bytes; replace split ones */
      for (guint j = 0; j < 1024; j++)
        if ((guchar) token[j] >= 0x80)
          token[j] = 'e';
      g_ptr_array_add (tokens, token);
    }
  g_ptr_array_add (tokens, NULL);
  sse = rill_test_openai_sse ((const char * const *) tokens->pdata, NULL, TRUE);
  expected = rill_test_join_tokens ((const char * const *) tokens->pdata);
  g_assert_cmpuint (strlen (expected), ==, 2 * 1024 * 1024);
  rill_test_script_send (script, sse, -1, 16384);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, expected, NULL);
  watch_free (w);
}

static void
test_stop (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "Stop ", "me ", "here", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  const char *here = strstr (sse, "\"here\"");
  g_autofree char *head = g_strndup (sse, strstr (here, "\n\n") + 2 - sse);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  ContentLength c;
  Watch *w;

  rill_test_script_send (script, head, -1, 0);
  rill_test_script_gate (script, "rest");
  rill_test_script_send (script, sse + strlen (head), -1, 0);
  rill_test_server_route (f->server, CHAT, script);

  w = start_reply (f, f->conversation_id, "hello");
  c.reply = w->reply;
  c.len = strlen ("Stop me here");
  test_wait_until (content_reached, &c, WAIT_MS, "the first tokens");
  rill_reply_stop (w->reply);
  /* The rest arriving now must change nothing. */
  rill_test_server_open_gate (f->server, "rest");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_STOPPED, "Stop me here", NULL);
  g_assert_null (rill_reply_get_failure (w->reply));
  g_assert_cmpuint (w->n_finished, ==, 1);
  watch_free (w);
}

static void
test_stop_by_cancellable (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  rill_test_script_send (script, "data: {\"choices\":[{\"delta\":{\"content\":\"Before\"}}]}\n\n",
                         -1, 0);
  rill_test_script_hang (script);
  rill_test_server_route (f->server, CHAT, script);
  w = start_reply (f, f->conversation_id, "hello");
  {
    ContentLength c = { w->reply, strlen ("Before") };
    test_wait_until (content_reached, &c, WAIT_MS, "the first token");
  }
  g_cancellable_cancel (rill_reply_get_cancellable (w->reply));
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_STOPPED, "Before", NULL);
  watch_free (w);
}

static void
test_stop_before_start (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  rill_test_script_send (script, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
                         -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  /* Stopped before the rows are even committed: still one finalize, after
   * the rows exist, and no request is sent. */
  w = start_reply (f, f->conversation_id, "hello");
  rill_reply_stop (w->reply);
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  g_assert_cmpuint (w->n_started, ==, 1);
  assert_stored (f, w, RILL_STATUS_STOPPED, "", NULL);
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, 0);
  watch_free (w);
}

static void
test_racing_endings (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  /* Stop is pressed as the network drops and an error event is in flight;
   * the window closes (a second stop) during all that. */
  rill_test_script_send (script, "data: {\"choices\":[{\"delta\":{\"content\":\"Race\"}}]}\n\n",
                         -1, 0);
  rill_test_script_gate (script, "drop");
  rill_test_script_send (script, "data: {\"error\":{\"message\":\"late error\"}}\n\n", -1, 0);
  rill_test_script_reset (script);
  rill_test_server_route (f->server, CHAT, script);
  w = start_reply (f, f->conversation_id, "hello");
  {
    ContentLength c = { w->reply, strlen ("Race") };
    test_wait_until (content_reached, &c, WAIT_MS, "the first token");
  }
  rill_test_server_open_gate (f->server, "drop");
  rill_reply_stop (w->reply);
  g_cancellable_cancel (rill_reply_get_cancellable (w->reply));
  rill_reply_stop (w->reply);
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  /* Let every late callback run; none may finalize again. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (w->n_finished, ==, 1);
  assert_stored (f, w, RILL_STATUS_STOPPED, "Race", NULL);
  watch_free (w);
}

static void
test_error_then_stop (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (500, "application/json");
  Watch *w;

  /* The error wins; the stop that follows (the window closing) is ignored. */
  rill_test_script_send (script, "{\"error\":{\"message\":\"overloaded\"}}", -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  w = start_reply (f, f->conversation_id, "hello");
  while (rill_reply_get_status (w->reply) == RILL_STATUS_STREAMING)
    g_main_context_iteration (NULL, TRUE);
  rill_reply_stop (w->reply);
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  g_assert_cmpuint (w->n_finished, ==, 1);
  assert_stored (f, w, RILL_STATUS_FAILED, "", "overloaded");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_SERVER_ERROR);
  watch_free (w);
}

static void
test_two_streams (Fixture *f, gconstpointer data)
{
  const char * const first[] = { "First ", "stream ", "text", NULL };
  const char * const second[] = { "第二个", "流", NULL };
  g_autofree char *sse1 = rill_test_openai_sse (first, NULL, TRUE);
  g_autofree char *sse2 = rill_test_openai_sse (second, NULL, TRUE);
  g_autofree char *expected1 = rill_test_join_tokens (first);
  g_autofree char *expected2 = rill_test_join_tokens (second);
  g_autoptr(RillProvider) other = NULL;
  g_autofree char *base = g_strconcat (rill_test_server_get_url (f->server), "/second/v1", NULL);
  RillTestScript *s1 = rill_test_script_new (200, "text/event-stream");
  RillTestScript *s2 = rill_test_script_new (200, "text/event-stream");
  gint64 other_conversation = test_create_conversation (f->store, "other");
  RillProvider *saved;
  Watch *w1, *w2;

  /* Each stream waits for the other to have started, so they overlap. */
  rill_test_script_send (s1, sse1, 40, 0);
  rill_test_script_gate (s1, "both-started");
  rill_test_script_send (s1, sse1 + 40, -1, 9);
  rill_test_script_send (s2, sse2, 40, 0);
  rill_test_script_gate (s2, "both-started");
  rill_test_script_send (s2, sse2 + 40, -1, 11);
  rill_test_server_route (f->server, CHAT, s1);
  rill_test_server_route (f->server, "/second" CHAT, s2);

  w1 = start_reply (f, f->conversation_id, "one");
  other = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  saved = f->provider;
  f->provider = other;
  w2 = start_reply (f, other_conversation, "two");
  f->provider = saved;
  while (rill_test_server_get_request_count (f->server, CHAT) == 0
         || rill_test_server_get_request_count (f->server, "/second" CHAT) == 0)
    g_main_context_iteration (NULL, TRUE);
  rill_test_server_open_gate (f->server, "both-started");
  test_wait_for (&w1->finished, WAIT_MS, "the first reply");
  test_wait_for (&w2->finished, WAIT_MS, "the second reply");
  assert_stored (f, w1, RILL_STATUS_COMPLETE, expected1, NULL);
  assert_stored (f, w2, RILL_STATUS_COMPLETE, expected2, NULL);
  g_assert_cmpint (rill_reply_get_conversation_id (w2->reply), ==, other_conversation);
  watch_free (w1);
  watch_free (w2);
}

static void
test_ollama (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "The sky", " is blue", " because of ", "Rayleigh 散射", ".", NULL };
  g_autofree char *ndjson = rill_test_ollama_ndjson (tokens, "llama3");
  g_autofree char *expected = rill_test_join_tokens (tokens);
  RillTestScript *script = rill_test_script_new (200, "application/x-ndjson");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OLLAMA, rill_test_server_get_url (f->server),
                                   NULL);
  rill_test_script_send (script, ndjson, -1, 13);
  rill_test_server_route (f->server, "/api/chat", script);
  w = start_reply (f, f->conversation_id, "why is the sky blue?");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_COMPLETE, expected, NULL);
  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_finish_reason (message), ==, "stop");
  g_assert_cmpstr (rill_message_get_model (message), ==, "llama3");
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==, 5);
  g_assert_nonnull (strstr (rill_test_server_get_request_body (f->server, "/api/chat"),
                            "\"stream\":true"));
  watch_free (w);
}

static void
test_ollama_error_line (Fixture *f, gconstpointer data)
{
  const char *ndjson =
    "{\"model\":\"gemma\",\"message\":{\"content\":\" Yes\"},\"done\":false}\n"
    "{\"model\":\"gemma\",\"message\":{\"content\":\".\"},\"done\":false}\n"
    "{\"error\":\"an error was encountered while running the model\"}\n";
  RillTestScript *script = rill_test_script_new (200, "application/x-ndjson");
  Watch *w;

  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OLLAMA, rill_test_server_get_url (f->server),
                                   NULL);
  rill_test_script_send (script, ndjson, -1, 4);
  rill_test_server_route (f->server, "/api/chat", script);
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_FAILED, " Yes.",
                 "an error was encountered while running the model");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_SERVER_SAID);
  watch_free (w);
}

static void
test_invalid_utf8 (Fixture *f, gconstpointer data)
{
  const char *sse =
    "data: {\"choices\":[{\"delta\":{\"content\":\"ok \xff\xfe bad\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" \\ud800 lone\"},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  rill_test_script_send (script, sse, -1, 0);
  w = run_reply (f, script);
  message = stored_reply (f, w);
  g_assert_true (g_utf8_validate (rill_message_get_content (message), -1, NULL));
  g_assert_true (g_str_has_prefix (rill_message_get_content (message), "ok \xEF\xBF\xBD"));
  g_assert_nonnull (strstr (rill_message_get_content (message), " bad "));
  g_test_message ("stored: %s", rill_message_get_content (message));
  /* json-glib takes the character after a lone surrogate with it. */
  g_assert_true (g_str_has_suffix (rill_message_get_content (message), "lone"));
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_COMPLETE);
  watch_free (w);
}

static void
test_malformed_event (Fixture *f, gconstpointer data)
{
  const char *sse =
    "data: {\"choices\":[{\"delta\":{\"content\":\"kept\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"trunc\n\n";
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  rill_test_script_send (script, sse, -1, 0);
  rill_test_script_hang (script);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "kept", "not JSON");
  /* Not something the server said: something we could not read. */
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  watch_free (w);
}

static void
test_history (Fixture *f, gconstpointer data)
{
  const char * const answer[] = { "Paris", NULL };
  g_autofree char *sse = rill_test_openai_sse (answer, NULL, TRUE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *messages;
  RillTestScript *ok = rill_test_script_new (200, "text/event-stream");
  RillTestScript *failing = rill_test_script_new (500, "application/json");
  RillTestScript *last = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  f->options.system_prompt = g_strdup ("Be brief.");
  rill_test_script_send (ok, sse, -1, 0);
  w = run_reply (f, ok);
  watch_free (w);
  rill_test_script_send (failing, "{\"error\":\"boom\"}", -1, 0);
  rill_test_server_route (f->server, CHAT, failing);
  w = start_reply (f, f->conversation_id, "second question");
  test_wait_for (&w->finished, WAIT_MS, "the failed reply");
  watch_free (w);
  rill_test_script_send (last, sse, -1, 0);
  rill_test_server_route (f->server, CHAT, last);
  w = start_reply (f, f->conversation_id, "third question");
  test_wait_for (&w->finished, WAIT_MS, "the last reply");
  watch_free (w);

  /* system, hello, Paris, second question (its failed reply left out), third. */
  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (f->server, CHAT),
                                             -1, NULL));
  messages = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                           "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 5);
#define TURN(i, key) \
  json_object_get_string_member (json_array_get_object_element (messages, i), key)
  g_assert_cmpstr (TURN (0, "role"), ==, "system");
  g_assert_cmpstr (TURN (0, "content"), ==, "Be brief.");
  g_assert_cmpstr (TURN (1, "content"), ==, "hello");
  g_assert_cmpstr (TURN (2, "role"), ==, "assistant");
  g_assert_cmpstr (TURN (2, "content"), ==, "Paris");
  g_assert_cmpstr (TURN (3, "content"), ==, "second question");
  g_assert_cmpstr (TURN (4, "content"), ==, "third question");
#undef TURN

  /* With a limit of 3, only the latest turns go: third question, its reply,
   * and the new message. */
  f->options.history_limit = 3;
  w = start_reply (f, f->conversation_id, "fourth");
  test_wait_for (&w->finished, WAIT_MS, "the limited reply");
  watch_free (w);
  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (f->server, CHAT),
                                             -1, NULL));
  messages = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                           "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 1),
                                                  "content"),
                   ==, "third question");
}

static void
test_replies_kept_alive (Fixture *f, gconstpointer data)
{
  const char * const answer[] = { "one ", "more", NULL };
  g_autofree char *sse = rill_test_openai_sse (answer, NULL, TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w[5];

  /* The window keeps every reply of a conversation alive. Each must give its
   * connection back when it ends, or the session runs out of connections to
   * the server and the third message waits forever. */
  rill_test_script_pace (script, 1000);
  rill_test_script_send (script, sse, -1, 16);
  rill_test_server_route (f->server, CHAT, script);
  f->options.connect_timeout_ms = 5000;
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    {
      w[i] = start_reply (f, f->conversation_id, "again");
      test_wait_for (&w[i]->finished, WAIT_MS, "a reply");
      assert_stored (f, w[i], RILL_STATUS_COMPLETE, "one more", NULL);
    }
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, G_N_ELEMENTS (w));
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    watch_free (w[i]);
}

static void
test_model_from_server (Fixture *f, gconstpointer data)
{
  const char * const answer[] = { "hi", NULL };
  g_autofree char *sse = rill_test_openai_sse (answer, NULL, TRUE);
  RillTestScript *models = rill_test_script_new (200, "application/json");
  RillTestScript *chat = rill_test_script_new (200, "text/event-stream");
  Watch *w;

  rill_test_script_send (models,
                         "{\"object\":\"list\",\"data\":[{\"id\":\"first-listed\"},"
                         "{\"id\":\"second\"}]}",
                         -1, 0);
  rill_test_server_route (f->server, "/v1/models", models);
  g_clear_pointer (&f->options.model, g_free);
  rill_test_script_send (chat, sse, -1, 0);
  w = run_reply (f, chat);
  g_assert_nonnull (strstr (rill_test_server_get_request_body (f->server, CHAT),
                            "\"model\":\"first-listed\""));
  watch_free (w);
}

static void
test_search_after_stream (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "北京", "是中国的", "首都。", " Rill streams replies.", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  const char *queries[] = { "北", "首都", "中国的", "streams", "STREAMS repl", "首都 rill", NULL };
  Watch *w;

  rill_test_script_send (script, sse, -1, 5);
  w = run_reply (f, script);
  for (guint i = 0; queries[i]; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) hits = rill_store_search (f->store, queries[i], 10, &error);

      g_assert_no_error (error);
      if (hits->len != 1)
        g_error ("query “%s” found %u messages, not 1", queries[i], hits->len);
      g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==,
                       rill_reply_get_message_id (w->reply));
    }
  {
    g_autoptr(GPtrArray) none = rill_store_search (f->store, "上海", 10, NULL);
    g_autoptr(GPtrArray) user = rill_store_search (f->store, "hel", 10, NULL);
    g_assert_cmpuint (none->len, ==, 0);
    /* The user's own message is searchable too. */
    g_assert_cmpuint (user->len, ==, 1);
    g_assert_cmpint (rill_message_get_role (g_ptr_array_index (user, 0)), ==, RILL_ROLE_USER);
  }
  watch_free (w);
}

static void
test_environment (Fixture *f, gconstpointer data)
{
  g_autoptr(RillProvider) openai = NULL;
  g_autoptr(RillProvider) ollama = NULL;
  g_autoptr(RillProvider) none = NULL;

  g_setenv ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/", TRUE);
  g_setenv ("OPENAI_API_KEY", "sk-env", TRUE);
  g_setenv ("OLLAMA_HOST", "0.0.0.0:11434", TRUE);
  openai = rill_provider_new_from_environment ();
  g_assert_cmpint (rill_provider_get_kind (openai), ==, RILL_PROVIDER_OPENAI);
  g_assert_cmpstr (rill_provider_get_base_url (openai), ==, "http://127.0.0.1:9/v1");
  g_assert_cmpstr (rill_provider_get_api_key (openai), ==, "sk-env");
  g_assert_true (rill_provider_get_key_from_environment (openai));

  g_unsetenv ("OPENAI_BASE_URL");
  g_unsetenv ("OPENAI_API_KEY");
  ollama = rill_provider_new_from_environment ();
  g_assert_cmpint (rill_provider_get_kind (ollama), ==, RILL_PROVIDER_OLLAMA);
  g_assert_cmpstr (rill_provider_get_base_url (ollama), ==, "http://127.0.0.1:11434");
  g_assert_null (rill_provider_get_api_key (ollama));

  g_unsetenv ("OLLAMA_HOST");
  none = rill_provider_new_from_environment ();
  g_assert_null (none);
}

/* Keys */

/* A server that only redirects: every request is answered with a 307 to
 * the same path on @target, after the Authorization it got is noted. */
typedef struct
{
  SoupServer *server;
  char       *url;
  char       *target;
  char       *authorization;
  guint       requests;
} Redirector;

static void
redirect_cb (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  Redirector *r = user_data;
  g_autofree char *location = g_strconcat (r->target, path, NULL);
  const char *authorization =
    soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                  "Authorization");

  r->requests++;
  g_free (r->authorization);
  r->authorization = g_strdup (authorization);
  soup_server_message_set_redirect (message, SOUP_STATUS_TEMPORARY_REDIRECT, location);
}

static Redirector *
redirector_new (const char *target)
{
  Redirector *r = g_new0 (Redirector, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  r->target = g_strdup (target);
  r->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (r->server, NULL, redirect_cb, r, NULL);
  g_assert_true (soup_server_listen_local (r->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (r->server);
  r->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return r;
}

static void
redirector_free (Redirector *r)
{
  soup_server_disconnect (r->server);
  g_object_unref (r->server);
  g_free (r->url);
  g_free (r->target);
  g_free (r->authorization);
  g_free (r);
}

/* Two servers, an OpenAI-compatible one and an Ollama one, each with its
 * own key: each sees only its own, in the headers it logged. A third only
 * redirects to the Ollama one: the redirect is followed, for a list of
 * models and for a reply, but its key does not go along. */
static void
test_keys_stay_home (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "ok", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "m", TRUE);
  g_autofree char *ndjson = rill_test_ollama_ndjson (tokens, "llama3");
  g_autoptr(RillTestServer) other = rill_test_server_new ();
  g_autoptr(RillProvider) ollama = rill_provider_new (RILL_PROVIDER_OLLAMA,
                                                      rill_test_server_get_url (other),
                                                      "sk-ollama-only");
  RillTestScript *chat = rill_test_script_new (200, "text/event-stream");
  RillTestScript *ollama_chat = rill_test_script_new (200, "application/x-ndjson");
  RillTestScript *moved_models = rill_test_script_new (200, "application/json");
  RillTestScript *moved_chat = rill_test_script_new (200, "text/event-stream");
  Redirector *redirector = redirector_new (rill_test_server_get_url (other));
  g_autofree char *redirector_base = g_strconcat (redirector->url, "/v1", NULL);
  g_autoptr(RillProvider) redirected = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = NULL;
  RillProvider *first;
  Watch *w;

  rill_test_script_send (chat, sse, -1, 0);
  w = run_reply (f, chat);
  watch_free (w);
  g_assert_cmpstr (rill_test_server_get_request_header (f->server, CHAT, "Authorization"), ==,
                   "Bearer sk-test-key");

  rill_test_script_send (ollama_chat, ndjson, -1, 0);
  rill_test_server_route (other, "/api/chat", ollama_chat);
  first = g_steal_pointer (&f->provider);
  f->provider = g_object_ref (ollama);
  w = start_reply (f, f->conversation_id, "and you?");
  test_wait_for (&w->finished, WAIT_MS, "the Ollama reply to finish");
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_COMPLETE);
  watch_free (w);
  g_assert_cmpstr (rill_test_server_get_request_header (other, "/api/chat", "Authorization"), ==,
                   "Bearer sk-ollama-only");
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, "/api/chat"), ==, 0);
  g_assert_cmpuint (rill_test_server_get_request_count (other, CHAT), ==, 0);

  /* Redirected to the Ollama server's port: a list of models follows it,
   * without the key. */
  rill_test_script_send (moved_models, "{\"object\":\"list\",\"data\":[{\"id\":\"moved\"}]}",
                         -1, 0);
  rill_test_server_route (other, "/v1/models", moved_models);
  redirected = rill_provider_new (RILL_PROVIDER_OPENAI, redirector_base, "sk-redirector");
  rill_provider_list_models_async (redirected, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the models through a redirect");
  models = rill_provider_list_models_finish (redirected, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (models[0], ==, "moved");
  g_assert_cmpstr (redirector->authorization, ==, "Bearer sk-redirector");
  g_assert_cmpuint (rill_test_server_get_request_count (other, "/v1/models"), ==, 1);
  g_assert_null (rill_test_server_get_request_header (other, "/v1/models", "Authorization"));

  rill_test_script_send (moved_chat, sse, -1, 0);
  rill_test_server_route (other, CHAT, moved_chat);
  g_clear_object (&f->provider);
  f->provider = g_object_ref (redirected);
  w = start_reply (f, f->conversation_id, "once more");
  test_wait_for (&w->finished, WAIT_MS, "the redirected reply to finish");
  /* A reply's body is not sent twice: it stops at the redirect, saying
   * where the server sent it is not followed. */
  g_assert_cmpuint (redirector->requests, ==, 2);
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_FAILED);
  g_assert_nonnull (strstr (rill_reply_get_error (w->reply), "307"));
  g_assert_nonnull (strstr (rill_reply_get_error (w->reply), "another address"));
  g_assert_cmpuint (rill_test_server_get_request_count (other, CHAT), ==, 0);
  watch_free (w);

  /* The first server never saw the other keys. */
  g_assert_cmpstr (rill_test_server_get_request_header (f->server, CHAT, "Authorization"), ==,
                   "Bearer sk-test-key");
  g_object_unref (first);
  redirector_free (redirector);
}

/* Memory */

#define MIB (1024 * 1024)

/* A line of /proc/self/status, in KiB. */
static gsize
status_kib (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, field);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (field), NULL, 10);
}

/* The peak resident size starts again from what is resident now, so that
 * what the set-up touched does not hide what the test does. */
static gsize
reset_peak_kib (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "5", 1), ==, 1);
  close (fd);
  return status_kib ("VmRSS:");
}

/* Runs @script on @path until the reply ends, and returns by how much the
 * process's peak resident size grew meanwhile, in KiB. */
static gsize
run_measured (Fixture *f, const char *path, RillTestScript *script, Watch **w)
{
  gsize before_kib, peak_kib;

  before_kib = reset_peak_kib ();
  rill_test_server_route (f->server, path, script);
  *w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&(*w)->finished, WAIT_MS, "the flooded reply to finish");
  peak_kib = status_kib ("VmHWM:");
  g_test_message ("%" G_GSIZE_FORMAT " bytes sent; peak %" G_GSIZE_FORMAT " KiB, %"
                  G_GSIZE_FORMAT " KiB above the start",
                  rill_test_server_get_bytes_sent (f->server, path), peak_kib,
                  peak_kib - before_kib);
  return peak_kib - before_kib;
}

static void
use_ollama (Fixture *f)
{
  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OLLAMA, rill_test_server_get_url (f->server),
                                   NULL);
}

static void
test_flood_line (Fixture *f, gconstpointer data)
{
  g_autofree char *filler = g_strnfill (64 * 1024, 'a');
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;
  gsize grew_kib;

  /* A token, then a data: line of 300 MiB that never ends, made as it is
   * sent; the real limit, 16 MiB, stops it. */
  rill_test_script_send (script,
                         "data: {\"choices\":[{\"delta\":{\"content\":"
                         "\"Before the flood. \"}}]}\n\n"
                         "data: {\"choices\":[{\"delta\":{\"content\":\"", -1, 0);
  rill_test_script_repeat (script, filler, -1, 300 * 16);
  rill_test_script_hang (script);
  grew_kib = run_measured (f, CHAT, script, &w);
  assert_stored (f, w, RILL_STATUS_FAILED, "Before the flood. ",
                 "The server sent an event larger than 16 MiB");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  g_assert_cmpuint (grew_kib, <, (16 + 64) * 1024);
  /* Stopped near the limit, not at the end of the flood. */
  g_assert_cmpuint (rill_test_server_get_bytes_sent (f->server, CHAT), <, 100 * MIB);
  watch_free (w);
}

static void
test_flood_ndjson_line (Fixture *f, gconstpointer data)
{
  g_autofree char *filler = g_strnfill (64 * 1024, 'b');
  RillTestScript *script = rill_test_script_new (200, "application/x-ndjson");
  Watch *w;
  gsize grew_kib;

  use_ollama (f);
  rill_test_script_send (script,
                         "{\"message\":{\"content\":\"Before the flood. \"},\"done\":false}\n"
                         "{\"message\":{\"content\":\"", -1, 0);
  rill_test_script_repeat (script, filler, -1, 300 * 16);
  rill_test_script_hang (script);
  grew_kib = run_measured (f, "/api/chat", script, &w);
  assert_stored (f, w, RILL_STATUS_FAILED, "Before the flood. ",
                 "The server sent a line larger than 16 MiB");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  g_assert_cmpuint (grew_kib, <, (16 + 64) * 1024);
  watch_free (w);
}

static void
test_flood_reply (Fixture *f, gconstpointer data)
{
  g_autofree char *token = g_strnfill (64 * 1024, 'c');
  g_autofree char *event = g_strdup_printf ("data: {\"choices\":[{\"delta\":{\"content\":\"%s\"}}]}"
                                            "\n\n", token);
  g_autoptr(GString) expected = g_string_new (NULL);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  Watch *w;
  gsize grew_kib;

  /* 100 MiB of text in tokens of 64 KiB, against a limit of 1 MiB (the
   * real one is 64 MiB): the 16 tokens that fit are kept, whole. */
  _rill_stream_parser_set_limits (0, MIB);
  for (guint i = 0; i < 16; i++)
    g_string_append (expected, token);
  rill_test_script_repeat (script, event, -1, 1600);
  rill_test_script_hang (script);
  grew_kib = run_measured (f, CHAT, script, &w);
  _rill_stream_parser_set_limits (0, 0);
  assert_stored (f, w, RILL_STATUS_FAILED, expected->str,
                 "The server sent a reply larger than 1 MiB; the text before it is kept");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  g_assert_cmpuint (grew_kib, <, (1 + 64) * 1024);
  g_assert_cmpuint (rill_test_server_get_bytes_sent (f->server, CHAT), <, 50 * MIB);
  watch_free (w);
}

static void
test_flood_models (Fixture *f, gconstpointer data)
{
  GString *filler = g_string_new (NULL);
  RillTestScript *script = rill_test_script_new (200, "application/json");
  Watch *w;
  gsize grew_kib;

  /* A list of 10 MiB, never ended, against the real limit of 4 MiB. */
  while (filler->len < 64 * 1024 - 64)
    g_string_append_printf (filler, "{\"id\":\"model-%08" G_GSIZE_FORMAT "\"},", filler->len);
  rill_test_script_send (script, "{\"object\":\"list\",\"data\":[", -1, 0);
  rill_test_script_repeat (script, filler->str, filler->len, 10 * MIB / filler->len + 1);
  rill_test_script_hang (script);
  g_string_free (filler, TRUE);
  g_clear_pointer (&f->options.model, g_free);
  grew_kib = run_measured (f, "/v1/models", script, &w);
  assert_stored (f, w, RILL_STATUS_FAILED, "",
                 "Could not ask the server for its models: "
                 "The server's list of models is larger than 4 MiB");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  g_assert_cmpuint (grew_kib, <, (4 + 64) * 1024);
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, 0);
  watch_free (w);
}

/* Deadlines */

/* A token, three seconds of silence, then the end of the reply. */
static RillTestScript *
silent_script (const char **head)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");

  *head = "data: {\"choices\":[{\"delta\":{\"content\":\"Then silence.\"}}]}\n\n";
  rill_test_script_pace (script, 3 * G_USEC_PER_SEC);
  rill_test_script_send (script, *head, -1, 0);
  rill_test_script_send (script,
                         "data: {\"choices\":[{\"delta\":{\"content\":\" Then more.\"},"
                         "\"finish_reason\":\"stop\"}]}\n\n"
                         "data: [DONE]\n\n", -1, 0);
  return script;
}

static void
test_silence_past_idle_timeout (Fixture *f, gconstpointer data)
{
  const char *head;
  RillTestScript *script = silent_script (&head);
  ContentLength c;
  gint64 since;
  Watch *w;

  /* Rill's silence deadline ends it at 2 s, before the rest comes at 3. */
  f->options.idle_timeout_ms = 2000;
  rill_test_server_route (f->server, CHAT, script);
  w = start_reply (f, f->conversation_id, "hello");
  c.reply = w->reply;
  c.len = strlen ("Then silence.");
  test_wait_until (content_reached, &c, WAIT_MS, "the first token");
  since = g_get_monotonic_time ();
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  g_assert_cmpuint (rill_test_server_get_bytes_sent (f->server, CHAT), ==, strlen (head));
  g_assert_cmpint (g_get_monotonic_time () - since, >=, 1500 * 1000);
  assert_stored (f, w, RILL_STATUS_FAILED, "Then silence.",
                 "The server sent nothing for 2 seconds");
  g_assert_cmpstr (rill_reply_get_error (w->reply), ==, "The server sent nothing for 2 seconds");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_TIMEOUT);
  watch_free (w);
}

static void
test_silence_within_idle_timeout (Fixture *f, gconstpointer data)
{
  const char *head;
  RillTestScript *script = silent_script (&head);
  guint timeout = 1;
  Watch *w;

  /* libsoup's own I/O timeout (60 s unless set) would cut a silence that
   * Rill's setting allows (up to an hour): it is off, and only Rill's
   * deadline counts. */
  g_object_get (rill_provider_get_session (f->provider), "timeout", &timeout, NULL);
  g_assert_cmpuint (timeout, ==, 0);
  f->options.idle_timeout_ms = 5000;
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, "Then silence. Then more.", NULL);
  watch_free (w);
}

static void
test_models_deadline (Fixture *f, gconstpointer data)
{
  RillTestScript *models = rill_test_script_new (200, "application/json");
  Watch *w;

  /* No model chosen: the lookup before the reply has the connect deadline. */
  rill_test_script_gate (models, "never");
  rill_test_server_route (f->server, "/v1/models", models);
  g_clear_pointer (&f->options.model, g_free);
  f->options.connect_timeout_ms = 300;
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_FAILED, "",
                 "did not list its models within 0.3 seconds");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_TIMEOUT);
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, 0);
  watch_free (w);
}

/* Odd answers */

static void
test_json_answer (Fixture *f, gconstpointer data)
{
  /* Pretty-printed, as a proxy that ignored "stream": true sends it. */
  const char *json =
    "{\n  \"id\": \"chatcmpl-9\",\n  \"object\": \"chat.completion\",\n"
    "  \"model\": \"m-whole\",\n  \"choices\": [\n    {\n      \"index\": 0,\n"
    "      \"message\": {\"role\": \"assistant\", \"content\": \"A whole \\\"answer\\\", 你好.\\n\","
    " \"reasoning_content\": \"Thought.\"},\n"
    "      \"finish_reason\": \"stop\"\n    }\n  ],\n"
    "  \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 6, \"total_tokens\": 11}\n}\n";
  RillTestScript *script = rill_test_script_new (200, "application/json; charset=utf-8");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  rill_test_script_send (script, "\n", -1, 0);
  rill_test_script_send (script, json, -1, 7);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, "A whole \"answer\", 你好.\n", NULL);
  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_reasoning (message), ==, "Thought.");
  g_assert_cmpstr (rill_message_get_model (message), ==, "m-whole");
  g_assert_cmpstr (rill_message_get_finish_reason (message), ==, "stop");
  g_assert_cmpint (rill_message_get_prompt_tokens (message), ==, 5);
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==, 6);
  watch_free (w);
}

static void
test_json_stream_labelled_json (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "Streamed ", "all ", "the same", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  RillTestScript *script = rill_test_script_new (200, "application/json");
  Watch *w;

  /* A stream that says it is JSON is still read as a stream. */
  rill_test_script_send (script, sse, -1, 9);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, "Streamed all the same", NULL);
  watch_free (w);
}

static void
test_ollama_json_answer (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "application/json; charset=utf-8");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  use_ollama (f);
  rill_test_script_send (script,
                         "{\"model\":\"llama3\",\"created_at\":\"2024-01-01T00:00:00Z\","
                         "\"message\":{\"role\":\"assistant\",\"content\":\"Whole, 世界.\"},"
                         "\"done_reason\":\"stop\",\"done\":true,\"total_duration\":10,"
                         "\"prompt_eval_count\":3,\"eval_count\":4}",
                         -1, 11);
  rill_test_server_route (f->server, "/api/chat", script);
  w = start_reply (f, f->conversation_id, "hello");
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  assert_stored (f, w, RILL_STATUS_COMPLETE, "Whole, 世界.", NULL);
  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_model (message), ==, "llama3");
  g_assert_cmpint (rill_message_get_prompt_tokens (message), ==, 3);
  g_assert_cmpint (rill_message_get_completion_tokens (message), ==, 4);
  watch_free (w);
}

static void
test_html_answer (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (200, "text/html; charset=UTF-8");
  Watch *w;

  /* A captive portal's login page. */
  rill_test_script_send (script,
                         "<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head>"
                         "<body>data: {\"choices\":[{\"delta\":{\"content\":\"no\"}}]}\n\n"
                         "</body></html>", -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "", "an HTML page");
  g_assert_cmpstr (rill_reply_get_error (w->reply), ==,
                   "The server answered with an HTML page (text/html) instead of a reply");
  g_assert_error (rill_reply_get_failure (w->reply), RILL_ERROR, RILL_ERROR_INVALID);
  watch_free (w);
}

static void
test_nul_in_token (Fixture *f, gconstpointer data)
{
  /* The first event is the chunk scanner's, the second json-glib's (its
   * usage object is), the third a model name: each \u0000 is one U+FFFD and
   * the rest of the string stays. */
  const char *sse =
    "data: {\"model\":\"m\\u0000x\",\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" c\\u0000\\u0000d \\\\u0000\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  rill_test_script_send (script, sse, -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE,
                 "a\xEF\xBF\xBD" "b c\xEF\xBF\xBD\xEF\xBF\xBD" "d \\u0000", NULL);
  message = stored_reply (f, w);
  g_assert_cmpstr (rill_message_get_model (message), ==, "m\xEF\xBF\xBDx");
  watch_free (w);
}

static void
test_bad_reason_phrase (Fixture *f, gconstpointer data)
{
  RillTestScript *script = rill_test_script_new (500, "application/json");
  Watch *w;

  rill_test_script_set_reason (script, "Serv\xFF\xFE Error");
  rill_test_script_send (script, "{\"error\":\"boom\"}", -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_FAILED, "", "boom");
  g_assert_true (g_utf8_validate (rill_reply_get_error (w->reply), -1, NULL));
  g_assert_cmpstr (rill_reply_get_error (w->reply), ==,
                   "HTTP 500 Serv\xEF\xBF\xBD\xEF\xBF\xBD Error: boom");
  watch_free (w);
}

static void
test_user_info_address (Fixture *f, gconstpointer data)
{
  const char * const answer[] = { "fine", NULL };
  g_autofree char *sse = rill_test_openai_sse (answer, NULL, TRUE);
  g_autofree char *plain = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  g_autofree char *with_user = g_strconcat ("http://someone:s3cret@",
                                            plain + strlen ("http://"), NULL);
  g_autofree char *expected_url = g_strconcat ("\"url\":\"", plain, "/chat/completions\"", NULL);
  g_autofree char *unanswered = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillTestScript *silent = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillMessage) message = NULL;
  Watch *w;

  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, with_user, "sk-test-key");
  g_assert_cmpstr (rill_provider_get_base_url (f->provider), ==, with_user);
  g_assert_cmpstr (rill_provider_get_display_url (f->provider), ==, plain);

  /* Used to connect, */
  rill_test_script_send (script, sse, -1, 0);
  w = run_reply (f, script);
  assert_stored (f, w, RILL_STATUS_COMPLETE, "fine", NULL);
  message = stored_reply (f, w);
  /* but neither stored in the request, */
  g_assert_null (strstr (rill_message_get_request (message), "s3cret"));
  g_assert_null (strstr (rill_message_get_request (message), "someone"));
  g_assert_nonnull (strstr (rill_message_get_request (message), expected_url));
  watch_free (w);

  /* nor shown in an error. */
  rill_test_script_gate (silent, "never");
  f->options.connect_timeout_ms = 300;
  w = run_reply (f, silent);
  unanswered = g_strdup_printf ("The server at %s did not answer within 0.3 seconds", plain);
  assert_stored (f, w, RILL_STATUS_FAILED, "", unanswered);
  g_assert_cmpstr (rill_reply_get_error (w->reply), ==, unanswered);
  g_clear_pointer (&message, g_object_unref);
  message = stored_reply (f, w);
  g_assert_null (strstr (rill_message_get_request (message), "s3cret"));
  watch_free (w);

  {
    g_autofree char *stripped = rill_url_without_user_info ("https://a:b@c@host:1/p?q=x@y");
    g_autofree char *none = rill_url_without_user_info ("https://host/p@q");
    g_assert_cmpstr (stripped, ==, "https://host:1/p?q=x@y");
    g_assert_cmpstr (none, ==, "https://host/p@q");
  }
}

/* A child process streams into its own database and is killed with SIGKILL
 * mid-stream; the next open marks the row interrupted and keeps its text. */

static gboolean
orphaned_cb (gpointer data)
{
  /* The test that spawned us died: do not stream on alone. */
  if (getppid () != GPOINTER_TO_INT (data))
    exit (3);
  return G_SOURCE_CONTINUE;
}

static int
child_main (const char *db_path, const char *base_url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = rill_store_open (db_path, &error);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base_url, NULL);
  g_autoptr(RillReply) reply = NULL;
  RillReplyOptions options;
  gint64 conversation;

  g_assert_no_error (error);
  conversation = test_create_conversation (store, "killed");
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  reply = rill_reply_new (store, provider, conversation, "stream until killed", &options);
  rill_reply_options_clear (&options);
  rill_reply_start (reply);
  g_timeout_add (200, orphaned_cb, GINT_TO_POINTER (getppid ()));
  for (;;)
    g_main_context_iteration (NULL, TRUE);
  return 0;
}

typedef struct
{
  const char *db_path;
  gsize       min_len;
} CheckpointWait;

static gboolean
checkpoint_reached (gpointer data)
{
  CheckpointWait *c = data;
  g_autofree char *len = NULL;

  if (!g_file_test (c->db_path, G_FILE_TEST_EXISTS))
    return FALSE;
  len = test_sql_try_text (c->db_path,
                           "SELECT (SELECT sum(length(CAST(content AS BLOB)))"
                           " FROM message_pieces) FROM messages WHERE role = 'assistant'");
  return len != NULL && g_ascii_strtoull (len, NULL, 10) >= c->min_len;
}

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) data = TRUE;
}

static void
test_sigkill_recovery (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sse = NULL;
  g_autofree char *child_db = g_build_filename (f->dir, "child", "history.db", NULL);
  g_autofree char *base = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) reopened = NULL;
  g_autoptr(RillStreamParser) sent = rill_stream_parser_new (RILL_PROVIDER_OPENAI);
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *integrity = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillMessage *reply;
  CheckpointWait wait = { child_db, 200 };
  gboolean exited = FALSE;
  gsize bytes_sent;

  for (guint i = 0; i < 20000; i++)
    g_ptr_array_add (tokens, g_strdup_printf ("tok%u ", i));
  g_ptr_array_add (tokens, NULL);
  sse = rill_test_openai_sse ((const char * const *) tokens->pdata, NULL, TRUE);
  /* About 2,000 tokens a second. */
  rill_test_script_pace (script, 500);
  rill_test_script_send (script, sse, -1, 140);
  rill_test_server_route (f->server, CHAT, script);

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                            g_test_get_filename (G_TEST_BUILT, "test-client", NULL),
                            "--child", child_db, base, NULL);
  g_assert_no_error (error);

  /* Killed once a checkpoint is on disk, at a moment between checkpoints
   * that depends on the machine. */
  test_wait_until (checkpoint_reached, &wait, WAIT_MS, "a checkpoint from the child");
  g_subprocess_force_exit (child);
  bytes_sent = rill_test_server_get_bytes_sent (f->server, CHAT);
  g_subprocess_wait_async (child, NULL, wait_cb, &exited);
  test_wait_for (&exited, WAIT_MS, "the child to die");
  g_assert_true (g_subprocess_get_if_signaled (child));
  g_assert_cmpint (g_subprocess_get_term_sig (child), ==, SIGKILL);

  rill_stream_parser_feed (sent, sse, bytes_sent);

  reopened = rill_store_open (child_db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rill_store_get_n_recovered (reopened), ==, 1);
  integrity = test_sql_text (child_db, "PRAGMA integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");

  messages = rill_store_list_messages (reopened, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)),
                   ==, "stream until killed");
  reply = g_ptr_array_index (messages, 1);
  g_assert_cmpint (rill_message_get_status (reply), ==, RILL_STATUS_INTERRUPTED);
  g_assert_cmpuint (strlen (rill_message_get_content (reply)), >=, 200);
  /* A byte-exact prefix of what the server had sent. */
  g_assert_cmpuint (strlen (rill_message_get_content (reply)), <=,
                    rill_stream_parser_get_content (sent)->len);
  g_assert_true (strncmp (rill_message_get_content (reply),
                          rill_stream_parser_get_content (sent)->str,
                          strlen (rill_message_get_content (reply))) == 0);
  g_assert_cmpint (rill_message_get_finished_at (reply), >, 0);
  g_test_message ("sent %" G_GSIZE_FORMAT " bytes of text, recovered %" G_GSIZE_FORMAT,
                  rill_stream_parser_get_content (sent)->len,
                  strlen (rill_message_get_content (reply)));
  /* The next open finds nothing more to recover. */
  g_clear_object (&reopened);
  reopened = rill_store_open (child_db, &error);
  g_assert_cmpuint (rill_store_get_n_recovered (reopened), ==, 0);
}

/* Attachments (schema 7). The bytes are a real PNG file written here and
 * read back; the text files' context is as RillAttachment gives it (the
 * window's test reads real files through it). */

/* A 1×1 PNG, then another: what they hold does not matter to the client. */
static const guint8 png_red[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
  0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
  0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
  0x44, 0xae, 0x42, 0x60, 0x82,
};

static GBytes *
real_file (Fixture *f, const char *name, const guint8 *data, gsize len, guint8 last)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  g_autoptr(GError) error = NULL;
  char *read = NULL;
  gsize read_len;

  /* A variant of the bytes: another image with the same shape. */
  copy[len - 1] = last;
  g_assert_true (g_file_set_contents (path, (const char *) copy, len, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &read, &read_len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (read, read_len);
}

static GPtrArray *
one_attachment (const char *name, const char *mime_type, GBytes *bytes, const char *text)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_stored_attachment_free);

  g_ptr_array_add (list, rill_stored_attachment_new (name, mime_type, bytes, text));
  return list;
}

static Watch *
send_with (Fixture *f, const char *path, const char *text, GPtrArray *attachments)
{
  Watch *w = g_new0 (Watch, 1);

  w->reply = rill_reply_new (f->store, f->provider, f->conversation_id, text, &f->options);
  g_signal_connect (w->reply, "finished", G_CALLBACK (on_finished), w);
  g_signal_connect (w->reply, "started", G_CALLBACK (on_started), w);
  rill_reply_set_attachments (w->reply, attachments);
  rill_reply_start (w->reply);
  test_wait_for (&w->finished, WAIT_MS, "the reply to finish");
  return w;
}

static void
route_ok (Fixture *f)
{
  const char * const tokens[] = { "a ", "red ", "pixel", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");

  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (f->server, CHAT, script);
}

/* The messages of the last request to @path. */
static JsonArray *
sent_messages (Fixture *f, const char *path, JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (f->server, path),
                                             -1, &error));
  g_assert_no_error (error);
  return json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                       "messages");
}

/* The image_url parts of an OpenAI message, decoded; its text part in *@text. */
static GPtrArray *
image_parts (JsonObject *message, const char **text)
{
  GPtrArray *images = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  JsonArray *parts;

  *text = NULL;
  if (JSON_NODE_HOLDS_VALUE (json_object_get_member (message, "content")))
    {
      *text = json_object_get_string_member (message, "content");
      return images;
    }
  parts = json_object_get_array_member (message, "content");
  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);
      const char *type = json_object_get_string_member (part, "type");

      if (g_str_equal (type, "text"))
        *text = json_object_get_string_member (part, "text");
      else
        {
          const char *url;
          gsize len;
          guchar *data;

          g_assert_cmpstr (type, ==, "image_url");
          url = json_object_get_string_member (json_object_get_object_member (part, "image_url"),
                                               "url");
          g_assert_true (g_str_has_prefix (url, "data:image/png;base64,"));
          data = g_base64_decode (url + strlen ("data:image/png;base64,"), &len);
          g_ptr_array_add (images, g_bytes_new_take (data, len));
        }
    }
  return images;
}

static char *
stored_request (Fixture *f, gint64 message_id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT request FROM messages WHERE id = %"
                                          G_GINT64_FORMAT, message_id);

  return test_sql_text (f->db_path, sql);
}

/* An image sent: the server gets an image_url part that decodes to the
 * file's bytes, the database holds those bytes, and the stored request
 * names the message by id, without them. A follow-up sends the image
 * again; the same image attached again is stored once. */
static void
test_attachment_image (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) image = real_file (f, "photo.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GPtrArray) attachments = one_attachment ("photo.png", "image/png", image, NULL);
  g_autoptr(GPtrArray) again = one_attachment ("copy.png", "image/png", image, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *expected_hex = NULL;
  g_autofree char *request = NULL;
  g_autofree char *counts = NULL;
  JsonArray *messages;
  const char *text;
  Watch *w;

  route_ok (f);
  w = send_with (f, CHAT, "What colour is it?", attachments);
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_COMPLETE);
  messages = sent_messages (f, CHAT, parser);
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  images = image_parts (json_array_get_object_element (messages, 0), &text);
  g_assert_cmpstr (text, ==, "What colour is it?");
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (images, 0), image));

  /* Stored: the typed text, and the file's bytes byte for byte. */
  stored = rill_store_list_attachments (f->store, rill_reply_get_user_message_id (w->reply),
                                        &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, 1);
  g_assert_cmpstr (((RillStoredAttachment *) stored->pdata[0])->name, ==, "photo.png");
  g_assert_cmpstr (((RillStoredAttachment *) stored->pdata[0])->mime_type, ==, "image/png");
  g_assert_true (g_bytes_equal (((RillStoredAttachment *) stored->pdata[0])->data, image));
  hex = test_sql_text (f->db_path, "SELECT hex(d.data) FROM attachments a"
                       " JOIN attachment_data d USING (sha256)");
  {
    GString *h = g_string_new (NULL);

    for (gsize i = 0; i < sizeof png_red; i++)
      g_string_append_printf (h, "%02X", png_red[i]);
    expected_hex = g_string_free (h, FALSE);
  }
  g_assert_cmpstr (hex, ==, expected_hex);
  request = stored_request (f, rill_reply_get_message_id (w->reply));
  g_assert_null (strstr (request, "base64"));
  g_assert_nonnull (strstr (request, "\"ids\""));
  watch_free (w);

  /* A follow-up: the image goes again, as history. */
  g_clear_pointer (&images, g_ptr_array_unref);
  w = send_with (f, CHAT, "And its size?", NULL);
  messages = sent_messages (f, CHAT, parser);
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  images = image_parts (json_array_get_object_element (messages, 0), &text);
  g_assert_cmpstr (text, ==, "What colour is it?");
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (images, 0), image));
  g_clear_pointer (&request, g_free);
  request = stored_request (f, rill_reply_get_message_id (w->reply));
  g_assert_null (strstr (request, "base64"));
  watch_free (w);

  /* The same bytes again, under another name: one copy. */
  w = send_with (f, CHAT, "The same one", again);
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_COMPLETE);
  counts = test_sql_text (f->db_path, "SELECT (SELECT count(*) FROM attachments) || ','"
                          " || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (counts, ==, "2,1");
  watch_free (w);
}

/* With the bound reached, older images become a note naming them. */
static void
test_attachment_image_bound (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) first = real_file (f, "first.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GBytes) second = real_file (f, "second.png", png_red, sizeof png_red, 0x83);
  g_autoptr(GPtrArray) one = one_attachment ("first.png", "image/png", first, NULL);
  g_autoptr(GPtrArray) two = one_attachment ("second.png", "image/png", second, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) images = NULL;
  JsonArray *messages;
  const char *text;
  Watch *w;

  f->options.history_image_limit = 1;
  route_ok (f);
  watch_free (send_with (f, CHAT, "one", one));
  w = send_with (f, CHAT, "two", two);
  messages = sent_messages (f, CHAT, parser);
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  images = image_parts (json_array_get_object_element (messages, 0), &text);
  g_assert_cmpuint (images->len, ==, 0);
  g_assert_cmpstr (text, ==, "one\n\n[image: first.png, not resent]");
  g_clear_pointer (&images, g_ptr_array_unref);
  images = image_parts (json_array_get_object_element (messages, 2), &text);
  g_assert_cmpstr (text, ==, "two");
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (images, 0), second));
  watch_free (w);
}

/* Ollama: the image in the message's images, as base64; a text file's
 * text in content, after what was typed. */
static void
test_attachment_ollama (Fixture *f, gconstpointer data)
{
  const char * const tokens[] = { "ok", NULL };
  g_autofree char *ndjson = rill_test_ollama_ndjson (tokens, "llava");
  g_autoptr(GBytes) image = real_file (f, "photo.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GBytes) notes = g_bytes_new_static ("x = 1\n", 6);
  g_autoptr(GPtrArray) attachments = one_attachment ("photo.png", "image/png", image, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  RillTestScript *script = rill_test_script_new (200, "application/x-ndjson");
  static const char context[] = "File: notes.py\n```python\nx = 1\n```\n";
  JsonObject *message;
  JsonArray *images;
  g_autofree guchar *decoded = NULL;
  gsize len;
  Watch *w;

  g_ptr_array_add (attachments, rill_stored_attachment_new ("notes.py", "text/x-python", notes,
                                                            context));
  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OLLAMA, rill_test_server_get_url (f->server),
                                   NULL);
  rill_test_script_send (script, ndjson, -1, 0);
  rill_test_server_route (f->server, "/api/chat", script);
  w = send_with (f, "/api/chat", "Look", attachments);
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_COMPLETE);
  message = json_array_get_object_element (sent_messages (f, "/api/chat", parser), 0);
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==,
                   "Look\n\nFile: notes.py\n```python\nx = 1\n```\n");
  images = json_object_get_array_member (message, "images");
  g_assert_cmpuint (json_array_get_length (images), ==, 1);
  decoded = g_base64_decode (json_array_get_string_element (images, 0), &len);
  g_assert_cmpmem (decoded, len, png_red, sizeof png_red);
  {
    /* The file's text went to the model, not into the message typed. */
    g_autoptr(RillMessage) user = rill_store_get_message (f->store,
                                                          rill_reply_get_user_message_id (
                                                            w->reply), NULL);

    g_assert_cmpstr (rill_message_get_content (user), ==, "Look");
  }
  watch_free (w);
}

/* Erasing the conversation from the trash removes the bytes too, and the
 * bytes another conversation still uses stay. */
static void
test_attachment_erase (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) image = real_file (f, "photo.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GBytes) other = real_file (f, "other.png", png_red, sizeof png_red, 0x84);
  g_autoptr(GPtrArray) both = one_attachment ("photo.png", "image/png", image, NULL);
  g_autoptr(GPtrArray) shared = one_attachment ("photo.png", "image/png", image, NULL);
  g_autofree char *counts = NULL;
  gint64 first = f->conversation_id;
  gint64 second;
  TestResult r = { 0 };

  g_ptr_array_add (both, rill_stored_attachment_new ("other.png", "image/png", other, NULL));
  route_ok (f);
  watch_free (send_with (f, CHAT, "two images", both));
  second = f->conversation_id = test_create_conversation (f->store, NULL);
  watch_free (send_with (f, CHAT, "one of them", shared));
  counts = test_sql_text (f->db_path, "SELECT (SELECT count(*) FROM attachments) || ','"
                          " || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (counts, ==, "3,2");

  rill_store_trash_conversation_async (f->store, first, NULL, test_write_cb, &r);
  test_wait_for (&r.done, WAIT_MS, "the conversation trashed");
  g_assert_no_error (r.error);
  r = (TestResult) { 0 };
  rill_store_empty_trash_async (f->store, NULL, test_write_cb, &r);
  test_wait_for (&r.done, WAIT_MS, "the trash emptied");
  g_assert_no_error (r.error);
  g_clear_pointer (&counts, g_free);
  counts = test_sql_text (f->db_path, "SELECT (SELECT count(*) FROM attachments) || ','"
                          " || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (counts, ==, "1,1");

  r = (TestResult) { 0 };
  rill_store_delete_conversation_async (f->store, second, NULL, test_write_cb, &r);
  test_wait_for (&r.done, WAIT_MS, "the conversation erased");
  g_assert_no_error (r.error);
  g_clear_pointer (&counts, g_free);
  counts = test_sql_text (f->db_path, "SELECT (SELECT count(*) FROM attachments) || ','"
                          " || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (counts, ==, "0,0");
}

/* A model that cannot see images: failed, in the server's words, and the
 * text and the attachment kept. */
static void
test_attachment_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) image = real_file (f, "photo.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GPtrArray) attachments = one_attachment ("photo.png", "image/png", image, NULL);
  RillTestScript *script = rill_test_script_new (400, "application/json");
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(RillMessage) user = NULL;
  Watch *w;

  rill_test_script_send (script,
                         "{\"error\":{\"message\":\"model does not support images\"}}", -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  w = send_with (f, CHAT, "What is this?", attachments);
  g_assert_cmpint (rill_reply_get_status (w->reply), ==, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_reply_get_error (w->reply), ==,
                   "HTTP 400 Bad Request: model does not support images");
  user = rill_store_get_message (f->store, rill_reply_get_user_message_id (w->reply), NULL);
  g_assert_cmpstr (rill_message_get_content (user), ==, "What is this?");
  stored = rill_store_list_attachments (f->store, rill_reply_get_user_message_id (w->reply),
                                        NULL);
  g_assert_cmpuint (stored->len, ==, 1);
  g_assert_true (g_bytes_equal (((RillStoredAttachment *) stored->pdata[0])->data, image));
  watch_free (w);
}

/* JSON export: the attachments as base64 with their names and types, and
 * the bytes read back from it match the file's. */
static void
test_attachment_export (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) image = real_file (f, "photo.png", png_red, sizeof png_red, 0x82);
  g_autoptr(GPtrArray) attachments = one_attachment ("photo.png", "image/png", image, NULL);
  g_autoptr(GHashTable) by_message = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                            (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree guchar *decoded = NULL;
  JsonObject *first;
  JsonObject *item;
  gsize len;

  route_ok (f);
  watch_free (send_with (f, CHAT, "Keep this", attachments));
  conversation = rill_store_get_conversation (f->store, f->conversation_id, &error);
  g_assert_no_error (error);
  messages = rill_store_list_messages (f->store, f->conversation_id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = rill_message_get_id (g_ptr_array_index (messages, i));
      GPtrArray *list = rill_store_list_attachments (f->store, id, &error);

      g_assert_no_error (error);
      g_hash_table_insert (by_message, g_memdup2 (&id, sizeof id), list);
    }
  json = rill_export_json_with_attachments (conversation, messages, by_message);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  first = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                  "messages"), 0);
  g_assert_cmpstr (json_object_get_string_member (first, "content"), ==, "Keep this");
  item = json_array_get_object_element (json_object_get_array_member (first, "attachments"), 0);
  g_assert_cmpstr (json_object_get_string_member (item, "name"), ==, "photo.png");
  g_assert_cmpstr (json_object_get_string_member (item, "mime_type"), ==, "image/png");
  decoded = g_base64_decode (json_object_get_string_member (item, "data"), &len);
  g_assert_cmpmem (decoded, len, g_bytes_get_data (image, NULL), g_bytes_get_size (image));
  g_assert_false (json_object_has_member (json_array_get_object_element (
                                            json_object_get_array_member (
                                              json_node_get_object (json_parser_get_root (parser)),
                                              "messages"), 1), "attachments"));
}

int
main (int argc, char **argv)
{
  if (argc == 4 && g_str_equal (argv[1], "--child"))
    return child_main (argv[2], argv[3]);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/client/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("normal", test_normal);
  ADD ("reply-cost", test_reply_cost);
  ADD ("byte-at-a-time", test_byte_at_a_time);
  ADD ("utf8-split", test_utf8_split);
  ADD ("crlf-comments", test_crlf_comments);
  ADD ("reasoning", test_reasoning);
  ADD ("error-event", test_error_event);
  ADD ("connection-reset", test_connection_reset);
  ADD ("close-mid-body", test_close_mid_body);
  ADD ("clean-close-without-end", test_clean_close_without_end);
  ADD ("silent-server", test_silent_server);
  ADD ("no-headers", test_no_headers);
  ADD ("refused", test_refused);
  ADD ("http-401", test_http_401);
  ADD ("http-429", test_http_429);
  ADD ("http-500", test_http_500);
  ADD ("large-reply", test_large_reply);
  ADD ("stop", test_stop);
  ADD ("stop-by-cancellable", test_stop_by_cancellable);
  ADD ("stop-before-start", test_stop_before_start);
  ADD ("racing-endings", test_racing_endings);
  ADD ("error-then-stop", test_error_then_stop);
  ADD ("two-streams", test_two_streams);
  ADD ("ollama", test_ollama);
  ADD ("ollama-error-line", test_ollama_error_line);
  ADD ("invalid-utf8", test_invalid_utf8);
  ADD ("malformed-event", test_malformed_event);
  ADD ("history", test_history);
  ADD ("model-from-server", test_model_from_server);
  ADD ("replies-kept-alive", test_replies_kept_alive);
  ADD ("search-after-stream", test_search_after_stream);
  ADD ("environment", test_environment);
  ADD ("keys-stay-home", test_keys_stay_home);
  ADD ("sigkill-recovery", test_sigkill_recovery);
  ADD ("flood-line", test_flood_line);
  ADD ("flood-ndjson-line", test_flood_ndjson_line);
  ADD ("flood-reply", test_flood_reply);
  ADD ("flood-models", test_flood_models);
  ADD ("silence-past-idle-timeout", test_silence_past_idle_timeout);
  ADD ("silence-within-idle-timeout", test_silence_within_idle_timeout);
  ADD ("models-deadline", test_models_deadline);
  ADD ("json-answer", test_json_answer);
  ADD ("json-stream-labelled-json", test_json_stream_labelled_json);
  ADD ("ollama-json-answer", test_ollama_json_answer);
  ADD ("html-answer", test_html_answer);
  ADD ("nul-in-token", test_nul_in_token);
  ADD ("bad-reason-phrase", test_bad_reason_phrase);
  ADD ("user-info-address", test_user_info_address);
  ADD ("attachment-image", test_attachment_image);
  ADD ("attachment-image-bound", test_attachment_image_bound);
  ADD ("attachment-ollama", test_attachment_ollama);
  ADD ("attachment-erase", test_attachment_erase);
  ADD ("attachment-refused", test_attachment_refused);
  ADD ("attachment-export", test_attachment_export);
#undef ADD

  return g_test_run ();
}
