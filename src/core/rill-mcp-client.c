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
 * - stdio: the program's stdin takes one message a line, through a queue
 *   (one write in flight at a time, as GOutputStream requires); its stdout
 *   is read line by line; its stderr is read all along, and the last lines
 *   are kept for the words of a failure. What a program started is a Child,
 *   kept apart from the client: callbacks of a program that was stopped or
 *   replaced find their Child detached and do nothing.
 * - The end of a program is known when its wait returns; its last words on
 *   stderr may arrive just after, so the failure is written once both pipes
 *   reached their end, or a moment later at most.
 * - Streamable HTTP: a POST a message. A request's answer comes as JSON or
 *   as an event stream (progress first, then the answer); a notification's
 *   answer is 202 and nothing. The session id from the initialize answer is
 *   sent with everything after it, with the negotiated protocol version.
 * - Cancelling a call sends notifications/cancelled with its request id and
 *   ends the call at once; an answer that still comes is dropped, as is
 *   progress for a call no longer pending.
 * - Nothing waits on the main loop: every step is async, and the waits that
 *   can last (the handshake, the stop) are bounded by timers. */

#include "rill-mcp-client.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "rill-sse-decoder.h"

#define STDERR_LINES_KEPT 20
#define STDERR_LINE_MAX 1000
#define GONE_GRACE_MS 300
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

typedef struct _Child Child;

typedef struct
{
  gint64  id;
  char   *method;
  GTask  *task;           /* internal: returns the "result" JsonNode */
  char   *progress_token; /* tools/call: as sent */
  char   *call_id;        /* tools/call: what "progress" names it */
} Request;

/* What an HTTP exchange carries besides its message. */
typedef enum {
  CARRIES_MESSAGE,
  CARRIES_INITIALIZE,  /* its answer has the session id */
  CARRIES_INITIALIZED, /* the server has it once answered: then the client is ready */
  CARRIES_LISTEN,      /* a GET: the server's own messages, if it offers them */
} Carries;

typedef struct
{
  RillMcpClient  *self;        /* borrowed; NULL once the client is gone */
  SoupMessage    *message;
  GCancellable   *cancellable;
  GInputStream   *stream;
  RillSseDecoder *sse;
  GByteArray     *body;
  gint64          request_id;  /* 0: a notification or a response */
  Carries         carries;
  guint           generation;
} Exchange;

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
  GHashTable    *pending;    /* gint64 * → Request */
  GPtrArray     *tools;      /* RillMcpTool */
  gboolean       listing;
  gboolean       list_again;

  Child         *child;      /* stdio */

  SoupSession   *soup;       /* HTTP */
  char          *session_id;
  char          *protocol_version;
  GPtrArray     *exchanges;  /* Exchange, borrowed */
};

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

struct _Child
{
  gatomicrefcount   ref_count;
  RillMcpClient    *self;      /* borrowed; NULL once detached */
  GSubprocess      *process;
  GOutputStream    *stdin_pipe;
  GDataInputStream *stdout_reader;
  GDataInputStream *stderr_reader;
  GCancellable     *write_cancellable;
  GQueue            writes;    /* GBytes */
  GBytes           *writing;   /* the write in flight */
  GQueue            stderr_lines; /* char *, the last ones */
  char             *garbage;   /* the first line on stdout that was not JSON */
  gboolean          exited;
  gboolean          stdout_done;
  gboolean          stderr_done;
  guint             grace_id;
  GTask            *stop_task;
  guint             stop_stage;
  guint             stop_timer_id;
};

static void fail (RillMcpClient *self, char *failure);
static void become_ready (RillMcpClient *self);
static void http_send (RillMcpClient *self,
                       const char    *text,
                       gint64         request_id,
                       Carries        carries);
static void handle_message (RillMcpClient *self, JsonNode *message);
static void child_detach (Child *child);
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

static void
complete_request (RillMcpClient *self,
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
    complete_request (self, g_array_index (copy, gint64, i), NULL, error);
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

/* Transport: stdio */

static Child *
child_ref (Child *child)
{
  g_atomic_ref_count_inc (&child->ref_count);
  return child;
}

static void
child_unref (Child *child)
{
  if (!g_atomic_ref_count_dec (&child->ref_count))
    return;
  g_assert (child->self == NULL);
  g_clear_handle_id (&child->grace_id, g_source_remove);
  g_clear_handle_id (&child->stop_timer_id, g_source_remove);
  g_clear_object (&child->process);
  g_clear_object (&child->stdin_pipe);
  g_clear_object (&child->stdout_reader);
  g_clear_object (&child->stderr_reader);
  g_clear_object (&child->write_cancellable);
  g_clear_pointer (&child->writing, g_bytes_unref);
  g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&child->stderr_lines, g_free);
  g_free (child->garbage);
  g_assert (child->stop_task == NULL);
  g_free (child);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Child, child_unref)

static void write_next (Child *child);

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(Child) child = data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&child->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      /* A program that exited closes the pipe: its wait says the rest. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("writing to an MCP server: %s", error->message);
      g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
    }
  /* Detached while writing: the close waited for this write to end. */
  if (child->self == NULL)
    {
      g_output_stream_close (child->stdin_pipe, NULL, NULL);
      return;
    }
  write_next (child);
}

static void
write_next (Child *child)
{
  if (child->writing != NULL || g_queue_is_empty (&child->writes))
    return;
  /* write_all_async copies nothing: the bytes live until the write ends. */
  child->writing = g_queue_pop_head (&child->writes);
  g_output_stream_write_all_async (child->stdin_pipe,
                                   g_bytes_get_data (child->writing, NULL),
                                   g_bytes_get_size (child->writing),
                                   G_PRIORITY_DEFAULT, child->write_cancellable, write_cb,
                                   child_ref (child));
}

static void
child_send (Child *child, const char *line)
{
  g_queue_push_tail (&child->writes, g_bytes_new (line, strlen (line)));
  write_next (child);
}

/* "its last lines on stderr" for a failure, or "". */
static char *
child_describe_stderr (Child *child)
{
  GString *text = g_string_new (NULL);

  if (child->garbage != NULL)
    {
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("It wrote something other than JSON: %s"), child->garbage);
    }
  if (child->stderr_lines.length > 0)
    {
      g_string_append_c (text, '\n');
      g_string_append (text, _("Its last lines on stderr:"));
      for (GList *l = child->stderr_lines.head; l != NULL; l = l->next)
        g_string_append_printf (text, "\n%s", (char *) l->data);
    }
  return g_string_free (text, FALSE);
}

static void
child_gone (Child *child)
{
  RillMcpClient *self = child->self;
  g_autofree char *lines = NULL;
  g_autofree char *how = NULL;

  g_clear_handle_id (&child->grace_id, g_source_remove);
  if (self == NULL)
    return;
  if (!g_subprocess_get_if_signaled (child->process))
    how = g_strdup_printf (_("MCP server “%s” exited with status %d."),
                           self->server->name, g_subprocess_get_exit_status (child->process));
  else
    how = g_strdup_printf (_("MCP server “%s” was ended by signal %d."),
                           self->server->name, g_subprocess_get_term_sig (child->process));
  lines = child_describe_stderr (child);
  fail (self, g_strconcat (how, lines, NULL));
}

static gboolean
grace_cb (gpointer data)
{
  Child *child = data;

  child->grace_id = 0;
  child_gone (child);
  return G_SOURCE_REMOVE;
}

/* Once the program exited and both pipes ended (or a moment after it
 * exited: a grandchild may hold them open). */
static void
child_check_gone (Child *child)
{
  if (!child->exited || child->self == NULL)
    return;
  if (child->stdout_done && child->stderr_done)
    child_gone (child);
  else if (child->grace_id == 0)
    child->grace_id = g_timeout_add_full (G_PRIORITY_DEFAULT, GONE_GRACE_MS, grace_cb,
                                          child_ref (child), (GDestroyNotify) child_unref);
}

static void stop_done (Child *child);

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(Child) child = data;
  g_autoptr(GError) error = NULL;

  /* Not cancellable: it always ends, when the program does. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error);
  child->exited = TRUE;
  if (child->stop_task != NULL)
    stop_done (child);
  child_check_gone (child);
}

static void read_stdout (Child *child);
static void read_stderr (Child *child);

static void
stdout_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Child) child = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) message = NULL;
  gsize len;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len,
                                               &error);
  if (line == NULL)
    {
      if (error != NULL)
        g_debug ("reading an MCP server's stdout: %s", error->message);
      child->stdout_done = TRUE;
      child_check_gone (child);
      return;
    }
  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0';
  /* Detached: read on to the end, so the program never blocks writing. */
  if (child->self != NULL && len > 0)
    {
      if (g_utf8_validate (line, len, NULL))
        message = json_from_string (line, NULL);
      if (message == NULL || !JSON_NODE_HOLDS_OBJECT (message))
        {
          g_autofree char *valid = g_utf8_make_valid (line, len);

          g_message ("MCP server “%s” wrote something other than JSON: %.200s",
                     child->self->server->name, valid);
          if (child->garbage == NULL)
            child->garbage = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1), 200));
        }
      else
        {
          /* An answer may let the last caller go: not in the middle. */
          g_autoptr(RillMcpClient) hold = g_object_ref (child->self);

          handle_message (hold, message);
        }
    }
  read_stdout (child);
}

static void
read_stdout (Child *child)
{
  g_data_input_stream_read_line_async (child->stdout_reader, G_PRIORITY_DEFAULT, NULL,
                                       stdout_cb, child_ref (child));
}

static void
stderr_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Child) child = data;
  g_autoptr(GError) error = NULL;
  char *line;
  gsize len;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);
  if (line == NULL)
    {
      child->stderr_done = TRUE;
      child_check_gone (child);
      return;
    }
  /* Kept as text whatever the program wrote, cut to a readable length. */
  if (!g_utf8_validate (line, len, NULL))
    {
      char *valid = g_utf8_make_valid (line, len);

      g_free (line);
      line = valid;
    }
  if (strlen (line) > STDERR_LINE_MAX)
    {
      char *cut = g_utf8_substring (line, 0, STDERR_LINE_MAX / 4);

      g_free (line);
      line = g_strconcat (cut, "…", NULL);
      g_free (cut);
    }
  if (child->self != NULL)
    g_debug ("MCP server “%s”: %s", child->self->server->name, line);
  g_queue_push_tail (&child->stderr_lines, line);
  while (child->stderr_lines.length > STDERR_LINES_KEPT)
    g_free (g_queue_pop_head (&child->stderr_lines));
  /* Read to the end even when detached: the stop and the failure wait
   * for it, and a full pipe would block the program. */
  read_stderr (child);
}

static void
read_stderr (Child *child)
{
  g_data_input_stream_read_line_async (child->stderr_reader, G_PRIORITY_DEFAULT, NULL,
                                       stderr_cb, child_ref (child));
}

static Child *
child_spawn (RillMcpClient  *self,
             RillMcpServer  *server,
             GError        **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) local_error = NULL;
  Child *child;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                        | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; server->env[i] != NULL; i++)
    {
      const char *eq = strchr (server->env[i], '=');
      g_autofree char *name = NULL;

      if (eq == NULL)
        continue;
      name = g_strndup (server->env[i], eq - server->env[i]);
      g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
    }
  g_ptr_array_add (argv, server->command);
  for (guint i = 0; server->args[i] != NULL; i++)
    g_ptr_array_add (argv, server->args[i]);
  g_ptr_array_add (argv, NULL);

  child = g_new0 (Child, 1);
  g_atomic_ref_count_init (&child->ref_count);
  child->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                 &local_error);
  if (child->process == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("MCP server “%s” could not be started: %s"),
                   self->server->name, local_error->message);
      child_unref (child);
      return NULL;
    }
  child->self = self;
  child->write_cancellable = g_cancellable_new ();
  child->stdin_pipe = g_object_ref (g_subprocess_get_stdin_pipe (child->process));
  child->stdout_reader = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  child->stderr_reader = g_data_input_stream_new (g_subprocess_get_stderr_pipe (child->process));
  g_data_input_stream_set_newline_type (child->stdout_reader, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_data_input_stream_set_newline_type (child->stderr_reader, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  g_subprocess_wait_async (child->process, NULL, wait_cb, child_ref (child));
  read_stdout (child);
  read_stderr (child);
  return child;
}

/* The client lets go of the program and closes its stdin (which tells a
 * well-behaved server to exit). Its output is still read to the end and
 * dropped, and the wait still runs, for stop_async. Reads are never
 * cancelled: they end when the program does. */
static void
child_detach (Child *child)
{
  child->self = NULL;
  g_clear_handle_id (&child->grace_id, g_source_remove);
  g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
  if (child->writing == NULL)
    g_output_stream_close (child->stdin_pipe, NULL, NULL);
  else
    g_cancellable_cancel (child->write_cancellable);
}

/* Transport: Streamable HTTP */

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
    complete_request (self, ex->request_id, NULL, error);
  else if (ex->carries == CARRIES_INITIALIZED && ex->generation == self->generation)
    fail (self, g_strdup (message));
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
        handle_message (self, json_array_get_element (batch, i));
    }
  else
    handle_message (self, root);
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
  if (ex->carries == CARRIES_LISTEN && !SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      /* 405: this server sends its own messages only within answers. */
      g_debug ("MCP server “%s” offers no stream of its own (HTTP %u)", self->server->name,
               status);
      exchange_free (ex);
      return;
    }
  if (ex->carries == CARRIES_INITIALIZE && SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const char *session_id = soup_message_headers_get_one (headers, "Mcp-Session-Id");

      g_free (self->session_id);
      self->session_id = g_strdup (session_id);
    }
  if (status == SOUP_STATUS_NOT_FOUND && self->session_id != NULL)
    {
      /* The server forgot the session: the next use starts a new one. */
      g_clear_pointer (&self->session_id, g_free);
      if (self->state == RILL_MCP_STATE_READY)
        set_state (self, RILL_MCP_STATE_STOPPED);
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
  if (ex->carries == CARRIES_INITIALIZED && ex->generation == self->generation)
    {
      become_ready (self);
      /* Where the server sends what is not an answer (a changed tool
       * list, its log) between requests. Opened once; a server that ends
       * it sends such messages within answers only. */
      http_send (self, NULL, 0, CARRIES_LISTEN);
    }
  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (g_strcmp0 (content_type, "text/event-stream") == 0)
    ex->sse = rill_sse_decoder_new (sse_event_cb, ex);
  else
    ex->body = g_byte_array_new ();
  exchange_read (ex);
}

static void
http_send (RillMcpClient *self,
           const char    *text,
           gint64         request_id,
           Carries        carries)
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
  ex->message = soup_message_new (carries == CARRIES_LISTEN ? "GET" : "POST", server->url);
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
                                carries == CARRIES_LISTEN ? "text/event-stream"
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

static void
http_cancel_request (RillMcpClient *self, gint64 request_id)
{
  for (guint i = 0; i < self->exchanges->len; i++)
    {
      Exchange *ex = g_ptr_array_index (self->exchanges, i);

      if (ex->request_id == request_id)
        g_cancellable_cancel (ex->cancellable);
    }
}

/* Sending */

static void
send_message (RillMcpClient *self,
              JsonNode      *message,
              gint64         request_id,
              Carries        carries)
{
  g_autofree char *text = json_to_string (message, FALSE);

  if (self->server->url != NULL)
    http_send (self, text, request_id, carries);
  else if (self->child != NULL)
    {
      g_autofree char *line = g_strconcat (text, "\n", NULL);

      child_send (self->child, line);
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
                g_str_equal (method, "notifications/initialized") ? CARRIES_INITIALIZED
                                                                  : CARRIES_MESSAGE);
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
                g_str_equal (method, "initialize") ? CARRIES_INITIALIZE : CARRIES_MESSAGE);
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
  send_message (self, answer, 0, CARRIES_MESSAGE);
}

static void
handle_message (RillMcpClient *self, JsonNode *message)
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
          complete_request (self, json_node_get_int (id), NULL, gerror);
        }
      else
        {
          JsonNode *result = json_object_get_member (object, "result");
          g_autoptr(JsonNode) empty = NULL;

          if (result == NULL)
            result = empty = json_node_new (JSON_NODE_NULL);
          complete_request (self, json_node_get_int (id), result, NULL);
        }
    }
  else
    g_debug ("MCP server “%s”: a message that is neither a request nor an answer",
             self->server->name);
}

/* Starting */

/* Ends whatever runs, says why, and fails everything waiting. Takes @failure. */
static void
fail (RillMcpClient *self, char *failure)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, failure);

  g_message ("%s", failure);
  self->generation++;
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_cancellable_cancel (self->start_cancellable);
  if (self->child != NULL)
    {
      Child *child = g_steal_pointer (&self->child);

      /* A program that is still there after failing is of no more use. */
      if (!child->exited)
        g_subprocess_force_exit (child->process);
      child_detach (child);
      child_unref (child);
    }
  /* An HTTP server that stopped answering must not hold requests open. */
  for (guint i = 0; i < self->exchanges->len; i++)
    g_cancellable_cancel (((Exchange *) g_ptr_array_index (self->exchanges, i))->cancellable);
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
  g_autofree char *lines = self->child ? child_describe_stderr (self->child) : g_strdup ("");
  guint seconds = (self->start_timeout_ms + 999) / 1000;

  self->start_timeout_id = 0;
  fail (self, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "MCP server “%s” did not answer within %u second.%s",
                                            "MCP server “%s” did not answer within %u seconds.%s",
                                            seconds),
                               self->server->name, seconds, lines));
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
      g_autofree char *lines = self->child ? child_describe_stderr (self->child) : g_strdup ("");

      fail (self, g_strconcat (error->message, lines, NULL));
      return;
    }
  object = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  version = object_string (object, "protocolVersion");
  if (version == NULL)
    {
      fail (self, g_strdup_printf (_("MCP server “%s” answered the handshake without a "
                                     "protocol version."), self->server->name));
      return;
    }
  if (!g_str_equal (version, RILL_MCP_PROTOCOL_VERSION))
    g_debug ("MCP server “%s” speaks protocol version %s", self->server->name, version);
  self->protocol_version = g_strdup (version);
  send_notification (self, "notifications/initialized", NULL);
  /* On one pipe, what follows arrives after it; over HTTP, each POST is a
   * connection of its own, so requests wait until the server has it. */
  if (self->server->url == NULL)
    become_ready (self);
}

static void
become_ready (RillMcpClient *self)
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
        fail (self, g_strdup (error->message));
      return;
    }
  g_clear_pointer (&self->resolved, rill_mcp_server_unref);
  self->resolved = resolved;
  if (resolved->command != NULL)
    {
      self->child = child_spawn (self, resolved, &error);
      if (self->child == NULL)
        {
          fail (self, g_strdup (error->message));
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
    http_cancel_request (self, call->request_id);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The call was stopped."));
  complete_request (self, call->request_id, NULL, error);
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

static void
stop_done (Child *child)
{
  g_autoptr(GTask) task = g_steal_pointer (&child->stop_task);

  g_clear_handle_id (&child->stop_timer_id, g_source_remove);
  g_task_return_boolean (task, TRUE);
  child_unref (child);
}

static gboolean
stop_timer_cb (gpointer data)
{
  Child *child = data;

  if (child->stop_stage == 0)
    {
      child->stop_stage = 1;
      g_subprocess_send_signal (child->process, SIGTERM);
      return G_SOURCE_CONTINUE;
    }
  child->stop_timer_id = 0;
  g_subprocess_force_exit (child->process);
  return G_SOURCE_REMOVE;
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

static void
http_delete_session (RillMcpClient *self,
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

void
rill_mcp_client_stop_async (RillMcpClient       *self,
                            guint                timeout_ms,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  Child *child;

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
  for (guint i = 0; i < self->exchanges->len; i++)
    g_cancellable_cancel (((Exchange *) g_ptr_array_index (self->exchanges, i))->cancellable);

  if (self->session_id != NULL && self->server->url != NULL)
    {
      http_delete_session (self, timeout_ms, g_steal_pointer (&task));
      g_clear_pointer (&self->session_id, g_free);
      return;
    }
  child = g_steal_pointer (&self->child);
  if (child == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  child_detach (child);
  if (child->exited)
    {
      g_task_return_boolean (task, TRUE);
      child_unref (child);
      return;
    }
  /* Closing stdin asks it to go; then SIGTERM; then SIGKILL. The Child's
   * reference now belongs to the stop, until the wait ends. */
  child->stop_task = g_steal_pointer (&task);
  child->stop_timer_id = g_timeout_add (timeout_ms, stop_timer_cb, child);
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
  for (guint i = 0; i < self->exchanges->len; i++)
    {
      Exchange *ex = g_ptr_array_index (self->exchanges, i);

      ex->self = NULL;
      g_cancellable_cancel (ex->cancellable);
    }
  g_ptr_array_set_size (self->exchanges, 0);
  if (self->child != NULL)
    {
      Child *child = g_steal_pointer (&self->child);

      /* Not stopped before it went: closing stdin asks the program to go,
       * and SIGTERM makes sure no server outlives the app. */
      child_detach (child);
      if (!child->exited)
        g_subprocess_send_signal (child->process, SIGTERM);
      child_unref (child);
    }
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
