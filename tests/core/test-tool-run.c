/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-tool-run.c: the calls of an assistant message, from approval to
 * their rows, on a real SQLite file and real MCP servers.
 *
 * The servers come from an mcp.json through a RillToolbox, as in the app:
 * the reference server @modelcontextprotocol/server-everything (installed
 * by `ninja mcp-server`; skipped, saying why, when it is missing and
 * RILL_MCP_REQUIRED is unset) and the scripted one (mcp-fake-server.py),
 * for what the reference one does not show: a JSON-RPC error, a tool's
 * own failure, a program that exits mid-call and what a cancellation
 * sent. Stored text is compared byte for byte with what the server
 * returned. Every wait is on an event; the deadlines only guard against
 * hangs. */

#include <string.h>

#include <sqlite3.h>

#include "rill-test-support.h"
#include "rill-tool-run.h"

#define WAIT_MS 30000

/* Skips */

/* The fixture: a history with one assistant message that asked for tools,
 * and a toolbox of both servers. */

typedef struct
{
  char          *dir;
  char          *path;
  RillStore     *store;
  RillMcpConfig *config;
  RillToolbox   *toolbox;
  GPtrArray     *offered;   /* RillOfferedTool */
  gint64         conversation_id;
  gint64         assistant_id;
} Fixture;

static gint64
sql_int (Fixture *f, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gint64
sql_int (Fixture *f, const char *format, ...)
{
  g_autofree char *sql = NULL;
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  sql = g_strdup_vprintf (format, args);
  va_end (args);
  text = test_sql_text (f->path, sql);
  return g_ascii_strtoll (text, NULL, 10);
}

/* A column of message @id, NULL when it is NULL. */
static char *
column (Fixture *f, gint64 id, const char *name)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT,
                                          name, id);

  return test_sql_try_text (f->path, sql);
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autofree char *sql = NULL;

  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "history.db", NULL);
  f->store = test_store_open (f->path);
  f->conversation_id = test_create_conversation (f->store, "Tools");
  sql = g_strdup_printf ("INSERT INTO messages (conversation_id, role, content, status,"
                         " created_at) VALUES (%" G_GINT64_FORMAT ", 'user', 'Use the tools',"
                         " 'complete', 1);"
                         "INSERT INTO messages (conversation_id, role, content, status,"
                         " created_at, parent_id) VALUES (%" G_GINT64_FORMAT ", 'assistant', '',"
                         " 'complete', 2, last_insert_rowid())",
                         f->conversation_id, f->conversation_id);
  test_sql_exec (f->path, sql);
  f->assistant_id = sql_int (f, "SELECT max(id) FROM messages");
}

static void
stop_all (Fixture *f)
{
  g_autoptr(GAsyncResult) result = NULL;

  rill_toolbox_stop_all_async (f->toolbox, 5000, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the servers to stop");
  g_assert_true (rill_toolbox_stop_all_finish (f->toolbox, result, NULL));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->toolbox != NULL)
    stop_all (f);
  g_clear_pointer (&f->offered, g_ptr_array_unref);
  g_clear_object (&f->toolbox);
  g_clear_object (&f->config);
  if (f->store != NULL)
    test_store_close (g_steal_pointer (&f->store));
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* Writes an mcp.json of the servers named ("everything", "fake"), makes
 * the toolbox and collects what they offer. */
static void
use_servers (Fixture *f, gboolean everything, gboolean fake)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RillToolChoice) choice = rill_tool_choice_new_from_json (NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) failures = NULL;
  g_autofree char *text = NULL;
  g_autofree char *file = g_build_filename (f->dir, "mcp.json", NULL);
  g_autofree char *script = test_mcp_everything_path (MCP_EVERYTHING_DIR);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "mcpServers");
  json_builder_begin_object (builder);
  if (everything)
    {
      json_builder_set_member_name (builder, "everything");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "command");
      json_builder_add_string_value (builder, "node");
      json_builder_set_member_name (builder, "args");
      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, script);
      json_builder_add_string_value (builder, "stdio");
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      rill_tool_choice_set_server_enabled (choice, "everything", TRUE);
    }
  if (fake)
    {
      json_builder_set_member_name (builder, "fake");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "command");
      json_builder_add_string_value (builder, "python3");
      json_builder_set_member_name (builder, "args");
      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, MCP_FAKE_SERVER);
      json_builder_add_string_value (builder, "normal");
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      rill_tool_choice_set_server_enabled (choice, "fake", TRUE);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, TRUE);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));

  f->config = rill_mcp_config_new (file);
  rill_mcp_config_load_async (f->config, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "mcp.json");
  g_assert_true (rill_mcp_config_load_finish (f->config, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  f->toolbox = rill_toolbox_new (f->config, NULL);
  rill_toolbox_collect_async (f->toolbox, choice, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the tools offered");
  f->offered = rill_toolbox_collect_finish (f->toolbox, result, &failures, &error);
  g_assert_no_error (error);
  g_assert_null (failures);
  g_assert_nonnull (f->offered);
}

static RillOfferedTool *
find_offered (Fixture *f, const char *name)
{
  for (guint i = 0; i < f->offered->len; i++)
    {
      RillOfferedTool *offered = g_ptr_array_index (f->offered, i);

      if (g_strcmp0 (offered->function_name, name) == 0)
        return offered;
    }
  return NULL;
}

/* Calls */

static RillToolCall *
call_new (const char *id, const char *name, const char *arguments)
{
  RillToolCall *call = g_new0 (RillToolCall, 1);

  call->id = g_strdup (id);
  call->type = g_strdup ("function");
  call->name = g_strdup (name);
  call->arguments = g_string_new (arguments);
  return call;
}

typedef struct
{
  gboolean started;
  gboolean finished;
  guint    changes;
} RunSeen;

static void
started_cb (RillToolRun *run, RunSeen *seen)
{
  g_assert_false (seen->started);
  seen->started = TRUE;
}

static void
finished_cb (RillToolRun *run, RunSeen *seen)
{
  g_assert_false (seen->finished);
  seen->finished = TRUE;
}

static void
step_changed_cb (RillToolRun *run, RillToolStep *step, RunSeen *seen)
{
  g_assert_true (RILL_IS_TOOL_STEP (step));
  seen->changes++;
}

/* Starts a run of @calls (RillToolCall, NULL-terminated) and waits for its
 * rows. */
static RillToolRun *
start_run (Fixture *f, RunSeen *seen, ...)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                               rill_tool_call_free);
  RillToolRun *run;
  RillToolCall *call;
  va_list args;

  va_start (args, seen);
  while ((call = va_arg (args, RillToolCall *)) != NULL)
    g_ptr_array_add (calls, call);
  va_end (args);

  run = rill_tool_run_new (f->store, f->toolbox, f->conversation_id, f->assistant_id, calls,
                           f->offered, 64 * 1024);
  g_signal_connect (run, "started", G_CALLBACK (started_cb), seen);
  g_signal_connect (run, "finished", G_CALLBACK (finished_cb), seen);
  g_signal_connect (run, "step-changed", G_CALLBACK (step_changed_cb), seen);
  g_assert_cmpuint (rill_tool_run_get_steps (run)->len, ==, 0);
  rill_tool_run_start (run);
  test_wait_for (&seen->started, WAIT_MS, "the run's rows");
  g_assert_cmpuint (rill_tool_run_get_steps (run)->len, ==, calls->len);
  return run;
}

static RillToolStep *
step_at (RillToolRun *run, guint i)
{
  return g_ptr_array_index (rill_tool_run_get_steps (run), i);
}

static gboolean
step_done (gpointer data)
{
  return rill_tool_step_get_state (data) == RILL_TOOL_STEP_DONE;
}

static void
wait_done (RillToolStep *step)
{
  test_wait_until (step_done, step, WAIT_MS, "the step to end");
}

/* The stored row of @step matches the step, and its status is @status. */
static void
check_row (Fixture *f, RillToolStep *step, RillStatus status)
{
  gint64 id = rill_tool_step_get_message_id (step);
  g_autofree char *role = column (f, id, "role");
  g_autofree char *stored_status = column (f, id, "status");
  g_autofree char *content = column (f, id, "content");
  g_autofree char *finished_at = column (f, id, "finished_at");

  g_assert_cmpint (id, >, 0);
  g_assert_cmpstr (role, ==, "tool");
  g_assert_cmpint (rill_tool_step_get_state (step), ==, RILL_TOOL_STEP_DONE);
  g_assert_cmpint (rill_tool_step_get_status (step), ==, status);
  g_assert_cmpstr (stored_status, ==, rill_status_to_string (status));
  g_assert_cmpstr (content, ==, rill_tool_step_get_content (step));
  g_assert_nonnull (finished_at);
}

/* The rows */

/* The rows are written before anything is called: one per call, chained
 * after the assistant message, streaming, with the call's id, server and
 * tool; the conversation shows the last. A call to a tool not offered
 * fails at once, in words, and needs no decision. */
static void
test_rows (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  RillToolStep *first, *second, *unknown;
  gint64 first_id, second_id, unknown_id;
  g_autofree char *parent = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *server = NULL;
  g_autofree char *tool = NULL;
  g_autofree char *content = NULL;
  g_autofree char *status = NULL;
  g_autofree char *unknown_server = NULL;
  g_autofree char *unknown_tool = NULL;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  g_assert_nonnull (find_offered (f, "fail"));
  run = start_run (f, &seen, call_new ("call_1", "fail", "{}"),
                   call_new ("call_2", "tool-error", ""),
                   call_new ("call_3", "rm-rf", "{\"path\": \"/\"}"), NULL);
  first = step_at (run, 0);
  second = step_at (run, 1);
  unknown = step_at (run, 2);
  first_id = rill_tool_step_get_message_id (first);
  second_id = rill_tool_step_get_message_id (second);
  unknown_id = rill_tool_step_get_message_id (unknown);
  g_assert_cmpint (first_id, >, f->assistant_id);
  g_assert_cmpint (second_id, >, first_id);
  g_assert_cmpint (unknown_id, >, second_id);

  parent = column (f, first_id, "parent_id");
  g_assert_cmpint (g_ascii_strtoll (parent, NULL, 10), ==, f->assistant_id);
  g_clear_pointer (&parent, g_free);
  parent = column (f, second_id, "parent_id");
  g_assert_cmpint (g_ascii_strtoll (parent, NULL, 10), ==, first_id);
  g_clear_pointer (&parent, g_free);
  parent = column (f, unknown_id, "parent_id");
  g_assert_cmpint (g_ascii_strtoll (parent, NULL, 10), ==, second_id);
  g_assert_cmpint (sql_int (f, "SELECT shown_message_id FROM conversations WHERE id = %"
                            G_GINT64_FORMAT, f->conversation_id), ==, unknown_id);

  call_id = column (f, first_id, "tool_call_id");
  server = column (f, first_id, "tool_server");
  tool = column (f, first_id, "tool_name");
  content = column (f, first_id, "content");
  status = column (f, first_id, "status");
  g_assert_cmpstr (call_id, ==, "call_1");
  g_assert_cmpstr (server, ==, "fake");
  g_assert_cmpstr (tool, ==, "fail");
  g_assert_cmpstr (content, ==, "");
  g_assert_cmpstr (status, ==, "streaming");

  g_assert_cmpstr (rill_tool_step_get_call_id (first), ==, "call_1");
  g_assert_cmpstr (rill_tool_step_get_server (first), ==, "fake");
  g_assert_cmpstr (rill_tool_step_get_tool (first), ==, "fail");
  g_assert_cmpstr (rill_tool_step_get_arguments (first), ==, "{}");
  g_assert_cmpint (rill_tool_step_get_state (first), ==, RILL_TOOL_STEP_WAITING);
  g_assert_cmpint (rill_tool_step_get_state (second), ==, RILL_TOOL_STEP_WAITING);
  g_assert_null (rill_tool_step_get_result (first));

  /* Not offered: failed at once, in words, before any decision. */
  wait_done (unknown);
  g_assert_cmpstr (rill_tool_step_get_content (unknown), ==,
                   "The call was not made: no tool offered is called “rm-rf”.");
  g_assert_null (rill_tool_step_get_server (unknown));
  unknown_server = column (f, unknown_id, "tool_server");
  unknown_tool = column (f, unknown_id, "tool_name");
  g_assert_null (unknown_server);
  g_assert_cmpstr (unknown_tool, ==, "rm-rf");
  g_assert_false (seen.finished);

  /* A JSON-RPC error names the server; a tool's own failure is its text. */
  rill_tool_step_allow (first);
  rill_tool_step_allow (second);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  g_assert_true (rill_tool_run_is_finished (run));
  check_row (f, first, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (first), ==, "MCP server “fake”: the tool broke");
  check_row (f, second, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (second), ==, "no such file");
  g_assert_true (rill_tool_step_get_result (second)->is_error);
  check_row (f, unknown, RILL_STATUS_FAILED);
  /* Failed is not stopped: the model is told and the loop goes on. */
  g_assert_true (rill_tool_run_can_continue (run));
  g_assert_null (rill_tool_run_get_store_error (run));
  g_assert_cmpuint (seen.changes, >=, 3);
}

/* Each step tells its state as it goes. */
static void
state_cb (RillToolStep *step, GParamSpec *pspec, GString *states)
{
  g_string_append_printf (states, "%d", rill_tool_step_get_state (step));
}

/* Allowed calls of the reference server: the stored content is what the
 * server returned, byte for byte. */
static void
test_allow (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(GString) states = g_string_new (NULL);
  g_autofree char *echo_text = NULL;
  g_autofree char *sum_text = NULL;
  g_autofree char *pretty = NULL;
  RillToolStep *echo, *sum;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  use_servers (f, TRUE, FALSE);
  run = start_run (f, &seen,
                   call_new ("call_echo", "echo", "{\"message\": \"Hello, \\\"世界\\\" 👋\\n\"}"),
                   call_new ("call_sum", "get-sum", "{\"a\":2,\"b\":3.5}"), NULL);
  echo = step_at (run, 0);
  sum = step_at (run, 1);
  pretty = rill_tool_step_dup_arguments_pretty (sum);
  g_assert_cmpstr (pretty, ==, "{\n  \"a\" : 2,\n  \"b\" : 3.5\n}");
  g_signal_connect (echo, "notify::state", G_CALLBACK (state_cb), states);

  rill_tool_step_allow (echo);
  g_assert_cmpint (rill_tool_step_get_state (echo), ==, RILL_TOOL_STEP_RUNNING);
  wait_done (echo);
  g_assert_false (seen.finished);
  rill_tool_step_allow (sum);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");

  check_row (f, echo, RILL_STATUS_COMPLETE);
  echo_text = column (f, rill_tool_step_get_message_id (echo), "content");
  g_assert_cmpstr (echo_text, ==, "Echo: Hello, \"世界\" 👋\n");
  /* Running (1), then done (2). */
  g_assert_cmpstr (states->str, ==, "12");
  check_row (f, sum, RILL_STATUS_COMPLETE);
  sum_text = column (f, rill_tool_step_get_message_id (sum), "content");
  g_assert_cmpstr (sum_text, ==, "The sum of 2 and 3.5 is 5.5.");
  g_assert_false (rill_tool_step_get_result (sum)->is_error);
  g_assert_true (rill_tool_run_can_continue (run));
}

/* Denied: not called; the row says so in the fixed sentence the model is
 * sent. */
static void
test_deny (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autofree char *content = NULL;
  RillToolStep *step;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "exit", "{}"), NULL);
  step = step_at (run, 0);
  rill_tool_step_deny (step);
  /* The card learns at once; the step is done once its row is written. */
  g_assert_cmpint (rill_tool_step_get_status (step), ==, RILL_STATUS_DENIED);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, step, RILL_STATUS_DENIED);
  content = column (f, rill_tool_step_get_message_id (step), "content");
  g_assert_cmpstr (content, ==, "The person declined this call.");
  g_assert_cmpstr (content, ==, RILL_TOOL_DENIED_TEXT);
  g_assert_true (rill_tool_run_can_continue (run));
  /* Not called: the server did not exit. */
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "fake")), ==,
                   RILL_MCP_STATE_READY);
}

/* Always allowed: the call runs, and the next run's call of that tool runs
 * without waiting for anyone, while another tool still waits. */
static void
test_always_allow (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  RunSeen again = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(RillToolRun) second = NULL;
  g_autofree char *text = NULL;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  use_servers (f, TRUE, FALSE);
  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));
  run = start_run (f, &seen, call_new ("call_1", "echo", "{\"message\": \"one\"}"), NULL);
  rill_tool_step_always_allow (step_at (run, 0));
  test_wait_for (&seen.finished, WAIT_MS, "the first run");
  check_row (f, step_at (run, 0), RILL_STATUS_COMPLETE);
  g_assert_true (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));

  second = start_run (f, &again, call_new ("call_2", "echo", "{\"message\": \"two\"}"),
                      call_new ("call_3", "get-sum", "{\"a\": 1, \"b\": 1}"), NULL);
  /* Running as soon as it started. */
  g_assert_cmpint (rill_tool_step_get_state (step_at (second, 0)), ==, RILL_TOOL_STEP_RUNNING);
  g_assert_cmpint (rill_tool_step_get_state (step_at (second, 1)), ==, RILL_TOOL_STEP_WAITING);
  wait_done (step_at (second, 0));
  check_row (f, step_at (second, 0), RILL_STATUS_COMPLETE);
  text = column (f, rill_tool_step_get_message_id (step_at (second, 0)), "content");
  g_assert_cmpstr (text, ==, "Echo: two");
  g_assert_false (again.finished);
  g_assert_cmpint (rill_tool_step_get_state (step_at (second, 1)), ==, RILL_TOOL_STEP_WAITING);
  rill_tool_step_deny (step_at (second, 1));
  test_wait_for (&again.finished, WAIT_MS, "the second run");
  /* The first row of the second run follows the assistant message too. */
  g_assert_cmpint (sql_int (f, "SELECT parent_id FROM messages WHERE id = %" G_GINT64_FORMAT,
                            rill_tool_step_get_message_id (step_at (second, 0))), ==,
                   f->assistant_id);
}

/* Arguments that are not a JSON object: failed in words, never sent. */
static void
test_invalid_arguments (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(GString) states = g_string_new (NULL);
  g_autofree char *pretty = NULL;
  g_autofree char *error = NULL;
  RillToolStep *broken, *array;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "exit", "{\"code\": 3"),
                   call_new ("call_2", "exit", "[1, 2]"), NULL);
  broken = step_at (run, 0);
  array = step_at (run, 1);
  pretty = rill_tool_step_dup_arguments_pretty (broken);
  g_assert_cmpstr (pretty, ==, "{\"code\": 3");
  g_signal_connect (broken, "notify::state", G_CALLBACK (state_cb), states);
  rill_tool_step_allow (broken);
  rill_tool_step_allow (array);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  /* Straight from waiting to done: never running. */
  g_assert_cmpstr (states->str, ==, "2");
  check_row (f, broken, RILL_STATUS_FAILED);
  g_assert_true (g_str_has_prefix (rill_tool_step_get_content (broken),
                                   "The call was not made: its arguments are not valid JSON ("));
  error = column (f, rill_tool_step_get_message_id (broken), "error");
  g_assert_cmpstr (error, ==, rill_tool_step_get_content (broken));
  check_row (f, array, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (array), ==,
                   "The call was not made: its arguments are not a JSON object.");
  /* "exit" was never called: the server still runs. */
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "fake")), ==,
                   RILL_MCP_STATE_READY);
}

/* An image in the result is an attachment of the tool message; the text
 * items, joined, are its content. */
static void
test_image (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *content = NULL;
  RillStoredAttachment *image;
  RillToolStep *step;
  const guchar *png;
  gsize len;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  use_servers (f, TRUE, FALSE);
  run = start_run (f, &seen, call_new ("call_1", "get-tiny-image", ""), NULL);
  step = step_at (run, 0);
  rill_tool_step_allow (step);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, step, RILL_STATUS_COMPLETE);
  expected = rill_mcp_result_get_text (rill_tool_step_get_result (step));
  content = column (f, rill_tool_step_get_message_id (step), "content");
  g_assert_cmpstr (content, ==, expected);
  g_assert_nonnull (strstr (content, "The image above is the MCP logo."));

  attachments = rill_store_list_attachments (f->store, rill_tool_step_get_message_id (step),
                                             &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attachments->len, ==, 1);
  image = g_ptr_array_index (attachments, 0);
  g_assert_cmpstr (image->mime_type, ==, "image/png");
  g_assert_cmpstr (image->name, ==, "image-1.png");
  png = g_bytes_get_data (image->data, &len);
  /* A PNG: the signature, then an IHDR of 20 × 20 pixels. */
  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpmem (png + 12, 4, "IHDR", 4);
  g_assert_cmpmem (png + 16, 8, "\0\0\0\x14\0\0\0\x14", 8);
  /* Shared by SHA-256, as a user's files are. */
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM attachment_data"), ==, 1);
}

/* A long operation with progress, stopped halfway: progress is told, the
 * step ends stopped, its row is final and the run cannot go on. */
typedef struct
{
  RillToolStep *step;
  guint         count;
  double        last;
} ProgressSeen;

static void
progress_notify_cb (RillToolStep *step, GParamSpec *pspec, ProgressSeen *seen)
{
  seen->count++;
  seen->last = rill_tool_step_get_progress (step);
}

static gboolean
seen_three (gpointer data)
{
  return ((ProgressSeen *) data)->count >= 3;
}

static void
test_long_operation_stopped (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  ProgressSeen progress = { 0 };
  RillToolStep *step;
  g_autofree char *content = NULL;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  use_servers (f, TRUE, FALSE);
  run = start_run (f, &seen, call_new ("call_1", "trigger-long-running-operation",
                                       "{\"duration\": 5, \"steps\": 50}"), NULL);
  step = step_at (run, 0);
  g_assert_cmpfloat (rill_tool_step_get_progress (step), ==, -1);
  g_signal_connect (step, "notify::progress", G_CALLBACK (progress_notify_cb), &progress);
  rill_tool_step_allow (step);
  test_wait_until (seen_three, &progress, WAIT_MS, "three progress notifications");
  g_assert_cmpfloat_with_epsilon (progress.last, progress.count / 50.0, 1e-9);
  g_assert_cmpint (rill_tool_step_get_state (step), ==, RILL_TOOL_STEP_RUNNING);

  rill_tool_run_stop (run);
  /* At once, without waiting for the server; done once the row is. */
  g_assert_cmpint (rill_tool_step_get_status (step), ==, RILL_STATUS_STOPPED);
  g_assert_cmpstr (rill_tool_step_get_content (step), ==, RILL_TOOL_STOPPED_TEXT);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, step, RILL_STATUS_STOPPED);
  content = column (f, rill_tool_step_get_message_id (step), "content");
  g_assert_cmpstr (content, ==, RILL_TOOL_STOPPED_TEXT);
  g_assert_false (rill_tool_run_can_continue (run));
  g_assert_cmpuint (progress.count, <, 25);
}

/* Stop while a call of the scripted server runs and another waits: both
 * end stopped, and the server was sent notifications/cancelled for the
 * running one. */
static void
test_stop_cancels (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RillMcpResult) told = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  ProgressSeen progress = { 0 };
  JsonObject *object, *cancelled;
  RillToolStep *slow, *waiting;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "slow", "{}"),
                   call_new ("call_2", "exit", "{}"), NULL);
  slow = step_at (run, 0);
  waiting = step_at (run, 1);
  g_signal_connect (slow, "notify::progress", G_CALLBACK (progress_notify_cb), &progress);
  rill_tool_step_allow (slow);
  test_wait_until (seen_three, &progress, WAIT_MS, "three progress notifications");
  g_assert_cmpfloat_with_epsilon (progress.last, progress.count / 1000.0, 1e-9);
  g_assert_true (g_str_has_prefix (rill_tool_step_get_progress_message (slow), "step "));

  rill_tool_run_stop (run);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, slow, RILL_STATUS_STOPPED);
  check_row (f, waiting, RILL_STATUS_STOPPED);
  g_assert_false (rill_tool_run_can_continue (run));
  /* Later decisions change nothing. */
  rill_tool_step_allow (waiting);
  g_assert_cmpint (rill_tool_step_get_status (waiting), ==, RILL_STATUS_STOPPED);

  rill_mcp_client_call_tool_async (rill_toolbox_lookup (f->toolbox, "fake"), "cancelled", NULL,
                                   NULL, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "what the server was told");
  told = rill_mcp_client_call_tool_finish (rill_toolbox_lookup (f->toolbox, "fake"), result,
                                           &error);
  g_assert_no_error (error);
  text = rill_mcp_result_get_text (told);
  node = json_from_string (text, &error);
  g_assert_no_error (error);
  object = json_node_get_object (node);
  cancelled = json_object_get_object_member (object, "cancelled");
  g_assert_nonnull (cancelled);
  g_assert_cmpint (json_object_get_int_member (cancelled, "requestId"), ==,
                   json_object_get_int_member (object, "slow_id"));
}

/* A server that exits mid-call: failed, in words that name it. */
static void
test_server_exits (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  RillToolStep *step;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "exit", ""), NULL);
  step = step_at (run, 0);
  rill_tool_step_allow (step);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, step, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (step), ==,
                   "MCP server “fake” exited with status 3.\n"
                   "Its last lines on stderr:\n"
                   "fake MCP server, mode normal\n"
                   "fatal: out of cheese\n"
                   "giving up");
  g_assert_true (rill_tool_run_can_continue (run));
}

static gboolean
fake_gone (gpointer data)
{
  return rill_toolbox_lookup (data, "fake") == NULL;
}

static gboolean
fake_off (gpointer data)
{
  RillMcpClient *client = rill_toolbox_lookup (data, "fake");

  return client != NULL && rill_mcp_client_get_server (client)->disabled;
}

/* A server removed from mcp.json, or switched off, after its tools were
 * offered: the call fails in words that name it, without being made. */
static void
test_server_removed (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autoptr(RillMcpServer) off = NULL;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "exit", "{}"), call_new ("call_2", "exit", "{}"),
                   NULL);
  off = rill_mcp_server_copy_disabled (rill_mcp_config_lookup (f->config, "fake"), TRUE);
  rill_mcp_config_set_server (f->config, off);
  test_wait_until (fake_off, f->toolbox, WAIT_MS, "the server switched off");
  rill_tool_step_allow (step_at (run, 0));
  g_assert_true (rill_mcp_config_remove_server (f->config, "fake"));
  test_wait_until (fake_gone, f->toolbox, WAIT_MS, "the server to go");
  rill_tool_step_allow (step_at (run, 1));
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  check_row (f, step_at (run, 0), RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (step_at (run, 0)), ==,
                   "The call was not made: MCP server “fake” is switched off.");
  check_row (f, step_at (run, 1), RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_tool_step_get_content (step_at (run, 1)), ==,
                   "The call was not made: MCP server “fake” is no longer configured.");
}

/* Stop while the rows are being written: every step ends stopped, none is
 * called, even one always allowed. */
static void
test_stop_before_started (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                               rill_tool_call_free);
  g_autoptr(RillToolRun) run = NULL;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  rill_toolbox_set_always_allowed (f->toolbox, "fake", "exit", TRUE);
  g_ptr_array_add (calls, call_new ("call_1", "exit", "{}"));
  g_ptr_array_add (calls, call_new ("call_2", "fail", "{}"));
  run = rill_tool_run_new (f->store, f->toolbox, f->conversation_id, f->assistant_id, calls,
                           f->offered, 1024);
  g_signal_connect (run, "started", G_CALLBACK (started_cb), &seen);
  g_signal_connect (run, "finished", G_CALLBACK (finished_cb), &seen);
  rill_tool_run_start (run);
  rill_tool_run_stop (run);
  g_assert_false (seen.started);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  g_assert_true (seen.started);
  check_row (f, step_at (run, 0), RILL_STATUS_STOPPED);
  check_row (f, step_at (run, 1), RILL_STATUS_STOPPED);
  g_assert_false (rill_tool_run_can_continue (run));
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "fake")), ==,
                   RILL_MCP_STATE_READY);
}

/* A run that ends with no calls at all finishes at once. */
static void
test_no_calls (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, NULL);
  g_assert_true (seen.finished);
  g_assert_true (rill_tool_run_can_continue (run));
}

/* Rows left streaming by a crash (the run never finalized them, the store
 * closed) are interrupted at the next open. */
static void
test_reopen_interrupted (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  RillToolRun *run;
  gint64 first, second;
  g_autofree char *first_status = NULL;
  g_autofree char *second_status = NULL;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "fail", "{}"),
                   call_new ("call_2", "fail", "{}"), NULL);
  first = rill_tool_step_get_message_id (step_at (run, 0));
  second = rill_tool_step_get_message_id (step_at (run, 1));
  g_assert_finalize_object (run);
  test_store_close (g_steal_pointer (&f->store));

  f->store = test_store_open (f->path);
  g_assert_cmpuint (rill_store_get_n_recovered (f->store), ==, 2);
  first_status = column (f, first, "status");
  second_status = column (f, second, "status");
  g_assert_cmpstr (first_status, ==, "interrupted");
  g_assert_cmpstr (second_status, ==, "interrupted");
}

/* Rows that cannot be written: the steps are kept, each failed in words
 * without being called, and the run cannot go on. */
static void
test_rows_not_written (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  RillToolStep *step;

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  f->assistant_id = 999999;
  run = start_run (f, &seen, call_new ("call_1", "exit", "{}"), NULL);
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  step = step_at (run, 0);
  g_assert_cmpint (rill_tool_step_get_message_id (step), ==, 0);
  g_assert_cmpint (rill_tool_step_get_status (step), ==, RILL_STATUS_FAILED);
  g_assert_error (rill_tool_run_get_store_error (run), RILL_STORE_ERROR,
                  RILL_STORE_ERROR_NOT_FOUND);
  g_assert_cmpstr (rill_tool_step_get_content (step), ==,
                   "The call was not made: its result could not be saved (The message that "
                   "asked for the tools no longer exists).");
  g_assert_false (rill_tool_run_can_continue (run));
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM messages WHERE role = 'tool'"), ==, 0);
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "fake")), ==,
                   RILL_MCP_STATE_READY);
}

typedef struct
{
  Fixture *f;
  gint64   id;
} RowWait;

static gboolean
row_denied (gpointer data)
{
  RowWait *wait = data;
  g_autofree char *status = column (wait->f, wait->id, "status");

  return g_strcmp0 (status, "denied") == 0;
}

/* A final write while another program holds the write lock: the run
 * finishes once the row is in the journal, and the write commits when the
 * lock is gone, as a reply's does. */
static void
test_final_write_waits (Fixture *f, gconstpointer data)
{
  RunSeen seen = { 0 };
  g_autoptr(RillToolRun) run = NULL;
  g_autofree char *journal = NULL;
  g_autofree char *status = NULL;
  g_autofree char *content = NULL;
  sqlite3 *db = NULL;
  RowWait wait = { f, 0 };

  if (!test_have_python ())
    return;
  use_servers (f, FALSE, TRUE);
  run = start_run (f, &seen, call_new ("call_1", "exit", "{}"), NULL);
  wait.id = rill_tool_step_get_message_id (step_at (run, 0));
  journal = g_strdup_printf ("%s.pending/%" G_GINT64_FORMAT ".json", f->path, wait.id);

  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  rill_tool_step_deny (step_at (run, 0));
  test_wait_for (&seen.finished, WAIT_MS, "the run to finish");
  g_assert_null (rill_tool_run_get_store_error (run));
  g_assert_true (rill_tool_run_can_continue (run));
  g_assert_true (g_file_test (journal, G_FILE_TEST_IS_REGULAR));
  status = column (f, wait.id, "status");
  g_assert_cmpstr (status, ==, "streaming");

  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  test_wait_until (row_denied, &wait, WAIT_MS, "the retried final write");
  content = column (f, wait.id, "content");
  g_assert_cmpstr (content, ==, RILL_TOOL_DENIED_TEXT);
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/tool-run/" path, Fixture, NULL, setup, func, teardown)
  ADD ("rows", test_rows);
  ADD ("allow", test_allow);
  ADD ("deny", test_deny);
  ADD ("always-allow", test_always_allow);
  ADD ("invalid-arguments", test_invalid_arguments);
  ADD ("image", test_image);
  ADD ("long-operation-stopped", test_long_operation_stopped);
  ADD ("stop-cancels", test_stop_cancels);
  ADD ("server-exits", test_server_exits);
  ADD ("server-removed", test_server_removed);
  ADD ("stop-before-started", test_stop_before_started);
  ADD ("no-calls", test_no_calls);
  ADD ("reopen-interrupted", test_reopen_interrupted);
  ADD ("rows-not-written", test_rows_not_written);
  ADD ("final-write-waits", test_final_write_waits);
#undef ADD

  return g_test_run ();
}
