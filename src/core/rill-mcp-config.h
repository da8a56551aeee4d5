/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-config.h: the tool servers of $XDG_CONFIG_HOME/rill/mcp.json.
 *
 * The file's name and shape are a contract, the shape other MCP clients use,
 * so a person can copy theirs in:
 *
 *   {"mcpServers": {
 *      "files": {"command": "npx", "args": ["-y", "…"], "env": {"K": "v"}},
 *      "web":   {"url": "https://…/mcp", "headers": {"Authorization": "…"}},
 *      "off":   {"command": "…", "disabled": true}}}
 *
 * A value in "env" or "headers" may reference a keyring entry instead of
 * holding a secret: "${keyring:NAME}" anywhere in the string stands for the
 * secret stored under the id "mcp:NAME" (see the README). References are
 * resolved only when a server starts (rill_mcp_server_resolve_async).
 *
 * Writing keeps what Rill does not know: every key of the file and of each
 * server that is not edited is written back as it was read. */
#pragma once

#include <json-glib/json-glib.h>

#include "rill-keyring.h"

G_BEGIN_DECLS

/* One server as configured. Immutable once made, reference counted. */
typedef struct
{
  char      *name;
  /* stdio: the program and its arguments; NULL for a URL server. */
  char      *command;
  char     **args;
  /* "NAME=value" pairs, in the file's order, merged over the environment. */
  char     **env;
  /* Streamable HTTP: the endpoint; NULL for a program. */
  char      *url;
  /* "Name: value" pairs sent with every request. */
  char     **headers;
  gboolean   disabled;
} RillMcpServer;

#define RILL_TYPE_MCP_SERVER (rill_mcp_server_get_type ())
GType          rill_mcp_server_get_type       (void) G_GNUC_CONST;
RillMcpServer *rill_mcp_server_new_stdio      (const char          *name,
                                               const char          *command,
                                               const char * const  *args,
                                               const char * const  *env);
RillMcpServer *rill_mcp_server_new_http       (const char          *name,
                                               const char          *url,
                                               const char * const  *headers);
RillMcpServer *rill_mcp_server_ref            (RillMcpServer       *self);
void           rill_mcp_server_unref          (RillMcpServer       *self);
/* A copy with @disabled set: how the switch is flipped. */
RillMcpServer *rill_mcp_server_copy_disabled  (RillMcpServer       *self,
                                               gboolean             disabled);
/* Whether an env or header value of @self references the keyring. */
gboolean       rill_mcp_server_has_references (RillMcpServer       *self);
/* A copy of @self with every ${keyring:NAME} replaced by the secret; an
 * error in words names the server, the entry and the variable or header
 * when an entry is missing or @keyring is NULL. */
void           rill_mcp_server_resolve_async  (RillMcpServer       *self,
                                               RillKeyring         *keyring,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
RillMcpServer *rill_mcp_server_resolve_finish (RillMcpServer       *self,
                                               GAsyncResult        *result,
                                               GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillMcpServer, rill_mcp_server_unref)

#define RILL_TYPE_MCP_CONFIG (rill_mcp_config_get_type ())
G_DECLARE_FINAL_TYPE (RillMcpConfig, rill_mcp_config, RILL, MCP_CONFIG, GObject)

/* @path NULL: $XDG_CONFIG_HOME/rill/mcp.json. Nothing is read until
 * rill_mcp_config_load_async; from then on the file is watched: after a
 * change read without error, "changed" is emitted; an invalid file emits
 * "load-failed" with the error and the servers read before are kept. */
RillMcpConfig *rill_mcp_config_new            (const char          *path);
const char    *rill_mcp_config_get_path       (RillMcpConfig       *self);
/* A missing file is an empty configuration, not an error. */
void           rill_mcp_config_load_async     (RillMcpConfig       *self,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean       rill_mcp_config_load_finish    (RillMcpConfig       *self,
                                               GAsyncResult        *result,
                                               GError             **error);
/* Parses @text as the file's content (what load does after reading). */
gboolean       rill_mcp_config_load_from_data (RillMcpConfig       *self,
                                               const char          *text,
                                               gssize               len,
                                               GError             **error);
/* RillMcpServer, in the file's order; servers that cannot be used (neither
 * a command nor a URL) are left out and logged. */
GPtrArray     *rill_mcp_config_get_servers    (RillMcpConfig       *self);
RillMcpServer *rill_mcp_config_lookup         (RillMcpConfig       *self,
                                               const char          *name);
/* Edits in memory (unknown keys of that server are kept), then emits
 * "changed"; rill_mcp_config_save_async writes them. */
void           rill_mcp_config_set_server     (RillMcpConfig       *self,
                                               RillMcpServer       *server);
gboolean       rill_mcp_config_remove_server  (RillMcpConfig       *self,
                                               const char          *name);
/* The file's text as it would be saved. */
char          *rill_mcp_config_to_data        (RillMcpConfig       *self);
/* Writes the file atomically (a rename), creating its folder. */
void           rill_mcp_config_save_async     (RillMcpConfig       *self,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean       rill_mcp_config_save_finish    (RillMcpConfig       *self,
                                               GAsyncResult        *result,
                                               GError             **error);

G_END_DECLS
