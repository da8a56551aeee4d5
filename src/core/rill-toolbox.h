/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-toolbox.h: the MCP servers of mcp.json as the app uses them, and the
 * tools a conversation offers.
 *
 * A RillToolbox owns one RillMcpClient per server of the configuration,
 * following the file as it changes: a server that appears gets a client, one
 * that goes away is stopped, one whose settings change is stopped and gets a
 * new client. Nothing starts until a tool is needed. The session owns one
 * toolbox; quitting stops every server with a bounded wait.
 *
 * RillToolChoice is which servers and tools a conversation offers, stored as
 * JSON in conversations.tools and, for new conversations, in the
 * "default-tools" setting:
 *
 *   {"servers": {"everything": {"off": ["longRunningOperation"]}}}
 *
 * A server named is offered, with all its tools but those listed in "off"
 * (so a tool the server adds later is offered too). NULL, "" or a server
 * not named: not offered. Unknown keys are dropped. */
#pragma once

#include <json-glib/json-glib.h>

#include "rill-keyring.h"
#include "rill-mcp-client.h"
#include "rill-mcp-config.h"

G_BEGIN_DECLS

/* ---- RillToolChoice ---------------------------------------------------- */

typedef struct _RillToolChoice RillToolChoice;

#define RILL_TYPE_TOOL_CHOICE (rill_tool_choice_get_type ())
GType           rill_tool_choice_get_type           (void) G_GNUC_CONST;
/* @json NULL, "" or not the shape above: nothing offered. */
RillToolChoice *rill_tool_choice_new_from_json      (const char     *json);
RillToolChoice *rill_tool_choice_copy               (RillToolChoice *self);
void            rill_tool_choice_free               (RillToolChoice *self);
/* NULL when nothing is offered, so the column stays NULL for conversations
 * without tools. Servers are written sorted by name, tools too. */
char           *rill_tool_choice_to_json            (RillToolChoice *self);
gboolean        rill_tool_choice_is_empty           (RillToolChoice *self);
/* The names of the servers offered, sorted. */
GStrv           rill_tool_choice_get_servers        (RillToolChoice *self);
gboolean        rill_tool_choice_get_server_enabled (RillToolChoice *self,
                                                     const char     *server);
void            rill_tool_choice_set_server_enabled (RillToolChoice *self,
                                                     const char     *server,
                                                     gboolean        enabled);
/* FALSE when the server is not offered. */
gboolean        rill_tool_choice_get_tool_enabled   (RillToolChoice *self,
                                                     const char     *server,
                                                     const char     *tool);
/* Switching a tool on also offers its server. */
void            rill_tool_choice_set_tool_enabled   (RillToolChoice *self,
                                                     const char     *server,
                                                     const char     *tool,
                                                     gboolean        enabled);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillToolChoice, rill_tool_choice_free)

/* ---- RillOfferedTool --------------------------------------------------- */

/* A tool as offered to a model: the server it belongs to, the tool as the
 * server lists it, and the function name the model sees. That name is the
 * tool's own when no other offered tool has it, else "<server>__<tool>",
 * cut to the 64 characters of [a-zA-Z0-9_-] the APIs allow. Reference
 * counted, immutable. */
typedef struct
{
  char        *server;
  RillMcpTool *tool;
  char        *function_name;
} RillOfferedTool;

#define RILL_TYPE_OFFERED_TOOL (rill_offered_tool_get_type ())
GType            rill_offered_tool_get_type (void) G_GNUC_CONST;
/* For what is given tools without collecting them (tests). */
RillOfferedTool *rill_offered_tool_new      (const char  *server,
                                             RillMcpTool *tool,
                                             const char  *function_name);
RillOfferedTool *rill_offered_tool_ref      (RillOfferedTool *self);
void             rill_offered_tool_unref    (RillOfferedTool *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillOfferedTool, rill_offered_tool_unref)

/* ---- RillToolbox ------------------------------------------------------- */

#define RILL_TYPE_TOOLBOX (rill_toolbox_get_type ())
G_DECLARE_FINAL_TYPE (RillToolbox, rill_toolbox, RILL, TOOLBOX, GObject)

/* @keyring resolves ${keyring:NAME} references; may be NULL. The toolbox
 * loads @config if it has not been, and follows its "changed" signal:
 * "servers-changed" is emitted after the clients are updated. */
RillToolbox   *rill_toolbox_new                 (RillMcpConfig       *config,
                                                 RillKeyring         *keyring);
RillMcpConfig *rill_toolbox_get_config          (RillToolbox         *self);
/* RillMcpClient, one per server of the configuration, in its order,
 * switched-off servers included (their clients are never started). */
GPtrArray     *rill_toolbox_get_clients         (RillToolbox         *self);
/* NULL when the configuration has no server of that name. */
RillMcpClient *rill_toolbox_lookup              (RillToolbox         *self,
                                                 const char          *server);

/* Starts every server @choice offers (that is switched on) and lists its
 * tools, in parallel; a server that fails does not hold up the others.
 * Returns the RillOfferedTool of every tool @choice offers, servers in the
 * configuration's order. *@failures (may be NULL) receives the servers
 * that could not be used, each "<name>: <why in words>", or NULL when none
 * failed. Never fails as a whole: no tools is an empty array. */
void           rill_toolbox_collect_async       (RillToolbox         *self,
                                                 RillToolChoice      *choice,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray     *rill_toolbox_collect_finish      (RillToolbox         *self,
                                                 GAsyncResult        *result,
                                                 GStrv               *failures,
                                                 GError             **error);

/* Whether calls of @tool on @server run without asking (the
 * "always-allowed-tools" setting; the toolbox reads it through the
 * GSettings given, or keeps it in memory when NULL, as tests do). */
void           rill_toolbox_set_settings        (RillToolbox         *self,
                                                 GSettings           *settings);
gboolean       rill_toolbox_get_always_allowed  (RillToolbox         *self,
                                                 const char          *server,
                                                 const char          *tool);
void           rill_toolbox_set_always_allowed  (RillToolbox         *self,
                                                 const char          *server,
                                                 const char          *tool,
                                                 gboolean             allowed);

/* Stops every server that runs, each with @timeout_ms to exit before it is
 * killed; for quitting. */
void           rill_toolbox_stop_all_async      (RillToolbox         *self,
                                                 guint                timeout_ms,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean       rill_toolbox_stop_all_finish     (RillToolbox         *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
