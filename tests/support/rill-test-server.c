/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A scripted HTTP server on 127.0.0.1; see rill-test-server.h.
 *
 * Responses use chunked encoding. Each step runs once the previous chunk
 * has gone out ("wrote-chunk"), so one piece of the script is one network
 * write and the client sees the splits the test asked for. */

#include "rill-test-server.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>

typedef enum {
  STEP_SEND,
  STEP_REPEAT,
  STEP_PACE,
  STEP_GATE,
  STEP_END,
  STEP_HANG,
  STEP_RESET,
  STEP_CLOSE,
} StepKind;

typedef struct
{
  StepKind kind;
  GBytes  *bytes;     /* STEP_SEND, STEP_REPEAT: one chunk */
  guint64  count;     /* STEP_REPEAT: how many times */
  char    *gate;      /* STEP_GATE */
  guint    interval_us; /* STEP_PACE */
} Step;

struct _RillTestScript
{
  guint      status;
  char      *reason;
  char      *content_type;
  GPtrArray *steps;
  gboolean   has_ending;
};

typedef struct
{
  char               *body;
  SoupMessageHeaders *headers;
  guint               count;
  gsize               bytes_sent;
  GArray             *timeline;
} RouteLog;

typedef struct
{
  RillTestServer    *server;
  SoupServerMessage *message;
  RillTestScript    *script;
  RouteLog          *log;
  guint              next_step;
  guint64            repeated;  /* chunks of the current STEP_REPEAT written */
  guint              interval_us;
  GSource           *timer;
  const char        *waiting_gate;
  gboolean           done;
  gboolean           finished;
} Run;

struct _RillTestServer
{
  SoupServer *soup;
  char       *url;
  GHashTable *routes;     /* path → RillTestScript */
  GHashTable *logs;       /* path → RouteLog */
  GHashTable *open_gates; /* name set */
  GPtrArray  *runs;
  guint       prune_id;
};

static void run_next (Run *run);

static void
step_free (Step *step)
{
  g_clear_pointer (&step->bytes, g_bytes_unref);
  g_free (step->gate);
  g_free (step);
}

static void
script_free (RillTestScript *script)
{
  g_ptr_array_unref (script->steps);
  g_free (script->reason);
  g_free (script->content_type);
  g_free (script);
}

static void
route_log_free (RouteLog *log)
{
  g_free (log->body);
  g_clear_pointer (&log->headers, soup_message_headers_unref);
  g_clear_pointer (&log->timeline, g_array_unref);
  g_free (log);
}

static void
run_stop_timer (Run *run)
{
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
}

static void
run_free (Run *run)
{
  run_stop_timer (run);
  if (run->message != NULL)
    g_signal_handlers_disconnect_by_data (run->message, run);
  g_clear_object (&run->message);
  g_free (run);
}

RillTestScript *
rill_test_script_new (guint status, const char *content_type)
{
  RillTestScript *self = g_new0 (RillTestScript, 1);

  self->status = status;
  self->content_type = g_strdup (content_type);
  self->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  return self;
}

static Step *
add_step (RillTestScript *self, StepKind kind)
{
  Step *step = g_new0 (Step, 1);

  step->kind = kind;
  g_ptr_array_add (self->steps, step);
  if (kind == STEP_END || kind == STEP_HANG || kind == STEP_RESET || kind == STEP_CLOSE)
    self->has_ending = TRUE;
  return step;
}

void
rill_test_script_send (RillTestScript *self, const char *bytes, gssize len, gsize piece)
{
  gsize total = len < 0 ? strlen (bytes) : (gsize) len;

  if (piece == 0)
    piece = MAX (total, 1);
  for (gsize offset = 0; offset < total; offset += piece)
    add_step (self, STEP_SEND)->bytes = g_bytes_new (bytes + offset, MIN (piece, total - offset));
}

void
rill_test_script_repeat (RillTestScript *self, const char *bytes, gssize len, guint64 count)
{
  Step *step = add_step (self, STEP_REPEAT);

  step->bytes = g_bytes_new (bytes, len < 0 ? strlen (bytes) : (gsize) len);
  step->count = count;
}

void
rill_test_script_set_reason (RillTestScript *self, const char *reason)
{
  g_free (self->reason);
  self->reason = g_strdup (reason);
}

void
rill_test_script_pace (RillTestScript *self, guint interval_us)
{
  add_step (self, STEP_PACE)->interval_us = interval_us;
}

void
rill_test_script_gate (RillTestScript *self, const char *name)
{
  add_step (self, STEP_GATE)->gate = g_strdup (name);
}

void rill_test_script_end (RillTestScript *self) { add_step (self, STEP_END); }
void rill_test_script_hang (RillTestScript *self) { add_step (self, STEP_HANG); }
void rill_test_script_reset (RillTestScript *self) { add_step (self, STEP_RESET); }
void rill_test_script_close (RillTestScript *self) { add_step (self, STEP_CLOSE); }

static gboolean
prune_runs_cb (gpointer data)
{
  RillTestServer *self = data;

  for (guint i = self->runs->len; i > 0; i--)
    {
      Run *run = g_ptr_array_index (self->runs, i - 1);
      if (run->finished)
        g_ptr_array_remove_index_fast (self->runs, i - 1);
    }
  self->prune_id = 0;
  return G_SOURCE_REMOVE;
}

static void
message_finished_cb (SoupServerMessage *message, Run *run)
{
  run->done = TRUE;
  run->finished = TRUE;
  run_stop_timer (run);
  /* Not from inside the signal: the run holds the message. */
  if (run->server->prune_id == 0)
    run->server->prune_id = g_idle_add (prune_runs_cb, run->server);
}

static void
close_connection (Run *run, gboolean reset)
{
  g_autoptr(GIOStream) stream = soup_server_message_steal_connection (run->message);

  run->done = TRUE;
  if (stream == NULL)
    return;
  if (reset && G_IS_SOCKET_CONNECTION (stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };

      /* A zero linger makes close() send RST: "connection reset by peer". */
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
  g_io_stream_close (stream, NULL, NULL);
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs timer_funcs = { NULL, NULL, timer_dispatch, NULL, NULL, NULL };

static gboolean
timer_cb (gpointer user_data)
{
  Run *run = user_data;

  g_clear_pointer (&run->timer, g_source_unref);
  run_next (run);
  return G_SOURCE_REMOVE;
}

static void
schedule_next (Run *run)
{
  run_stop_timer (run);
  run->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (run->timer, timer_cb, run, NULL);
  g_source_set_ready_time (run->timer, g_get_monotonic_time () + run->interval_us);
  g_source_attach (run->timer, g_main_context_get_thread_default ());
}

static void
wrote_chunk_cb (SoupServerMessage *message, Run *run)
{
  RillTestTimelinePoint point = { g_get_monotonic_time (), run->log->bytes_sent };

  g_array_append_val (run->log->timeline, point);
  if (!run->done)
    schedule_next (run);
}

static void
run_next (Run *run)
{
  SoupMessageBody *body = soup_server_message_get_response_body (run->message);

  while (!run->done)
    {
      Step *step;

      if (run->next_step >= run->script->steps->len)
        {
          /* A script without an ending ends cleanly. */
          soup_message_body_complete (body);
          soup_server_message_unpause (run->message);
          run->done = TRUE;
          return;
        }
      step = g_ptr_array_index (run->script->steps, run->next_step++);

      switch (step->kind)
        {
        case STEP_SEND:
          soup_message_body_append_bytes (body, step->bytes);
          run->log->bytes_sent += g_bytes_get_size (step->bytes);
          soup_server_message_unpause (run->message);
          return;   /* wrote-chunk brings us back */
        case STEP_REPEAT:
          /* One chunk at a time, the same bytes each time: a flood of any
           * length costs the server one chunk of memory. */
          if (run->repeated == step->count)
            {
              run->repeated = 0;
              break;
            }
          run->repeated++;
          run->next_step--;
          soup_message_body_append_bytes (body, step->bytes);
          run->log->bytes_sent += g_bytes_get_size (step->bytes);
          soup_server_message_unpause (run->message);
          return;
        case STEP_PACE:
          run->interval_us = step->interval_us;
          break;
        case STEP_GATE:
          if (!g_hash_table_contains (run->server->open_gates, step->gate))
            {
              run->waiting_gate = step->gate;
              return;
            }
          break;
        case STEP_END:
          soup_message_body_complete (body);
          soup_server_message_unpause (run->message);
          run->done = TRUE;
          return;
        case STEP_HANG:
          return;
        case STEP_RESET:
        case STEP_CLOSE:
          close_connection (run, step->kind == STEP_RESET);
          return;
        default:
          g_assert_not_reached ();
        }
    }
}

static RouteLog *
route_log (RillTestServer *self, const char *path)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  if (log == NULL)
    {
      log = g_new0 (RouteLog, 1);
      g_hash_table_insert (self->logs, g_strdup (path), log);
    }
  return log;
}

static void
handler (SoupServer        *soup,
         SoupServerMessage *message,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  RillTestServer *self = user_data;
  RillTestScript *script = g_hash_table_lookup (self->routes, path);
  SoupMessageBody *request = soup_server_message_get_request_body (message);
  g_autoptr(GBytes) request_bytes = soup_message_body_flatten (request);
  RouteLog *log = route_log (self, path);
  Run *run;

  log->count++;
  log->bytes_sent = 0;
  g_clear_pointer (&log->timeline, g_array_unref);
  log->timeline = g_array_new (FALSE, FALSE, sizeof (RillTestTimelinePoint));
  g_free (log->body);
  log->body = g_strndup (g_bytes_get_data (request_bytes, NULL), g_bytes_get_size (request_bytes));
  g_clear_pointer (&log->headers, soup_message_headers_unref);
  log->headers = soup_message_headers_ref (soup_server_message_get_request_headers (message));

  if (script == NULL)
    {
      soup_server_message_set_status (message, 404, NULL);
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"error\":{\"message\":\"no such route\"}}", 36);
      return;
    }

  soup_server_message_set_status (message, script->status, script->reason);
  /* Chunks are dropped once written, so a long stream costs no memory. */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (message), FALSE);
  soup_message_headers_set_encoding (soup_server_message_get_response_headers (message),
                                     SOUP_ENCODING_CHUNKED);
  if (script->content_type)
    soup_message_headers_set_content_type (soup_server_message_get_response_headers (message),
                                           script->content_type, NULL);

  run = g_new0 (Run, 1);
  run->server = self;
  run->message = g_object_ref (message);
  run->script = script;
  run->log = log;
  g_signal_connect (message, "wrote-chunk", G_CALLBACK (wrote_chunk_cb), run);
  g_signal_connect (message, "finished", G_CALLBACK (message_finished_cb), run);
  g_signal_connect (message, "disconnected", G_CALLBACK (message_finished_cb), run);
  g_ptr_array_add (self->runs, run);

  soup_server_message_pause (message);
  schedule_next (run);
}

RillTestServer *
rill_test_server_new (void)
{
  RillTestServer *self = g_new0 (RillTestServer, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  self->soup = soup_server_new ("server-header", "rill-test-server", NULL);
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) script_free);
  self->logs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) route_log_free);
  self->open_gates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_free);
  soup_server_add_handler (self->soup, NULL, handler, self, NULL);
  if (!soup_server_listen_local (self->soup, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("test server: %s", error->message);
  uris = soup_server_get_uris (self->soup);
  self->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return self;
}

void
rill_test_server_free (RillTestServer *self)
{
  if (self == NULL)
    return;
  soup_server_disconnect (self->soup);
  g_clear_handle_id (&self->prune_id, g_source_remove);
  g_ptr_array_unref (self->runs);
  g_clear_object (&self->soup);
  g_hash_table_unref (self->routes);
  g_hash_table_unref (self->logs);
  g_hash_table_unref (self->open_gates);
  g_free (self->url);
  g_free (self);
}

const char *
rill_test_server_get_url (RillTestServer *self)
{
  return self->url;
}

void
rill_test_server_route (RillTestServer *self, const char *path, RillTestScript *script)
{
  g_hash_table_replace (self->routes, g_strdup (path), script);
}

void
rill_test_server_open_gate (RillTestServer *self, const char *name)
{
  g_hash_table_add (self->open_gates, g_strdup (name));
  for (guint i = 0; i < self->runs->len; i++)
    {
      Run *run = g_ptr_array_index (self->runs, i);

      if (!run->done && g_strcmp0 (run->waiting_gate, name) == 0)
        {
          run->waiting_gate = NULL;
          run_next (run);
        }
    }
}

const char *
rill_test_server_get_request_body (RillTestServer *self, const char *path)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  return log ? log->body : NULL;
}

const char *
rill_test_server_get_request_header (RillTestServer *self, const char *path, const char *header)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  return log && log->headers ? soup_message_headers_get_one (log->headers, header) : NULL;
}

guint
rill_test_server_get_request_count (RillTestServer *self, const char *path)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  return log ? log->count : 0;
}

gsize
rill_test_server_get_bytes_sent (RillTestServer *self, const char *path)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  return log ? log->bytes_sent : 0;
}

GArray *
rill_test_server_get_timeline (RillTestServer *self, const char *path)
{
  RouteLog *log = g_hash_table_lookup (self->logs, path);

  return log ? log->timeline : NULL;
}

/* Stream builders */

static char *
json_string (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return json_to_string (node, FALSE);
}

char *
rill_test_openai_sse (const char * const *tokens, const char *model, gboolean with_done)
{
  GString *out = g_string_new (NULL);
  const char *m = model ? model : "test-model";
  guint n = 0;

  g_string_append_printf (out,
                          "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"%s\",\"choices\":[{\"index\":0,"
                          "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                          "\"finish_reason\":null}],\"usage\":null}\n\n", m);
  for (; tokens[n]; n++)
    {
      g_autofree char *quoted = json_string (tokens[n]);
      g_string_append_printf (out,
                              "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                              "\"model\":\"%s\","
                              "\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},"
                              "\"finish_reason\":null}],"
                              "\"usage\":null}\n\n", m, quoted);
    }
  g_string_append_printf (out,
                          "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"%s\","
                          "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                          "\"usage\":null}\n\n"
                          "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"%s\","
                          "\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%u,"
                          "\"total_tokens\":%u}}\n\n", m, m, n, n + 7);
  if (with_done)
    g_string_append (out, "data: [DONE]\n\n");
  return g_string_free (out, FALSE);
}

char *
rill_test_ollama_ndjson (const char * const *tokens, const char *model)
{
  GString *out = g_string_new (NULL);
  const char *m = model ? model : "test-model";
  guint n = 0;

  for (; tokens[n]; n++)
    {
      g_autofree char *quoted = json_string (tokens[n]);
      g_string_append_printf (out,
                              "{\"model\":\"%s\",\"created_at\":\"2024-01-01T00:00:00Z\","
                              "\"message\":{\"role\":\"assistant\",\"content\":%s},"
                              "\"done\":false}\n",
                              m, quoted);
    }
  g_string_append_printf (out,
                          "{\"model\":\"%s\",\"created_at\":\"2024-01-01T00:00:01Z\","
                          "\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                          "\"done_reason\":\"stop\","
                          "\"done\":true,\"total_duration\":1000,\"prompt_eval_count\":5,"
                          "\"eval_count\":%u}\n",
                          m, n);
  return g_string_free (out, FALSE);
}

char *
rill_test_join_tokens (const char * const *tokens)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; tokens[i]; i++)
    g_string_append (out, tokens[i]);
  return g_string_free (out, FALSE);
}
