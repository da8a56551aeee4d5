/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-session.h: the state every window shares.
 *
 * One session per process: the history store, the servers the person
 * configured and the one in use, and the preferences as typed properties
 * (each bound to its GSettings key of the same name). Windows and the
 * preferences receive it as a construct property and bind to it; nothing
 * here needs GTK, so the tests drive it directly. */
#pragma once

#include <gio/gio.h>

#include "rill-keyring.h"
#include "rill-provider.h"
#include "rill-records.h"
#include "rill-reply.h"
#include "rill-store.h"

G_BEGIN_DECLS

/* A server the person configured: one element of the "servers" key. */
typedef struct
{
  char             *id;
  RillProviderKind  kind;
  char             *base_url;
} RillServer;

#define RILL_TYPE_SERVER (rill_server_get_type ())
GType       rill_server_get_type (void) G_GNUC_CONST;
RillServer *rill_server_new      (const char       *id,
                                  RillProviderKind  kind,
                                  const char       *base_url);
RillServer *rill_server_copy     (const RillServer *server);
void        rill_server_free     (RillServer       *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillServer, rill_server_free)

#define RILL_TYPE_SESSION (rill_session_get_type ())
G_DECLARE_FINAL_TYPE (RillSession, rill_session, RILL, SESSION, GObject)

/* @keyring may be NULL: configured servers are then used without a key. */
RillSession  *rill_session_new                 (GSettings        *settings,
                                                RillKeyring      *keyring);

/* Starts opening the history, once, in a thread (rill_store_open_async):
 * the main loop never waits for it. "store" is set when it opens, or
 * "store-error" when it cannot; while another program holds the database,
 * "store-waiting" is TRUE and the open retries until the lock goes. Only
 * the primary instance calls it (its GApplication startup). */
void          rill_session_open_store          (RillSession      *self);
/* NULL until opened ("notify::store"), and when it could not be opened. */
RillStore    *rill_session_get_store           (RillSession      *self);
/* Why it could not be opened ("notify::store-error"), else NULL. */
const GError *rill_session_get_store_error     (RillSession      *self);
/* TRUE while another program holds the history and the open waits. */
gboolean      rill_session_get_store_waiting   (RillSession      *self);

GSettings    *rill_session_get_settings        (RillSession      *self);
RillKeyring  *rill_session_get_keyring         (RillSession      *self);

/* NULL until a server is known ("notify::provider"). */
RillProvider *rill_session_get_provider        (RillSession      *self);
/* What was found, or how to add a server, in words ("notify::provider-status"). */
const char   *rill_session_get_provider_status (RillSession      *self);
/* Looks for the server again: the environment, then the active configured
 * server (its key from the keyring), then a local server on its usual port.
 * Runs by itself when the servers or the active one change. */
void          rill_session_reload_provider     (RillSession      *self);

/* The configured server new conversations use: the active one, else the
 * first; NULL when none is configured. */
RillServer   *rill_session_dup_active_server   (RillSession      *self);
/* Puts @server first in the list (replacing the one with its id) and makes
 * it the active one; an empty id gets a new one, written back. */
void          rill_session_save_server         (RillSession      *self,
                                                RillServer       *server);

/* The options a reply in @conversation (NULL for a new one) is asked with:
 * @model, the preferences, and the conversation's own system prompt, which
 * wins over the one from the preferences. */
void          rill_session_fill_reply_options  (RillSession      *self,
                                                RillConversation *conversation,
                                                const char       *model,
                                                RillReplyOptions *options);

G_END_DECLS
