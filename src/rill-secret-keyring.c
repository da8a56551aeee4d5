/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-secret-keyring.c: the session's keys, in the Secret Service.
 *
 * A thin adapter: rill-secret.c holds the schema and the libsecret calls,
 * this gives them the shape of RillKeyring so the GTK-free session can use
 * them without linking libsecret. */

#include "rill-secret.h"
#include "rill-secret-keyring.h"

struct _RillSecretKeyring
{
  GObject parent_instance;
};

static void keyring_iface_init (RillKeyringInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RillSecretKeyring, rill_secret_keyring, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (RILL_TYPE_KEYRING, keyring_iface_init))

static void
forward_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* The inner result is finished by the matching _finish below. */
  g_task_return_pointer (task, g_object_ref (result), g_object_unref);
}

static void
lookup_key_async (RillKeyring         *keyring,
                  const char          *server_id,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task = g_task_new (keyring, cancellable, callback, user_data);

  g_task_set_source_tag (task, lookup_key_async);
  rill_secret_lookup_key_async (server_id, cancellable, forward_cb, task);
}

static char *
lookup_key_finish (RillKeyring   *keyring,
                   GAsyncResult  *result,
                   GError       **error)
{
  g_autoptr(GAsyncResult) inner = g_task_propagate_pointer (G_TASK (result), error);

  return inner ? rill_secret_lookup_key_finish (inner, error) : NULL;
}

static void
store_key_async (RillKeyring         *keyring,
                 const char          *server_id,
                 const char          *label,
                 const char          *api_key,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  GTask *task = g_task_new (keyring, cancellable, callback, user_data);

  g_task_set_source_tag (task, store_key_async);
  rill_secret_store_key_async (server_id, label, api_key, cancellable, forward_cb, task);
}

static gboolean
store_key_finish (RillKeyring   *keyring,
                  GAsyncResult  *result,
                  GError       **error)
{
  g_autoptr(GAsyncResult) inner = g_task_propagate_pointer (G_TASK (result), error);

  return inner != NULL && rill_secret_store_key_finish (inner, error);
}

static void
keyring_iface_init (RillKeyringInterface *iface)
{
  iface->lookup_key_async = lookup_key_async;
  iface->lookup_key_finish = lookup_key_finish;
  iface->store_key_async = store_key_async;
  iface->store_key_finish = store_key_finish;
}

static void
rill_secret_keyring_class_init (RillSecretKeyringClass *klass)
{
}

static void
rill_secret_keyring_init (RillSecretKeyring *self)
{
}

RillKeyring *
rill_secret_keyring_new (void)
{
  return g_object_new (RILL_TYPE_SECRET_KEYRING, NULL);
}
