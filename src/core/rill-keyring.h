/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-keyring.h: where API keys are kept, as the core sees it.
 *
 * The core never links libsecret (it is a desktop dependency, and the tests
 * of the core run without a keyring daemon); the application hands the
 * session an object that implements this interface over the real keyring. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define RILL_TYPE_KEYRING (rill_keyring_get_type ())
G_DECLARE_INTERFACE (RillKeyring, rill_keyring, RILL, KEYRING, GObject)

struct _RillKeyringInterface
{
  GTypeInterface parent_iface;

  void      (*lookup_key_async)  (RillKeyring         *self,
                                  const char          *server_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
  char     *(*lookup_key_finish) (RillKeyring         *self,
                                  GAsyncResult        *result,
                                  GError             **error);
  void      (*store_key_async)   (RillKeyring         *self,
                                  const char          *server_id,
                                  const char          *label,
                                  const char          *api_key,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
  gboolean  (*store_key_finish)  (RillKeyring         *self,
                                  GAsyncResult        *result,
                                  GError             **error);
};

/* Returns NULL without an error when no key is stored. */
void      rill_keyring_lookup_key_async  (RillKeyring         *self,
                                          const char          *server_id,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
char     *rill_keyring_lookup_key_finish (RillKeyring         *self,
                                          GAsyncResult        *result,
                                          GError             **error);
void      rill_keyring_store_key_async   (RillKeyring         *self,
                                          const char          *server_id,
                                          const char          *label,
                                          const char          *api_key,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean  rill_keyring_store_key_finish  (RillKeyring         *self,
                                          GAsyncResult        *result,
                                          GError             **error);

G_END_DECLS
