/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-client.h: one MCP server, spoken to over JSON-RPC 2.0.
 *
 * A program (stdio: one JSON message a line on its stdin and stdout) or a
 * URL (Streamable HTTP: a POST a message, answered with JSON or an event
 * stream). The client starts the server when it is first needed, lists its
 * tools and calls them; it never blocks the main loop, and a server that
 * fails says so in words with its name and the last lines it wrote to
 * stderr (the "failure" property, and the errors of the calls). */
#pragma once

#include <json-glib/json-glib.h>

#include "rill-keyring.h"
#include "rill-mcp-config.h"

G_BEGIN_DECLS

/* The protocol version sent in "initialize". */
#define RILL_MCP_PROTOCOL_VERSION "2025-06-18"

typedef enum {
  RILL_MCP_STATE_STOPPED,
  RILL_MCP_STATE_STARTING,
  RILL_MCP_STATE_READY,
  RILL_MCP_STATE_FAILED,
} RillMcpState;

#define RILL_TYPE_MCP_STATE (rill_mcp_state_get_type ())
GType rill_mcp_state_get_type (void) G_GNUC_CONST;

/* A tool as the server lists it; reference counted, immutable. */
typedef struct
{
  char     *name;
  char     *title;        /* or NULL */
  char     *description;  /* or NULL */
  JsonNode *input_schema; /* an object; {"type": "object"} when none was given */
  JsonNode *annotations;  /* or NULL */
} RillMcpTool;

#define RILL_TYPE_MCP_TOOL (rill_mcp_tool_get_type ())
GType        rill_mcp_tool_get_type (void) G_GNUC_CONST;
RillMcpTool *rill_mcp_tool_ref      (RillMcpTool *self);
void         rill_mcp_tool_unref    (RillMcpTool *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillMcpTool, rill_mcp_tool_unref)

typedef enum {
  RILL_MCP_CONTENT_TEXT,
  RILL_MCP_CONTENT_IMAGE,
  RILL_MCP_CONTENT_OTHER, /* audio, resource links, …: see json */
} RillMcpContentKind;

typedef struct
{
  RillMcpContentKind  kind;
  const char         *text;      /* TEXT */
  const char         *mime_type; /* IMAGE */
  const char         *data;      /* IMAGE: base64, as sent */
  JsonNode           *json;      /* the item as sent, always */
} RillMcpContent;

/* The result of a tools/call. A JSON-RPC error is a GError instead; a tool
 * that failed says so with is_error and its content. */
typedef struct
{
  GPtrArray *content;            /* RillMcpContent */
  gboolean   is_error;
  JsonNode  *structured_content; /* or NULL */
} RillMcpResult;

#define RILL_TYPE_MCP_RESULT (rill_mcp_result_get_type ())
GType          rill_mcp_result_get_type (void) G_GNUC_CONST;
RillMcpResult *rill_mcp_result_ref      (RillMcpResult *self);
void           rill_mcp_result_unref    (RillMcpResult *self);
/* The text items joined by newlines ("" when there are none). */
char          *rill_mcp_result_get_text (RillMcpResult *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillMcpResult, rill_mcp_result_unref)

#define RILL_TYPE_MCP_CLIENT (rill_mcp_client_get_type ())
G_DECLARE_FINAL_TYPE (RillMcpClient, rill_mcp_client, RILL, MCP_CLIENT, GObject)

/* @keyring resolves ${keyring:NAME} references when the server starts; it
 * may be NULL when there are none. */
RillMcpClient *rill_mcp_client_new              (RillMcpServer       *server,
                                                 RillKeyring         *keyring);
RillMcpServer *rill_mcp_client_get_server       (RillMcpClient       *self);
const char    *rill_mcp_client_get_name         (RillMcpClient       *self);
RillMcpState   rill_mcp_client_get_state        (RillMcpClient       *self);
/* Why the server is not running, in words, once state is FAILED. */
const char    *rill_mcp_client_get_failure      (RillMcpClient       *self);
/* How long the handshake may take (the "start-timeout" property, ms). */
void           rill_mcp_client_set_start_timeout (RillMcpClient      *self,
                                                  guint               timeout_ms);

/* Starts the server and does the handshake; at once when it is ready. Many
 * callers may wait for one start; after a failure, the next call tries
 * again. Cancelling only stops this caller's wait. */
void           rill_mcp_client_start_async      (RillMcpClient       *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean       rill_mcp_client_start_finish     (RillMcpClient       *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* The tools last listed (RillMcpTool), empty before the first list. */
GPtrArray     *rill_mcp_client_get_tools        (RillMcpClient       *self);
/* Starts the server if needed, then lists every page of its tools. */
void           rill_mcp_client_list_tools_async (RillMcpClient       *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray     *rill_mcp_client_list_tools_finish (RillMcpClient      *self,
                                                  GAsyncResult       *result,
                                                  GError            **error);

/* Calls @tool with @arguments (an object, or NULL for none), starting the
 * server if needed. @call_id names this call in "progress" (the model's
 * tool call id, say); NULL names it by its request id. Cancelling sends
 * notifications/cancelled and ends the call with G_IO_ERROR_CANCELLED. */
void           rill_mcp_client_call_tool_async  (RillMcpClient       *self,
                                                 const char          *tool,
                                                 JsonObject          *arguments,
                                                 const char          *call_id,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RillMcpResult *rill_mcp_client_call_tool_finish (RillMcpClient       *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* Ends the server for quitting: stdin is closed and the program given
 * @timeout_ms to exit, then SIGTERM and as long again, then SIGKILL (an
 * HTTP session is deleted, waiting at most @timeout_ms). Pending calls fail
 * at once. Completes when the program is gone. */
void           rill_mcp_client_stop_async       (RillMcpClient       *self,
                                                 guint                timeout_ms,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean       rill_mcp_client_stop_finish      (RillMcpClient       *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
