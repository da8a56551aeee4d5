/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kill -9 while the model streams a tool call.
 *
 * As in test-crash, a child process streams a reply into a real database
 * and is killed with SIGKILL at a random moment; here the reply is a few
 * words and then one call whose arguments arrive in thousands of pieces.
 * The next open must find the row "interrupted" with its words and, once a
 * checkpoint saw the call, the call's id and name and a byte-exact prefix
 * of its argument text. Then a tool row the crash left running (as the
 * tool run writes them) is interrupted too at the next open.
 *
 * RILL_CRASH_RUNS sets the number of runs (default 10 here). */

#include <signal.h>
#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"

#define CHAT "/v1/chat/completions"
#define FRAGMENTS 6000
#define EVENTS_PER_CHUNK 9
#define PACE_US 3900

typedef struct
{
  GDataInputStream *out;
  gboolean          started;
  gboolean          exited;
} Child;

static void
line_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Child *child = data;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                result, NULL, NULL);

  if (line != NULL && g_str_has_prefix (line, "started"))
    child->started = TRUE;
}

static void
exit_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  ((Child *) data)->exited = TRUE;
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
add_event (GString *sse, const char *delta, const char *finish_reason)
{
  g_string_append_printf (sse, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":%s,"
                          "\"finish_reason\":%s}]}\n\n", delta,
                          finish_reason ? finish_reason : "null");
}

/* The stream, and in *@arguments the call's whole argument text. Each
 * event is one chunk of the script. */
static RillTestScript *
tool_call_script (char **arguments)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  GString *all = g_string_new ("{\"text\": \"");
  GString *sse = g_string_new (NULL);
  guint n_events = 0;

  /* EVENTS_PER_CHUNK events every ~4 ms, about 2,000 a second. */
  rill_test_script_pace (script, PACE_US);
  add_event (sse, "{\"role\":\"assistant\",\"content\":\"Writing it. \"}", NULL);
  add_event (sse, "{\"tool_calls\":[{\"index\":0,\"id\":\"call_K\",\"type\":\"function\","
             "\"function\":{\"name\":\"write\",\"arguments\":\"{\\\"text\\\": \\\"\"}}]}",
             NULL);
  for (guint i = 0; i < FRAGMENTS; i++)
    {
      /* An escaped quote now and then: \" in the text, \\\" on the wire. */
      g_autofree char *fragment = i % 50 == 0 ? g_strdup ("\\\\\\\"")
                                              : g_strdup_printf ("p%u ", i);
      g_autofree char *delta = g_strdup_printf ("{\"tool_calls\":[{\"index\":0,\"function\":"
                                                "{\"arguments\":\"%s\"}}]}", fragment);

      g_string_append (all, i % 50 == 0 ? "\\\"" : fragment);
      add_event (sse, delta, NULL);
      if (++n_events % EVENTS_PER_CHUNK == 0)
        {
          rill_test_script_send (script, sse->str, sse->len, 0);
          g_string_truncate (sse, 0);
        }
    }
  add_event (sse, "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"}\"}}]}",
             NULL);
  g_string_append (all, "\"}");
  add_event (sse, "{}", "\"tool_calls\"");
  g_string_append (sse, "data: [DONE]\n\n");
  rill_test_script_send (script, sse->str, sse->len, 0);
  g_string_free (sse, TRUE);
  *arguments = g_string_free (all, FALSE);
  return script;
}

static void
test_kill_mid_call (void)
{
  guint runs = g_getenv ("RILL_CRASH_RUNS") ? atoi (g_getenv ("RILL_CRASH_RUNS")) : 10;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint with_call = 0;

  for (guint run = 0; run < runs; run++)
    {
      g_autofree char *dir = test_make_tmpdir ();
      g_autofree char *db = g_build_filename (dir, "history.db", NULL);
      g_autoptr(RillTestServer) server = rill_test_server_new ();
      g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
      g_autofree char *arguments = NULL;
      g_autoptr(GSubprocess) process = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(RillStore) store = NULL;
      g_autoptr(GPtrArray) messages = NULL;
      g_autofree char *integrity = NULL;
      RillTestScript *script = tool_call_script (&arguments);
      Child child = { 0 };
      gboolean kill_now = FALSE;
      RillMessage *reply;
      GPtrArray *calls;

      rill_test_server_route (server, CHAT, script);
      process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                  g_test_get_filename (G_TEST_BUILT, "rill-stream-child", NULL),
                                  db, base, NULL);
      g_assert_no_error (error);
      child.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
      g_data_input_stream_read_line_async (child.out, G_PRIORITY_DEFAULT, NULL, line_cb, &child);
      test_wait_for (&child.started, 20000, "the child to start streaming");

      /* A random moment 30 to 600 ms into the call's arguments, which take
       * about 2.7 s to arrive. */
      g_timeout_add (g_rand_int_range (rand, 30, 600), flag_cb, &kill_now);
      test_wait_for (&kill_now, 20000, "the moment to kill");
      g_subprocess_send_signal (process, SIGKILL);
      g_subprocess_wait_async (process, NULL, exit_cb, &child);
      test_wait_for (&child.exited, 20000, "the child to die");
      g_assert_cmpint (g_subprocess_get_term_sig (process), ==, SIGKILL);
      g_clear_object (&child.out);

      store = rill_store_open (db, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
      integrity = test_sql_text (db, "PRAGMA integrity_check");
      g_assert_cmpstr (integrity, ==, "ok");
      messages = rill_store_list_messages (store, 1, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (messages->len, ==, 2);
      reply = g_ptr_array_index (messages, 1);
      g_assert_cmpint (rill_message_get_status (reply), ==, RILL_STATUS_INTERRUPTED);
      g_assert_true (g_str_has_prefix ("Writing it. ", rill_message_get_content (reply)));

      calls = rill_message_get_tool_calls (reply);
      if (calls != NULL)
        {
          const RillToolCall *call;

          g_assert_cmpuint (calls->len, ==, 1);
          call = g_ptr_array_index (calls, 0);
          g_assert_cmpstr (call->id, ==, "call_K");
          g_assert_cmpstr (call->name, ==, "write");
          g_assert_cmpuint (call->arguments->len, <=, strlen (arguments));
          g_assert_true (strncmp (call->arguments->str, arguments, call->arguments->len) == 0);
          /* Its words came before it: they are there too. */
          g_assert_cmpstr (rill_message_get_content (reply), ==, "Writing it. ");
          with_call++;
          g_test_message ("run %u: %zu of %zu argument bytes kept", run,
                          call->arguments->len, strlen (arguments));
        }
      else
        g_test_message ("run %u: killed before a checkpoint saw the call", run);
      g_clear_object (&store);
      test_rm_rf (dir);
    }
  /* The call starts in the first events; the kill comes at least 30 ms
   * (two checkpoint intervals) later. */
  if (runs > 0)
    g_assert_cmpuint (with_call, >, 0);
}

/* A tool that ran when the app was killed: its row is interrupted at the
 * next open, the finished one before it untouched. */
static void
test_tool_row_left_running (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = NULL;
  g_autofree char *status = NULL;
  g_autofree char *finished = NULL;
  g_autofree char *untouched = NULL;
  gint64 conversation;

  store = test_store_open (db);
  conversation = test_create_conversation (store, NULL);
  test_store_close (g_steal_pointer (&store));
  {
    g_autofree char *sql =
      g_strdup_printf ("INSERT INTO messages (id, conversation_id, role, content, status,"
                       " created_at, tool_calls) VALUES (1, %" G_GINT64_FORMAT ", 'assistant',"
                       " '', 'complete', 1, '[{\"id\":\"a\",\"name\":\"echo\",\"arguments\":"
                       "\"{}\"},{\"id\":\"b\",\"name\":\"echo\",\"arguments\":\"{}\"}]');"
                       "INSERT INTO messages (id, conversation_id, parent_id, role, content,"
                       " status, created_at, finished_at, tool_call_id, tool_server, tool_name)"
                       " VALUES (2, %" G_GINT64_FORMAT ", 1, 'tool', 'one', 'complete', 1, 2,"
                       " 'a', 'everything', 'echo'),"
                       " (3, %" G_GINT64_FORMAT ", 2, 'tool', '', 'streaming', 1, NULL,"
                       " 'b', 'everything', 'echo')",
                       conversation, conversation, conversation);

    test_sql_exec (db, sql);
  }
  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  status = test_sql_text (db, "SELECT group_concat(status, ' ') FROM"
                          " (SELECT status FROM messages ORDER BY id)");
  g_assert_cmpstr (status, ==, "complete complete interrupted");
  finished = test_sql_text (db, "SELECT finished_at > 0 FROM messages WHERE id = 3");
  g_assert_cmpstr (finished, ==, "1");
  untouched = test_sql_text (db, "SELECT content || ',' || finished_at FROM messages"
                             " WHERE id = 2");
  g_assert_cmpstr (untouched, ==, "one,2");
  g_clear_object (&store);
  test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/faults/kill-mid-call", test_kill_mid_call);
  g_test_add_func ("/faults/tool-row-left-running", test_tool_row_left_running);
  return g_test_run ();
}
