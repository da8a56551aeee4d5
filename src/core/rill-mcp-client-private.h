/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-client-private.h: what the client and its two transports share.
 *
 * rill-mcp-client.c speaks the protocol (requests, answers, the start, the
 * tools, the calls, the stop); rill-mcp-stdio.c moves its messages through
 * a program's pipes and rill-mcp-http.c through Streamable HTTP. A
 * transport hands every message it receives to
 * _rill_mcp_client_handle_message, and reports a server that is gone with
 * _rill_mcp_client_fail. */
#pragma once

#include <libsoup/soup.h>

#include "rill-mcp-client.h"

G_BEGIN_DECLS

typedef struct _RillMcpChild RillMcpChild;

/* What an HTTP exchange carries besides its message. */
typedef enum {
  RILL_MCP_CARRIES_MESSAGE,
  RILL_MCP_CARRIES_INITIALIZE,  /* its answer has the session id */
  RILL_MCP_CARRIES_INITIALIZED, /* once the server answered it, the client is ready */
  RILL_MCP_CARRIES_LISTEN,      /* a GET: the server's own messages, if it offers any */
} RillMcpCarries;

struct _RillMcpClient
{
  GObject parent_instance;

  RillMcpServer *server;     /* as configured */
  RillKeyring   *keyring;
  RillMcpState   state;
  char          *failure;
  guint          start_timeout_ms;

  RillMcpServer *resolved;   /* with the secrets, while running */
  GCancellable  *start_cancellable;
  GPtrArray     *start_waiters; /* GTask */
  guint          start_timeout_id;
  guint          generation;

  gint64         next_id;
  GHashTable    *pending;    /* gint64 * → rill-mcp-client.c's Request */
  GPtrArray     *tools;      /* RillMcpTool */
  gboolean       listing;
  gboolean       list_again;

  RillMcpChild  *child;      /* stdio */

  SoupSession   *soup;       /* HTTP */
  char          *session_id;
  char          *protocol_version;
  GPtrArray     *exchanges;  /* rill-mcp-http.c's Exchange, borrowed */
};

/* rill-mcp-client.c */
void          _rill_mcp_client_handle_message   (RillMcpClient  *self,
                                                 JsonNode       *message);
/* Ends whatever runs, says why (takes @failure), fails everything waiting. */
void          _rill_mcp_client_fail             (RillMcpClient  *self,
                                                 char           *failure);
void          _rill_mcp_client_become_ready     (RillMcpClient  *self);
void          _rill_mcp_client_complete_request (RillMcpClient  *self,
                                                 gint64          id,
                                                 JsonNode       *result,
                                                 const GError   *error);
/* The server forgot the session: the next use starts a new one. */
void          _rill_mcp_client_session_lost     (RillMcpClient  *self);

/* rill-mcp-stdio.c: a program started for the client. Each function below
 * but send and describe takes the caller's reference. */
RillMcpChild *_rill_mcp_child_spawn             (RillMcpClient  *self,
                                                 RillMcpServer  *server,
                                                 GError        **error);
void          _rill_mcp_child_send              (RillMcpChild   *child,
                                                 const char     *line);
/* What it wrote that was not JSON, and its last lines on stderr, each on a
 * line of its own after a newline; "" when there is nothing to say. */
char         *_rill_mcp_child_describe          (RillMcpChild   *child);
/* Of no more use: killed at once. */
void          _rill_mcp_child_kill              (RillMcpChild   *child);
/* Let go without a stop: stdin closed and SIGTERM. */
void          _rill_mcp_child_let_go            (RillMcpChild   *child);
/* stdin closed, then SIGTERM after @timeout_ms, then SIGKILL after as long
 * again; @task (taken) returns once the program is gone. */
void          _rill_mcp_child_stop              (RillMcpChild   *child,
                                                 guint           timeout_ms,
                                                 GTask          *task);

/* rill-mcp-http.c */
void          _rill_mcp_http_send               (RillMcpClient  *self,
                                                 const char     *text,
                                                 gint64          request_id,
                                                 RillMcpCarries  carries);
/* Cancels the exchange carrying @request_id, or every one for 0. */
void          _rill_mcp_http_cancel             (RillMcpClient  *self,
                                                 gint64          request_id);
/* The client is going: its exchanges end without it. */
void          _rill_mcp_http_forget             (RillMcpClient  *self);
/* Deletes the session, waiting @timeout_ms at most; @task (taken) returns. */
void          _rill_mcp_http_end_session        (RillMcpClient  *self,
                                                 guint           timeout_ms,
                                                 GTask          *task);

G_END_DECLS
