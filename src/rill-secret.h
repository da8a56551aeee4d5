/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-secret.h: API keys in the keyring (libsecret), never on disk in
 * clear, never in the database or GSettings. Keys are stored per server id
 * (the id in the "servers" GSettings key). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void      rill_secret_store_key_async   (const char          *server_id,
                                         const char          *server_label,
                                         const char          *api_key,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
gboolean  rill_secret_store_key_finish  (GAsyncResult        *result,
                                         GError             **error);
/* Returns NULL without an error when no key is stored. */
void      rill_secret_lookup_key_async  (const char          *server_id,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
char     *rill_secret_lookup_key_finish (GAsyncResult        *result,
                                         GError             **error);
void      rill_secret_clear_key_async   (const char          *server_id,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
gboolean  rill_secret_clear_key_finish  (GAsyncResult        *result,
                                         GError             **error);

G_END_DECLS
