/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-toolbox.c: the servers of mcp.json as the app uses them.
 *
 * The choice's JSON round trip; then a real mcp.json in a temporary folder
 * with the reference server (@modelcontextprotocol/server-everything over
 * stdio, as test-mcp finds it) and scripted servers that fail: collecting
 * one server's tools with one switched off, failures reported by name
 * without holding up the server that works, function names made distinct,
 * clients following a change of the file, always-allowed tools in memory
 * and in GSettings, and stopping everything. Every wait is on an event; the
 * deadlines only guard against hangs. */

#include <string.h>

#include "rill-session.h"
#include "rill-toolbox.h"
#include "rill-test-support.h"

#define WAIT_MS 30000

/* The choice */

static void
check_round_trip (const char *json,
                  const char *expected)
{
  g_autoptr(RillToolChoice) choice = rill_tool_choice_new_from_json (json);
  g_autofree char *written = rill_tool_choice_to_json (choice);

  g_assert_cmpstr (written, ==, expected);
}

static void
test_choice_json (void)
{
  g_autoptr(RillToolChoice) choice = NULL;
  g_autoptr(RillToolChoice) copy = NULL;
  g_auto(GStrv) servers = NULL;
  g_autofree char *json = NULL;
  g_autofree char *copy_json = NULL;

  /* Nothing offered is NULL, whatever it was written as. */
  check_round_trip (NULL, NULL);
  check_round_trip ("", NULL);
  check_round_trip ("not json", NULL);
  check_round_trip ("[1]", NULL);
  check_round_trip ("{}", NULL);
  check_round_trip ("{\"servers\": []}", NULL);
  check_round_trip ("{\"servers\": {}}", NULL);
  /* Sorted, unknown keys dropped, non-strings in "off" dropped, an empty
   * "off" not written, a server that is not an object not offered. */
  check_round_trip ("{\"version\": 2, \"servers\": {"
                    "\"zeta\": {\"off\": [\"b\", 3, \"a\", \"b\"], \"color\": \"red\"},"
                    "\"alpha\": {\"off\": []}, \"mid\": true, \"é\": {}}}",
                    "{\"servers\":{\"alpha\":{},\"zeta\":{\"off\":[\"a\",\"b\"]},\"é\":{}}}");

  choice = rill_tool_choice_new_from_json (NULL);
  g_assert_true (rill_tool_choice_is_empty (choice));
  g_assert_false (rill_tool_choice_get_tool_enabled (choice, "everything", "echo"));
  /* Switching a tool off on a server not offered changes nothing. */
  rill_tool_choice_set_tool_enabled (choice, "everything", "echo", FALSE);
  g_assert_true (rill_tool_choice_is_empty (choice));
  /* Switching one on offers its server. */
  rill_tool_choice_set_tool_enabled (choice, "everything", "echo", TRUE);
  g_assert_true (rill_tool_choice_get_server_enabled (choice, "everything"));
  g_assert_true (rill_tool_choice_get_tool_enabled (choice, "everything", "get-sum"));
  rill_tool_choice_set_tool_enabled (choice, "everything", "get-sum", FALSE);
  g_assert_false (rill_tool_choice_get_tool_enabled (choice, "everything", "get-sum"));
  rill_tool_choice_set_server_enabled (choice, "files", TRUE);
  servers = rill_tool_choice_get_servers (choice);
  g_assert_cmpuint (g_strv_length (servers), ==, 2);
  g_assert_cmpstr (servers[0], ==, "everything");
  g_assert_cmpstr (servers[1], ==, "files");
  json = rill_tool_choice_to_json (choice);
  g_assert_cmpstr (json, ==,
                   "{\"servers\":{\"everything\":{\"off\":[\"get-sum\"]},\"files\":{}}}");

  /* A copy is its own. */
  copy = rill_tool_choice_copy (choice);
  rill_tool_choice_set_server_enabled (choice, "everything", FALSE);
  copy_json = rill_tool_choice_to_json (copy);
  g_assert_cmpstr (copy_json, ==, json);
  rill_tool_choice_set_server_enabled (choice, "files", FALSE);
  g_assert_true (rill_tool_choice_is_empty (choice));
  g_assert_null (rill_tool_choice_to_json (choice));
}

/* A toolbox on a real mcp.json */

typedef struct
{
  char          *dir;
  char          *path;
  RillMcpConfig *config;
  RillToolbox   *toolbox;
  guint          servers_changed;
} Fixture;

static void
servers_changed_cb (RillToolbox *toolbox,
                    Fixture     *f)
{
  f->servers_changed++;
}

static char *
stdio_server_json (const char *command,
                   const char *arg1,
                   const char *arg2)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, command);
  json_builder_set_member_name (builder, "args");
  json_builder_begin_array (builder);
  if (arg1 != NULL)
    json_builder_add_string_value (builder, arg1);
  if (arg2 != NULL)
    json_builder_add_string_value (builder, arg2);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static char *
everything_json (void)
{
  g_autofree char *script = test_mcp_everything_path (MCP_EVERYTHING_DIR);

  return stdio_server_json ("node", script, "stdio");
}

static char *
fake_json (const char *mode)
{
  return stdio_server_json ("python3", MCP_FAKE_SERVER, mode);
}

/* Writes mcp.json with @servers ("name", its JSON, …, NULL). */
static void
write_config (Fixture    *f,
              const char *first,
              ...)
{
  g_autoptr(GString) text = g_string_new ("{\"mcpServers\": {");
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, first);
  for (const char *name = first; name != NULL; name = va_arg (args, const char *))
    {
      const char *json = va_arg (args, const char *);

      g_string_append_printf (text, "%s\"%s\": %s", text->str[text->len - 1] == '{' ? "" : ", ",
                              name, json);
    }
  va_end (args);
  g_string_append (text, "}}");
  g_file_set_contents (f->path, text->str, -1, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "mcp.json", NULL);
}

/* Opens the toolbox on the file as written. */
static void
open_toolbox (Fixture *f)
{
  f->config = rill_mcp_config_new (f->path);
  f->toolbox = rill_toolbox_new (f->config, NULL);
  g_signal_connect (f->toolbox, "servers-changed", G_CALLBACK (servers_changed_cb), f);
}

static gboolean
has_servers_changed (gpointer data)
{
  return ((Fixture *) data)->servers_changed > 0;
}

/* The same, and waits for the first load. */
static void
open_and_load (Fixture *f)
{
  f->config = rill_mcp_config_new (f->path);
  f->toolbox = rill_toolbox_new (f->config, NULL);
  g_signal_connect (f->toolbox, "servers-changed", G_CALLBACK (servers_changed_cb), f);
  test_wait_until (has_servers_changed, f, WAIT_MS, "the first load of mcp.json");
}

static void
stop_all (RillToolbox *toolbox)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_toolbox_stop_all_async (toolbox, 5000, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "stop_all");
  g_assert_true (rill_toolbox_stop_all_finish (toolbox, result, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->toolbox != NULL)
    {
      stop_all (f->toolbox);
      g_assert_finalize_object (f->toolbox);
    }
  if (f->config != NULL)
    g_assert_finalize_object (f->config);
  test_rm_rf (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static GPtrArray *
collect (RillToolbox  *toolbox,
         const char   *choice_json,
         GStrv        *failures)
{
  g_autoptr(RillToolChoice) choice = rill_tool_choice_new_from_json (choice_json);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *tools;

  rill_toolbox_collect_async (toolbox, choice, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "collect");
  tools = rill_toolbox_collect_finish (toolbox, result, failures, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tools);
  return tools;
}

static RillOfferedTool *
find_offered (GPtrArray  *tools,
              const char *server,
              const char *name)
{
  for (guint i = 0; i < tools->len; i++)
    {
      RillOfferedTool *offered = tools->pdata[i];

      if (g_str_equal (offered->server, server) && g_str_equal (offered->tool->name, name))
        return offered;
    }
  return NULL;
}

/* Every function name valid for the APIs, and none twice. */
static void
check_function_names (GPtrArray *tools)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < tools->len; i++)
    {
      RillOfferedTool *offered = tools->pdata[i];

      g_assert_true (g_regex_match_simple ("^[a-zA-Z0-9_-]{1,64}$", offered->function_name,
                                           0, 0));
      g_assert_false (g_hash_table_contains (seen, offered->function_name));
      g_hash_table_add (seen, offered->function_name);
    }
}

/* One server offered with a tool switched off: its other tools, named as
 * themselves; the servers not offered are not started. */
static void
test_collect_one (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *everything = NULL;
  g_autofree char *fake = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_auto(GStrv) failures = NULL;
  RillOfferedTool *sum;
  GPtrArray *clients;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR) || !test_have_python ())
    return;
  everything = everything_json ();
  fake = fake_json ("normal");
  write_config (f, "fake", fake, "everything", everything, NULL);
  open_toolbox (f);

  /* Collecting waits for the first load by itself. */
  tools = collect (f->toolbox, "{\"servers\": {\"everything\": {\"off\": [\"echo\"]}}}",
                   &failures);
  g_assert_null (failures);
  clients = rill_toolbox_get_clients (f->toolbox);
  g_assert_cmpuint (clients->len, ==, 2);
  g_assert_cmpstr (rill_mcp_client_get_name (clients->pdata[0]), ==, "fake");
  g_assert_cmpstr (rill_mcp_client_get_name (clients->pdata[1]), ==, "everything");
  g_assert_true (rill_toolbox_lookup (f->toolbox, "everything") == clients->pdata[1]);
  g_assert_null (rill_toolbox_lookup (f->toolbox, "nowhere"));
  g_assert_cmpint (rill_mcp_client_get_state (clients->pdata[0]), ==, RILL_MCP_STATE_STOPPED);
  g_assert_cmpint (rill_mcp_client_get_state (clients->pdata[1]), ==, RILL_MCP_STATE_READY);

  g_assert_null (find_offered (tools, "everything", "echo"));
  sum = find_offered (tools, "everything", "get-sum");
  g_assert_nonnull (sum);
  g_assert_cmpstr (sum->function_name, ==, "get-sum");
  g_assert_nonnull (find_offered (tools, "everything", "get-tiny-image"));
  /* All the server lists but the one switched off. */
  g_assert_cmpuint (tools->len, ==,
                    rill_mcp_client_get_tools (clients->pdata[1])->len - 1);
  check_function_names (tools);

  /* Again, from the running server; the choice is read afresh. */
  again = collect (f->toolbox, "{\"servers\": {\"everything\": {}}}", NULL);
  g_assert_cmpuint (again->len, ==, tools->len + 1);
  g_assert_nonnull (find_offered (again, "everything", "echo"));
}

typedef struct
{
  RillMcpClient *clients[3];
} Settled;

static gboolean
others_settled (gpointer data)
{
  Settled *settled = data;

  return rill_mcp_client_get_state (settled->clients[0]) == RILL_MCP_STATE_READY
         && rill_mcp_client_get_state (settled->clients[1]) == RILL_MCP_STATE_FAILED
         && rill_mcp_client_get_state (settled->clients[2]) == RILL_MCP_STATE_FAILED;
}

/* A server that never answers, one that does not exist and one that prints
 * garbage: the working one is ready while the first still hangs, and once
 * that one ends the tools come with each failure by name, in the file's
 * order, and a server offered that is not in the file. */
static void
test_collect_failures (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *everything = NULL;
  g_autofree char *silent = NULL;
  g_autofree char *garbage = NULL;
  g_autofree char *nowhere = NULL;
  g_autoptr(RillToolChoice) choice = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) stopped = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_auto(GStrv) failures = NULL;
  RillMcpClient *hanging;
  Settled settled;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR) || !test_have_python ())
    return;
  everything = everything_json ();
  silent = fake_json ("silent");
  garbage = fake_json ("garbage-exit");
  nowhere = stdio_server_json ("/nonexistent/mcp-server", NULL, NULL);
  write_config (f, "aaa-silent", silent, "nowhere", nowhere, "garbage", garbage,
                "everything", everything, NULL);
  open_and_load (f);

  choice = rill_tool_choice_new_from_json ("{\"servers\": {\"aaa-silent\": {}, \"nowhere\": {},"
                                           " \"garbage\": {}, \"everything\": {},"
                                           " \"gone\": {}}}");
  rill_toolbox_collect_async (f->toolbox, choice, NULL, test_async_result_cb, &result);
  settled.clients[0] = rill_toolbox_lookup (f->toolbox, "everything");
  settled.clients[1] = rill_toolbox_lookup (f->toolbox, "nowhere");
  settled.clients[2] = rill_toolbox_lookup (f->toolbox, "garbage");
  test_wait_until (others_settled, &settled, WAIT_MS, "the servers but the silent one");
  hanging = rill_toolbox_lookup (f->toolbox, "aaa-silent");
  g_assert_cmpint (rill_mcp_client_get_state (hanging), ==, RILL_MCP_STATE_STARTING);
  g_assert_null (result);

  /* Its time would be up after the client's start timeout; stopping it
   * ends the wait at once. */
  rill_mcp_client_stop_async (hanging, 2000, test_async_result_cb, &stopped);
  test_wait_result (&result, WAIT_MS, "collect");
  tools = rill_toolbox_collect_finish (f->toolbox, result, &failures, &error);
  g_assert_no_error (error);
  g_assert_nonnull (find_offered (tools, "everything", "echo"));
  g_assert_cmpuint (tools->len, ==, rill_mcp_client_get_tools (settled.clients[0])->len);
  check_function_names (tools);

  g_assert_nonnull (failures);
  g_assert_cmpuint (g_strv_length (failures), ==, 4);
  g_assert_cmpstr (failures[0], ==, "aaa-silent: MCP server “aaa-silent” was stopped.");
  g_assert_cmpstr (failures[1], ==,
                   "nowhere: MCP server “nowhere” could not be started: Failed to execute "
                   "child process “/nonexistent/mcp-server” (No such file or directory)");
  g_assert_true (g_str_has_prefix (failures[2], "garbage: MCP server “garbage” exited with "
                                   "status 1.\nIt wrote something other than JSON: "));
  g_assert_cmpstr (failures[3], ==, "gone: there is no such server in mcp.json");
  test_wait_result (&stopped, WAIT_MS, "the silent server's stop");
}

/* The same tool on two servers: each gets "<server>__<tool>"; a tool only
 * one server has keeps its name. */
static void
test_function_names (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *everything = NULL;
  g_autofree char *fake = NULL;
  g_autoptr(GPtrArray) tools = NULL;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR) || !test_have_python ())
    return;
  everything = everything_json ();
  fake = fake_json ("normal");
  write_config (f, "everything", everything, "second.copy", everything, "fake", fake, NULL);
  open_and_load (f);

  tools = collect (f->toolbox, "{\"servers\": {\"everything\": {}, \"second.copy\": {},"
                   " \"fake\": {}}}", NULL);
  g_assert_cmpstr (find_offered (tools, "everything", "echo")->function_name, ==,
                   "everything__echo");
  /* The dot is not allowed in a function name. */
  g_assert_cmpstr (find_offered (tools, "second.copy", "echo")->function_name, ==,
                   "second_copy__echo");
  g_assert_cmpstr (find_offered (tools, "fake", "pong-seen")->function_name, ==, "pong-seen");
  check_function_names (tools);
  /* The file's order: everything's tools, the copy's, then fake's. */
  g_assert_cmpstr (((RillOfferedTool *) tools->pdata[0])->server, ==, "everything");
  g_assert_cmpstr (((RillOfferedTool *) tools->pdata[tools->len - 1])->server, ==, "fake");
}

typedef struct
{
  RillMcpClient *client;
  RillMcpState   state;
} StateWait;

static gboolean
state_is (gpointer data)
{
  StateWait *wait = data;

  return rill_mcp_client_get_state (wait->client) == wait->state;
}

/* A server whose settings change gets a new client and the old one is
 * stopped; one unchanged keeps its client; one removed goes. Both through
 * the file and through the configuration in memory. */
static void
test_config_change (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *everything = NULL;
  g_autofree char *fake = NULL;
  g_autofree char *fake_changed = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(RillMcpClient) old_fake = NULL;
  g_autoptr(RillMcpClient) old_everything = NULL;
  g_autoptr(RillMcpServer) disabled = NULL;
  g_auto(GStrv) failures = NULL;
  StateWait wait;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR) || !test_have_python ())
    return;
  everything = everything_json ();
  fake = fake_json ("normal");
  write_config (f, "everything", everything, "fake", fake, NULL);
  open_and_load (f);

  tools = collect (f->toolbox, "{\"servers\": {\"everything\": {}, \"fake\": {}}}", NULL);
  old_fake = g_object_ref (rill_toolbox_lookup (f->toolbox, "fake"));
  old_everything = g_object_ref (rill_toolbox_lookup (f->toolbox, "everything"));
  g_assert_cmpint (rill_mcp_client_get_state (old_fake), ==, RILL_MCP_STATE_READY);

  /* The file: fake gets another argument (not started, so its mode does
   * not matter). */
  fake_changed = fake_json ("stubborn");
  f->servers_changed = 0;
  write_config (f, "everything", everything, "fake", fake_changed, NULL);
  test_wait_until (has_servers_changed, f, WAIT_MS, "the change of mcp.json");
  g_assert_true (rill_toolbox_lookup (f->toolbox, "everything") == old_everything);
  g_assert_true (rill_toolbox_lookup (f->toolbox, "fake") != old_fake);
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "fake")), ==,
                   RILL_MCP_STATE_STOPPED);
  wait.client = old_fake;
  wait.state = RILL_MCP_STATE_STOPPED;
  test_wait_until (state_is, &wait, WAIT_MS, "the old client stopped");
  g_assert_cmpint (rill_mcp_client_get_state (old_everything), ==, RILL_MCP_STATE_READY);

  /* In memory: everything switched off is stopped and not collected. */
  disabled = rill_mcp_server_copy_disabled (rill_mcp_client_get_server (old_everything), TRUE);
  rill_mcp_config_set_server (f->config, disabled);
  g_assert_true (rill_toolbox_lookup (f->toolbox, "everything") != old_everything);
  wait.client = old_everything;
  test_wait_until (state_is, &wait, WAIT_MS, "everything stopped");
  g_clear_pointer (&tools, g_ptr_array_unref);
  tools = collect (f->toolbox, "{\"servers\": {\"everything\": {}}}", &failures);
  g_assert_cmpuint (tools->len, ==, 0);
  g_assert_cmpstr (failures[0], ==,
                   "everything: the server is switched off in Preferences");
  g_assert_null (failures[1]);
  g_assert_cmpint (rill_mcp_client_get_state (rill_toolbox_lookup (f->toolbox, "everything")),
                   ==, RILL_MCP_STATE_STOPPED);

  /* Removed: its client goes. */
  g_assert_true (rill_mcp_config_remove_server (f->config, "fake"));
  g_assert_null (rill_toolbox_lookup (f->toolbox, "fake"));
  g_assert_cmpuint (rill_toolbox_get_clients (f->toolbox)->len, ==, 1);
}

/* stop_all ends every running server, and a server being retired. */
static void
test_stop_all (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *everything = NULL;
  g_autofree char *fake = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  GPtrArray *clients;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR) || !test_have_python ())
    return;
  everything = everything_json ();
  fake = fake_json ("normal");
  write_config (f, "everything", everything, "fake", fake, NULL);
  open_and_load (f);
  tools = collect (f->toolbox, "{\"servers\": {\"everything\": {}, \"fake\": {}}}", NULL);
  clients = rill_toolbox_get_clients (f->toolbox);
  for (guint i = 0; i < clients->len; i++)
    g_assert_cmpint (rill_mcp_client_get_state (clients->pdata[i]), ==, RILL_MCP_STATE_READY);

  stop_all (f->toolbox);
  for (guint i = 0; i < clients->len; i++)
    g_assert_cmpint (rill_mcp_client_get_state (clients->pdata[i]), ==, RILL_MCP_STATE_STOPPED);
  /* Stopping what is stopped is at once. */
  stop_all (f->toolbox);
}

static void
count_cb (gpointer  instance,
          guint    *count)
{
  (*count)++;
}

/* Always allowed: in memory without settings, in "always-allowed-tools"
 * with them, in the order given. */
static void
test_always_allowed (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.rill.Rill");
  g_autoptr(GVariant) value = NULL;
  g_autofree char *text = NULL;
  guint changed = 0;

  write_config (f, NULL);
  open_and_load (f);

  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));
  rill_toolbox_set_always_allowed (f->toolbox, "everything", "echo", TRUE);
  g_assert_true (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));
  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "everything", "get-sum"));
  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "other", "echo"));
  rill_toolbox_set_always_allowed (f->toolbox, "everything", "echo", FALSE);
  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));

  g_settings_reset (settings, "always-allowed-tools");
  rill_toolbox_set_settings (f->toolbox, settings);
  g_signal_connect (f->toolbox, "always-allowed-changed", G_CALLBACK (count_cb), &changed);
  rill_toolbox_set_always_allowed (f->toolbox, "everything", "echo", TRUE);
  rill_toolbox_set_always_allowed (f->toolbox, "files", "read", TRUE);
  rill_toolbox_set_always_allowed (f->toolbox, "files", "read", TRUE);
  g_assert_cmpuint (changed, ==, 2);
  value = g_settings_get_value (settings, "always-allowed-tools");
  text = g_variant_print (value, FALSE);
  g_assert_cmpstr (text, ==, "[('everything', 'echo'), ('files', 'read')]");
  g_clear_pointer (&value, g_variant_unref);
  g_clear_pointer (&text, g_free);

  /* Revoked by the setting, as Preferences does. */
  g_settings_set_value (settings, "always-allowed-tools",
                        g_variant_new_parsed ("[('files', 'read')]"));
  g_assert_cmpuint (changed, ==, 3);
  g_assert_false (rill_toolbox_get_always_allowed (f->toolbox, "everything", "echo"));
  rill_toolbox_set_always_allowed (f->toolbox, "files", "read", FALSE);
  value = g_settings_get_value (settings, "always-allowed-tools");
  text = g_variant_print (value, FALSE);
  g_assert_cmpstr (text, ==, "[]");
  rill_toolbox_set_settings (f->toolbox, NULL);
}

/* The store side: conversations.tools set and cleared, and a new
 * conversation created with the tools given for new ones ("" is none). */

static void
update_tools (RillStore  *store,
              gint64      id,
              const char *tools)
{
  TestResult r = { 0 };

  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TOOLS, tools, NULL,
                                        test_write_cb, &r);
  test_wait_for (&r.done, WAIT_MS, "the tools saved");
  g_assert_no_error (r.error);
}

static char *
stored_tools (RillStore *store,
              gint64     id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillConversation) conversation = rill_store_get_conversation (store, id, &error);

  g_assert_no_error (error);
  return g_strdup (rill_conversation_get_tools (conversation));
}

static void
test_store_tools (void)
{
  const char *choice = "{\"servers\":{\"everything\":{\"off\":[\"echo\"]},\"文件\":{}}}";
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "rill.db", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *tools = NULL;
  RillStore *store = test_store_open (path);
  gint64 plain, offered;

  plain = test_create_conversation (store, NULL);
  tools = stored_tools (store, plain);
  g_assert_null (tools);

  rill_store_set_new_conversation_tools (store, choice);
  offered = test_create_conversation (store, NULL);
  g_free (tools);
  tools = stored_tools (store, offered);
  g_assert_cmpstr (tools, ==, choice);
  sql = g_strdup_printf ("SELECT tools FROM conversations WHERE id = %" G_GINT64_FORMAT, offered);
  g_free (tools);
  tools = test_sql_text (path, sql);
  g_assert_cmpstr (tools, ==, choice);

  /* The setting's "" is the column's NULL. */
  rill_store_set_new_conversation_tools (store, "");
  g_free (tools);
  tools = stored_tools (store, test_create_conversation (store, NULL));
  g_assert_null (tools);

  update_tools (store, plain, "{\"servers\":{\"b\":{}}}");
  tools = stored_tools (store, plain);
  g_assert_cmpstr (tools, ==, "{\"servers\":{\"b\":{}}}");
  update_tools (store, offered, NULL);
  g_free (tools);
  tools = stored_tools (store, offered);
  g_assert_null (tools);

  test_store_close (store);
  test_rm_rf (dir);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gboolean   *seen)
{
  *seen = TRUE;
}

/* The session: its toolbox reads $XDG_CONFIG_HOME/rill/mcp.json, uses the
 * always-allowed setting; its store gives new conversations
 * "default-tools", following the setting. */
static void
test_session (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.rill.Rill");
  g_autoptr(RillSession) session = rill_session_new (settings, NULL);
  g_autofree char *expected = g_build_filename (g_get_user_config_dir (), "rill", "mcp.json",
                                                NULL);
  g_autofree char *tools = NULL;
  RillToolbox *toolbox;
  RillStore *store;
  gboolean opened = FALSE;

  toolbox = rill_session_get_toolbox (session);
  g_assert_true (rill_session_get_toolbox (session) == toolbox);
  g_assert_cmpstr (rill_mcp_config_get_path (rill_toolbox_get_config (toolbox)), ==, expected);
  g_settings_reset (settings, "always-allowed-tools");
  rill_toolbox_set_always_allowed (toolbox, "everything", "echo", TRUE);
  g_assert_true (rill_toolbox_get_always_allowed (toolbox, "everything", "echo"));
  g_settings_reset (settings, "always-allowed-tools");
  g_assert_false (rill_toolbox_get_always_allowed (toolbox, "everything", "echo"));

  g_settings_set_string (settings, "default-tools", "{\"servers\":{\"everything\":{}}}");
  g_signal_connect (session, "notify::store", G_CALLBACK (notify_cb), &opened);
  rill_session_open_store (session);
  test_wait_for (&opened, WAIT_MS, "the history opened");
  store = rill_session_get_store (session);
  g_assert_nonnull (store);
  tools = stored_tools (store, test_create_conversation (store, NULL));
  g_assert_cmpstr (tools, ==, "{\"servers\":{\"everything\":{}}}");
  g_settings_set_string (settings, "default-tools", "");
  g_free (tools);
  tools = stored_tools (store, test_create_conversation (store, NULL));
  g_assert_null (tools);
  g_settings_reset (settings, "default-tools");
  /* The history closes with the session; wait for its writes. */
  g_assert_true (rill_store_sync (store, WAIT_MS));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Before GLib reads them once for the process: nothing here touches the
   * person's own history or mcp.json. */
  home = test_make_tmpdir ();
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  g_test_add_func ("/toolbox/choice-json", test_choice_json);
  g_test_add_func ("/toolbox/store-tools", test_store_tools);
  g_test_add_func ("/toolbox/session", test_session);
  ADD ("/toolbox/collect-one", test_collect_one);
  ADD ("/toolbox/collect-failures", test_collect_failures);
  ADD ("/toolbox/function-names", test_function_names);
  ADD ("/toolbox/config-change", test_config_change);
  ADD ("/toolbox/stop-all", test_stop_all);
  ADD ("/toolbox/always-allowed", test_always_allowed);
#undef ADD
  status = g_test_run ();
  test_rm_rf (home);
  return status;
}
