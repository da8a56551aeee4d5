/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-search-provider.h: org.gnome.Shell.SearchProvider2 over the store's
 * full-text index. Result ids are "MESSAGE_ID"; activating one emits
 * "activate-message" so the application opens that conversation there. */
#pragma once

#include <gio/gio.h>

#include "rill-store.h"

G_BEGIN_DECLS

#define RILL_TYPE_SEARCH_PROVIDER (rill_search_provider_get_type ())
G_DECLARE_FINAL_TYPE (RillSearchProvider, rill_search_provider, RILL, SEARCH_PROVIDER, GObject)

/* Signals: "activate-message" (gint64 conversation_id, gint64 message_id,
 * guint32 timestamp), "launch-search" (GStrv terms, guint32 timestamp).
 * @store may be NULL until the history is open: calls then wait for it
 * ("store" property, or set_store). */
RillSearchProvider *rill_search_provider_new      (RillStore          *store);
void                rill_search_provider_set_store (RillSearchProvider *self,
                                                    RillStore          *store);
/* Call from GApplication's dbus_register with its object path. */
gboolean            rill_search_provider_export   (RillSearchProvider *self,
                                                   GDBusConnection    *connection,
                                                   const char         *object_path,
                                                   GError            **error);
void                rill_search_provider_unexport (RillSearchProvider *self);

G_END_DECLS
