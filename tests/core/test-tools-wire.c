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

#include "rill-export.h"
#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"
#include "rill-toolbox.h"

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

static void
use_ollama (Fixture *f)
{
  g_clear_object (&f->provider);
  f->provider = rill_provider_new (RILL_PROVIDER_OLLAMA, rill_test_server_get_url (f->server),
                                   NULL);
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

/* The request */

typedef struct
{
  RillMcpTool     tools[2];
  RillOfferedTool offered[2];
  GPtrArray      *array;
} Offered;

static void
offered_init (Offered *o)
{
  memset (o, 0, sizeof *o);
  o->tools[0].name = (char *) "echo";
  o->tools[0].description = (char *) "Echoes back the input";
  o->tools[0].input_schema =
    json_from_string ("{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                      "\"required\":[\"message\"]}", NULL);
  o->tools[1].name = (char *) "get-sum";
  o->tools[1].title = (char *) "Sum";
  o->tools[1].input_schema = json_from_string ("{\"type\":\"object\"}", NULL);
  o->offered[0].server = (char *) "everything";
  o->offered[0].tool = &o->tools[0];
  o->offered[0].function_name = (char *) "echo";
  o->offered[1].server = (char *) "everything";
  o->offered[1].tool = &o->tools[1];
  o->offered[1].function_name = (char *) "everything__get-sum";
  o->array = g_ptr_array_new ();
  g_ptr_array_add (o->array, &o->offered[0]);
  g_ptr_array_add (o->array, &o->offered[1]);
}

static void
offered_clear (Offered *o)
{
  g_ptr_array_unref (o->array);
  json_node_unref (o->tools[0].input_schema);
  json_node_unref (o->tools[1].input_schema);
}

static void
on_finished (RillReply *reply, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* Sends @user_text (NULL: answers the conversation as it stands) with
 * @options and returns the request body the server received, parsed. */
static JsonNode *
send_reply (Fixture *f, const char *user_text, RillReplyOptions *options)
{
  const char *tokens[] = { "Done.", NULL };
  gboolean ollama = rill_provider_get_kind (f->provider) == RILL_PROVIDER_OLLAMA;
  const char *route = ollama ? OLLAMA_CHAT : CHAT;
  g_autofree char *body = ollama ? rill_test_ollama_ndjson (tokens, "test-model")
                                 : rill_test_openai_sse (tokens, "test-model", TRUE);
  RillTestScript *script = rill_test_script_new (200, ollama ? "application/x-ndjson"
                                                             : "text/event-stream");
  g_autoptr(RillReply) reply = NULL;
  gboolean finished = FALSE;
  JsonNode *root;

  rill_test_script_send (script, body, -1, 0);
  rill_test_server_route (f->server, route, script);
  g_free (options->model);
  options->model = g_strdup ("test-model");
  reply = rill_reply_new (f->store, f->provider, f->conversation_id, user_text, options);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &finished);
  rill_reply_start (reply);
  test_wait_for (&finished, WAIT_MS, "the reply to finish");
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  root = json_from_string (rill_test_server_get_request_body (f->server, route), NULL);
  g_assert_nonnull (root);
  return root;
}

static JsonArray *
sent_messages (JsonNode *root)
{
  return json_object_get_array_member (json_node_get_object (root), "messages");
}

/* Roles and contents of the messages sent, " | " between them. */
static char *
sent_outline (JsonNode *root)
{
  JsonArray *messages = sent_messages (root);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);

      g_string_append_printf (text, "%s%s:%s%s", i ? " | " : "",
                              json_object_get_string_member (message, "role"),
                              json_object_get_string_member (message, "content"),
                              json_object_has_member (message, "tool_calls") ? "+calls" : "");
    }
  return g_string_free (text, FALSE);
}

#define ASSERT_TEXT(expr, expected) \
  G_STMT_START { \
    g_autofree char *text_ = (expr); \
    g_assert_cmpstr (text_, ==, (expected)); \
  } G_STMT_END

static void
assert_tools_offered (JsonNode *root, Offered *o)
{
  JsonArray *tools = json_object_get_array_member (json_node_get_object (root), "tools");
  JsonObject *function;

  g_assert_nonnull (tools);
  g_assert_cmpuint (json_array_get_length (tools), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tools, 0),
                                                  "type"), ==, "function");
  function = json_object_get_object_member (json_array_get_object_element (tools, 0),
                                            "function");
  g_assert_cmpstr (json_object_get_string_member (function, "name"), ==, "echo");
  g_assert_cmpstr (json_object_get_string_member (function, "description"), ==,
                   "Echoes back the input");
  g_assert_true (json_node_equal (json_object_get_member (function, "parameters"),
                                  o->tools[0].input_schema));
  function = json_object_get_object_member (json_array_get_object_element (tools, 1),
                                            "function");
  /* The name the model sees, and the title when there is no description. */
  g_assert_cmpstr (json_object_get_string_member (function, "name"), ==,
                   "everything__get-sum");
  g_assert_cmpstr (json_object_get_string_member (function, "description"), ==, "Sum");
  g_assert_true (json_node_equal (json_object_get_member (function, "parameters"),
                                  o->tools[1].input_schema));
}

static void
test_request_openai (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) root = NULL;
  RillReplyOptions options;
  Offered o;
  JsonArray *messages, *calls;
  JsonObject *message, *call;

  offered_init (&o);
  insert_tool_step (f, "denied");
  rill_reply_options_init (&options);
  options.tools = g_ptr_array_ref (o.array);
  options.tool_result_max_bytes = 8;
  root = send_reply (f, "And now?", &options);
  rill_reply_options_clear (&options);
  g_assert_null (options.tools);

  assert_tools_offered (root, &o);
  /* The first result cut before the "é" its eighth byte is in. */
  ASSERT_TEXT (sent_outline (root),
               "user:Use the tools | assistant:Let me look.+calls"
               " | tool:Echo: h\n\n[The result was cut to 7 of its 18 bytes.] | tool:5"
               " | user:And now?");
  messages = sent_messages (root);
  message = json_array_get_object_element (messages, 1);
  calls = json_object_get_array_member (message, "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  call = json_array_get_object_element (calls, 0);
  g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_one");
  g_assert_cmpstr (json_object_get_string_member (call, "type"), ==, "function");
  call = json_object_get_object_member (call, "function");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "echo");
  g_assert_cmpstr (json_object_get_string_member (call, "arguments"), ==, ARGS_ONE);
  call = json_array_get_object_element (calls, 1);
  g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_two");
  call = json_object_get_object_member (call, "function");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "get-sum");
  g_assert_cmpstr (json_object_get_string_member (call, "arguments"), ==, ARGS_TWO);

  message = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (message, "tool_call_id"), ==, "call_one");
  g_assert_cmpuint (json_object_get_size (message), ==, 3);
  message = json_array_get_object_element (messages, 3);
  g_assert_cmpstr (json_object_get_string_member (message, "tool_call_id"), ==, "call_two");

  /* Without tools, no "tools", and the results whole. */
  json_node_unref (g_steal_pointer (&root));
  rill_reply_options_init (&options);
  root = send_reply (f, NULL, &options);
  rill_reply_options_clear (&options);
  g_assert_false (json_object_has_member (json_node_get_object (root), "tools"));
  ASSERT_TEXT (sent_outline (root),
               "user:Use the tools | assistant:Let me look.+calls | tool:Echo: hé \"quoted\""
               " | tool:5 | user:And now? | assistant:Done.");
  offered_clear (&o);
}

static void
test_request_ollama (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) expected_one = json_from_string (ARGS_ONE, NULL);
  g_autoptr(JsonNode) expected_two = json_from_string (ARGS_TWO, NULL);
  RillReplyOptions options;
  Offered o;
  JsonArray *messages, *calls;
  JsonObject *message, *call;

  use_ollama (f);
  offered_init (&o);
  insert_tool_step (f, "complete");
  rill_reply_options_init (&options);
  options.tools = g_ptr_array_ref (o.array);
  root = send_reply (f, "And now?", &options);
  rill_reply_options_clear (&options);

  assert_tools_offered (root, &o);
  ASSERT_TEXT (sent_outline (root),
               "user:Use the tools | assistant:Let me look.+calls | tool:Echo: hé \"quoted\""
               " | tool:5 | user:And now?");
  messages = sent_messages (root);
  calls = json_object_get_array_member (json_array_get_object_element (messages, 1),
                                        "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  call = json_object_get_object_member (json_array_get_object_element (calls, 0), "function");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "echo");
  /* An object, parsed from the text: the same values, members in order. */
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (call, "arguments")));
  g_assert_true (json_node_equal (json_object_get_member (call, "arguments"), expected_one));
  call = json_object_get_object_member (json_array_get_object_element (calls, 1), "function");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "get-sum");
  g_assert_true (json_node_equal (json_object_get_member (call, "arguments"), expected_two));

  message = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (message, "tool_name"), ==, "echo");
  g_assert_false (json_object_has_member (message, "tool_call_id"));
  message = json_array_get_object_element (messages, 3);
  g_assert_cmpstr (json_object_get_string_member (message, "tool_name"), ==, "get-sum");
  offered_clear (&o);
}

/* What an API would refuse is not sent: a call without its result, a
 * result without its call, a result still running. */
static void
test_request_pairs (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = calls_json ("call_a", "echo", "{\"message\": \"x\"}",
                                      NULL, "get-sum", "{\"a\": 1");
  g_autofree char *quoted = sql_quote (json);
  g_autofree char *values = g_strdup_printf ("%s", quoted);
  RillReplyOptions options;
  JsonArray *calls;
  gint64 question, assistant, result;

  question = insert_row (f, 0, "user", "Go", "complete", NULL, NULL);
  assistant = insert_row (f, question, "assistant", "", "complete", "tool_calls", values);
  /* The second call has no id and its result none either: paired by place. */
  result = insert_row (f, assistant, "tool", "x", "complete",
                       "tool_call_id, tool_server, tool_name",
                       "'call_a', 'everything', 'echo'");
  result = insert_row (f, result, "tool", "", "stopped", "tool_server, tool_name",
                       "'everything', 'get-sum'");
  rill_reply_options_init (&options);
  root = send_reply (f, "Again", &options);
  ASSERT_TEXT (sent_outline (root),
               "user:Go | assistant:+calls | tool:x"
               " | tool:[The call was stopped before it returned a result.] | user:Again");
  calls = json_object_get_array_member (json_array_get_object_element (sent_messages (root), 1),
                                        "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  {
    g_autofree char *made_up = g_strdup_printf ("call_%" G_GINT64_FORMAT "_1", assistant);
    JsonObject *second = json_array_get_object_element (calls, 1);

    g_assert_cmpstr (json_object_get_string_member (second, "id"), ==, made_up);
    g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (sent_messages (root), 3), "tool_call_id"),
                     ==, made_up);
    /* The argument text as stored, though it is not JSON. */
    g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (second, "function"), "arguments"),
                     ==, "{\"a\": 1");
  }
  json_node_unref (g_steal_pointer (&root));

  /* A reply stopped while it asked: text kept, calls not sent; a result
   * still running, and one for a call that is not there, are not sent. */
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&quoted, g_free);
  json = calls_json ("call_b", "echo", "{\"mess", NULL, NULL, NULL);
  quoted = sql_quote (json);
  question = insert_row (f, 0, "user", "Stop it", "complete", NULL, NULL);
  assistant = insert_row (f, question, "assistant", "Calling", "stopped", "tool_calls", quoted);
  question = insert_row (f, assistant, "user", "Once more", "complete", NULL, NULL);
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&quoted, g_free);
  json = calls_json ("call_c", "echo", "{}", "call_d", "echo", "{}");
  quoted = sql_quote (json);
  assistant = insert_row (f, question, "assistant", "", "complete", "tool_calls", quoted);
  result = insert_row (f, assistant, "tool", "c", "complete", "tool_call_id", "'call_c'");
  result = insert_row (f, result, "tool", "", "streaming", "tool_call_id", "'call_d'");
  result = insert_row (f, result, "tool", "z", "complete", "tool_call_id", "'call_z'");
  root = send_reply (f, NULL, &options);
  rill_reply_options_clear (&options);
  ASSERT_TEXT (sent_outline (root),
               "user:Stop it | assistant:Calling | user:Once more | assistant:+calls | tool:c");
  calls = json_object_get_array_member (json_array_get_object_element (sent_messages (root), 3),
                                        "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 0),
                                                  "id"), ==, "call_c");
}

/* The history limit never separates a result from its call. */
static void
test_request_limit (Fixture *f, gconstpointer data)
{
  RillReplyOptions options;
  gint64 first, last = 0;
  const char *expected[] = {
    /* 1, 2: the person's message only: the rows before it are a step cut
     * in two, skipped (starting later). */
    "user:And now?",
    "user:And now?",
    "user:And now?",
    "user:And now?",
    /* 5: the whole step fits. */
    "user:Use the tools | assistant:Let me look.+calls | tool:Echo: hé \"quoted\" | tool:5"
    " | user:And now?",
  };

  first = insert_row (f, 0, "user", "First", "complete", NULL, NULL);
  first = insert_row (f, first, "assistant", "Answer", "complete", NULL, NULL);
  /* insert_tool_step starts a new first message: follow the answer. */
  {
    g_autofree char *json = calls_json ("call_one", "echo", ARGS_ONE, "call_two", "get-sum",
                                        ARGS_TWO);
    g_autofree char *quoted = sql_quote (json);
    gint64 question, assistant, result;

    question = insert_row (f, first, "user", "Use the tools", "complete", NULL, NULL);
    assistant = insert_row (f, question, "assistant", "Let me look.", "complete", "tool_calls",
                            quoted);
    result = insert_row (f, assistant, "tool", "Echo: hé \"quoted\"", "complete",
                         "tool_call_id", "'call_one'");
    last = insert_row (f, result, "tool", "5", "complete", "tool_call_id", "'call_two'");
  }

  for (guint limit = 1; limit <= G_N_ELEMENTS (expected); limit++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(GArray) versions = NULL;
      gint64 reply_id, question_id;
      g_autofree char *sql = NULL;
      g_autofree char *max = NULL;

      rill_reply_options_init (&options);
      options.history_limit = limit;
      root = send_reply (f, "And now?", &options);
      rill_reply_options_clear (&options);
      ASSERT_TEXT (sent_outline (root), expected[limit - 1]);
      /* Back to the step's end for the next round: the new question and
       * its answer hidden by erasing them. */
      max = test_sql_text (f->path, "SELECT max(id) - 1 FROM messages");
      question_id = g_ascii_strtoll (max, NULL, 10);
      reply_id = question_id + 1;
      sql = g_strdup_printf ("DELETE FROM messages WHERE id IN (%" G_GINT64_FORMAT ", %"
                             G_GINT64_FORMAT "); UPDATE conversations SET shown_message_id = %"
                             G_GINT64_FORMAT, reply_id, question_id, last);
      test_sql_exec (f->path, sql);
    }

  /* A loop longer than the limit goes from the question that began it
   * (starting earlier): its results answer calls the model must see. */
  {
    g_autoptr(JsonNode) root = NULL;

    rill_reply_options_init (&options);
    options.history_limit = 2;
    root = send_reply (f, NULL, &options);
    rill_reply_options_clear (&options);
    ASSERT_TEXT (sent_outline (root),
                 "user:Use the tools | assistant:Let me look.+calls"
                 " | tool:Echo: hé \"quoted\" | tool:5");
  }
}

/* Reading calls */

/* A string as a JSON value. */
static char *
json_quoted (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return json_to_string (node, FALSE);
}

static void
add_openai_event (GString *sse, const char *delta, const char *finish_reason)
{
  g_string_append_printf (sse, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":%s,"
                          "\"finish_reason\":%s}]}\n\n",
                          delta, finish_reason ? finish_reason : "null");
}

static void
add_openai_arguments (GString *sse, guint index, const char *fragment)
{
  g_autofree char *quoted = json_quoted (fragment);
  g_autofree char *delta = g_strdup_printf ("{\"tool_calls\":[{\"index\":%u,\"function\":"
                                            "{\"arguments\":%s}}]}", index, quoted);

  add_openai_event (sse, delta, NULL);
}

/* Text, then echo and get-sum with their arguments in fragments. With
 * @gate, a gate named "mid-call" in the middle of get-sum's arguments
 * (after "{\"a\":"), and what follows it in @rest. */
static char *
openai_tool_stream (char **rest)
{
  GString *sse = g_string_new (NULL);
  GString *after = g_string_new (NULL);

  add_openai_event (sse, "{\"role\":\"assistant\",\"content\":\"Let me check. \"}", NULL);
  add_openai_event (sse, "{\"content\":\"Both.\"}", NULL);
  add_openai_event (sse, "{\"tool_calls\":[{\"index\":0,\"id\":\"call_A\",\"type\":\"function\","
                    "\"function\":{\"name\":\"echo\",\"arguments\":\"\"}}]}", NULL);
  /* ARGS_ONE in three pieces, one of them cutting the escaped quote. */
  add_openai_arguments (sse, 0, "{\"message\": \"h\\u00e9 \\");
  add_openai_arguments (sse, 0, "\"quoted\\\"\" , \"z\":1,");
  add_openai_arguments (sse, 0, "\"a\":[2, 3]}");
  add_openai_event (sse, "{\"tool_calls\":[{\"index\":1,\"id\":\"call_B\",\"type\":\"function\","
                    "\"function\":{\"name\":\"get-sum\",\"arguments\":\"{\\\"a\\\":\"}}]}", NULL);
  add_openai_arguments (after, 1, "  2,\"b\":");
  add_openai_arguments (after, 1, "3}");
  add_openai_event (after, "{}", "\"tool_calls\"");
  g_string_append (after, "data: [DONE]\n\n");
  if (rest != NULL)
    {
      *rest = g_string_free (after, FALSE);
      return g_string_free (sse, FALSE);
    }
  g_string_append_len (sse, after->str, after->len);
  g_string_free (after, TRUE);
  return g_string_free (sse, FALSE);
}

#define OLLAMA_ARGS_ONE "{\"message\":\"h\\u00e9 \\\"quoted\\\"\",\"z\":1,\"a\":[2,3]}"

static char *
ollama_tool_stream (void)
{
  return g_strconcat ("{\"model\":\"test-model\",\"message\":{\"role\":\"assistant\","
                      "\"content\":\"Let me check. \"},\"done\":false}\n"
                      "{\"model\":\"test-model\",\"message\":{\"role\":\"assistant\","
                      "\"content\":\"Both.\"},\"done\":false}\n"
                      "{\"model\":\"test-model\",\"message\":{\"role\":\"assistant\","
                      "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"echo\","
                      "\"arguments\":" OLLAMA_ARGS_ONE "}},{\"function\":{\"name\":\"get-sum\","
                      "\"arguments\":{\"a\":2,\"b\":3}}}]},\"done\":false}\n"
                      "{\"model\":\"test-model\",\"message\":{\"role\":\"assistant\","
                      "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n", NULL);
}

typedef struct
{
  const char *id;
  const char *name;
  const char *arguments;
} ExpectedCall;

static void
assert_calls (GPtrArray *calls, const ExpectedCall *expected, guint n)
{
  g_assert_nonnull (calls);
  g_assert_cmpuint (calls->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      const RillToolCall *call = g_ptr_array_index (calls, i);

      g_assert_cmpstr (call->id, ==, expected[i].id);
      g_assert_cmpstr (call->name, ==, expected[i].name);
      /* Byte for byte, length included. */
      g_assert_cmpuint (call->arguments->len, ==, strlen (expected[i].arguments));
      g_assert_cmpstr (call->arguments->str, ==, expected[i].arguments);
    }
}

static char *
stored_of (Fixture *f, const char *column, gint64 message_id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT,
                                          column, message_id);

  return test_sql_try_text (f->path, sql);
}

static RillReply *
start_reply (Fixture *f, const char *route, RillTestScript *script, gboolean *finished)
{
  RillReplyOptions options;
  RillReply *reply;

  rill_test_server_route (f->server, route, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("test-model");
  reply = rill_reply_new (f->store, f->provider, f->conversation_id, "Use the tools", &options);
  rill_reply_options_clear (&options);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), finished);
  rill_reply_start (reply);
  return reply;
}

/* The whole stream a byte per network write, so that every boundary of
 * the body is one the client reads across. */
static void
check_reply_calls (Fixture *f, gboolean ollama)
{
  g_autofree char *body = ollama ? ollama_tool_stream () : openai_tool_stream (NULL);
  g_autofree char *args_one = NULL;
  RillTestScript *script = rill_test_script_new (200, ollama ? "application/x-ndjson"
                                                             : "text/event-stream");
  g_autoptr(RillReply) reply = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(GPtrArray) stored_calls = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *finish_reason = NULL;
  g_autofree char *pieces = NULL;
  gboolean finished = FALSE;
  gint64 id;

  if (ollama)
    {
      /* Ollama's arguments are an object, kept as json-glib writes it. */
      g_autoptr(JsonNode) node = json_from_string (OLLAMA_ARGS_ONE, NULL);

      args_one = json_to_string (node, FALSE);
    }
  else
    args_one = g_strdup (ARGS_ONE);

  {
    const ExpectedCall expected[] = {
      { ollama ? NULL : "call_A", "echo", args_one },
      { ollama ? NULL : "call_B", "get-sum", ollama ? "{\"a\":2,\"b\":3}" : ARGS_TWO },
    };

    rill_test_script_send (script, body, -1, 1);
    reply = start_reply (f, ollama ? OLLAMA_CHAT : CHAT, script, &finished);
    test_wait_for (&finished, WAIT_MS, "the reply to finish");
    g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
    assert_calls (rill_reply_get_tool_calls (reply), expected, 2);

    id = rill_reply_get_message_id (reply);
    stored = stored_of (f, "tool_calls", id);
    stored_calls = rill_tool_calls_from_json (stored);
    assert_calls (stored_calls, expected, 2);
    message = rill_store_get_message (f->store, id, NULL);
    assert_calls (rill_message_get_tool_calls (message), expected, 2);
  }
  g_assert_cmpstr (rill_message_get_content (message), ==, "Let me check. Both.");
  finish_reason = stored_of (f, "finish_reason", id);
  g_assert_cmpstr (finish_reason, ==, ollama ? "stop" : "tool_calls");
  /* The checkpoints took no pieces of calls: none is left. */
  pieces = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (pieces, ==, "0");
}

static void
test_reply_openai (Fixture *f, gconstpointer data)
{
  check_reply_calls (f, FALSE);
}

static void
test_reply_ollama (Fixture *f, gconstpointer data)
{
  use_ollama (f);
  check_reply_calls (f, TRUE);
}

typedef struct
{
  Fixture    *f;
  gint64      id;
  const char *expected;
} StoredCalls;

static gboolean
stored_calls_are (gpointer data)
{
  StoredCalls *w = data;
  g_autofree char *stored = stored_of (w->f, "tool_calls", w->id);

  return g_strcmp0 (stored, w->expected) == 0;
}

static gboolean
reply_started (gpointer data)
{
  return rill_reply_get_message_id (data) != 0;
}

/* A checkpoint holds the calls so far, the second one's arguments cut
 * where the stream stopped; Stop keeps them so, status stopped. */
static void
test_reply_stop_mid_call (Fixture *f, gconstpointer data)
{
  g_autofree char *rest = NULL;
  g_autofree char *body = openai_tool_stream (&rest);
  g_autofree char *partial = calls_json ("call_A", "echo", ARGS_ONE,
                                         "call_B", "get-sum", "{\"a\":");
  g_autofree char *status = NULL;
  g_autofree char *stored = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillReply) reply = NULL;
  gboolean finished = FALSE;
  StoredCalls w = { f, 0, partial };
  const ExpectedCall expected[] = {
    { "call_A", "echo", ARGS_ONE },
    { "call_B", "get-sum", "{\"a\":" },
  };

  rill_test_script_send (script, body, -1, 7);
  rill_test_script_gate (script, "mid-call");
  rill_test_script_send (script, rest, -1, 0);
  reply = start_reply (f, CHAT, script, &finished);
  test_wait_until (reply_started, reply, WAIT_MS, "the reply to start");
  w.id = rill_reply_get_message_id (reply);
  test_wait_until (stored_calls_are, &w, WAIT_MS, "a checkpoint with the calls so far");
  /* A checkpoint: the row still streams. */
  status = stored_of (f, "status", w.id);
  g_assert_cmpstr (status, ==, "streaming");
  g_assert_false (finished);

  rill_reply_stop (reply);
  test_wait_for (&finished, WAIT_MS, "the reply to finish");
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_STOPPED);
  assert_calls (rill_reply_get_tool_calls (reply), expected, 2);
  g_clear_pointer (&status, g_free);
  status = stored_of (f, "status", w.id);
  g_assert_cmpstr (status, ==, "stopped");
  stored = stored_of (f, "tool_calls", w.id);
  g_assert_cmpstr (stored, ==, partial);
  rill_test_server_open_gate (f->server, "mid-call");
}

/* Recovery */

/* A crash while the second of two tools ran: its row, left streaming, is
 * interrupted at the next open like a reply, keeping what it had (its
 * pieces folded into its own content, nobody else's); the rows around it
 * are untouched, and the conversation goes on with the call answered. */
static void
test_recovery (Fixture *f, gconstpointer data)
{
  g_autofree char *json = calls_json ("call_one", "echo", ARGS_ONE,
                                      "call_two", "get-sum", ARGS_TWO);
  g_autofree char *quoted = sql_quote (json);
  g_autofree char *sql = NULL;
  g_autoptr(GPtrArray) path = NULL;
  g_autoptr(JsonNode) root = NULL;
  RillReplyOptions options;
  RillMessage *assistant, *first, *second;
  gint64 question, assistant_id, first_id, second_id;

  question = insert_row (f, 0, "user", "Use the tools", "complete", NULL, NULL);
  assistant_id = insert_row (f, question, "assistant", "", "complete", "tool_calls", quoted);
  first_id = insert_row (f, assistant_id, "tool", "Echo", "complete",
                         "tool_call_id, tool_server, tool_name",
                         "'call_one', 'everything', 'echo'");
  second_id = insert_row (f, first_id, "tool", "", "streaming",
                          "tool_call_id, tool_server, tool_name",
                          "'call_two', 'everything', 'get-sum'");
  sql = g_strdup_printf ("INSERT INTO message_pieces (message_id, seq, content, reasoning)"
                         " VALUES (%" G_GINT64_FORMAT ", 0, 'so far', '')", second_id);
  test_sql_exec (f->path, sql);

  /* As a crash leaves it: the store closed, then opened again. */
  test_store_close (g_steal_pointer (&f->store));
  f->store = test_store_open (f->path);
  g_assert_cmpuint (rill_store_get_n_recovered (f->store), ==, 1);

  path = rill_store_list_path (f->store, f->conversation_id, 0, NULL);
  g_assert_cmpuint (path->len, ==, 4);
  assistant = g_ptr_array_index (path, 1);
  first = g_ptr_array_index (path, 2);
  second = g_ptr_array_index (path, 3);
  g_assert_cmpint (rill_message_get_status (assistant), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_message_get_tool_calls_json (assistant), ==, json);
  g_assert_cmpstr (rill_message_get_content (assistant), ==, "");
  g_assert_cmpint (rill_message_get_status (first), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_message_get_content (first), ==, "Echo");
  g_assert_cmpint (rill_message_get_status (second), ==, RILL_STATUS_INTERRUPTED);
  g_assert_cmpint (rill_message_get_role (second), ==, RILL_ROLE_TOOL);
  g_assert_cmpstr (rill_message_get_content (second), ==, "so far");
  g_assert_cmpstr (rill_message_get_tool_call_id (second), ==, "call_two");
  g_assert_cmpstr (rill_message_get_tool_name (second), ==, "get-sum");
  g_assert_cmpint (rill_message_get_finished_at (second), >, 0);

  /* Continue: both calls go with their results. */
  rill_reply_options_init (&options);
  root = send_reply (f, NULL, &options);
  rill_reply_options_clear (&options);
  ASSERT_TEXT (sent_outline (root), "user:Use the tools | assistant:+calls | tool:Echo"
               " | tool:so far");
}

/* Export and search */

static void
test_export (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) path = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) stored_calls = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *json = NULL;
  g_autofree char *markdown = NULL;
  JsonArray *messages, *calls;
  JsonObject *message;

  insert_tool_step (f, "denied");
  /* A result holding a fence of its own. */
  test_sql_exec (f->path, "UPDATE messages SET content = 'x' || char(10) || '```'"
                 " || char(10) || 'y' WHERE tool_call_id = 'call_two'");
  conversation = rill_store_get_conversation (f->store, f->conversation_id, NULL);
  path = rill_store_list_path (f->store, f->conversation_id, 0, NULL);
  g_assert_cmpuint (path->len, ==, 4);

  /* JSON: everything, the calls as the array stored, byte for byte. */
  json = rill_export_json (conversation, path);
  root = json_from_string (json, NULL);
  messages = json_object_get_array_member (json_node_get_object (root), "messages");
  message = json_array_get_object_element (messages, 1);
  stored = test_sql_text (f->path, "SELECT tool_calls FROM messages WHERE role = 'assistant'");
  stored_calls = json_from_string (stored, NULL);
  g_assert_true (json_node_equal (json_object_get_member (message, "tool_calls"),
                                  stored_calls));
  calls = json_object_get_array_member (message, "tool_calls");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 0),
                                                  "arguments"), ==, ARGS_ONE);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 1),
                                                  "arguments"), ==, ARGS_TWO);
  g_assert_false (json_object_has_member (message, "tool_call_id"));
  message = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (message, "status"), ==, "denied");
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==,
                   "Echo: hé \"quoted\"");
  g_assert_cmpstr (json_object_get_string_member (message, "tool_call_id"), ==, "call_one");
  g_assert_cmpstr (json_object_get_string_member (message, "tool_server"), ==, "everything");
  g_assert_cmpstr (json_object_get_string_member (message, "tool_name"), ==, "echo");
  g_assert_false (json_object_has_member (message, "tool_calls"));
  message = json_array_get_object_element (messages, 3);
  g_assert_cmpstr (json_object_get_string_member (message, "tool_call_id"), ==, "call_two");
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==, "x\n```\ny");

  /* Markdown: the calls and the results as collapsed blocks. */
  markdown = rill_export_markdown (conversation, path);
  g_assert_nonnull (strstr (markdown,
                            "Let me look.\n\n"
                            "<details><summary>Tool call echo</summary>\n\n"
                            "```json\n" ARGS_ONE "\n```\n\n</details>\n\n"
                            "<details><summary>Tool call get-sum</summary>\n\n"
                            "```json\n" ARGS_TWO "\n```\n\n</details>\n\n"
                            "<details><summary>Tool echo (everything): denied</summary>\n\n"
                            "```\nEcho: hé \"quoted\"\n```\n\n</details>\n\n"
                            "<details><summary>Tool get-sum (everything): complete</summary>\n\n"
                            "````\nx\n```\ny\n````\n\n</details>\n\n"));
  /* A tool's result has no heading of its own. */
  g_assert_null (strstr (markdown, "## Assistant\n\nEcho"));
}

static void
test_search (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GPtrArray) path = NULL;
  RillMessage *hit;
  gint64 assistant, running;
  gboolean on_path = FALSE;

  assistant = insert_tool_step (f, "complete");
  hits = rill_store_search (f->store, "quoted", 10, NULL);
  g_assert_nonnull (hits);
  g_assert_cmpuint (hits->len, ==, 1);
  hit = g_ptr_array_index (hits, 0);
  g_assert_cmpint (rill_message_get_role (hit), ==, RILL_ROLE_TOOL);
  g_assert_cmpint (rill_message_get_conversation_id (hit), ==, f->conversation_id);
  g_assert_cmpint (rill_message_get_parent_id (hit), ==, assistant);

  /* Another version of the step shown; opening at the hit shows the path
   * that holds it. */
  insert_row (f, 0, "user", "Something else", "complete", NULL, NULL);
  path = rill_store_list_path (f->store, f->conversation_id, rill_message_get_id (hit), NULL);
  g_assert_cmpuint (path->len, ==, 4);
  for (guint i = 0; i < path->len; i++)
    on_path |= rill_message_get_id (g_ptr_array_index (path, i)) == rill_message_get_id (hit);
  g_assert_true (on_path);
  g_assert_cmpint (rill_message_get_id (g_ptr_array_index (path, 1)), ==, assistant);

  /* A result still running is not found until it is final. */
  running = insert_row (f, 0, "tool", "zanzibar", "streaming", "tool_call_id", "'x'");
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = rill_store_search (f->store, "zanzibar", 10, NULL);
  g_assert_cmpuint (hits->len, ==, 0);
  {
    g_autofree char *sql = g_strdup_printf ("UPDATE messages SET status = 'failed'"
                                            " WHERE id = %" G_GINT64_FORMAT, running);

    test_sql_exec (f->path, sql);
  }
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = rill_store_search (f->store, "zanzibar", 10, NULL);
  g_assert_cmpuint (hits->len, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/tools-wire/" path, Fixture, NULL, setup, func, teardown)
  ADD ("records", test_records);
  ADD ("request-openai", test_request_openai);
  ADD ("request-ollama", test_request_ollama);
  ADD ("request-pairs", test_request_pairs);
  ADD ("request-limit", test_request_limit);
  ADD ("reply-openai", test_reply_openai);
  ADD ("reply-ollama", test_reply_ollama);
  ADD ("reply-stop-mid-call", test_reply_stop_mid_call);
  ADD ("recovery", test_recovery);
  ADD ("export", test_export);
  ADD ("search", test_search);
#undef ADD

  return g_test_run ();
}
