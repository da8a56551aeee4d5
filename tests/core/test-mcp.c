/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-mcp.c: the MCP client against real servers, and mcp.json.
 *
 * The reference server @modelcontextprotocol/server-everything (from npm,
 * installed into the build tree by `ninja mcp-server`), over stdio and over
 * Streamable HTTP: its tools listed, echo and get-sum compared exactly, a
 * long operation with progress stopped halfway, the tiny image decoded. A
 * scripted server (mcp-fake-server.py) shows what the reference one does
 * not: pages, a ping, a list that changes, errors, what a cancellation
 * sent, and programs that exit mid-call, print garbage, never answer or
 * will not stop. mcp.json is read, written back with what Rill does not
 * know, refused when broken, and followed through its monitor. Every wait
 * is on an event; the deadlines only guard against hangs. */

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "rill-mcp-client.h"
#include "rill-mcp-config.h"
#include "rill-test-support.h"

#define WAIT_MS 30000

/* A keyring in memory */

#define TEST_TYPE_KEYRING (test_keyring_get_type ())
G_DECLARE_FINAL_TYPE (TestKeyring, test_keyring, TEST, KEYRING, GObject)

struct _TestKeyring
{
  GObject     parent_instance;
  GHashTable *keys;
  guint       lookups;
};

static void test_keyring_iface_init (RillKeyringInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestKeyring, test_keyring, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (RILL_TYPE_KEYRING, test_keyring_iface_init))

static void
test_keyring_lookup_key_async (RillKeyring         *keyring,
                               const char          *server_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  TestKeyring *self = TEST_KEYRING (keyring);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  self->lookups++;
  g_task_return_pointer (task, g_strdup (g_hash_table_lookup (self->keys, server_id)), g_free);
}

static char *
test_keyring_lookup_key_finish (RillKeyring   *keyring,
                                GAsyncResult  *result,
                                GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_keyring_iface_init (RillKeyringInterface *iface)
{
  iface->lookup_key_async = test_keyring_lookup_key_async;
  iface->lookup_key_finish = test_keyring_lookup_key_finish;
}

static void
test_keyring_finalize (GObject *object)
{
  g_hash_table_unref (TEST_KEYRING (object)->keys);
  G_OBJECT_CLASS (test_keyring_parent_class)->finalize (object);
}

static void
test_keyring_class_init (TestKeyringClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_keyring_finalize;
}

static void
test_keyring_init (TestKeyring *self)
{
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static TestKeyring *
test_keyring_new (const char *id, const char *secret)
{
  TestKeyring *self = g_object_new (TEST_TYPE_KEYRING, NULL);

  g_hash_table_insert (self->keys, g_strdup (id), g_strdup (secret));
  return self;
}

/* Waiting for the client */

static RillMcpResult *
call_tool (RillMcpClient  *client,
           const char     *tool,
           const char     *arguments_json,
           GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) arguments = arguments_json ? json_from_string (arguments_json, NULL) : NULL;

  rill_mcp_client_call_tool_async (client, tool,
                                   arguments ? json_node_get_object (arguments) : NULL, NULL,
                                   NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, tool);
  return rill_mcp_client_call_tool_finish (client, result, error);
}

static char *
call_text (RillMcpClient *client,
           const char    *tool,
           const char    *arguments_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMcpResult) result = call_tool (client, tool, arguments_json, &error);

  g_assert_no_error (error);
  g_assert_false (result->is_error);
  return rill_mcp_result_get_text (result);
}

static GPtrArray *
list_tools (RillMcpClient *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *tools;

  rill_mcp_client_list_tools_async (client, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "tools/list");
  tools = rill_mcp_client_list_tools_finish (client, result, &error);
  g_assert_no_error (error);
  return tools;
}

static char *
tool_names (GPtrArray *tools)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < tools->len; i++)
    {
      RillMcpTool *tool = g_ptr_array_index (tools, i);

      g_string_append_printf (names, "%s%s", i ? " " : "", tool->name);
    }
  return g_string_free (names, FALSE);
}

static RillMcpTool *
find_tool (GPtrArray *tools, const char *name)
{
  for (guint i = 0; i < tools->len; i++)
    {
      RillMcpTool *tool = g_ptr_array_index (tools, i);

      if (g_str_equal (tool->name, name))
        return tool;
    }
  return NULL;
}

static void
stop_client (RillMcpClient *client, guint timeout_ms)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_mcp_client_stop_async (client, timeout_ms, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the stop");
  g_assert_true (rill_mcp_client_stop_finish (client, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_STOPPED);
}

typedef struct
{
  GPtrArray *lines;  /* "call-id progress/total message" */
  guint      count;
} Progress;

static void
progress_cb (RillMcpClient *client,
             const char    *call_id,
             double         progress,
             double         total,
             const char    *message,
             Progress      *seen)
{
  g_ptr_array_add (seen->lines, g_strdup_printf ("%s %g/%g %s", call_id, progress, total,
                                                 message ? message : "-"));
  seen->count++;
}

static gboolean
seen_three (gpointer data)
{
  return ((Progress *) data)->count >= 3;
}

static RillMcpClient *
fake_client (const char *mode, RillKeyring *keyring)
{
  const char *args[] = { MCP_FAKE_SERVER, mode, NULL };
  g_autoptr(RillMcpServer) server = rill_mcp_server_new_stdio ("fake", "python3", args, NULL);

  return rill_mcp_client_new (server, keyring);
}

/* The scripted server */

/* Two pages of tools, in order; the server's ping answered; the state
 * walks stopped → starting → ready. */
static void
test_fake_pages_and_ping (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autofree char *names = NULL;
  g_autofree char *pong = NULL;
  RillMcpTool *tool;

  if (!test_have_python ())
    return;
  client = fake_client ("normal", NULL);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_STOPPED);
  g_assert_cmpuint (rill_mcp_client_get_tools (client)->len, ==, 0);

  tools = list_tools (client);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_READY);
  names = tool_names (tools);
  g_assert_cmpstr (names, ==, "pong-seen slow cancelled change fail tool-error exit");
  g_assert_cmpuint (rill_mcp_client_get_tools (client)->len, ==, 7);
  tool = find_tool (tools, "slow");
  g_assert_cmpstr (tool->description, ==, "the slow tool");
  g_assert_null (tool->title);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (tool->input_schema));

  /* The server pinged before its first page; the answer is what it saw. */
  pong = call_text (client, "pong-seen", NULL);
  g_assert_cmpstr (pong, ==, "{\"jsonrpc\": \"2.0\", \"id\": \"srv-1\", \"result\": {}}");
  stop_client (client, 5000);
}

/* A JSON-RPC error is a GError with the server's words; a tool's own
 * failure is a result with isError and its structured content. */
static void
test_fake_errors (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(RillMcpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *structured = NULL;

  if (!test_have_python ())
    return;
  client = fake_client ("normal", NULL);
  result = call_tool (client, "fail", "{}", &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "MCP server “fake”: the tool broke");
  g_clear_error (&error);

  result = call_tool (client, "tool-error", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (result->is_error);
  text = rill_mcp_result_get_text (result);
  g_assert_cmpstr (text, ==, "no such file");
  structured = json_to_string (result->structured_content, FALSE);
  g_assert_cmpstr (structured, ==, "{\"code\":2}");
  stop_client (client, 5000);
}

static void
count_cb (gpointer instance, guint *count)
{
  (*count)++;
}

static gboolean
counted (gpointer data)
{
  return *(guint *) data > 0;
}

static gboolean
counted_twice (gpointer data)
{
  return *(guint *) data >= 2;
}

/* notifications/tools/list_changed: the tools are listed again, and
 * "tools-changed" says so. */
static void
test_fake_list_changed (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autofree char *text = NULL;
  guint changed = 0;

  if (!test_have_python ())
    return;
  client = fake_client ("normal", NULL);
  tools = list_tools (client);
  g_assert_null (find_tool (tools, "added"));
  g_signal_connect (client, "tools-changed", G_CALLBACK (count_cb), &changed);
  text = call_text (client, "change", NULL);
  g_assert_cmpstr (text, ==, "changed");
  test_wait_until (counted, &changed, WAIT_MS, "the tools listed again");
  g_assert_nonnull (find_tool (rill_mcp_client_get_tools (client), "added"));
  g_assert_cmpuint (rill_mcp_client_get_tools (client)->len, ==, 8);
  stop_client (client, 5000);
}

/* Stopped while it runs: progress was seen under the caller's call id,
 * then notifications/cancelled went out with the call's request id, and
 * the call ended as cancelled at once. */
static void
test_fake_cancel (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RillMcpResult) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) told = NULL;
  g_autofree char *text = NULL;
  Progress seen = { g_ptr_array_new_with_free_func (g_free), 0 };
  JsonObject *cancelled;

  if (!test_have_python ())
    return;
  client = fake_client ("normal", NULL);
  g_signal_connect (client, "progress", G_CALLBACK (progress_cb), &seen);
  rill_mcp_client_call_tool_async (client, "slow", NULL, "call-7", cancellable,
                                   test_async_result_cb, &result);
  test_wait_until (seen_three, &seen, WAIT_MS, "three progress notifications");
  g_assert_cmpstr (g_ptr_array_index (seen.lines, 0), ==, "call-7 1/1000 step 1");
  g_assert_cmpstr (g_ptr_array_index (seen.lines, 2), ==, "call-7 3/1000 step 3");
  g_cancellable_cancel (cancellable);
  test_wait_result (&result, WAIT_MS, "the cancelled call");
  answer = rill_mcp_client_call_tool_finish (client, result, &error);
  g_assert_null (answer);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* What the server was told, asked on the same connection. */
  text = call_text (client, "cancelled", NULL);
  told = json_from_string (text, NULL);
  cancelled = json_object_get_object_member (json_node_get_object (told), "cancelled");
  g_assert_nonnull (cancelled);
  g_assert_cmpint (json_object_get_int_member (cancelled, "requestId"), ==,
                   json_object_get_int_member (json_node_get_object (told), "slow_id"));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (told), "token"), ==,
                   "call-7");
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_READY);
  g_ptr_array_unref (seen.lines);
  stop_client (client, 5000);
}

/* A server that exits mid-call: that call and every other pending one fail
 * with its name, its status and its last lines on stderr; the next call
 * starts it again. */
static void
test_fake_exit_mid_call (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GAsyncResult) slow_result = NULL;
  g_autoptr(RillMcpResult) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) slow_error = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  const char *expected = "MCP server “fake” exited with status 3.\n"
                         "Its last lines on stderr:\n"
                         "fake MCP server, mode normal\n"
                         "fatal: out of cheese\n"
                         "giving up";

  if (!test_have_python ())
    return;
  client = fake_client ("normal", NULL);
  rill_mcp_client_call_tool_async (client, "slow", NULL, NULL, NULL,
                                   test_async_result_cb, &slow_result);
  answer = call_tool (client, "exit", NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_FAILED);
  g_assert_cmpstr (rill_mcp_client_get_failure (client), ==, expected);

  test_wait_result (&slow_result, WAIT_MS, "the other call");
  g_assert_null (rill_mcp_client_call_tool_finish (client, slow_result, &slow_error));
  g_assert_cmpstr (slow_error->message, ==, expected);

  tools = list_tools (client);
  g_assert_cmpuint (tools->len, ==, 7);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_READY);
  g_assert_null (rill_mcp_client_get_failure (client));
  stop_client (client, 5000);
}

static void
start_expecting_failure (RillMcpClient *client,
                         const char    *expected)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_mcp_client_start_async (client, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the failed start");
  g_assert_false (rill_mcp_client_start_finish (client, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpstr (rill_mcp_client_get_failure (client), ==, expected);
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_FAILED);
}

/* A banner on stdout instead of an answer, then an exit: both said. */
static void
test_fake_garbage (void)
{
  g_autoptr(RillMcpClient) client = NULL;

  if (!test_have_python ())
    return;
  client = fake_client ("garbage-exit", NULL);
  start_expecting_failure (client,
                           "MCP server “fake” exited with status 1.\n"
                           "It wrote something other than JSON: Welcome to the server!\n"
                           "Its last lines on stderr:\n"
                           "stderr line 1\n"
                           "stderr line 2");
}

/* Never answers initialize: the start fails when its time is up (the
 * time is what is tested here), and the program is killed. */
static void
test_fake_silent (void)
{
  g_autoptr(RillMcpClient) client = NULL;

  if (!test_have_python ())
    return;
  client = fake_client ("silent", NULL);
  /* Long enough for Python to start and say so on stderr even on a loaded
   * machine (at 300 ms that line was sometimes not there yet). */
  rill_mcp_client_set_start_timeout (client, 3000);
  start_expecting_failure (client,
                           "MCP server “fake” did not answer within 3 seconds.\n"
                           "Its last lines on stderr:\n"
                           "fake MCP server, mode silent");
}

static void
test_fake_not_found (void)
{
  const char *args[] = { "--flag", NULL };
  g_autoptr(RillMcpServer) server = rill_mcp_server_new_stdio ("nowhere",
                                                               "/nonexistent/mcp-server",
                                                               args, NULL);
  g_autoptr(RillMcpClient) client = rill_mcp_client_new (server, NULL);

  start_expecting_failure (client,
                           "MCP server “nowhere” could not be started: Failed to execute "
                           "child process “/nonexistent/mcp-server” (No such file or directory)");
}

/* A program that ignores the end of its stdin and SIGTERM is killed after
 * two waits; a call still pending fails at once with words. */
static void
test_fake_stop_stubborn (void)
{
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GAsyncResult) slow_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  Progress seen = { g_ptr_array_new_with_free_func (g_free), 0 };
  gint64 start, elapsed_ms;

  if (!test_have_python ())
    return;
  client = fake_client ("stubborn", NULL);
  tools = list_tools (client);
  g_signal_connect (client, "progress", G_CALLBACK (progress_cb), &seen);
  rill_mcp_client_call_tool_async (client, "slow", NULL, NULL, NULL,
                                   test_async_result_cb, &slow_result);
  /* Under way: the server has the call. Without a call id it is named by
   * its request id, the fourth (initialize, two pages, then the call). */
  test_wait_until (seen_three, &seen, WAIT_MS, "progress");
  g_assert_cmpstr (g_ptr_array_index (seen.lines, 0), ==, "4 1/1000 step 1");
  g_ptr_array_unref (seen.lines);
  start = g_get_monotonic_time ();
  stop_client (client, 200);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (elapsed_ms, >=, 400);
  g_assert_cmpint (elapsed_ms, <, 5000);

  test_wait_result (&slow_result, WAIT_MS, "the call pending at the stop");
  g_assert_null (rill_mcp_client_call_tool_finish (client, slow_result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_cmpstr (error->message, ==, "MCP server “fake” was stopped.");
}

/* Keyring references */

static RillMcpServer *
resolve (RillMcpServer *server,
         RillKeyring   *keyring,
         GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rill_mcp_server_resolve_async (server, keyring, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the keyring");
  return rill_mcp_server_resolve_finish (server, result, error);
}

static void
test_keyring_references (void)
{
  const char *env[] = { "PLAIN=value", "TOKEN=${keyring:github-token}", NULL };
  const char *headers[] = { "Authorization: Bearer ${keyring:github-token}",
                            "X-Both: ${keyring:github-token}+${keyring:github-token}", NULL };
  g_autoptr(RillMcpServer) stdio = rill_mcp_server_new_stdio ("gh", "gh-mcp", NULL, env);
  g_autoptr(RillMcpServer) http = rill_mcp_server_new_http ("web", "http://127.0.0.1:1/mcp",
                                                            headers);
  g_autoptr(RillMcpServer) plain = rill_mcp_server_new_stdio ("plain", "x", NULL, NULL);
  g_autoptr(TestKeyring) keyring = test_keyring_new ("mcp:github-token", "ghp_秘密");
  g_autoptr(TestKeyring) empty = test_keyring_new ("mcp:other", "x");
  g_autoptr(RillMcpServer) resolved = NULL;
  g_autoptr(RillMcpServer) resolved_http = NULL;
  g_autoptr(RillMcpServer) resolved_plain = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rill_mcp_server_has_references (stdio));
  g_assert_true (rill_mcp_server_has_references (http));
  g_assert_false (rill_mcp_server_has_references (plain));

  resolved = resolve (stdio, RILL_KEYRING (keyring), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (resolved->env[0], ==, "PLAIN=value");
  g_assert_cmpstr (resolved->env[1], ==, "TOKEN=ghp_秘密");
  /* The configured server keeps the reference, never the secret. */
  g_assert_cmpstr (stdio->env[1], ==, "TOKEN=${keyring:github-token}");

  resolved_http = resolve (http, RILL_KEYRING (keyring), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (resolved_http->headers[0], ==, "Authorization: Bearer ghp_秘密");
  g_assert_cmpstr (resolved_http->headers[1], ==, "X-Both: ghp_秘密+ghp_秘密");
  /* One lookup per entry, however often it is used. */
  g_assert_cmpuint (keyring->lookups, ==, 2);

  g_assert_null (resolve (stdio, RILL_KEYRING (empty), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "MCP server “gh”: the keyring has no entry “github-token” (for TOKEN)");
  g_clear_error (&error);

  g_assert_null (resolve (http, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  resolved_plain = resolve (plain, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (resolved_plain->command, ==, "x");
}

/* The reference server over stdio */

static RillMcpClient *
everything_client (RillKeyring *keyring)
{
  g_autofree char *script = test_mcp_everything_path (MCP_EVERYTHING_DIR);
  const char *args[] = { script, "stdio", NULL };
  const char *env[] = { "RILL_MCP_SECRET=${keyring:test-secret}", NULL };
  g_autoptr(RillMcpServer) server = rill_mcp_server_new_stdio ("everything", "node", args, env);

  return rill_mcp_client_new (server, keyring);
}

static void
check_tiny_image (RillMcpResult *result)
{
  RillMcpContent *image;
  g_autofree guchar *png = NULL;
  gsize len;

  g_assert_false (result->is_error);
  g_assert_cmpuint (result->content->len, ==, 3);
  g_assert_cmpint (((RillMcpContent *) g_ptr_array_index (result->content, 0))->kind, ==,
                   RILL_MCP_CONTENT_TEXT);
  image = g_ptr_array_index (result->content, 1);
  g_assert_cmpint (image->kind, ==, RILL_MCP_CONTENT_IMAGE);
  g_assert_cmpstr (image->mime_type, ==, "image/png");
  png = g_base64_decode (image->data, &len);
  /* A PNG: the signature, then an IHDR of 20 × 20 pixels. */
  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpmem (png + 12, 4, "IHDR", 4);
  g_assert_cmpmem (png + 16, 8, "\0\0\0\x14\0\0\0\x14", 8);
  g_assert_cmpstr (((RillMcpContent *) g_ptr_array_index (result->content, 2))->text, ==,
                   "The image above is the MCP logo.");
}

/* A long operation with progress, stopped halfway: progress first, then
 * the call ends cancelled, and the server goes on serving. */
static void
check_long_operation_stopped (RillMcpClient *client)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RillMcpResult) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = json_from_string ("{\"duration\": 5, \"steps\": 50}", NULL);
  g_autofree char *echo = NULL;
  Progress seen = { g_ptr_array_new_with_free_func (g_free), 0 };
  gulong handler;

  handler = g_signal_connect (client, "progress", G_CALLBACK (progress_cb), &seen);
  rill_mcp_client_call_tool_async (client, "trigger-long-running-operation",
                                   json_node_get_object (arguments), "long-1", cancellable,
                                   test_async_result_cb, &result);
  test_wait_until (seen_three, &seen, WAIT_MS, "three progress notifications");
  g_assert_cmpstr (g_ptr_array_index (seen.lines, 0), ==, "long-1 1/50 -");
  g_assert_cmpstr (g_ptr_array_index (seen.lines, 2), ==, "long-1 3/50 -");
  g_cancellable_cancel (cancellable);
  test_wait_result (&result, WAIT_MS, "the stopped operation");
  answer = rill_mcp_client_call_tool_finish (client, result, &error);
  g_assert_null (answer);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Halfway: far from the 50 steps. */
  g_assert_cmpuint (seen.count, <, 25);
  g_signal_handler_disconnect (client, handler);
  g_ptr_array_unref (seen.lines);

  echo = call_text (client, "echo", "{\"message\": \"still here\"}");
  g_assert_cmpstr (echo, ==, "Echo: still here");
}

static void
check_everything (RillMcpClient *client)
{
  g_autoptr(GPtrArray) tools = list_tools (client);
  g_autoptr(RillMcpResult) image = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *schema = NULL;
  RillMcpTool *tool;

  for (guint i = 0; i < 4; i++)
    {
      const char *name = (const char *[]) { "echo", "get-sum", "get-tiny-image",
                                            "trigger-long-running-operation" }[i];

      g_assert_nonnull (find_tool (tools, name));
    }
  tool = find_tool (tools, "echo");
  g_assert_cmpstr (tool->title, ==, "Echo Tool");
  g_assert_cmpstr (tool->description, ==, "Echoes back the input string");
  schema = json_to_string (json_object_get_member (json_node_get_object (tool->input_schema),
                                                   "properties"), FALSE);
  g_assert_cmpstr (schema, ==,
                   "{\"message\":{\"type\":\"string\",\"description\":\"Message to echo\"}}");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (tool->annotations),
                                                 "readOnlyHint"));

  echo = call_text (client, "echo", "{\"message\": \"Hello, \\\"世界\\\" 👋\\n\"}");
  g_assert_cmpstr (echo, ==, "Echo: Hello, \"世界\" 👋\n");
  sum = call_text (client, "get-sum", "{\"a\": 2, \"b\": 3.5}");
  g_assert_cmpstr (sum, ==, "The sum of 2 and 3.5 is 5.5.");
  image = call_tool (client, "get-tiny-image", NULL, &error);
  g_assert_no_error (error);
  check_tiny_image (image);
  check_long_operation_stopped (client);
}

static void
test_everything_stdio (void)
{
  g_autoptr(TestKeyring) keyring = test_keyring_new ("mcp:test-secret", "s3cret-密");
  g_autoptr(RillMcpClient) client = NULL;
  g_autofree char *env = NULL;
  gint64 start;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  client = everything_client (RILL_KEYRING (keyring));
  check_everything (client);
  /* The secret from the keyring reached the program's environment. */
  env = call_text (client, "get-env", NULL);
  g_assert_nonnull (strstr (env, "\"RILL_MCP_SECRET\": \"s3cret-密\""));
  /* Closing its stdin is enough for this server: no SIGTERM needed. */
  start = g_get_monotonic_time ();
  stop_client (client, 5000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5000 * 1000);
}

/* The reference server over Streamable HTTP */

typedef struct
{
  GDataInputStream *reader;
  gboolean          listening;
  gboolean          ended;
} ServerLog;

static void read_server_log (ServerLog *log);

static void
server_log_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  ServerLog *log = data;
  g_autofree char *line = g_data_input_stream_read_line_finish (log->reader, result, NULL, NULL);

  if (line == NULL)
    {
      log->ended = TRUE;
      return;
    }
  if (strstr (line, "listening on port") != NULL)
    log->listening = TRUE;
  read_server_log (log);
}

static void
read_server_log (ServerLog *log)
{
  g_data_input_stream_read_line_async (log->reader, G_PRIORITY_DEFAULT, NULL, server_log_cb, log);
}

static guint
free_port (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  guint port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return port;
}

static void
test_everything_http (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(RillMcpServer) server = NULL;
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(TestKeyring) keyring = test_keyring_new ("mcp:web", "abc");
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *port = NULL;
  g_autofree char *url = NULL;
  const char *headers[] = { "X-Rill-Test: ${keyring:web}", NULL };
  ServerLog log = { 0 };

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return;
  script = test_mcp_everything_path (MCP_EVERYTHING_DIR);
  port = g_strdup_printf ("%u", free_port ());
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "PORT", port, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, "node", script, "streamableHttp",
                                         NULL);
  g_assert_no_error (error);
  log.reader = g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
  read_server_log (&log);
  test_wait_for (&log.listening, WAIT_MS, "the HTTP server to listen");

  url = g_strdup_printf ("http://127.0.0.1:%s/mcp", port);
  server = rill_mcp_server_new_http ("everything-http", url, headers);
  client = rill_mcp_client_new (server, RILL_KEYRING (keyring));
  /* Every request after initialize carries the session id, or this server
   * answers 400: the calls succeeding is the proof. */
  check_everything (client);
  stop_client (client, 5000);

  /* A client let go without a stop (its own GET stream open) goes. */
  {
    RillMcpClient *dropped = rill_mcp_client_new (server, RILL_KEYRING (keyring));
    g_autoptr(GPtrArray) tools = list_tools (dropped);

    g_assert_cmpint (rill_mcp_client_get_state (dropped), ==, RILL_MCP_STATE_READY);
    g_assert_finalize_object (dropped);
  }

  g_subprocess_send_signal (process, SIGINT);
  test_wait_for (&log.ended, WAIT_MS, "the HTTP server to end");
  g_clear_object (&log.reader);
}

/* A scripted Streamable HTTP server: JSON answers (the reference server
 * answers with event streams), the headers seen, and a session it forgets. */

typedef struct
{
  guint  initializes;
  char  *session_seen;   /* with tools/list */
  char  *version_seen;
  char  *extra_seen;
  char  *session_at_init;
  char  *methods;        /* every method posted, in order */
  char  *session;        /* the one that is valid */
} HttpScript;

static void
http_script_cb (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           data)
{
  HttpScript *script = data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *in = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *out = soup_server_message_get_response_headers (msg);
  g_autofree char *text = g_strndup (body->data, body->length);
  g_autoptr(JsonNode) message = json_from_string (text, NULL);
  JsonObject *object = message ? json_node_get_object (message) : NULL;
  const char *method = object ? json_object_get_string_member_with_default (object, "method",
                                                                            "-")
                              : soup_server_message_get_method (msg);
  const char *session = soup_message_headers_get_one (in, "Mcp-Session-Id");
  gint64 id = object ? json_object_get_int_member_with_default (object, "id", 0) : 0;
  g_autofree char *answer = NULL;
  char *methods = g_strconcat (script->methods ? script->methods : "", method, " ", NULL);

  g_free (script->methods);
  script->methods = methods;
  if (g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      /* The server's own stream: in the first session, a changed tool
       * list; the second session has none (405). */
      static const char changed[] =
        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";

      if (script->initializes > 1 || g_strcmp0 (session, script->session) != 0)
        {
          soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
          return;
        }
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/event-stream", SOUP_MEMORY_STATIC, changed,
                                        strlen (changed));
      return;
    }
  else if (g_str_equal (soup_server_message_get_method (msg), "DELETE"))
    {
      /* The end of the session, at the stop. */
      g_free (script->session_seen);
      script->session_seen = g_strdup (session);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      return;
    }
  else if (g_str_equal (method, "initialize"))
    {
      script->initializes++;
      g_free (script->session_at_init);
      script->session_at_init = g_strdup (session);
      g_free (script->session);
      script->session = g_strdup_printf ("session-%u", script->initializes);
      soup_message_headers_replace (out, "Mcp-Session-Id", script->session);
      answer = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                                "\"result\":{\"protocolVersion\":\"2025-06-18\","
                                "\"capabilities\":{},\"serverInfo\":{\"name\":\"s\"}}}", id);
    }
  else if (g_strcmp0 (session, script->session) != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  else if (id == 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_ACCEPTED, NULL);
      return;
    }
  else if (g_str_equal (method, "tools/list"))
    {
      g_free (script->session_seen);
      g_free (script->version_seen);
      g_free (script->extra_seen);
      script->session_seen = g_strdup (session);
      script->version_seen = g_strdup (soup_message_headers_get_one (in, "MCP-Protocol-Version"));
      script->extra_seen = g_strdup (soup_message_headers_get_one (in, "X-Extra"));
      answer = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                                "\"result\":{\"tools\":[{\"name\":\"t\"}]}}", id);
    }
  else
    answer = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                              "\"error\":{\"code\":-32601,\"message\":\"no %s here\"}}",
                              id, method);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, answer,
                                    strlen (answer));
}

static void
test_http_scripted (void)
{
  g_autoptr(SoupServer) soup = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMcpServer) server = NULL;
  g_autoptr(RillMcpClient) client = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(RillMcpResult) result = NULL;
  g_autofree char *url = NULL;
  const char *headers[] = { "X-Extra: extra value", NULL };
  HttpScript script = { 0 };
  guint changed = 0;
  GSList *uris;

  soup_server_add_handler (soup, "/mcp", http_script_cb, &script, NULL);
  soup_server_listen_local (soup, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (soup);
  url = g_strdup_printf ("http://127.0.0.1:%d/mcp", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  server = rill_mcp_server_new_http ("scripted", url, headers);
  client = rill_mcp_client_new (server, NULL);
  g_signal_connect (client, "tools-changed", G_CALLBACK (count_cb), &changed);
  tools = list_tools (client);
  g_assert_cmpuint (tools->len, ==, 1);
  g_assert_null (script.session_at_init);
  g_assert_cmpstr (script.session_seen, ==, "session-1");
  g_assert_cmpstr (script.version_seen, ==, "2025-06-18");
  g_assert_cmpstr (script.extra_seen, ==, "extra value");
  /* Nothing before the server has notifications/initialized. */
  g_assert_true (g_str_has_prefix (script.methods, "initialize notifications/initialized "));
  /* The list_changed on the GET stream: the tools are listed again. */
  test_wait_until (counted_twice, &changed, WAIT_MS, "the tools listed again");
  g_assert_nonnull (strstr (script.methods, "GET"));
  g_assert_nonnull (strstr (strstr (script.methods, "tools/list") + 1, "tools/list"));

  result = call_tool (client, "t", NULL, &error);
  g_assert_null (result);
  g_assert_cmpstr (error->message, ==, "MCP server “scripted”: no tools/call here");
  g_clear_error (&error);

  /* The server forgets the session: that request fails in words, and the
   * next one starts a new session (without the old id). */
  g_free (script.session);
  script.session = g_strdup ("another");
  g_clear_pointer (&tools, g_ptr_array_unref);
  {
    g_autoptr(GAsyncResult) listed = NULL;

    rill_mcp_client_list_tools_async (client, NULL, test_async_result_cb, &listed);
    test_wait_result (&listed, WAIT_MS, "tools/list in a forgotten session");
    g_assert_null (rill_mcp_client_list_tools_finish (client, listed, &error));
    g_assert_cmpstr (error->message, ==,
                     "MCP server “scripted”: the server ended the session; try again");
    g_clear_error (&error);
  }
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_STOPPED);
  tools = list_tools (client);
  g_assert_cmpuint (script.initializes, ==, 2);
  g_assert_null (script.session_at_init);
  g_assert_cmpstr (script.session_seen, ==, "session-2");
  g_free (script.methods);
  script.methods = NULL;
  stop_client (client, 5000);
  g_assert_cmpstr (script.methods, ==, "DELETE ");
  g_assert_cmpstr (script.session_seen, ==, "session-2");

  g_free (script.session_seen);
  g_free (script.version_seen);
  g_free (script.extra_seen);
  g_free (script.session_at_init);
  g_free (script.methods);
  g_free (script.session);
}

/* An HTTP server that is not there: the start fails in words. */
static void
test_http_refused (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/mcp", free_port ());
  g_autoptr(RillMcpServer) server = rill_mcp_server_new_http ("gone", url, NULL);
  g_autoptr(RillMcpClient) client = rill_mcp_client_new (server, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_mcp_client_start_async (client, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the refused start");
  g_assert_false (rill_mcp_client_start_finish (client, result, &error));
  g_assert_true (g_str_has_prefix (error->message, "MCP server “gone”: "));
  g_assert_cmpint (rill_mcp_client_get_state (client), ==, RILL_MCP_STATE_FAILED);
}

/* mcp.json */

#define SAMPLE \
  "{\n" \
  "  \"mcpServers\": {\n" \
  "    \"files\": {\"command\": \"npx\", \"args\": [\"-y\", \"server-files\", 3],\n" \
  "              \"env\": {\"ROOT\": \"/home/ü\", \"TOKEN\": \"${keyring:files}\"},\n" \
  "              \"timeout\": 30},\n" \
  "    \"web\": {\"type\": \"http\", \"url\": \"https://example.org/mcp\",\n" \
  "            \"headers\": {\"Authorization\": \"Bearer ${keyring:web}\"}},\n" \
  "    \"off\": {\"command\": \"off-server\", \"disabled\": true},\n" \
  "    \"broken\": {\"note\": \"neither\"}\n" \
  "  },\n" \
  "  \"otherClientSetting\": [1, 2]\n" \
  "}\n"

static void
test_config_parse (void)
{
  g_autoptr(RillMcpConfig) config = rill_mcp_config_new ("/nonexistent/mcp.json");
  g_autoptr(GError) error = NULL;
  GPtrArray *servers;
  RillMcpServer *files, *web, *off;

  g_assert_true (rill_mcp_config_load_from_data (config, SAMPLE, -1, &error));
  g_assert_no_error (error);
  servers = rill_mcp_config_get_servers (config);
  g_assert_cmpuint (servers->len, ==, 3);

  files = g_ptr_array_index (servers, 0);
  g_assert_cmpstr (files->name, ==, "files");
  g_assert_cmpstr (files->command, ==, "npx");
  g_assert_cmpuint (g_strv_length (files->args), ==, 3);
  g_assert_cmpstr (files->args[2], ==, "3");
  g_assert_cmpstr (files->env[0], ==, "ROOT=/home/ü");
  g_assert_cmpstr (files->env[1], ==, "TOKEN=${keyring:files}");
  g_assert_null (files->url);
  g_assert_false (files->disabled);

  web = g_ptr_array_index (servers, 1);
  g_assert_cmpstr (web->url, ==, "https://example.org/mcp");
  g_assert_null (web->command);
  g_assert_cmpstr (web->headers[0], ==, "Authorization: Bearer ${keyring:web}");

  off = rill_mcp_config_lookup (config, "off");
  g_assert_true (off == g_ptr_array_index (servers, 2));
  g_assert_true (off->disabled);
  g_assert_null (rill_mcp_config_lookup (config, "broken"));
}

/* Editing one server and writing the file keeps every key Rill does not
 * know, in the file and in each server, and the order of everything. */
static void
test_config_round_trip (void)
{
  g_autoptr(RillMcpConfig) config = rill_mcp_config_new ("/nonexistent/mcp.json");
  g_autoptr(RillMcpConfig) again = rill_mcp_config_new ("/nonexistent/mcp.json");
  g_autoptr(RillMcpServer) off = NULL;
  g_autoptr(RillMcpServer) added = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *broken = NULL;
  g_autofree char *other = NULL;
  const char *env[] = { "K=v", NULL };
  JsonObject *servers, *files, *web;
  guint changed = 0;

  g_assert_true (rill_mcp_config_load_from_data (config, SAMPLE, -1, &error));
  g_signal_connect (config, "changed", G_CALLBACK (count_cb), &changed);
  off = rill_mcp_server_copy_disabled (rill_mcp_config_lookup (config, "files"), TRUE);
  rill_mcp_config_set_server (config, off);
  added = rill_mcp_server_new_stdio ("new", "new-server", NULL, env);
  rill_mcp_config_set_server (config, added);
  g_assert_cmpuint (changed, ==, 2);
  g_assert_true (rill_mcp_config_lookup (config, "files")->disabled);

  text = rill_mcp_config_to_data (config);
  root = json_from_string (text, &error);
  g_assert_no_error (error);
  other = json_to_string (json_object_get_member (json_node_get_object (root),
                                                  "otherClientSetting"), FALSE);
  g_assert_cmpstr (other, ==, "[1,2]");
  servers = json_object_get_object_member (json_node_get_object (root), "mcpServers");
  files = json_object_get_object_member (servers, "files");
  g_assert_cmpint (json_object_get_int_member (files, "timeout"), ==, 30);
  g_assert_true (json_object_get_boolean_member (files, "disabled"));
  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (files, "env"), "TOKEN"), ==,
                   "${keyring:files}");
  web = json_object_get_object_member (servers, "web");
  g_assert_cmpstr (json_object_get_string_member (web, "type"), ==, "http");
  broken = json_to_string (json_object_get_member (servers, "broken"), FALSE);
  g_assert_cmpstr (broken, ==, "{\"note\":\"neither\"}");
  {
    g_autoptr(GList) names = json_object_get_members (servers);
    GString *order = g_string_new (NULL);

    for (GList *l = names; l != NULL; l = l->next)
      g_string_append_printf (order, "%s ", (const char *) l->data);
    expected = g_string_free (order, FALSE);
  }
  g_assert_cmpstr (expected, ==, "files web off broken new ");

  /* Read back, it writes the same bytes. */
  g_assert_true (rill_mcp_config_load_from_data (again, text, -1, &error));
  text_again = rill_mcp_config_to_data (again);
  g_assert_cmpstr (text_again, ==, text);

  g_assert_true (rill_mcp_config_remove_server (config, "new"));
  g_assert_false (rill_mcp_config_remove_server (config, "new"));
  g_assert_null (rill_mcp_config_lookup (config, "new"));
}

typedef struct
{
  guint   changed;
  guint   failed;
  GError *error;
} ConfigEvents;

static void
config_changed_cb (RillMcpConfig *config, ConfigEvents *events)
{
  events->changed++;
}

static void
config_failed_cb (RillMcpConfig *config, const GError *error, ConfigEvents *events)
{
  events->failed++;
  g_clear_error (&events->error);
  events->error = g_error_copy (error);
}

static gboolean
changed_once (gpointer data)
{
  return ((ConfigEvents *) data)->changed >= 1;
}

static gboolean
failed_once (gpointer data)
{
  return ((ConfigEvents *) data)->failed >= 1;
}

static void
load_config (RillMcpConfig *config)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_mcp_config_load_async (config, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "mcp.json");
  g_assert_true (rill_mcp_config_load_finish (config, result, &error));
  g_assert_no_error (error);
}

/* The file is followed: written by another program, read again and
 * "changed"; broken, refused in words saying where, the servers kept;
 * saved by us, the same bytes on disk. */
static void
test_config_file (void)
{
  g_autofree char *home = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (home, "rill", "mcp.json", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(RillMcpConfig) config = rill_mcp_config_new (path);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMcpServer) off = NULL;
  g_autofree char *on_disk = NULL;
  g_autofree char *expected = NULL;
  ConfigEvents events = { 0 };

  g_signal_connect (config, "changed", G_CALLBACK (config_changed_cb), &events);
  g_signal_connect (config, "load-failed", G_CALLBACK (config_failed_cb), &events);

  /* No file yet: no servers, not an error. (The folder is there, as it
   * usually is: GLib watches for a missing one only every few seconds.) */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  load_config (config);
  g_assert_cmpuint (rill_mcp_config_get_servers (config)->len, ==, 0);
  events.changed = 0;

  g_assert_true (g_file_set_contents (path, SAMPLE, -1, &error));
  test_wait_until (changed_once, &events, WAIT_MS, "the monitor to see the new file");
  g_assert_cmpuint (rill_mcp_config_get_servers (config)->len, ==, 3);

  g_assert_true (g_file_set_contents (path, "{\n  \"mcpServers\": {\n    \"a\": {]\n  }\n}\n",
                                      -1, &error));
  test_wait_until (failed_once, &events, WAIT_MS, "the monitor to see the broken file");
  g_assert_error (events.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  expected = g_strdup_printf ("“%s” is not valid JSON, at line:position 3:10: ", path);
  g_assert_true (g_str_has_prefix (events.error->message, expected));
  g_assert_cmpuint (rill_mcp_config_get_servers (config)->len, ==, 3);
  g_assert_cmpuint (events.changed, ==, 1);

  /* Our own save: the file is exactly what to_data gives. */
  off = rill_mcp_server_copy_disabled (rill_mcp_config_lookup (config, "web"), TRUE);
  rill_mcp_config_set_server (config, off);
  rill_mcp_config_save_async (config, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the save");
  g_assert_true (rill_mcp_config_save_finish (config, result, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &on_disk, NULL, &error));
  g_free (expected);
  expected = rill_mcp_config_to_data (config);
  g_assert_cmpstr (on_disk, ==, expected);

  g_clear_error (&events.error);
  g_clear_object (&config);
  test_rm_rf (home);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mcp/config/parse", test_config_parse);
  g_test_add_func ("/mcp/config/round-trip", test_config_round_trip);
  g_test_add_func ("/mcp/config/file", test_config_file);
  g_test_add_func ("/mcp/keyring", test_keyring_references);
  g_test_add_func ("/mcp/fake/pages-and-ping", test_fake_pages_and_ping);
  g_test_add_func ("/mcp/fake/errors", test_fake_errors);
  g_test_add_func ("/mcp/fake/list-changed", test_fake_list_changed);
  g_test_add_func ("/mcp/fake/cancel", test_fake_cancel);
  g_test_add_func ("/mcp/fake/exit-mid-call", test_fake_exit_mid_call);
  g_test_add_func ("/mcp/fake/garbage", test_fake_garbage);
  g_test_add_func ("/mcp/fake/silent", test_fake_silent);
  g_test_add_func ("/mcp/fake/not-found", test_fake_not_found);
  g_test_add_func ("/mcp/fake/stop-stubborn", test_fake_stop_stubborn);
  g_test_add_func ("/mcp/everything/stdio", test_everything_stdio);
  g_test_add_func ("/mcp/everything/http", test_everything_http);
  g_test_add_func ("/mcp/http-refused", test_http_refused);
  g_test_add_func ("/mcp/http-scripted", test_http_scripted);
  return g_test_run ();
}
