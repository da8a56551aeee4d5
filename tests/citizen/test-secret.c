/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API keys against a real gnome-keyring-daemon: run by run-with-keyring.sh
 * on a private session bus. */

#include <libsecret/secret.h>
#include <string.h>

#include "rill-secret.h"

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

static GAsyncResult *
wait_run (Wait *wait)
{
  g_main_loop_run (wait->loop);
  return wait->result;
}

static void
wait_clear (Wait *wait)
{
  g_clear_object (&wait->result);
}

static gboolean
store_key (const char *server_id, const char *label, const char *key)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait wait = { loop, NULL };
  g_autoptr(GError) error = NULL;
  gboolean ok;

  rill_secret_store_key_async (server_id, label, key, NULL, wait_cb, &wait);
  ok = rill_secret_store_key_finish (wait_run (&wait), &error);
  g_assert_no_error (error);
  wait_clear (&wait);
  return ok;
}

static char *
lookup_key (const char *server_id)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait wait = { loop, NULL };
  g_autoptr(GError) error = NULL;
  char *key;

  rill_secret_lookup_key_async (server_id, NULL, wait_cb, &wait);
  key = rill_secret_lookup_key_finish (wait_run (&wait), &error);
  g_assert_no_error (error);
  wait_clear (&wait);
  return key;
}

static gboolean
clear_key (const char *server_id)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait wait = { loop, NULL };
  g_autoptr(GError) error = NULL;
  gboolean ok;

  rill_secret_clear_key_async (server_id, NULL, wait_cb, &wait);
  ok = rill_secret_clear_key_finish (wait_run (&wait), &error);
  g_assert_no_error (error);
  wait_clear (&wait);
  return ok;
}

static void
test_store_lookup_clear (void)
{
  char *key;

  g_assert_null (lookup_key ("openai-1"));

  g_assert_true (store_key ("openai-1", "OpenAI", "sk-first"));
  g_assert_true (store_key ("ollama-2", NULL, "local-key"));
  key = lookup_key ("openai-1");
  g_assert_cmpstr (key, ==, "sk-first");
  g_free (key);

  /* Storing again replaces the key rather than adding a second item. */
  g_assert_true (store_key ("openai-1", "OpenAI", "sk-second-密钥"));
  key = lookup_key ("openai-1");
  g_assert_cmpstr (key, ==, "sk-second-密钥");
  g_free (key);

  g_assert_true (clear_key ("openai-1"));
  g_assert_null (lookup_key ("openai-1"));
  /* Another server's key is untouched. */
  key = lookup_key ("ollama-2");
  g_assert_cmpstr (key, ==, "local-key");
  g_free (key);

  /* Forgetting a key that is not there still succeeds. */
  g_assert_true (clear_key ("openai-1"));
  g_assert_true (clear_key ("ollama-2"));
  g_assert_null (lookup_key ("ollama-2"));
}

/* The items carry our own schema, so nothing else matches them. */
static void
test_schema (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(SecretService) service = NULL;
  GList *items;
  char *label;

  g_assert_true (store_key ("schema-check", "Example Server", "sk-schema"));

  service = secret_service_get_sync (SECRET_SERVICE_LOAD_COLLECTIONS, NULL, &error);
  g_assert_no_error (error);
  attributes = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attributes, (char *) "xdg:schema", (char *) "io.github.rill.Rill.ApiKey");
  g_hash_table_insert (attributes, (char *) "server-id", (char *) "schema-check");
  items = secret_service_search_sync (service, NULL, attributes, SECRET_SEARCH_ALL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  label = secret_item_get_label (items->data);
  g_assert_nonnull (strstr (label, "Example Server"));
  g_free (label);
  g_list_free_full (items, g_object_unref);

  g_assert_true (clear_key ("schema-check"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secret/store-lookup-clear", test_store_lookup_clear);
  g_test_add_func ("/secret/schema", test_schema);

  return g_test_run ();
}
