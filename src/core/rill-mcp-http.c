/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-http.c: an MCP server at a URL, over Streamable HTTP.
 *
 * A POST a message. A request's answer comes as JSON or as an event stream
 * (progress first, then the answer); a notification's answer is 202 and
 * nothing. The session id from the initialize answer is sent with
 * everything after it, with the negotiated protocol version, and the
 * configured headers with everything. Each POST may take a connection of
 * its own, so the client is ready only once notifications/initialized was
 * answered, and then a GET opens the server's own stream for what it sends
 * between requests (a server without one answers 405). An Exchange does not
 * hold the client: a request in flight does, through its task; the
 * server's own stream ends with the client. */

#include "rill-mcp-client-private.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "rill-sse-decoder.h"

typedef struct
{
  RillMcpClient  *self;        /* borrowed; NULL once the client is gone */
  SoupMessage    *message;
  GCancellable   *cancellable;
  GInputStream   *stream;
  RillSseDecoder *sse;
  GByteArray     *body;
  gint64          request_id;  /* 0: a notification or a response */
  RillMcpCarries  carries;
  guint           generation;
} Exchange;

static void
exchange_free (Exchange *ex)
{
  if (ex->self != NULL)
    g_ptr_array_remove (ex->self->exchanges, ex);
  g_clear_object (&ex->message);
  g_clear_object (&ex->cancellable);
  g_clear_object (&ex->stream);
  g_clear_pointer (&ex->sse, rill_sse_decoder_free);
  g_clear_pointer (&ex->body, g_byte_array_unref);
  g_free (ex);
}

static void
exchange_fail (Exchange *ex, const char *what)
{
  RillMcpClient *self = ex->self;
  g_autofree char *message = g_strdup_printf (_("MCP server “%s”: %s"), self->server->name, what);
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, message);

  if (ex->request_id != 0)
    _rill_mcp_client_complete_request (self, ex->request_id, NULL, error);
  else if (ex->carries == RILL_MCP_CARRIES_INITIALIZED && ex->generation == self->generation)
    _rill_mcp_client_fail (self, g_strdup (message));
}

static void
parse_and_handle (RillMcpClient *self, const char *text, gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  /* An answer may let the last caller go: not in the middle of a batch. */
  g_autoptr(RillMcpClient) hold = g_object_ref (self);
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL)
    {
      g_message ("MCP server “%s” answered something other than JSON: %.200s",
                 self->server->name, text);
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (root))
    {
      JsonArray *batch = json_node_get_array (root);

      for (guint i = 0; i < json_array_get_length (batch); i++)
        _rill_mcp_client_handle_message (self, json_array_get_element (batch, i));
    }
  else
    _rill_mcp_client_handle_message (self, root);
}

static void
sse_event_cb (const char *event_type,
              const char *data,
              gsize       data_len,
              const char *last_id,
              gpointer    user_data)
{
  Exchange *ex = user_data;

  if (ex->self != NULL && g_strcmp0 (event_type, "message") == 0 && data_len > 0)
    parse_and_handle (ex->self, data, data_len);
}

static void
exchange_read (Exchange *ex);

static void
exchange_read_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Exchange *ex = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (ex->self == NULL)
    {
      exchange_free (ex);
      return;
    }
  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        exchange_fail (ex, error->message);
      exchange_free (ex);
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    {
      if (ex->sse != NULL)
        rill_sse_decoder_feed (ex->sse, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      else
        g_byte_array_append (ex->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      if (ex->self == NULL)
        exchange_free (ex);
      else
        exchange_read (ex);
      return;
    }

  if (ex->sse != NULL)
    rill_sse_decoder_finish (ex->sse);
  else if (ex->body->len > 0)
    parse_and_handle (ex->self, (const char *) ex->body->data, ex->body->len);
  /* The answer was not in the body: the request will not be answered. */
  if (ex->self != NULL && ex->request_id != 0
      && g_hash_table_contains (ex->self->pending, &ex->request_id))
    exchange_fail (ex, _("the server ended its answer without a result"));
  exchange_free (ex);
}

static void
exchange_read (Exchange *ex)
{
  g_input_stream_read_bytes_async (ex->stream, 16384, G_PRIORITY_DEFAULT, ex->cancellable,
                                   exchange_read_cb, ex);
}

static void
exchange_sent_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Exchange *ex = data;
  RillMcpClient *self = ex->self;
  g_autoptr(RillMcpClient) hold = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  const char *content_type;
  guint status;

  ex->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (self == NULL)
    {
      exchange_free (ex);
      return;
    }
  /* Answering the start's waiters may let the last caller go. */
  hold = g_object_ref (self);
  if (ex->stream == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        exchange_fail (ex, error->message);
      exchange_free (ex);
      return;
    }
  status = soup_message_get_status (ex->message);
  headers = soup_message_get_response_headers (ex->message);
  if (ex->carries == RILL_MCP_CARRIES_LISTEN && !SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      /* 405: this server sends its own messages only within answers. */
      g_debug ("MCP server “%s” offers no stream of its own (HTTP %u)", self->server->name,
               status);
      exchange_free (ex);
      return;
    }
  if (ex->carries == RILL_MCP_CARRIES_INITIALIZE && SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const char *session_id = soup_message_headers_get_one (headers, "Mcp-Session-Id");

      g_free (self->session_id);
      self->session_id = g_strdup (session_id);
    }
  if (status == SOUP_STATUS_NOT_FOUND && self->session_id != NULL)
    {
      /* The server forgot the session: the next use starts a new one. */
      _rill_mcp_client_session_lost (self);
      exchange_fail (ex, _("the server ended the session; try again"));
      exchange_free (ex);
      return;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_autofree char *what = g_strdup_printf (_("HTTP %u %s"), status,
                                               soup_message_get_reason_phrase (ex->message));

      exchange_fail (ex, what);
      exchange_free (ex);
      return;
    }
  if (ex->carries == RILL_MCP_CARRIES_INITIALIZED && ex->generation == self->generation)
    {
      _rill_mcp_client_become_ready (self);
      /* Where the server sends what is not an answer (a changed tool
       * list, its log) between requests. Opened once; a server that ends
       * it sends such messages within answers only. */
      _rill_mcp_http_send (self, NULL, 0, RILL_MCP_CARRIES_LISTEN);
    }
  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (g_strcmp0 (content_type, "text/event-stream") == 0)
    ex->sse = rill_sse_decoder_new (sse_event_cb, ex);
  else
    ex->body = g_byte_array_new ();
  exchange_read (ex);
}

void
_rill_mcp_http_send (RillMcpClient  *self,
                     const char     *text,
                     gint64          request_id,
                     RillMcpCarries  carries)
{
  RillMcpServer *server = self->resolved ? self->resolved : self->server;
  SoupMessageHeaders *headers;
  Exchange *ex;

  ex = g_new0 (Exchange, 1);
  ex->self = self;
  ex->request_id = request_id;
  ex->carries = carries;
  ex->generation = self->generation;
  ex->cancellable = g_cancellable_new ();
  ex->message = soup_message_new (carries == RILL_MCP_CARRIES_LISTEN ? "GET" : "POST", server->url);
  g_ptr_array_add (self->exchanges, ex);
  if (ex->message == NULL)
    {
      exchange_fail (ex, _("its URL is not valid"));
      exchange_free (ex);
      return;
    }
  headers = soup_message_get_request_headers (ex->message);
  for (guint i = 0; server->headers[i] != NULL; i++)
    {
      const char *sep = strstr (server->headers[i], ": ");
      g_autofree char *name = NULL;

      if (sep == NULL)
        continue;
      name = g_strndup (server->headers[i], sep - server->headers[i]);
      soup_message_headers_replace (headers, name, sep + 2);
    }
  soup_message_headers_replace (headers, "Accept",
                                carries == RILL_MCP_CARRIES_LISTEN ? "text/event-stream"
                                                          : "application/json, text/event-stream");
  if (self->session_id != NULL)
    soup_message_headers_replace (headers, "Mcp-Session-Id", self->session_id);
  if (self->protocol_version != NULL)
    soup_message_headers_replace (headers, "MCP-Protocol-Version", self->protocol_version);
  if (text != NULL)
    {
      g_autoptr(GBytes) body = g_bytes_new (text, strlen (text));

      soup_message_set_request_body_from_bytes (ex->message, "application/json", body);
    }
  soup_session_send_async (self->soup, ex->message, G_PRIORITY_DEFAULT, ex->cancellable,
                           exchange_sent_cb, ex);
}

void
_rill_mcp_http_cancel (RillMcpClient *self,
                       gint64         request_id)
{
  for (guint i = 0; i < self->exchanges->len; i++)
    {
      Exchange *ex = g_ptr_array_index (self->exchanges, i);

      if (request_id == 0 || ex->request_id == request_id)
        g_cancellable_cancel (ex->cancellable);
    }
}

void
_rill_mcp_http_forget (RillMcpClient *self)
{
  for (guint i = 0; i < self->exchanges->len; i++)
    {
      Exchange *ex = g_ptr_array_index (self->exchanges, i);

      ex->self = NULL;
      g_cancellable_cancel (ex->cancellable);
    }
  g_ptr_array_set_size (self->exchanges, 0);
}

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);

  if (bytes == NULL)
    g_debug ("ending an MCP session: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static gboolean
delete_timeout_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

void
_rill_mcp_http_end_session (RillMcpClient *self,
                            guint          timeout_ms,
                            GTask         *task)
{
  RillMcpServer *server = self->resolved ? self->resolved : self->server;
  g_autoptr(SoupMessage) message = soup_message_new ("DELETE", server->url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  if (message == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (message), "Mcp-Session-Id",
                                self->session_id);
  g_timeout_add_full (G_PRIORITY_DEFAULT, timeout_ms, delete_timeout_cb,
                      g_object_ref (cancellable), g_object_unref);
  soup_session_send_and_read_async (self->soup, message, G_PRIORITY_DEFAULT, cancellable,
                                    delete_cb, task);
}
