/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-client.c: JSON-RPC 2.0 with one MCP server, over stdio or HTTP.
 *
 * Design:
 *
 * - Every request gets an id and an entry in the pending table, with an
 *   internal GTask; whatever transport brings the answer hands the message
 *   to handle_message, which completes the entry by its id. So the start
 *   (initialize), the listing (tools/list, page after page) and the calls
 *   are chains of requests, and a transport only moves messages.
 * - The transports only move messages: rill-mcp-stdio.c (a program, one
 *   message a line) and rill-mcp-http.c (Streamable HTTP). A server that is
 *   gone is reported by its transport, in words, through
 *   _rill_mcp_client_fail, which fails everything waiting.
 * - A start is shared: the callers wait in start_waiters, and a generation
 *   number tells the answers of an older start (before a stop or a
 *   failure) from the current one's.
 * - Cancelling a call sends notifications/cancelled with its request id and
 *   ends the call at once; an answer that still comes is dropped, as is
 *   progress for a call no longer pending.
 * - Nothing waits on the main loop: every step is async, and the waits that
 *   can last (the handshake, the stop) are bounded by timers. */

#include "rill-mcp-client-private.h"

#include <glib/gi18n-lib.h>
#include <signal.h>
#include <string.h>


#define DEFAULT_START_TIMEOUT_MS 30000
#define MAX_PAGES 1000

/* Records */

G_DEFINE_ENUM_TYPE (RillMcpState, rill_mcp_state,
                    G_DEFINE_ENUM_VALUE (RILL_MCP_STATE_STOPPED, "stopped"),
                    G_DEFINE_ENUM_VALUE (RILL_MCP_STATE_STARTING, "starting"),
                    G_DEFINE_ENUM_VALUE (RILL_MCP_STATE_READY, "ready"),
                    G_DEFINE_ENUM_VALUE (RILL_MCP_STATE_FAILED, "failed"))

typedef struct
{
  RillMcpTool     public;
  gatomicrefcount ref_count;
} Tool;

G_DEFINE_BOXED_TYPE (RillMcpTool, rill_mcp_tool, rill_mcp_tool_ref, rill_mcp_tool_unref)

RillMcpTool *
rill_mcp_tool_ref (RillMcpTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&((Tool *) self)->ref_count);
  return self;
}

void
rill_mcp_tool_unref (RillMcpTool *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&((Tool *) self)->ref_count))
    return;
  g_free (self->name);
  g_free (self->title);
  g_free (self->description);
  g_clear_pointer (&self->input_schema, json_node_unref);
  g_clear_pointer (&self->annotations, json_node_unref);
  g_free (self);
}

typedef struct
{
  RillMcpResult   public;
  gatomicrefcount ref_count;
} Result;

G_DEFINE_BOXED_TYPE (RillMcpResult, rill_mcp_result, rill_mcp_result_ref, rill_mcp_result_unref)

RillMcpResult *
rill_mcp_result_ref (RillMcpResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&((Result *) self)->ref_count);
  return self;
}

void
rill_mcp_result_unref (RillMcpResult *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&((Result *) self)->ref_count))
    return;
  g_ptr_array_unref (self->content);
  g_clear_pointer (&self->structured_content, json_node_unref);
  g_free (self);
}

char *
rill_mcp_result_get_text (RillMcpResult *self)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);

  for (guint i = 0; i < self->content->len; i++)
    {
      RillMcpContent *item = g_ptr_array_index (self->content, i);

      if (item->kind != RILL_MCP_CONTENT_TEXT)
        continue;
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, item->text);
    }
  return g_string_free (text, FALSE);
}

static void
content_free (RillMcpContent *item)
{
  json_node_unref (item->json);
  g_free (item);
}

static const char *
object_string (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
object_object (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The strings point into the item's own JsonNode, kept in the record. */
static RillMcpContent *
content_from_json (JsonNode *node)
{
  RillMcpContent *item = g_new0 (RillMcpContent, 1);
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *type = object_string (object, "type");

  item->json = json_node_ref (node);
  item->kind = RILL_MCP_CONTENT_OTHER;
  if (g_strcmp0 (type, "text") == 0 && object_string (object, "text") != NULL)
    {
      item->kind = RILL_MCP_CONTENT_TEXT;
      item->text = object_string (object, "text");
    }
  else if (g_strcmp0 (type, "image") == 0 && object_string (object, "data") != NULL)
    {
      item->kind = RILL_MCP_CONTENT_IMAGE;
      item->data = object_string (object, "data");
      item->mime_type = object_string (object, "mimeType");
    }
  return item;
}

static RillMcpResult *
result_from_json (JsonNode *node)
{
  Result *result = g_new0 (Result, 1);
  RillMcpResult *self = &result->public;
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *content = object ? json_object_get_member (object, "content") : NULL;
  JsonNode *is_error = object ? json_object_get_member (object, "isError") : NULL;
  JsonNode *structured = object ? json_object_get_member (object, "structuredContent") : NULL;

  g_atomic_ref_count_init (&result->ref_count);
  self->content = g_ptr_array_new_with_free_func ((GDestroyNotify) content_free);
  if (content != NULL && JSON_NODE_HOLDS_ARRAY (content))
    {
      JsonArray *array = json_node_get_array (content);

      for (guint i = 0; i < json_array_get_length (array); i++)
        g_ptr_array_add (self->content, content_from_json (json_array_get_element (array, i)));
    }
  self->is_error = is_error != NULL && JSON_NODE_HOLDS_VALUE (is_error)
                   && json_node_get_value_type (is_error) == G_TYPE_BOOLEAN
                   && json_node_get_boolean (is_error);
  if (structured != NULL && !JSON_NODE_HOLDS_NULL (structured))
    self->structured_content = json_node_copy (structured);
  return self;
}

static RillMcpTool *
tool_from_json (JsonNode *node)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *name = object_string (object, "name");
  JsonObject *schema = object_object (object, "inputSchema");
  JsonObject *annotations = object_object (object, "annotations");
  Tool *tool;
  RillMcpTool *self;

  if (name == NULL || name[0] == '\0')
    return NULL;
  tool = g_new0 (Tool, 1);
  g_atomic_ref_count_init (&tool->ref_count);
  self = &tool->public;
  self->name = g_strdup (name);
  self->title = g_strdup (object_string (object, "title"));
  self->description = g_strdup (object_string (object, "description"));
  if (schema != NULL)
    self->input_schema = json_node_copy (json_object_get_member (object, "inputSchema"));
  else
    {
      JsonObject *empty = json_object_new ();

      json_object_set_string_member (empty, "type", "object");
      self->input_schema = json_node_init_object (json_node_alloc (), empty);
      json_object_unref (empty);
    }
  if (annotations != NULL)
    self->annotations = json_node_copy (json_object_get_member (object, "annotations"));
  return self;
}

/* The client */

typedef struct
{
  gint64  id;
  char   *method;
  GTask  *task;           /* internal: returns the "result" JsonNode */
  char   *progress_token; /* tools/call: as sent */
  char   *call_id;        /* tools/call: what "progress" names it */
} Request;

G_DEFINE_FINAL_TYPE (RillMcpClient, rill_mcp_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_FAILURE,
  PROP_START_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_PROGRESS,
  SIGNAL_TOOLS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];


static void list_tools_async (RillMcpClient *self, GTask *task);

static void
request_free (Request *request)
{
  g_clear_object (&request->task);
  g_free (request->method);
  g_free (request->progress_token);
  g_free (request->call_id);
  g_free (request);
}

static void
set_state (RillMcpClient *self, RillMcpState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_failure (RillMcpClient *self, const char *failure)
{
  if (g_strcmp0 (self->failure, failure) == 0)
    return;
  g_free (self->failure);
  self->failure = g_strdup (failure);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FAILURE]);
}

/* Requests and their answers */

void
_rill_mcp_client_complete_request (RillMcpClient *self,
                                   gint64         id,
                                   JsonNode      *result,
                                   const GError  *error)
{
  Request *request = NULL;
  gint64 *key = NULL;

  if (!g_hash_table_steal_extended (self->pending, &id, (gpointer *) &key, (gpointer *) &request))
    {
      g_debug ("MCP server “%s”: an answer to %" G_GINT64_FORMAT ", which nobody waits for",
               self->server->name, id);
      return;
    }
  g_free (key);
  if (error != NULL)
    g_task_return_error (request->task, g_error_copy (error));
  else
    g_task_return_pointer (request->task, json_node_ref (result), (GDestroyNotify) json_node_unref);
  request_free (request);
}

/* Fails every pending request with @message (the server is gone). */
static void
fail_pending (RillMcpClient *self,
              GQuark         domain,
              int            code,
              const char    *message)
{
  g_autoptr(GList) ids = g_hash_table_get_keys (self->pending);
  g_autoptr(GError) error = g_error_new_literal (domain, code, message);
  g_autoptr(GArray) copy = g_array_new (FALSE, FALSE, sizeof (gint64));

  /* Completing runs callbacks that may add requests: copy the ids first. */
  for (GList *l = ids; l != NULL; l = l->next)
    g_array_append_val (copy, *(gint64 *) l->data);
  for (guint i = 0; i < copy->len; i++)
    _rill_mcp_client_complete_request (self, g_array_index (copy, gint64, i), NULL, error);
}

static void
fail_start_waiters (RillMcpClient *self, const GError *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->start_waiters);

  self->start_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static JsonNode *
message_new (void)
{
  JsonObject *object = json_object_new ();
  JsonNode *node;

  json_object_set_string_member (object, "jsonrpc", "2.0");
  node = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);
  return node;
}

/* Sending */

static void
send_message (RillMcpClient *self,
              JsonNode      *message,
              gint64         request_id,
              RillMcpCarries carries)
{
  g_autofree char *text = json_to_string (message, FALSE);

  if (self->server->url != NULL)
    _rill_mcp_http_send (self, text, request_id, carries);
  else if (self->child != NULL)
    {
      g_autofree char *line = g_strconcat (text, "\n", NULL);

      _rill_mcp_child_send (self->child, line);
    }
}

static void
send_notification (RillMcpClient *self,
                   const char    *method,
                   JsonObject    *params)
{
  g_autoptr(JsonNode) message = message_new ();
  JsonObject *object = json_node_get_object (message);

  json_object_set_string_member (object, "method", method);
  if (params != NULL)
    json_object_set_object_member (object, "params", params);
  send_message (self, message, 0,
                g_str_equal (method, "notifications/initialized") ? RILL_MCP_CARRIES_INITIALIZED
                                                                  : RILL_MCP_CARRIES_MESSAGE);
}

/* Sends @method with @params (taken) and returns its id; @callback gets the
 * "result" node through request_finish, or the error in words. */
static gint64
request_async (RillMcpClient       *self,
               const char          *method,
               JsonObject          *params,
               const char          *progress_token,
               const char          *call_id,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(JsonNode) message = NULL;
  JsonObject *object;
  Request *request;

  /* Stopped or failed since the caller's start succeeded (both can happen
   * while its callback waits for the next main-loop turn). */
  if (self->state != RILL_MCP_STATE_READY && !g_str_equal (method, "initialize"))
    {
      g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

      g_clear_pointer (&params, json_object_unref);
      if (self->state == RILL_MCP_STATE_FAILED && self->failure != NULL)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", self->failure);
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                                 _("MCP server “%s” was stopped."), self->server->name);
      return ++self->next_id;
    }

  message = message_new ();
  object = json_node_get_object (message);
  request = g_new0 (Request, 1);
  request->id = ++self->next_id;
  request->method = g_strdup (method);
  request->task = g_task_new (self, NULL, callback, user_data);
  request->progress_token = g_strdup (progress_token);
  request->call_id = g_strdup (call_id);
  g_task_set_source_tag (request->task, request_async);
  g_hash_table_insert (self->pending, g_memdup2 (&request->id, sizeof request->id), request);

  json_object_set_int_member (object, "id", request->id);
  json_object_set_string_member (object, "method", method);
  if (params != NULL)
    json_object_set_object_member (object, "params", params);
  send_message (self, message, request->id,
                g_str_equal (method, "initialize") ? RILL_MCP_CARRIES_INITIALIZE
                                                   : RILL_MCP_CARRIES_MESSAGE);
  return request->id;
}

static JsonNode *
request_finish (RillMcpClient  *self,
                GAsyncResult   *result,
                GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Receiving */

static char *
node_text (JsonNode *node)
{
  if (node == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return json_to_string (node, FALSE);
}

static double
object_number (JsonObject *object, const char *member, double fallback)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return json_node_get_double (node);
  return fallback;
}

static void
handle_progress (RillMcpClient *self, JsonObject *params)
{
  g_autofree char *token = node_text (json_object_get_member (params, "progressToken"));
  GHashTableIter iter;
  Request *request;

  if (token == NULL)
    return;
  /* A few calls at most are pending: a walk is cheaper than an index. */
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &request))
    if (g_strcmp0 (request->progress_token, token) == 0)
      {
        g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, request->call_id,
                       object_number (params, "progress", 0),
                       object_number (params, "total", -1),
                       object_string (params, "message"));
        return;
      }
}

static void
handle_log (RillMcpClient *self, JsonObject *params)
{
  const char *level = object_string (params, "level");
  const char *logger = object_string (params, "logger");
  g_autofree char *data = node_text (json_object_get_member (params, "data"));

  /* Servers log generously: debug, info and notice stay out of sight. */
  if (level == NULL || g_str_equal (level, "debug") || g_str_equal (level, "info")
      || g_str_equal (level, "notice"))
    g_debug ("MCP server “%s”%s%s: %s", self->server->name, logger ? " " : "", logger ? logger : "",
             data ? data : "");
  else
    g_message ("MCP server “%s” (%s)%s%s: %s", self->server->name, level, logger ? " " : "",
               logger ? logger : "", data ? data : "");
}

static void
relist_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GError) error = NULL;

  tools = rill_mcp_client_list_tools_finish (RILL_MCP_CLIENT (source), result, &error);
  if (tools == NULL)
    g_debug ("listing the tools again: %s", error->message);
}

static void
handle_notification (RillMcpClient *self,
                     const char    *method,
                     JsonObject    *params)
{
  if (g_str_equal (method, "notifications/progress") && params != NULL)
    handle_progress (self, params);
  else if (g_str_equal (method, "notifications/message") && params != NULL)
    handle_log (self, params);
  else if (g_str_equal (method, "notifications/tools/list_changed"))
    {
      /* Before the first listing there is nothing to refresh. */
      if (self->state == RILL_MCP_STATE_READY)
        {
          if (self->listing)
            self->list_again = TRUE;
          else
            rill_mcp_client_list_tools_async (self, NULL, relist_cb, NULL);
        }
    }
  else
    g_debug ("MCP server “%s”: %s", self->server->name, method);
}

/* The server asks: a ping is answered, anything else is declined. */
static void
handle_server_request (RillMcpClient *self,
                       JsonNode      *id,
                       const char    *method)
{
  g_autoptr(JsonNode) answer = message_new ();
  JsonObject *object = json_node_get_object (answer);

  json_object_set_member (object, "id", json_node_copy (id));
  if (g_str_equal (method, "ping"))
    json_object_set_object_member (object, "result", json_object_new ());
  else
    {
      JsonObject *error = json_object_new ();

      json_object_set_int_member (error, "code", -32601);
      json_object_set_string_member (error, "message", "Method not found");
      json_object_set_object_member (object, "error", error);
    }
  send_message (self, answer, 0, RILL_MCP_CARRIES_MESSAGE);
}

void
_rill_mcp_client_handle_message (RillMcpClient *self,
                                 JsonNode      *message)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  JsonNode *id = object ? json_object_get_member (object, "id") : NULL;
  const char *method = object_string (object, "method");

  if (object == NULL)
    return;
  if (method != NULL && id != NULL)
    handle_server_request (self, id, method);
  else if (method != NULL)
    handle_notification (self, method, object_object (object, "params"));
  else if (id != NULL && JSON_NODE_HOLDS_VALUE (id)
           && json_node_get_value_type (id) == G_TYPE_INT64)
    {
      JsonObject *error = object_object (object, "error");

      if (error != NULL)
        {
          const char *text = object_string (error, "message");
          g_autoptr(GError) gerror = NULL;

          gerror = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, _("MCP server “%s”: %s"),
                                self->server->name, text ? text : _("an error without words"));
          _rill_mcp_client_complete_request (self, json_node_get_int (id), NULL, gerror);
        }
      else
        {
          JsonNode *result = json_object_get_member (object, "result");
          g_autoptr(JsonNode) empty = NULL;

          if (result == NULL)
            result = empty = json_node_new (JSON_NODE_NULL);
          _rill_mcp_client_complete_request (self, json_node_get_int (id), result, NULL);
        }
    }
  else
    g_debug ("MCP server “%s”: a message that is neither a request nor an answer",
             self->server->name);
}

/* Starting */

/* Ends whatever runs, says why, and fails everything waiting. Takes @failure. */
void
_rill_mcp_client_fail (RillMcpClient *self,
                       char          *failure)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, failure);

  g_message ("%s", failure);
  self->generation++;
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_cancellable_cancel (self->start_cancellable);
  /* A program still there after failing is of no more use, and an HTTP
   * server that stopped answering must not hold requests open. */
  if (self->child != NULL)
    _rill_mcp_child_kill (g_steal_pointer (&self->child));
  _rill_mcp_http_cancel (self, 0);
  g_clear_pointer (&self->session_id, g_free);
  g_clear_pointer (&self->protocol_version, g_free);
  set_failure (self, failure);
  set_state (self, RILL_MCP_STATE_FAILED);
  fail_pending (self, G_IO_ERROR, G_IO_ERROR_FAILED, failure);
  fail_start_waiters (self, error);
  g_free (failure);
}

static gboolean
start_timeout_cb (gpointer data)
{
  RillMcpClient *self = data;
  g_autofree char *lines = self->child ? _rill_mcp_child_describe (self->child) : g_strdup ("");
  guint seconds = (self->start_timeout_ms + 999) / 1000;
  char *failure;

  self->start_timeout_id = 0;
  failure = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "MCP server “%s” did not answer within %u second.%s",
                                          "MCP server “%s” did not answer within %u seconds.%s",
                                          seconds),
                             self->server->name, seconds, lines);
  _rill_mcp_client_fail (self, failure);
  return G_SOURCE_REMOVE;
}

static void
initialize_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  RillMcpClient *self = RILL_MCP_CLIENT (source);
  guint generation = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = request_finish (self, result, &error);
  JsonObject *object;
  const char *version;

  if (generation != self->generation)
    return;
  if (answer == NULL)
    {
      g_autofree char *lines = self->child ? _rill_mcp_child_describe (self->child) : g_strdup ("");

      _rill_mcp_client_fail (self, g_strconcat (error->message, lines, NULL));
      return;
    }
  object = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  version = object_string (object, "protocolVersion");
  if (version == NULL)
    {
      _rill_mcp_client_fail (self, g_strdup_printf (_("MCP server “%s” answered the handshake "
                                                      "without a protocol version."),
                                                    self->server->name));
      return;
    }
  if (!g_str_equal (version, RILL_MCP_PROTOCOL_VERSION))
    g_debug ("MCP server “%s” speaks protocol version %s", self->server->name, version);
  self->protocol_version = g_strdup (version);
  send_notification (self, "notifications/initialized", NULL);
  /* On one pipe, what follows arrives after it; over HTTP, each POST is a
   * connection of its own, so requests wait until the server has it. */
  if (self->server->url == NULL)
    _rill_mcp_client_become_ready (self);
}

void
_rill_mcp_client_session_lost (RillMcpClient *self)
{
  g_clear_pointer (&self->session_id, g_free);
  if (self->state == RILL_MCP_STATE_READY)
    set_state (self, RILL_MCP_STATE_STOPPED);
}

void
_rill_mcp_client_become_ready (RillMcpClient *self)
{
  if (self->state != RILL_MCP_STATE_STARTING)
    return;
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  set_failure (self, NULL);
  set_state (self, RILL_MCP_STATE_READY);
  fail_start_waiters (self, NULL);
}

static void
send_initialize (RillMcpClient *self)
{
  JsonObject *params = json_object_new ();
  JsonObject *info = json_object_new ();

  json_object_set_string_member (params, "protocolVersion", RILL_MCP_PROTOCOL_VERSION);
  json_object_set_object_member (params, "capabilities", json_object_new ());
  json_object_set_string_member (info, "name", "Rill");
  json_object_set_string_member (info, "version", PACKAGE_VERSION);
  json_object_set_object_member (params, "clientInfo", info);
  request_async (self, "initialize", params, NULL, NULL, initialize_cb,
                 GUINT_TO_POINTER (self->generation));
}

static void
resolve_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(RillMcpClient) self = data;
  g_autoptr(GError) error = NULL;
  RillMcpServer *resolved = rill_mcp_server_resolve_finish (self->server, result, &error);

  if (resolved == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rill_mcp_client_fail (self, g_strdup (error->message));
      return;
    }
  g_clear_pointer (&self->resolved, rill_mcp_server_unref);
  self->resolved = resolved;
  if (resolved->command != NULL)
    {
      self->child = _rill_mcp_child_spawn (self, resolved, &error);
      if (self->child == NULL)
        {
          _rill_mcp_client_fail (self, g_strdup (error->message));
          return;
        }
    }
  self->start_timeout_id = g_timeout_add (self->start_timeout_ms, start_timeout_cb, self);
  send_initialize (self);
}

static void
begin_start (RillMcpClient *self)
{
  self->generation++;
  g_clear_pointer (&self->session_id, g_free);
  g_clear_pointer (&self->protocol_version, g_free);
  g_clear_object (&self->start_cancellable);
  self->start_cancellable = g_cancellable_new ();
  set_state (self, RILL_MCP_STATE_STARTING);
  rill_mcp_server_resolve_async (self->server, self->keyring, self->start_cancellable,
                                 resolve_cb, g_object_ref (self));
}

static gboolean
waiter_cancel_idle_cb (gpointer data)
{
  GTask *task = data;
  RillMcpClient *self = g_task_get_source_object (task);

  /* Still waiting (not already answered by the start): it leaves now. */
  if (g_ptr_array_remove (self->start_waiters, task))
    g_task_return_error_if_cancelled (task);
  return G_SOURCE_REMOVE;
}

static void
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      data)
{
  /* Maybe inside g_cancellable_cancel: act on the next turn. */
  g_idle_add_full (G_PRIORITY_DEFAULT, waiter_cancel_idle_cb, g_object_ref (data),
                   g_object_unref);
}

static void
start_task_done_cb (GTask      *task,
                    GParamSpec *pspec,
                    gpointer    data)
{
  RillMcpClient *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  gulong handler = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (task), "rill-handler"));

  if (cancellable != NULL && handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  g_ptr_array_remove (self->start_waiters, task);
}

void
rill_mcp_client_start_async (RillMcpClient       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  gulong handler = 0;

  g_return_if_fail (RILL_IS_MCP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_client_start_async);
  if (self->state == RILL_MCP_STATE_READY)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* A waiter leaves the list whichever way it ends: by the start, or by
   * its own cancellable. */
  g_ptr_array_add (self->start_waiters, g_object_ref (task));
  g_signal_connect (task, "notify::completed", G_CALLBACK (start_task_done_cb), NULL);
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (waiter_cancelled_cb), task, NULL);
  g_object_set_data (G_OBJECT (task), "rill-handler", GSIZE_TO_POINTER (handler));
  if (self->state != RILL_MCP_STATE_STARTING)
    begin_start (self);
}

gboolean
rill_mcp_client_start_finish (RillMcpClient  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Listing */

typedef struct
{
  GPtrArray *tools;
  char      *cursor;
  guint      pages;
} Listing;

static void
listing_free (Listing *listing)
{
  g_ptr_array_unref (listing->tools);
  g_free (listing->cursor);
  g_free (listing);
}

static void list_page (RillMcpClient *self, GTask *task);

static void
list_page_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  RillMcpClient *self = RILL_MCP_CLIENT (source);
  g_autoptr(GTask) task = data;
  Listing *listing = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = request_finish (self, result, &error);
  JsonObject *object;
  JsonNode *tools;
  const char *next;

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  object = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  tools = object ? json_object_get_member (object, "tools") : NULL;
  if (tools != NULL && JSON_NODE_HOLDS_ARRAY (tools))
    {
      JsonArray *array = json_node_get_array (tools);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          RillMcpTool *tool = tool_from_json (json_array_get_element (array, i));

          if (tool != NULL)
            g_ptr_array_add (listing->tools, tool);
        }
    }
  next = object_string (object, "nextCursor");
  /* A server that hands back the same cursor would list forever. */
  if (next != NULL && next[0] != '\0' && g_strcmp0 (next, listing->cursor) != 0
      && ++listing->pages < MAX_PAGES)
    {
      g_free (listing->cursor);
      listing->cursor = g_strdup (next);
      list_page (self, g_steal_pointer (&task));
      return;
    }
  g_ptr_array_unref (self->tools);
  self->tools = g_ptr_array_ref (listing->tools);
  g_task_return_pointer (task, g_ptr_array_ref (listing->tools),
                         (GDestroyNotify) g_ptr_array_unref);
  g_signal_emit (self, signals[SIGNAL_TOOLS_CHANGED], 0);
}

static void
list_page (RillMcpClient *self, GTask *task)
{
  Listing *listing = g_task_get_task_data (task);
  JsonObject *params = NULL;

  if (listing->cursor != NULL)
    {
      params = json_object_new ();
      json_object_set_string_member (params, "cursor", listing->cursor);
    }
  request_async (self, "tools/list", params, NULL, NULL, list_page_cb, task);
}

static void
list_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(GError) error = NULL;

  if (!rill_mcp_client_start_finish (RILL_MCP_CLIENT (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    list_tools_async (RILL_MCP_CLIENT (source), g_steal_pointer (&task));
}

static void
list_done_cb (GTask      *task,
              GParamSpec *pspec,
              gpointer    data)
{
  RillMcpClient *self = g_task_get_source_object (task);

  self->listing = FALSE;
  if (self->list_again && self->state == RILL_MCP_STATE_READY)
    {
      self->list_again = FALSE;
      rill_mcp_client_list_tools_async (self, NULL, relist_cb, NULL);
    }
}

static void
list_tools_async (RillMcpClient *self, GTask *task)
{
  Listing *listing = g_new0 (Listing, 1);

  listing->tools = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_mcp_tool_unref);
  g_task_set_task_data (task, listing, (GDestroyNotify) listing_free);
  self->listing = TRUE;
  g_signal_connect (task, "notify::completed", G_CALLBACK (list_done_cb), NULL);
  list_page (self, task);
}

void
rill_mcp_client_list_tools_async (RillMcpClient       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (RILL_IS_MCP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_client_list_tools_async);
  rill_mcp_client_start_async (self, cancellable, list_started_cb, task);
}

GPtrArray *
rill_mcp_client_list_tools_finish (RillMcpClient  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GPtrArray *
rill_mcp_client_get_tools (RillMcpClient *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CLIENT (self), NULL);
  return self->tools;
}

/* Calling */

typedef struct
{
  char       *tool;
  JsonObject *arguments;
  char       *call_id;
  gint64      request_id;
  gulong      handler;
} Call;

static void
call_free (Call *call)
{
  g_free (call->tool);
  g_clear_pointer (&call->arguments, json_object_unref);
  g_free (call->call_id);
  g_free (call);
}

static void
call_reply_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(GTask) task = data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = request_finish (RILL_MCP_CLIENT (source), result, &error);

  if (call->handler != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), call->handler);
  call->handler = 0;
  if (answer == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result_from_json (answer), (GDestroyNotify) rill_mcp_result_unref);
}

static gboolean
call_cancel_idle_cb (gpointer data)
{
  GTask *task = data;
  RillMcpClient *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  JsonObject *params;

  if (!g_hash_table_contains (self->pending, &call->request_id))
    return G_SOURCE_REMOVE;
  params = json_object_new ();
  json_object_set_int_member (params, "requestId", call->request_id);
  json_object_set_string_member (params, "reason", "The person stopped the call.");
  send_notification (self, "notifications/cancelled", params);
  if (self->server->url != NULL)
    _rill_mcp_http_cancel (self, call->request_id);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The call was stopped."));
  _rill_mcp_client_complete_request (self, call->request_id, NULL, error);
  return G_SOURCE_REMOVE;
}

static void
call_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, call_cancel_idle_cb, g_object_ref (data), g_object_unref);
}

static void
call_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  RillMcpClient *self = RILL_MCP_CLIENT (source);
  g_autoptr(GTask) task = data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);
  JsonObject *params, *meta;

  if (!rill_mcp_client_start_finish (self, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  params = json_object_new ();
  meta = json_object_new ();
  json_object_set_string_member (params, "name", call->tool);
  json_object_set_object_member (params, "arguments",
                                 call->arguments ? json_object_ref (call->arguments)
                                                 : json_object_new ());
  /* The token is the caller's call id, or the request id (known below):
   * either way a string, which is what progress is matched by. */
  token = call->call_id ? g_strdup (call->call_id)
                        : g_strdup_printf ("%" G_GINT64_FORMAT, self->next_id + 1);
  json_object_set_string_member (meta, "progressToken", token);
  json_object_set_object_member (params, "_meta", meta);
  call->request_id = request_async (self, "tools/call", params, token,
                                    call->call_id ? call->call_id : token,
                                    call_reply_cb, g_object_ref (task));
  if (cancellable != NULL)
    call->handler = g_cancellable_connect (cancellable, G_CALLBACK (call_cancelled_cb),
                                           task, NULL);
}

void
rill_mcp_client_call_tool_async (RillMcpClient       *self,
                                 const char          *tool,
                                 JsonObject          *arguments,
                                 const char          *call_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;
  Call *call;

  g_return_if_fail (RILL_IS_MCP_CLIENT (self));
  g_return_if_fail (tool != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_client_call_tool_async);
  call = g_new0 (Call, 1);
  call->tool = g_strdup (tool);
  call->arguments = arguments ? json_object_ref (arguments) : NULL;
  call->call_id = g_strdup (call_id);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  rill_mcp_client_start_async (self, cancellable, call_started_cb, task);
}

RillMcpResult *
rill_mcp_client_call_tool_finish (RillMcpClient  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Stopping */

void
rill_mcp_client_stop_async (RillMcpClient       *self,
                            guint                timeout_ms,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  g_return_if_fail (RILL_IS_MCP_CLIENT (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_client_stop_async);

  message = g_strdup_printf (_("MCP server “%s” was stopped."), self->server->name);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, message);
  self->generation++;
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_cancellable_cancel (self->start_cancellable);
  set_state (self, RILL_MCP_STATE_STOPPED);
  fail_pending (self, G_IO_ERROR, G_IO_ERROR_CLOSED, message);
  fail_start_waiters (self, error);
  _rill_mcp_http_cancel (self, 0);

  if (self->session_id != NULL && self->server->url != NULL)
    {
      _rill_mcp_http_end_session (self, timeout_ms, g_steal_pointer (&task));
      g_clear_pointer (&self->session_id, g_free);
    }
  else if (self->child != NULL)
    _rill_mcp_child_stop (g_steal_pointer (&self->child), timeout_ms, g_steal_pointer (&task));
  else
    g_task_return_boolean (task, TRUE);
}

gboolean
rill_mcp_client_stop_finish (RillMcpClient  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* GObject */

static void
rill_mcp_client_dispose (GObject *object)
{
  RillMcpClient *self = RILL_MCP_CLIENT (object);

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_cancellable_cancel (self->start_cancellable);
  /* Only the server's own stream and notifications can be left (a request
   * in flight holds the client): they end without it. */
  _rill_mcp_http_forget (self);
  /* Not stopped before it went: no server outlives the app. */
  if (self->child != NULL)
    _rill_mcp_child_let_go (g_steal_pointer (&self->child));
  G_OBJECT_CLASS (rill_mcp_client_parent_class)->dispose (object);
}

static void
rill_mcp_client_finalize (GObject *object)
{
  RillMcpClient *self = RILL_MCP_CLIENT (object);

  g_assert (g_hash_table_size (self->pending) == 0);
  g_hash_table_unref (self->pending);
  g_ptr_array_unref (self->start_waiters);
  g_ptr_array_unref (self->tools);
  g_ptr_array_unref (self->exchanges);
  g_clear_object (&self->start_cancellable);
  g_clear_object (&self->soup);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->server, rill_mcp_server_unref);
  g_clear_pointer (&self->resolved, rill_mcp_server_unref);
  g_free (self->failure);
  g_free (self->session_id);
  g_free (self->protocol_version);
  G_OBJECT_CLASS (rill_mcp_client_parent_class)->finalize (object);
}

static void
rill_mcp_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RillMcpClient *self = RILL_MCP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_FAILURE:
      g_value_set_string (value, self->failure);
      break;
    case PROP_START_TIMEOUT:
      g_value_set_uint (value, self->start_timeout_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_mcp_client_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  RillMcpClient *self = RILL_MCP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_START_TIMEOUT:
      self->start_timeout_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_mcp_client_class_init (RillMcpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_mcp_client_dispose;
  object_class->finalize = rill_mcp_client_finalize;
  object_class->get_property = rill_mcp_client_get_property;
  object_class->set_property = rill_mcp_client_set_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, RILL_TYPE_MCP_STATE, RILL_MCP_STATE_STOPPED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FAILURE] =
    g_param_spec_string ("failure", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_START_TIMEOUT] =
    g_param_spec_uint ("start-timeout", NULL, NULL, 1, G_MAXUINT, DEFAULT_START_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (call id, progress, total or -1, message or NULL) while a call runs. */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_STRING);
  /* After every listing: the tools are the new ones. */
  signals[SIGNAL_TOOLS_CHANGED] =
    g_signal_new ("tools-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);

  /* A program that exits while we write to it must not take the app with
   * it: the write fails with EPIPE instead, and its wait says why. */
  signal (SIGPIPE, SIG_IGN);
}

static void
rill_mcp_client_init (RillMcpClient *self)
{
  self->start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify) request_free);
  self->start_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->tools = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_mcp_tool_unref);
  self->exchanges = g_ptr_array_new ();
}

RillMcpClient *
rill_mcp_client_new (RillMcpServer *server,
                     RillKeyring   *keyring)
{
  RillMcpClient *self;

  g_return_val_if_fail (server != NULL, NULL);
  g_return_val_if_fail (keyring == NULL || RILL_IS_KEYRING (keyring), NULL);

  self = g_object_new (RILL_TYPE_MCP_CLIENT, NULL);
  self->server = rill_mcp_server_ref (server);
  self->keyring = keyring ? g_object_ref (keyring) : NULL;
  if (server->url != NULL)
    /* Calls answered as event streams hold their connection while the tool
     * runs, and so does the server's own stream: beyond libsoup's two per
     * host, a cancellation or a second call would wait for one to end. */
    self->soup = soup_session_new_with_options ("user-agent", "Rill/" PACKAGE_VERSION,
                                                "max-conns-per-host", 16, NULL);
  return self;
}

RillMcpServer *
rill_mcp_client_get_server (RillMcpClient *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CLIENT (self), NULL);
  return self->server;
}

const char *
rill_mcp_client_get_name (RillMcpClient *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CLIENT (self), NULL);
  return self->server->name;
}

RillMcpState
rill_mcp_client_get_state (RillMcpClient *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CLIENT (self), RILL_MCP_STATE_STOPPED);
  return self->state;
}

const char *
rill_mcp_client_get_failure (RillMcpClient *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CLIENT (self), NULL);
  return self->failure;
}

void
rill_mcp_client_set_start_timeout (RillMcpClient *self,
                                   guint          timeout_ms)
{
  g_return_if_fail (RILL_IS_MCP_CLIENT (self));
  g_return_if_fail (timeout_ms > 0);
  g_object_set (self, "start-timeout", timeout_ms, NULL);
}
