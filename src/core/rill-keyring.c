/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-keyring.c: dispatch to whoever keeps the keys. */

#include "rill-keyring.h"

G_DEFINE_INTERFACE (RillKeyring, rill_keyring, G_TYPE_OBJECT)

static void
rill_keyring_default_init (RillKeyringInterface *iface)
{
}

void
rill_keyring_lookup_key_async (RillKeyring         *self,
                               const char          *server_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (RILL_IS_KEYRING (self));
  g_return_if_fail (server_id != NULL);

  RILL_KEYRING_GET_IFACE (self)->lookup_key_async (self, server_id,
                                                   cancellable, callback, user_data);
}

char *
rill_keyring_lookup_key_finish (RillKeyring   *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (RILL_IS_KEYRING (self), NULL);

  return RILL_KEYRING_GET_IFACE (self)->lookup_key_finish (self, result, error);
}

void
rill_keyring_store_key_async (RillKeyring         *self,
                              const char          *server_id,
                              const char          *label,
                              const char          *api_key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (RILL_IS_KEYRING (self));
  g_return_if_fail (server_id != NULL && api_key != NULL);

  RILL_KEYRING_GET_IFACE (self)->store_key_async (self, server_id, label, api_key,
                                                  cancellable, callback, user_data);
}

gboolean
rill_keyring_store_key_finish (RillKeyring   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (RILL_IS_KEYRING (self), FALSE);

  return RILL_KEYRING_GET_IFACE (self)->store_key_finish (self, result, error);
}
