/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tool calls on the wire and in the record, with the real client against
 * the test server and a real SQLite file.
 *
 * Tool rows are written here with SQL, as the tool run writes them (the
 * store's own API for them is another file's): an assistant message with
 * its calls as JSON, then one message per call, role 'tool', in a chain.
 * What is checked is what the server received, byte for byte where the
 * model's text is concerned (the argument text is never parsed and written
 * again), and what the store gives back. */

#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"

#define CHAT "/v1/chat/completions"
#define OLLAMA_CHAT "/api/chat"
#define WAIT_MS 20000

/* Arguments as a model writes them: spaces, an escaped quote, a character
 * outside ASCII and members in an order a parser and writer might change. */
#define ARGS_ONE "{\"message\": \"h\\u00e9 \\\"quoted\\\"\" , \"z\":1,\"a\":[2, 3]}"
#define ARGS_TWO "{\"a\":  2,\"b\":3}"

typedef struct
{
  char           *dir;
  char           *path;
  RillStore      *store;
  RillTestServer *server;
  RillProvider   *provider;
  gint64          conversation_id;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autofree char *base = NULL;

  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "history.db", NULL);
  f->store = test_store_open (f->path);
  f->server = rill_test_server_new ();
  base = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-test");
  f->conversation_id = test_create_conversation (f->store, NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->store != NULL)
    test_store_close (g_steal_pointer (&f->store));
  g_clear_object (&f->provider);
  g_clear_pointer (&f->server, rill_test_server_free);
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static char *
sql_quote (const char *text)
{
  char *quoted = sqlite3_mprintf ("%Q", text);
  char *copy = g_strdup (quoted);

  sqlite3_free (quoted);
  return copy;
}

/* A message written as another connection would, following @parent_id
 * (0: none), shown; @extra is "column, …" and @values their SQL values.
 * Returns its id. */
static gint64
insert_row (Fixture *f, gint64 parent_id, const char *role, const char *content,
            const char *status, const char *extra, const char *values)
{
  g_autofree char *quoted = sql_quote (content);
  g_autofree char *sql = NULL;
  g_autofree char *id = NULL;

  sql = g_strdup_printf ("INSERT INTO messages (conversation_id, parent_id, role, content,"
                         " status, created_at%s%s) VALUES (%" G_GINT64_FORMAT ", nullif(%"
                         G_GINT64_FORMAT ", 0), '%s', %s, '%s', 1%s%s);"
                         "UPDATE conversations SET shown_message_id = last_insert_rowid()"
                         " WHERE id = %" G_GINT64_FORMAT,
                         extra ? ", " : "", extra ? extra : "", f->conversation_id, parent_id,
                         role, quoted, status, values ? ", " : "", values ? values : "",
                         f->conversation_id);
  test_sql_exec (f->path, sql);
  id = test_sql_text (f->path, "SELECT max(id) FROM messages");
  return g_ascii_strtoll (id, NULL, 10);
}

/* The calls of an assistant message as the store writes them. */
static char *
calls_json (const char *id_one, const char *name_one, const char *args_one,
            const char *id_two, const char *name_two, const char *args_two)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                               rill_tool_call_free);
  RillToolCall *call = g_new0 (RillToolCall, 1);

  call->id = g_strdup (id_one);
  call->name = g_strdup (name_one);
  call->arguments = g_string_new (args_one);
  g_ptr_array_add (calls, call);
  if (name_two != NULL)
    {
      call = g_new0 (RillToolCall, 1);
      call->index = 1;
      call->id = g_strdup (id_two);
      call->name = g_strdup (name_two);
      call->arguments = g_string_new (args_two);
      g_ptr_array_add (calls, call);
    }
  return rill_tool_calls_to_json (calls);
}

/* Question → assistant asking for echo and get-sum → their two results.
 * Returns the assistant message's id. */
static gint64
insert_tool_step (Fixture *f, const char *first_status)
{
  g_autofree char *json = calls_json ("call_one", "echo", ARGS_ONE,
                                      "call_two", "get-sum", ARGS_TWO);
  g_autofree char *quoted = sql_quote (json);
  g_autofree char *values = g_strdup_printf ("%s, 'tool_calls'", quoted);
  gint64 question, assistant, result;

  question = insert_row (f, 0, "user", "Use the tools", "complete", NULL, NULL);
  assistant = insert_row (f, question, "assistant", "Let me look.", "complete",
                          "tool_calls, finish_reason", values);
  result = insert_row (f, assistant, "tool", "Echo: hé \"quoted\"", first_status,
                       "tool_call_id, tool_server, tool_name",
                       "'call_one', 'everything', 'echo'");
  insert_row (f, result, "tool", "5", "complete",
              "tool_call_id, tool_server, tool_name",
              "'call_two', 'everything', 'get-sum'");
  return assistant;
}

/* Records */

static void
test_records (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) path = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;
  RillMessage *assistant, *first, *second;
  GPtrArray *calls;
  const RillToolCall *call;

  insert_tool_step (f, "denied");
  path = rill_store_list_path (f->store, f->conversation_id, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (path->len, ==, 4);
  assistant = g_ptr_array_index (path, 1);
  first = g_ptr_array_index (path, 2);
  second = g_ptr_array_index (path, 3);

  stored = test_sql_text (f->path, "SELECT tool_calls FROM messages WHERE role = 'assistant'");
  g_assert_cmpstr (rill_message_get_tool_calls_json (assistant), ==, stored);
  calls = rill_message_get_tool_calls (assistant);
  g_assert_nonnull (calls);
  g_assert_cmpuint (calls->len, ==, 2);
  call = g_ptr_array_index (calls, 0);
  g_assert_cmpuint (call->index, ==, 0);
  g_assert_cmpstr (call->id, ==, "call_one");
  g_assert_cmpstr (call->name, ==, "echo");
  g_assert_cmpstr (call->arguments->str, ==, ARGS_ONE);
  call = g_ptr_array_index (calls, 1);
  g_assert_cmpuint (call->index, ==, 1);
  g_assert_cmpstr (call->id, ==, "call_two");
  g_assert_cmpstr (call->name, ==, "get-sum");
  g_assert_cmpstr (call->arguments->str, ==, ARGS_TWO);
  g_assert_null (rill_message_get_tool_call_id (assistant));

  g_assert_cmpint (rill_message_get_role (first), ==, RILL_ROLE_TOOL);
  g_assert_cmpint (rill_message_get_status (first), ==, RILL_STATUS_DENIED);
  g_assert_cmpstr (rill_message_get_tool_call_id (first), ==, "call_one");
  g_assert_cmpstr (rill_message_get_tool_server (first), ==, "everything");
  g_assert_cmpstr (rill_message_get_tool_name (first), ==, "echo");
  g_assert_null (rill_message_get_tool_calls (first));
  g_assert_null (rill_message_get_tool_calls_json (first));
  g_assert_cmpstr (rill_message_get_tool_call_id (second), ==, "call_two");
  g_assert_cmpstr (rill_message_get_tool_name (second), ==, "get-sum");

  /* The other readers fill them too. */
  {
    g_autoptr(RillMessage) again = rill_store_get_message (f->store,
                                                           rill_message_get_id (first), NULL);
    g_autoptr(GPtrArray) all = rill_store_list_messages (f->store, f->conversation_id, NULL);

    g_assert_cmpstr (rill_message_get_tool_server (again), ==, "everything");
    g_assert_cmpuint (all->len, ==, 4);
    g_assert_cmpstr (rill_message_get_tool_calls_json (g_ptr_array_index (all, 1)), ==, stored);
    g_assert_cmpstr (rill_message_get_tool_call_id (g_ptr_array_index (all, 3)), ==,
                     "call_two");
  }

  /* Written by another tool: arguments as an object, a call without an
   * id, something that is not a call, and JSON that is not an array. */
  {
    g_autoptr(GPtrArray) foreign =
      rill_tool_calls_from_json ("[{\"name\":\"x\",\"arguments\":{\"k\":[1,2]}}, 7,"
                                 " {\"id\":\"c\",\"name\":\"y\"}]");

    g_assert_cmpuint (foreign->len, ==, 2);
    call = g_ptr_array_index (foreign, 0);
    g_assert_null (call->id);
    g_assert_cmpstr (call->arguments->str, ==, "{\"k\":[1,2]}");
    call = g_ptr_array_index (foreign, 1);
    g_assert_cmpuint (call->index, ==, 1);
    g_assert_cmpstr (call->arguments->str, ==, "");
    g_assert_null (rill_tool_calls_from_json ("{\"id\":1}"));
    g_assert_null (rill_tool_calls_from_json ("not json"));
    g_assert_null (rill_tool_calls_to_json (NULL));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/tools-wire/" path, Fixture, NULL, setup, func, teardown)
  ADD ("records", test_records);
#undef ADD

  return g_test_run ();
}
