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
#include "rill-preset.h"
#include "rill-provider.h"
#include "rill-records.h"
#include "rill-reply.h"
#include "rill-store.h"
#include "rill-toolbox.h"

G_BEGIN_DECLS

/* A server: one element of the "servers" key (its name from
 * "server-names", switched off when in "disabled-servers"), or one the
 * environment names (@environment the variable, never stored). */
typedef struct
{
  char             *id;
  RillProviderKind  kind;
  char             *base_url;
  char             *name;         /* "" for none: the address is shown */
  gboolean          enabled;
  char             *environment;  /* "OPENAI_BASE_URL", "OLLAMA_HOST"… or NULL */
} RillServer;

#define RILL_TYPE_SERVER (rill_server_get_type ())
GType       rill_server_get_type (void) G_GNUC_CONST;
RillServer *rill_server_new      (const char       *id,
                                  RillProviderKind  kind,
                                  const char       *base_url);
RillServer *rill_server_copy     (const RillServer *server);
void        rill_server_free     (RillServer       *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillServer, rill_server_free)

/* One server as the session lists it: what it is, and its provider (with
 * its own key) while it is switched on. */
#define RILL_TYPE_SERVER_ITEM (rill_server_item_get_type ())
G_DECLARE_FINAL_TYPE (RillServerItem, rill_server_item, RILL, SERVER_ITEM, GObject)

const RillServer *rill_server_item_get_server   (RillServerItem *self);
const char       *rill_server_item_get_id       (RillServerItem *self);
/* The name, else what it is ("From the environment (OLLAMA_HOST)"), else
 * the address without user info: property "label". */
const char       *rill_server_item_get_label    (RillServerItem *self);
/* The address without user info. */
const char       *rill_server_item_get_display_url (RillServerItem *self);
/* NULL when switched off. */
RillProvider     *rill_server_item_get_provider (RillServerItem *self);

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
/* The MCP servers of $XDG_CONFIG_HOME/rill/mcp.json, made when first asked
 * for, with the session's keyring and "always-allowed-tools". */
RillToolbox  *rill_session_get_toolbox         (RillSession      *self);
/* NULL until opened ("notify::store"), and when it could not be opened. */
RillStore    *rill_session_get_store           (RillSession      *self);
/* Why it could not be opened ("notify::store-error"), else NULL. */
const GError *rill_session_get_store_error     (RillSession      *self);
/* TRUE while another program holds the history and the open waits. */
gboolean      rill_session_get_store_waiting   (RillSession      *self);

GSettings    *rill_session_get_settings        (RillSession      *self);
RillKeyring  *rill_session_get_keyring         (RillSession      *self);

/* Every server, RillServerItem: the environment's first, then the
 * configured ones in their order (switched off too), then one found on this
 * computer when nothing else is switched on. Replaced whole on a reload. */
GListModel     *rill_session_get_servers         (RillSession      *self);
/* The server with @server_id, or NULL when it is gone. */
RillServerItem *rill_session_find_server       (RillSession      *self,
                                                const char       *server_id);
/* The provider of @server_id, with that server's own key; NULL when the
 * server is gone or switched off. Never another server's. */
RillProvider *rill_session_get_provider_for    (RillSession      *self,
                                                const char       *server_id);
/* The id of the server rill_session_get_provider() is, or NULL. */
const char   *rill_session_get_provider_id     (RillSession      *self);

/* The provider of the first enabled server (the environment's, then the
 * active one, then the others in order), for what has no server of its
 * own yet; NULL until a server is known ("notify::provider"). */
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

/* Replaces the server with @server's id where it is in the list, or adds
 * it at the end; an empty id gets a new one, written back. Does not change
 * the active server. */
void          rill_session_update_server       (RillSession      *self,
                                                RillServer       *server);
/* Removes the configured server @server_id (its key stays in the keyring
 * until replaced). */
void          rill_session_remove_server       (RillSession      *self,
                                                const char       *server_id);
void          rill_session_set_server_enabled  (RillSession      *self,
                                                const char       *server_id,
                                                gboolean          enabled);

/* The options a reply in @conversation (NULL for a new one) is asked with:
 * @model, the preferences, and the conversation's own system prompt,
 * temperature and history limit (the copy of its preset), which win over
 * the preferences'. */
void          rill_session_fill_reply_options  (RillSession      *self,
                                                RillConversation *conversation,
                                                const char       *model,
                                                RillReplyOptions *options);

/* The model a new conversation starts with: the one last chosen in any
 * window, else (after a restart) that of the conversation used last; NULL
 * when there is none. Its server, or NULL for any. */
void          rill_session_set_last_model      (RillSession      *self,
                                                const char       *model,
                                                const char       *server_id);
const char   *rill_session_get_last_model      (RillSession      *self);
const char   *rill_session_get_last_server     (RillSession      *self);

/* Presets ("presets"): a copy of the list, RillPresets in their order;
 * the one named @name, or NULL; and the whole list written back. */
GPtrArray    *rill_session_dup_presets         (RillSession      *self);
RillPreset   *rill_session_dup_preset          (RillSession      *self,
                                                const char       *name);
void          rill_session_set_presets         (RillSession      *self,
                                                GPtrArray        *presets);

/* With "name-conversations" on, after a conversation's first complete
 * reply: asks the same server and model for a title of a few words, which
 * replaces the title from the first message unless the person renamed the
 * conversation. Never holds the reply up; a failure is a line in the log.
 * Finishes with the title asked for (its write queued), NULL when there was
 * nothing to name, or the error. */
void          rill_session_name_conversation_async  (RillSession         *self,
                                                     RillReply           *reply,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
char         *rill_session_name_conversation_finish (RillSession         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

G_END_DECLS
