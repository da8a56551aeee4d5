/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API keys in the keyring.
 *
 * The items use a schema of Rill's own, so `secret-tool search xdg:schema
 * io.github.rill.Rill.ApiKey` lists exactly our keys and nothing else can
 * match them by accident. One item per server id: storing again replaces
 * the secret in place, as libsecret does for identical attributes.
 *
 * Each call wraps libsecret's own async call in a GTask of ours, so callers
 * get the usual source-tagged _finish functions and never see libsecret's
 * types. Inside a Flatpak sandbox libsecret talks to the Secret portal or,
 * with --talk-name=org.freedesktop.secrets, to the host's keyring. */

#include "rill-secret.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>

#define SERVER_ID_ATTRIBUTE "server-id"

static const SecretSchema *
rill_secret_get_schema (void)
{
  /* SECRET_SCHEMA_NONE keeps the schema name as the xdg:schema attribute,
   * which lookups then match on. */
  static const SecretSchema schema = {
    "io.github.rill.Rill.ApiKey", SECRET_SCHEMA_NONE,
    {
      { SERVER_ID_ATTRIBUTE, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
rill_secret_store_key_async (const char          *server_id,
                             const char          *server_label,
                             const char          *api_key,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *label = NULL;

  g_return_if_fail (server_id != NULL && server_id[0] != '\0');
  g_return_if_fail (api_key != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_secret_store_key_async);

  /* The label is what Passwords and Keys (Seahorse) shows the user. */
  label = g_strdup_printf (_("Rill API key for %s"),
                           server_label && server_label[0] ? server_label : server_id);
  secret_password_store (rill_secret_get_schema (), SECRET_COLLECTION_DEFAULT,
                         label, api_key, cancellable,
                         store_cb, g_steal_pointer (&task),
                         SERVER_ID_ATTRIBUTE, server_id,
                         NULL);
}

gboolean
rill_secret_store_key_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rill_secret_store_key_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *key;

  /* NULL without an error means there is no such item. */
  key = secret_password_lookup_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, key, (GDestroyNotify) secret_password_free);
}

void
rill_secret_lookup_key_async (const char          *server_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (server_id != NULL && server_id[0] != '\0');
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_secret_lookup_key_async);

  secret_password_lookup (rill_secret_get_schema (), cancellable,
                          lookup_cb, g_steal_pointer (&task),
                          SERVER_ID_ATTRIBUTE, server_id,
                          NULL);
}

char *
rill_secret_lookup_key_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rill_secret_lookup_key_async,
                        NULL);

  /* libsecret's string is plain g_malloc memory (secret_password_free only
   * wipes it first), so the caller may g_free() it. */
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
clear_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error only says nothing was stored: forgetting a key
   * that is not there has still succeeded. */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
rill_secret_clear_key_async (const char          *server_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (server_id != NULL && server_id[0] != '\0');
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_secret_clear_key_async);

  secret_password_clear (rill_secret_get_schema (), cancellable,
                         clear_cb, g_steal_pointer (&task),
                         SERVER_ID_ATTRIBUTE, server_id,
                         NULL);
}

gboolean
rill_secret_clear_key_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rill_secret_clear_key_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
