/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-session.c: the session against real GSettings (the memory backend),
 * a real store file and the real client talking to the test server. */

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-titler.h"

#define CHAT "/v1/chat/completions"

typedef struct
{
  char           *data_home;
  GSettings      *settings;
  RillSession    *session;
  RillTestServer *server;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_unsetenv ("OPENAI_BASE_URL");
  g_unsetenv ("OPENAI_API_KEY");
  g_unsetenv ("OLLAMA_HOST");
  f->data_home = test_make_tmpdir ();
  g_setenv ("XDG_DATA_HOME", f->data_home, TRUE);
  f->settings = g_settings_new ("io.github.rill.Rill");
  /* The memory backend lives as long as the process: each test starts
   * with no servers. */
  g_settings_reset (f->settings, "servers");
  g_settings_reset (f->settings, "server-names");
  g_settings_reset (f->settings, "disabled-servers");
  g_settings_reset (f->settings, "active-server");
  f->session = rill_session_new (f->settings, NULL);
  f->server = rill_test_server_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->server, rill_test_server_free);
  test_rm_rf (f->data_home);
  g_free (f->data_home);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

/* Each preference property mirrors its key, both ways, with notify. */
static void
test_settings_are_properties (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *prompt = NULL;
  guint notified = 0;
  double temperature;
  guint limit;

  g_signal_connect (f->session, "notify::temperature", G_CALLBACK (count_notify_cb), &notified);
  g_settings_set_double (f->settings, "temperature", 0.7);
  g_object_get (f->session, "temperature", &temperature, NULL);
  g_assert_cmpfloat (temperature, ==, 0.7);
  g_assert_cmpuint (notified, ==, 1);

  g_object_set (f->session, "system-prompt", "Be brief. 简洁。", "history-limit", 7u, NULL);
  prompt = g_settings_get_string (f->settings, "system-prompt");
  g_assert_cmpstr (prompt, ==, "Be brief. 简洁。");
  g_assert_cmpuint (g_settings_get_uint (f->settings, "history-limit"), ==, 7);
  g_settings_set_uint (f->settings, "history-limit", 0);
  g_object_get (f->session, "history-limit", &limit, NULL);
  g_assert_cmpuint (limit, ==, 0);
}

/* The server list is read and written in one place; saving makes a server
 * the active one, first in the list, with the kind as its word. */
static void
test_servers (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(RillServer) first = rill_server_new (NULL, RILL_PROVIDER_OPENAI,
                                                 "http://127.0.0.1:9/v1");
  g_autoptr(RillServer) second = rill_server_new ("", RILL_PROVIDER_OLLAMA,
                                                  "http://127.0.0.1:11434");
  g_autoptr(RillServer) active = NULL;
  g_autoptr(GVariant) servers = NULL;
  g_autofree char *active_id = NULL;
  const char *id, *kind, *url;

  g_assert_null (rill_session_dup_active_server (f->session));

  rill_session_save_server (f->session, first);
  g_assert_cmpuint (strlen (first->id), >, 0);
  rill_session_save_server (f->session, second);
  g_assert_cmpstr (first->id, !=, second->id);

  servers = g_settings_get_value (f->settings, "servers");
  g_assert_cmpuint (g_variant_n_children (servers), ==, 2);
  g_variant_get_child (servers, 0, "(&s&s&s)", &id, &kind, &url);
  g_assert_cmpstr (id, ==, second->id);
  g_assert_cmpstr (kind, ==, "ollama");
  g_assert_cmpstr (url, ==, "http://127.0.0.1:11434");
  active_id = g_settings_get_string (f->settings, "active-server");
  g_assert_cmpstr (active_id, ==, second->id);

  /* Saved again under the same id: replaced, not added. */
  g_free (first->base_url);
  first->base_url = g_strdup ("http://127.0.0.1:10/v1");
  rill_session_save_server (f->session, first);
  g_clear_pointer (&servers, g_variant_unref);
  servers = g_settings_get_value (f->settings, "servers");
  g_assert_cmpuint (g_variant_n_children (servers), ==, 2);

  active = rill_session_dup_active_server (f->session);
  g_assert_cmpstr (active->id, ==, first->id);
  g_assert_cmpint (active->kind, ==, RILL_PROVIDER_OPENAI);
  g_assert_cmpstr (active->base_url, ==, "http://127.0.0.1:10/v1");
}

/* The environment wins over the preferences; saving a server while nothing
 * is in the environment switches to it, told through notify. */
static void
test_provider_follows_servers (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *env_url = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  g_autoptr(RillServer) server = rill_server_new (NULL, RILL_PROVIDER_OLLAMA, "http://127.0.0.1:9");
  guint notified = 0;

  g_signal_connect (f->session, "notify::provider", G_CALLBACK (count_notify_cb), &notified);

  g_setenv ("OPENAI_BASE_URL", env_url, TRUE);
  rill_session_reload_provider (f->session);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (rill_provider_get_base_url (rill_session_get_provider (f->session)),
                   ==, env_url);
  g_assert_nonnull (strstr (rill_session_get_provider_status (f->session), "environment"));

  /* Written while the environment names a server: still the environment. */
  rill_session_save_server (f->session, server);
  g_assert_cmpstr (rill_provider_get_base_url (rill_session_get_provider (f->session)),
                   ==, env_url);

  g_unsetenv ("OPENAI_BASE_URL");
  rill_session_reload_provider (f->session);
  g_assert_cmpint (rill_provider_get_kind (rill_session_get_provider (f->session)),
                   ==, RILL_PROVIDER_OLLAMA);
  g_assert_cmpstr (rill_provider_get_base_url (rill_session_get_provider (f->session)),
                   ==, "http://127.0.0.1:9");
  g_assert_null (rill_provider_get_api_key (rill_session_get_provider (f->session)));
  g_assert_cmpuint (notified, ==, 3);
}

static gboolean
store_known (gpointer data)
{
  RillSession *session = data;

  return rill_session_get_store (session) != NULL || rill_session_get_store_error (session);
}

static void
open_store_and_wait (Fixture *f)
{
  rill_session_open_store (f->session);
  /* Once only: a second call starts nothing. */
  rill_session_open_store (f->session);
  test_wait_until (store_known, f->session, 20000, "the history opened");
  g_assert_no_error (rill_session_get_store_error (f->session));
  g_assert_nonnull (rill_session_get_store (f->session));
}

static gboolean
reply_done (gpointer data)
{
  return rill_reply_get_status (data) != RILL_STATUS_STREAMING;
}

/* What the preferences say reaches the server: the session's options go
 * out with a real request, and a conversation's own prompt wins. */
static void
test_reply_options_reach_the_server (Fixture       *f,
                                     gconstpointer  data)
{
  const char *tokens[] = { "ok", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "m", TRUE);
  g_autofree char *url = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, url, NULL);
  g_autoptr(RillReply) reply = NULL;
  g_autoptr(JsonNode) sent = NULL;
  RillReplyOptions options;
  JsonObject *request;
  JsonArray *messages;
  gint64 id;

  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  open_store_and_wait (f);

  g_settings_set_string (f->settings, "system-prompt", "From the preferences");
  g_settings_set_double (f->settings, "temperature", 1.5);
  g_settings_set_uint (f->settings, "idle-timeout", 9);
  g_settings_set_uint (f->settings, "connect-timeout", 4);

  rill_session_fill_reply_options (f->session, NULL, "m", &options);
  g_assert_cmpstr (options.model, ==, "m");
  g_assert_null (options.default_model);
  g_assert_cmpuint (options.idle_timeout_ms, ==, 9000);
  g_assert_cmpuint (options.connect_timeout_ms, ==, 4000);

  id = test_create_conversation (rill_session_get_store (f->session), "t");
  reply = rill_reply_new (rill_session_get_store (f->session), provider, id, "Hello", &options);
  rill_reply_options_clear (&options);
  rill_reply_start (reply);
  test_wait_until (reply_done, reply, 20000, "the reply");
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);

  sent = json_from_string (rill_test_server_get_request_body (f->server, CHAT), NULL);
  request = json_node_get_object (sent);
  g_assert_cmpfloat (json_object_get_double_member (request, "temperature"), ==, 1.5);
  messages = json_object_get_array_member (request, "messages");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0),
                                                  "role"),
                   ==, "system");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0),
                                                  "content"),
                   ==, "From the preferences");

  /* A conversation with a prompt of its own: the preferences' stays out. */
  {
    TestResult r = { 0 };
    g_autoptr(RillConversation) conversation = NULL;

    rill_store_update_conversation_async (rill_session_get_store (f->session), id,
                                          RILL_CONVERSATION_SYSTEM_PROMPT, "Its own", NULL,
                                          test_write_cb, &r);
    test_wait_for (&r.done, 10000, "the prompt written");
    g_assert_no_error (r.error);
    conversation = rill_store_get_conversation (rill_session_get_store (f->session), id, NULL);
    rill_session_fill_reply_options (f->session, conversation, NULL, &options);
    g_assert_null (options.system_prompt);
    rill_reply_options_clear (&options);
  }
}

/* A conversation started from a preset keeps a copy of its values, in its
 * own columns, which the reply options use over the preferences; editing or
 * removing the preset later changes nothing in it. */
static void
test_preset_copy (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) presets = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_preset_free);
  g_autoptr(GPtrArray) read = NULL;
  g_autoptr(RillPreset) found = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autofree char *db = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *stored = NULL;
  RillPreset *preset = rill_preset_new ("翻译 Translator");
  TestResult r = { 0 };
  RillReplyOptions options;
  double temperature = 0;

  open_store_and_wait (f);
  g_settings_set_string (f->settings, "system-prompt", "From the preferences");
  g_settings_set_double (f->settings, "temperature", 1.5);
  g_settings_set_uint (f->settings, "history-limit", 50);

  g_free (preset->system_prompt);
  preset->system_prompt = g_strdup ("Translate into French.\n“Exactly.”");
  g_free (preset->model);
  preset->model = g_strdup ("llama3:8b");
  g_free (preset->server);
  preset->server = g_strdup ("env:OLLAMA_HOST");
  preset->temperature = 0.2;
  preset->history_limit = 4;
  g_ptr_array_add (presets, preset);
  g_ptr_array_add (presets, rill_preset_new ("Plain"));
  rill_session_set_presets (f->session, presets);

  /* Read back from the key, in order, every value. */
  read = rill_session_dup_presets (f->session);
  g_assert_cmpuint (read->len, ==, 2);
  g_assert_cmpstr (((RillPreset *) read->pdata[1])->name, ==, "Plain");
  found = rill_session_dup_preset (f->session, "翻译 Translator");
  g_assert_nonnull (found);
  g_assert_cmpstr (found->system_prompt, ==, preset->system_prompt);
  g_assert_cmpstr (found->model, ==, "llama3:8b");
  g_assert_cmpstr (found->server, ==, "env:OLLAMA_HOST");
  g_assert_cmpfloat (found->temperature, ==, 0.2);
  g_assert_cmpuint (found->history_limit, ==, 4);
  g_assert_null (rill_session_dup_preset (f->session, "Missing"));

  rill_store_create_conversation_from_preset_async (rill_session_get_store (f->session), NULL,
                                                    found, "http://127.0.0.1:11434", NULL,
                                                    test_create_conversation_cb, &r);
  test_wait_for (&r.done, 10000, "the conversation created");
  g_assert_no_error (r.error);
  g_assert_cmpint (r.id, >, 0);

  /* The copy, byte for byte, in the file. */
  db = rill_store_default_path ();
  sql = g_strdup_printf ("SELECT preset || '|' || system_prompt || '|' || model || '|' || server"
                         " || '|' || server_url || '|' || temperature || '|' || history_limit"
                         " FROM conversations WHERE id = %" G_GINT64_FORMAT, r.id);
  stored = test_sql_text (db, sql);
  g_assert_cmpstr (stored, ==, "翻译 Translator|Translate into French.\n“Exactly.”|llama3:8b|"
                   "env:OLLAMA_HOST|http://127.0.0.1:11434|0.2|4");

  /* The preset changes and goes: the conversation keeps its copy, and the
   * reply options come from it, not from the preferences. */
  g_free (found->system_prompt);
  found->system_prompt = g_strdup ("Changed");
  found->temperature = 1.9;
  g_ptr_array_remove_index (read, 0);
  g_ptr_array_add (read, rill_preset_copy (found));
  rill_session_set_presets (f->session, read);
  g_ptr_array_set_size (read, 0);
  rill_session_set_presets (f->session, read);
  g_assert_null (rill_session_dup_preset (f->session, "翻译 Translator"));

  conversation = rill_store_get_conversation (rill_session_get_store (f->session), r.id, NULL);
  g_assert_cmpstr (rill_conversation_get_preset (conversation), ==, "翻译 Translator");
  g_assert_cmpstr (rill_conversation_get_system_prompt (conversation), ==,
                   "Translate into French.\n“Exactly.”");
  g_assert_cmpstr (rill_conversation_get_model (conversation), ==, "llama3:8b");
  g_assert_cmpstr (rill_conversation_get_server (conversation), ==, "env:OLLAMA_HOST");
  g_assert_true (rill_conversation_get_temperature (conversation, &temperature));
  g_assert_cmpfloat (temperature, ==, 0.2);
  g_assert_cmpint (rill_conversation_get_history_limit (conversation), ==, 4);
  rill_session_fill_reply_options (f->session, conversation, "llama3:8b", &options);
  g_assert_null (options.system_prompt);  /* the conversation's own is sent */
  g_assert_cmpfloat (options.temperature, ==, 0.2);
  g_assert_cmpuint (options.history_limit, ==, 4);
  rill_reply_options_clear (&options);

  /* Without a preset, the preferences apply. */
  g_clear_object (&conversation);
  conversation = rill_store_get_conversation (rill_session_get_store (f->session),
                                              test_create_conversation (
                                                rill_session_get_store (f->session), "t"),
                                              NULL);
  g_assert_null (rill_conversation_get_preset (conversation));
  g_assert_false (rill_conversation_get_temperature (conversation, NULL));
  g_assert_cmpint (rill_conversation_get_history_limit (conversation), ==, -1);
  rill_session_fill_reply_options (f->session, conversation, NULL, &options);
  g_assert_cmpstr (options.system_prompt, ==, "From the preferences");
  g_assert_cmpfloat (options.temperature, ==, 1.5);
  g_assert_cmpuint (options.history_limit, ==, 50);
  rill_reply_options_clear (&options);
  g_settings_reset (f->settings, "presets");
}

/* The history */

/* GLib reads XDG_DATA_HOME once per process, so every scenario's session
 * opens the same file: each starts it afresh. */
static char *
fresh_default_path (void)
{
  char *path = rill_store_default_path ();

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *file = g_strconcat (path, (const char *[]) { "", "-wal", "-shm" }[i],
                                           NULL);
      g_unlink (file);
    }
  g_rmdir (path);
  return path;
}

static gboolean
store_waiting (gpointer data)
{
  return rill_session_get_store_waiting (data);
}

/* Another program holds the write lock when the session opens the history:
 * the main loop turns meanwhile, the session says it waits, and once the
 * lock goes it has the history, with the reply a dead process left
 * "streaming" recovered. Never a session without history. */
static void
test_store_waits_for_lock (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *path = fresh_default_path ();
  g_autoptr(GError) error = NULL;
  guint store_notified = 0, waiting_notified = 0;
  RillStore *store;
  sqlite3 *holder;

  store = rill_store_open (path, &error);
  g_assert_no_error (error);
  test_store_close (store);
  test_sql_exec (path,
                 "INSERT INTO conversations (id, title, created_at, updated_at)"
                 " VALUES (1, 't', 1, 1);"
                 "INSERT INTO messages (conversation_id, role, content, status, created_at)"
                 " VALUES (1, 'assistant', 'half', 'streaming', 2);");

  g_assert_cmpint (sqlite3_open (path, &holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  g_signal_connect (f->session, "notify::store", G_CALLBACK (count_notify_cb), &store_notified);
  g_signal_connect (f->session, "notify::store-waiting", G_CALLBACK (count_notify_cb),
                    &waiting_notified);
  rill_session_open_store (f->session);
  g_assert_null (rill_session_get_store (f->session));
  test_wait_until (store_waiting, f->session, 20000, "the session says it waits");
  g_assert_null (rill_session_get_store (f->session));
  g_assert_null (rill_session_get_store_error (f->session));
  g_assert_cmpuint (store_notified, ==, 0);

  g_assert_cmpint (sqlite3_exec (holder, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (holder);
  test_wait_until (store_known, f->session, 20000, "the history opened");
  g_assert_no_error (rill_session_get_store_error (f->session));
  store = rill_session_get_store (f->session);
  g_assert_nonnull (store);
  g_assert_false (rill_session_get_store_waiting (f->session));
  g_assert_cmpuint (store_notified, ==, 1);
  g_assert_cmpuint (waiting_notified, ==, 2);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  {
    g_autofree char *status = test_sql_text (path, "SELECT status FROM messages");
    g_assert_cmpstr (status, ==, "interrupted");
  }
}

/* A history that cannot be opened is said once, with the store's words,
 * and never waited for. */
static void
test_store_error (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = fresh_default_path ();

  /* A folder where the file should be: no retry makes it a database. */
  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING, "Could not open the history: *");
  rill_session_open_store (f->session);
  test_wait_until (store_known, f->session, 20000, "the open ended");
  g_test_assert_expected_messages ();
  g_assert_null (rill_session_get_store (f->session));
  g_assert_error (rill_session_get_store_error (f->session), RILL_STORE_ERROR,
                  RILL_STORE_ERROR_READ_ONLY);
  g_assert_false (rill_session_get_store_waiting (f->session));
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

/* A keyring in memory, one key per server id, as the Secret Service keeps
 * them; the real one is tested against gnome-keyring in tests/citizen. */
#define TEST_TYPE_KEYRING (test_keyring_get_type ())
G_DECLARE_FINAL_TYPE (TestKeyring, test_keyring, TEST, KEYRING, GObject)

struct _TestKeyring
{
  GObject     parent_instance;
  GHashTable *keys;
};

static void test_keyring_iface_init (RillKeyringInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestKeyring, test_keyring, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (RILL_TYPE_KEYRING, test_keyring_iface_init))

static void
test_keyring_lookup_async (RillKeyring         *keyring,
                           const char          *server_id,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (keyring, cancellable, callback, user_data);

  /* Answered from the main loop, as D-Bus would. */
  g_task_return_pointer (task, g_strdup (g_hash_table_lookup (TEST_KEYRING (keyring)->keys,
                                                              server_id)), g_free);
}

static char *
test_keyring_lookup_finish (RillKeyring   *keyring,
                            GAsyncResult  *result,
                            GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_keyring_store_async (RillKeyring         *keyring,
                          const char          *server_id,
                          const char          *label,
                          const char          *api_key,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (keyring, cancellable, callback, user_data);

  g_hash_table_insert (TEST_KEYRING (keyring)->keys, g_strdup (server_id), g_strdup (api_key));
  g_task_return_boolean (task, TRUE);
}

static gboolean
test_keyring_store_finish (RillKeyring   *keyring,
                           GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_keyring_iface_init (RillKeyringInterface *iface)
{
  iface->lookup_key_async = test_keyring_lookup_async;
  iface->lookup_key_finish = test_keyring_lookup_finish;
  iface->store_key_async = test_keyring_store_async;
  iface->store_key_finish = test_keyring_store_finish;
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

typedef struct
{
  guint notified;
  guint wanted;
} Reloads;

static void
reloaded_cb (GObject    *object,
             GParamSpec *pspec,
             Reloads    *reloads)
{
  reloads->notified++;
}

static gboolean
reloaded (gpointer data)
{
  Reloads *reloads = data;

  return reloads->notified >= reloads->wanted;
}

/* Reloads, then waits until it has ended: each look-up of the servers ends
 * with one notify::provider, once every key is read. */
static void
reload_and_wait (RillSession *session,
                 Reloads     *reloads)
{
  reloads->wanted = reloads->notified + 1;
  rill_session_reload_provider (session);
  test_wait_until (reloaded, reloads, 10000, "the servers listed");
}

static gboolean
settings_hold (GSettings  *settings,
               const char *text)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i]; i++)
    {
      g_autoptr(GVariant) value = g_settings_get_value (settings, keys[i]);
      g_autofree char *printed = g_variant_print (value, FALSE);

      if (strstr (printed, text) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* Both variables set: both servers are offered, each as what it is, and
 * OPENAI_API_KEY goes only with the OPENAI_BASE_URL one. Configured
 * servers follow, each with its own key from the keyring, one switched off
 * with no provider; none of the keys is written into the settings. */
static void
test_every_server (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TestKeyring) keyring = g_object_new (TEST_TYPE_KEYRING, NULL);
  g_autoptr(RillServer) groq = rill_server_new (NULL, RILL_PROVIDER_OPENAI,
                                                "http://127.0.0.1:9/openai/v1");
  g_autoptr(RillServer) off = rill_server_new (NULL, RILL_PROVIDER_OLLAMA,
                                               "http://user:pw@127.0.0.1:10");
  g_autoptr(RillServerItem) item = NULL;
  Reloads reloads = { 0 };
  GListModel *servers;
  RillProvider *provider;

  g_clear_object (&f->session);
  f->session = rill_session_new (f->settings, RILL_KEYRING (keyring));
  g_setenv ("OPENAI_BASE_URL", "http://127.0.0.1:7/v1", TRUE);
  g_setenv ("OPENAI_API_KEY", "sk-from-env", TRUE);
  g_setenv ("OLLAMA_HOST", "127.0.0.1:8", TRUE);

  g_free (groq->name);
  groq->name = g_strdup ("Groq & co");
  rill_session_update_server (f->session, groq);
  off->enabled = FALSE;
  rill_session_update_server (f->session, off);
  g_hash_table_insert (keyring->keys, g_strdup (groq->id), g_strdup ("sk-groq"));
  g_hash_table_insert (keyring->keys, g_strdup (off->id), g_strdup ("sk-off"));
  g_signal_connect (f->session, "notify::provider", G_CALLBACK (reloaded_cb), &reloads);
  reload_and_wait (f->session, &reloads);

  servers = rill_session_get_servers (f->session);
  g_assert_cmpuint (g_list_model_get_n_items (servers), ==, 4);

  item = g_list_model_get_item (servers, 0);
  g_assert_cmpstr (rill_server_item_get_label (item), ==,
                   "From the environment (OPENAI_BASE_URL)");
  provider = rill_server_item_get_provider (item);
  g_assert_cmpstr (rill_provider_get_api_key (provider), ==, "sk-from-env");
  g_assert_true (rill_provider_get_key_from_environment (provider));
  g_assert_true (rill_session_get_provider (f->session) == provider);
  g_assert_cmpstr (rill_session_get_provider_id (f->session), ==, "env:OPENAI_BASE_URL");
  g_clear_object (&item);

  item = g_list_model_get_item (servers, 1);
  g_assert_cmpstr (rill_server_item_get_label (item), ==, "From the environment (OLLAMA_HOST)");
  provider = rill_server_item_get_provider (item);
  g_assert_cmpint (rill_provider_get_kind (provider), ==, RILL_PROVIDER_OLLAMA);
  g_assert_cmpstr (rill_provider_get_base_url (provider), ==, "http://127.0.0.1:8");
  g_assert_null (rill_provider_get_api_key (provider));
  g_assert_true (rill_session_get_provider_for (f->session, "env:OLLAMA_HOST") == provider);
  g_clear_object (&item);

  item = g_list_model_get_item (servers, 2);
  g_assert_cmpstr (rill_server_item_get_label (item), ==, "Groq & co");
  g_assert_cmpstr (rill_server_item_get_id (item), ==, groq->id);
  provider = rill_session_get_provider_for (f->session, groq->id);
  g_assert_cmpstr (rill_provider_get_api_key (provider), ==, "sk-groq");
  g_assert_false (rill_provider_get_key_from_environment (provider));
  g_clear_object (&item);

  item = g_list_model_get_item (servers, 3);
  g_assert_false (rill_server_item_get_server (item)->enabled);
  g_assert_null (rill_server_item_get_provider (item));
  g_assert_null (rill_session_get_provider_for (f->session, off->id));
  g_assert_cmpstr (rill_server_item_get_label (item), ==, "http://127.0.0.1:10");
  g_clear_object (&item);

  /* Switched on again: its own key, no other. */
  rill_session_set_server_enabled (f->session, off->id, TRUE);
  reload_and_wait (f->session, &reloads);
  g_assert_cmpstr (rill_provider_get_api_key (rill_session_get_provider_for (f->session, off->id)),
                   ==, "sk-off");
  g_assert_null (rill_session_get_provider_for (f->session, "no-such-server"));

  g_assert_false (settings_hold (f->settings, "sk-"));
  g_assert_true (settings_hold (f->settings, "Groq & co"));

  /* Removed: gone from the list, and nothing is sent to it. */
  rill_session_remove_server (f->session, groq->id);
  reload_and_wait (f->session, &reloads);
  g_assert_null (rill_session_get_provider_for (f->session, groq->id));
  g_assert_cmpuint (g_list_model_get_n_items (servers), ==, 3);
}

/* Naming a conversation with the model: off by default; on, one request
 * that does not stream goes to the same server after the first reply, its
 * answer cleaned becomes the title, a renamed conversation keeps its name,
 * and a failure changes nothing. */

static char *
name_and_wait (Fixture *f, RillReply *reply, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rill_session_name_conversation_async (f->session, reply, NULL, test_async_result_cb, &result);
  test_wait_result (&result, 20000, "the naming to finish");
  return rill_session_name_conversation_finish (f->session, result, error);
}

static char *
title_of (RillStore *store, gint64 id)
{
  g_autoptr(RillConversation) conversation = NULL;

  g_assert_true (rill_store_sync (store, 10000));
  conversation = rill_store_get_conversation (store, id, NULL);
  return g_strdup (rill_conversation_get_title (conversation));
}

static void
route_json (Fixture *f, guint status, const char *body)
{
  RillTestScript *script = rill_test_script_new (status, "application/json");

  rill_test_script_send (script, body, -1, 0);
  rill_test_server_route (f->server, CHAT, script);
}

static void
test_names_conversation (Fixture       *f,
                         gconstpointer  data)
{
  const char *tokens[] = { "The Nile, ", "by most measures.", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "m", TRUE);
  g_autofree char *url = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillReply) reply = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  g_autofree char *stored = NULL;
  RillReplyOptions options;
  RillStore *store;
  const char *body;
  guint asked;
  gint64 id;

  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  g_setenv ("OPENAI_BASE_URL", url, TRUE);
  rill_session_reload_provider (f->session);
  g_assert_nonnull (rill_session_get_provider (f->session));
  open_store_and_wait (f);
  store = rill_session_get_store (f->session);

  id = test_create_conversation (store, NULL);
  rill_session_fill_reply_options (f->session, NULL, "m", &options);
  reply = rill_reply_new (store, rill_session_get_provider (f->session), id,
                          "Which river is the longest?", &options);
  rill_reply_options_clear (&options);
  rill_reply_start (reply);
  test_wait_until (reply_done, reply, 20000, "the reply");
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  stored = title_of (store, id);
  g_assert_cmpstr (stored, ==, "Which river is the longest?");

  /* Off by default: nothing is asked. */
  asked = rill_test_server_get_request_count (f->server, CHAT);
  title = name_and_wait (f, reply, &error);
  g_assert_no_error (error);
  g_assert_null (title);
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, asked);

  /* On: one request that does not stream, with the question. */
  g_settings_set_boolean (f->settings, "name-conversations", TRUE);
  route_json (f, 200, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              "\"content\":\"\\\"Longest rivers.\\\"\"}}]}");
  title = name_and_wait (f, reply, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (title, ==, "Longest rivers");
  g_assert_cmpuint (rill_test_server_get_request_count (f->server, CHAT), ==, asked + 1);
  body = rill_test_server_get_request_body (f->server, CHAT);
  g_assert_nonnull (strstr (body, "\"stream\":false"));
  g_assert_nonnull (strstr (body, "Which river is the longest?"));
  g_clear_pointer (&stored, g_free);
  stored = title_of (store, id);
  g_assert_cmpstr (stored, ==, "Longest rivers");
  /* Not a message of the conversation. */
  messages = rill_store_list_messages (store, id, NULL);
  g_assert_cmpuint (messages->len, ==, 2);

  /* A name the person gave stays. */
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TITLE, "Mine", NULL, NULL,
                                        NULL);
  g_clear_pointer (&title, g_free);
  title = name_and_wait (f, reply, &error);
  g_assert_no_error (error);
  g_clear_pointer (&stored, g_free);
  stored = title_of (store, id);
  g_assert_cmpstr (stored, ==, "Mine");

  /* A failure: a line in the log, the title as it was. */
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TITLE_FROM_MODEL, "Kept",
                                        NULL, NULL, NULL);
  route_json (f, 500, "{\"error\":{\"message\":\"overloaded\"}}");
  g_clear_pointer (&title, g_free);
  title = name_and_wait (f, reply, &error);
  g_assert_nonnull (error);
  g_assert_null (title);
  g_clear_pointer (&stored, g_free);
  stored = title_of (store, id);
  g_assert_cmpstr (stored, ==, "Mine");
  g_settings_reset (f->settings, "name-conversations");
  g_unsetenv ("OPENAI_BASE_URL");
}

/* What a model's answer becomes as a title. */
static void
test_title_cleaned (Fixture       *f,
                    gconstpointer  data)
{
  static const struct { const char *answer; const char *title; } cases[] = {
    { "\"Rivers of the world.\"", "Rivers of the world" },
    { "Title: Nile or Amazon?", "Nile or Amazon?" },
    { "《长江与黄河》。", "长江与黄河" },
    { "\n\n  **Tea and coffee**\nA second line", "Tea and coffee" },
    { "\"\"", NULL },
    { "", NULL },
  };
  g_autofree char *long_answer = g_strnfill (200, 'x');
  g_autofree char *cut = rill_titler_clean (long_answer);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *title = rill_titler_clean (cases[i].answer);

      g_assert_cmpstr (title, ==, cases[i].title);
    }
  g_assert_cmpuint (g_utf8_strlen (cut, -1), ==, 80);
  g_assert_true (g_str_has_suffix (cut, "…"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/session/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("settings-are-properties", test_settings_are_properties);
  ADD ("servers", test_servers);
  ADD ("preset-copy", test_preset_copy);
  ADD ("provider-follows-servers", test_provider_follows_servers);
  ADD ("every-server", test_every_server);
  ADD ("reply-options-reach-the-server", test_reply_options_reach_the_server);
  ADD ("store-waits-for-lock", test_store_waits_for_lock);
  ADD ("store-error", test_store_error);
  ADD ("names-conversation", test_names_conversation);
  ADD ("title-cleaned", test_title_cleaned);
#undef ADD

  return g_test_run ();
}
