/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A reply's life: begin (rows committed) → model known → request sent →
 * headers → body read in a loop, fed to the stream parser → finish().
 *
 * finish() is the only way out. It decides the status once, stops the
 * timers and the network, and hands the writer one final transaction; the
 * "finished" signal is emitted from that transaction's completion. Every
 * callback that may run after finish() checks self->ending first, so a
 * second ending (an error arriving after Stop, a timeout during an error)
 * changes nothing.
 *
 * The deadlines are the reply's own (the session has none): the model
 * lookup and the wait for headers have the connect timeout, reading has the
 * silence timeout, moved on at each read. A 2xx answer is checked before
 * it is read: JSON may be a whole answer, and what is neither a stream nor
 * JSON fails at once, saying what came back. */

#include "rill-reply.h"

#include <string.h>

#include "rill-store-private.h"
#include "rill-stream-parser.h"

#define READ_SIZE 16384
#define READ_PRIORITY G_PRIORITY_DEFAULT
/* What is already received is read without going back to the main loop
 * (an async read per server write costs more than parsing the write) for
 * up to READ_SLICE_US; then reading gives way, below GTK's redraw priority,
 * so a server writing faster than the window draws cannot hold frames back.
 * A window that always has redraw work pending (software rendering behind
 * a slow frame) would then never read again, so YIELD_MAX_MS bounds the
 * wait. */
#define READ_SLICE_US 32000
#define YIELD_PRIORITY (G_PRIORITY_HIGH_IDLE + 30)
#define YIELD_MAX_MS 16
#define ERROR_BODY_MAX 65536

struct _RillReply
{
  GObject parent_instance;

  RillStore       *store;
  RillProvider    *provider;
  RillReplyOptions options;
  char            *user_text;
  GPtrArray       *attachments;
  RillReplyRows   *rows;

  GCancellable     *cancellable;
  gulong            cancelled_id;
  SoupMessage      *message;
  GInputStream     *body;
  GByteArray       *error_body; /* set when the server answered with an error */
  RillStreamParser *parser;
  JsonNode         *history;
  GArray           *history_ids;
  char             *model;
  char             *request_json;

  GSource *deadline;
  guint    drain_id;
  guint    resume_idle_id;
  guint    resume_timeout_id;
  char    *read_buffer;
  gboolean draining;

  /* Checkpoints: at most one in flight; what committed is the prefix the
   * next one starts from. */
  gboolean checkpointing;       /* the body is a reply: text may come */
  guint    checkpoint_id;       /* the timer that spaces them */
  gboolean checkpoint_pending;
  gint64   checkpoint_queued_us;
  guint    checkpoint_seq;      /* the next piece's */
  gsize    committed_content;
  gsize    committed_reasoning;
  gboolean request_committed;
  gsize    sending_content;     /* where the one in flight ends */
  gsize    sending_reasoning;
  gboolean sending_request;
  gboolean checkpoint_failed;
  guint    tool_calls_changes;  /* counts the parser's changes to the calls */
  guint    committed_tool_calls;
  guint    sending_tool_calls;

  /* What the reply cost, in monotonic µs: the request sent, the first
   * byte of content or reasoning, the end; 0 until then. */
  gint64 sent_us;
  gint64 first_token_us;
  gint64 ended_us;

  RillStatus status;
  GError    *failure;          /* RILL_ERROR, or the store's error at begin */
  GError    *store_error;
  gboolean   started;
  gboolean   ending;
  gboolean   finished;
};

G_DEFINE_FINAL_TYPE (RillReply, rill_reply, G_TYPE_OBJECT)

enum {
  SIGNAL_STARTED,
  SIGNAL_CHANGED,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
rill_reply_options_init (RillReplyOptions *options)
{
  memset (options, 0, sizeof *options);
  options->temperature = -1;
  options->history_limit = 50;
  options->history_image_limit = 4;
  options->connect_timeout_ms = 30000;
  options->idle_timeout_ms = 120000;
  options->checkpoint_interval_ms = 16;
}

void
rill_reply_options_clear (RillReplyOptions *options)
{
  g_clear_pointer (&options->model, g_free);
  g_clear_pointer (&options->default_model, g_free);
  g_clear_pointer (&options->system_prompt, g_free);
  g_clear_pointer (&options->tools, g_ptr_array_unref);
}

static void
copy_options (RillReplyOptions *to, const RillReplyOptions *from)
{
  *to = *from;
  to->model = g_strdup (from->model);
  to->default_model = g_strdup (from->default_model);
  to->system_prompt = g_strdup (from->system_prompt);
  to->tools = from->tools != NULL ? g_ptr_array_ref (from->tools) : NULL;
  if (to->checkpoint_interval_ms == 0)
    to->checkpoint_interval_ms = 16;
}

static void
rill_reply_dispose (GObject *object)
{
  RillReply *self = RILL_REPLY (object);

  if (self->cancelled_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancelled_id);
  self->cancelled_id = 0;
  if (self->deadline != NULL)
    {
      g_source_destroy (self->deadline);
      g_clear_pointer (&self->deadline, g_source_unref);
    }
  g_clear_handle_id (&self->checkpoint_id, g_source_remove);
  g_clear_handle_id (&self->drain_id, g_source_remove);
  g_clear_handle_id (&self->resume_idle_id, g_source_remove);
  g_clear_handle_id (&self->resume_timeout_id, g_source_remove);
  g_clear_object (&self->body);
  g_clear_object (&self->message);
  G_OBJECT_CLASS (rill_reply_parent_class)->dispose (object);
}

static void
rill_reply_finalize (GObject *object)
{
  RillReply *self = RILL_REPLY (object);

  g_clear_object (&self->store);
  g_clear_object (&self->provider);
  g_clear_object (&self->cancellable);
  rill_reply_options_clear (&self->options);
  g_free (self->user_text);
  g_clear_pointer (&self->attachments, g_ptr_array_unref);
  g_free (self->read_buffer);
  g_clear_pointer (&self->rows, g_atomic_rc_box_release);
  g_clear_pointer (&self->error_body, g_byte_array_unref);
  g_clear_pointer (&self->parser, rill_stream_parser_free);
  g_clear_pointer (&self->history, json_node_unref);
  g_clear_pointer (&self->history_ids, g_array_unref);
  g_free (self->model);
  g_free (self->request_json);
  g_clear_error (&self->failure);
  g_clear_error (&self->store_error);
  G_OBJECT_CLASS (rill_reply_parent_class)->finalize (object);
}

static void
rill_reply_class_init (RillReplyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_reply_dispose;
  object_class->finalize = rill_reply_finalize;

  /* The rows are committed; their ids are known. */
  signals[SIGNAL_STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Content or reasoning grew; emitted at most once per network read. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The final row is committed (or could not be: see get_store_error). */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
rill_reply_init (RillReply *self)
{
  self->cancellable = g_cancellable_new ();
  self->status = RILL_STATUS_STREAMING;
}

RillReply *
rill_reply_new (RillStore              *store,
                RillProvider           *provider,
                gint64                  conversation_id,
                const char             *user_text,
                const RillReplyOptions *options)
{
  RillReply *self;
  RillReplyOptions defaults;

  g_return_val_if_fail (RILL_IS_STORE (store), NULL);
  g_return_val_if_fail (RILL_IS_PROVIDER (provider), NULL);

  self = g_object_new (RILL_TYPE_REPLY, NULL);
  self->store = g_object_ref (store);
  self->provider = g_object_ref (provider);
  self->user_text = g_strdup (user_text);
  if (options == NULL)
    {
      rill_reply_options_init (&defaults);
      options = &defaults;
    }
  copy_options (&self->options, options);
  self->rows = g_atomic_rc_box_new0 (RillReplyRows);
  self->rows->conversation_id = conversation_id;
  self->parser = rill_stream_parser_new (rill_provider_get_kind (provider));
  return self;
}

/* Ending */

static RillReplyFinal *
build_final (RillReply *self)
{
  RillReplyFinal *final = g_new0 (RillReplyFinal, 1);
  const GString *content = rill_stream_parser_get_content (self->parser);
  const GString *reasoning = rill_stream_parser_get_reasoning (self->parser);
  const char *model = rill_stream_parser_get_model (self->parser);

  final->status = self->status;
  final->content = g_strndup (content->str, content->len);
  final->reasoning = g_strndup (reasoning->str, reasoning->len);
  final->error = self->failure ? g_strdup (self->failure->message) : NULL;
  final->model = g_strdup (model ? model : self->model);
  final->finish_reason = g_strdup (rill_stream_parser_get_finish_reason (self->parser));
  final->usage_json = g_strdup (rill_stream_parser_get_usage_json (self->parser));
  /* Once a checkpoint stored it, the final write keeps it. */
  if (!self->request_committed)
    {
      final->request_json = g_strdup (self->request_json);
      if (self->history_ids != NULL)
        final->history_ids = g_array_ref (self->history_ids);
    }
  final->prompt_tokens = rill_stream_parser_get_prompt_tokens (self->parser);
  final->completion_tokens = rill_stream_parser_get_completion_tokens (self->parser);
  final->ttft_ms = rill_reply_get_ttft_ms (self);
  final->generation_ms = rill_reply_get_generation_ms (self);
  /* Whatever the ending: a call cut short keeps the text that arrived. */
  final->tool_calls_json = rill_tool_calls_to_json (rill_reply_get_tool_calls (self));
  return final;
}

static void
finalize_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;

  _rill_store_finalize_finish (RILL_STORE (source), result, &self->store_error);
  if (self->store_error != NULL)
    g_warning ("%s", self->store_error->message);
  self->finished = TRUE;
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

static gboolean
drain_timeout_cb (gpointer user_data)
{
  RillReply *self = user_data;

  self->drain_id = 0;
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

/* Takes @failure, which a failed reply must have and no other may. */
static void
finish (RillReply *self, RillStatus status, GError *failure)
{
  g_assert (status != RILL_STATUS_STREAMING);
  g_assert ((status == RILL_STATUS_FAILED) == (failure != NULL));

  if (self->ending)
    {
      g_clear_error (&failure);
      return;
    }
  self->ending = TRUE;
  self->status = status;
  self->failure = failure;
  self->ended_us = g_get_monotonic_time ();

  if (self->deadline != NULL)
    {
      g_source_destroy (self->deadline);
      g_clear_pointer (&self->deadline, g_source_unref);
    }
  g_clear_handle_id (&self->checkpoint_id, g_source_remove);
  /* After the server said it is done, the rest of the body (the end of the
   * chunked encoding) is read, briefly, so that libsoup can reuse the
   * connection; a body cut short leaves it unusable for the next request. */
  if (self->draining)
    self->drain_id = g_timeout_add (1000, drain_timeout_cb, self);
  else
    g_cancellable_cancel (self->cancellable);

  _rill_store_finalize_async (self->store, self->rows, build_final (self),
                              finalize_cb, g_object_ref (self));
}

static void
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  RillReply *self = user_data;

  finish (self, RILL_STATUS_STOPPED, NULL);
}

void
rill_reply_stop (RillReply *self)
{
  g_return_if_fail (RILL_IS_REPLY (self));

  finish (self, RILL_STATUS_STOPPED, NULL);
}

static void
fail (RillReply *self, RillError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
fail (RillReply *self, RillError code, const char *format, ...)
{
  va_list args;
  GError *failure;

  if (self->ending)
    return;
  va_start (args, format);
  failure = g_error_new_valist (RILL_ERROR, code, format, args);
  va_end (args);
  finish (self, RILL_STATUS_FAILED, failure);
}

/* The code for an error of the network or of the provider: the provider's
 * own codes are kept; what libsoup could not parse is not a server we
 * understand; anything else kept the connection from working. */
static RillError
code_of (const GError *error)
{
  if (error->domain == RILL_ERROR)
    return error->code;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return RILL_ERROR_TIMEOUT;
  if (g_error_matches (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_PARSING)
      || g_error_matches (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_ENCODING))
    return RILL_ERROR_INVALID;
  return RILL_ERROR_CONNECTION;
}

static void
fail_with_error (RillReply *self, const char *what, const GError *error)
{
  fail (self, code_of (error), "%s: %s", what, error->message);
}

/* Time limits */

static gboolean
deadline_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs deadline_funcs = { NULL, NULL, deadline_dispatch, NULL, NULL, NULL };

/* "1 second", "90 seconds", "0.3 seconds" */
static char *
seconds_in_words (guint ms)
{
  return g_strdup_printf (ms == 1000 ? "%g second" : "%g seconds", ms / 1000.0);
}

static gboolean
deadline_cb (gpointer user_data)
{
  RillReply *self = user_data;
  guint timeout_ms = self->body ? self->options.idle_timeout_ms : self->options.connect_timeout_ms;
  g_autofree char *seconds = seconds_in_words (timeout_ms);

  if (self->body != NULL)
    fail (self, RILL_ERROR_TIMEOUT, "The server sent nothing for %s", seconds);
  else
    fail (self, RILL_ERROR_TIMEOUT, "The server at %s did not answer within %s",
          rill_provider_get_display_url (self->provider), seconds);
  return G_SOURCE_REMOVE;
}

/* One source for both limits: moving its ready time on each read costs far
 * less than a new timeout per read. */
static void
push_deadline (RillReply *self, guint timeout_ms)
{
  if (self->deadline == NULL)
    {
      self->deadline = g_source_new (&deadline_funcs, sizeof (GSource));
      g_source_set_callback (self->deadline, deadline_cb, self, NULL);
      g_source_set_name (self->deadline, "[rill] reply deadline");
      g_source_attach (self->deadline, g_main_context_get_thread_default ());
    }
  g_source_set_ready_time (self->deadline, g_get_monotonic_time () + (gint64) timeout_ms * 1000);
}

/* Checkpoints
 *
 * What the window shows is stored at most about a frame later: whenever
 * the text grew, one checkpoint goes to the writer, no sooner than the
 * interval (16 ms, a frame) after the last, carrying what is new since the
 * last one that committed. Only one is in flight at a time, so a slow disk
 * or a locked database makes the next one larger, never a queue. One that
 * failed (the database locked past the busy timeout, the disk full) is
 * sent again from the same place, after a pause, so the stored text is
 * always a prefix of what arrived, with no hole. */

#define CHECKPOINT_RETRY_MS 250

static void send_checkpoint (RillReply *self);

static gboolean
has_new_text (RillReply *self)
{
  return rill_stream_parser_get_content (self->parser)->len != self->committed_content
         || rill_stream_parser_get_reasoning (self->parser)->len != self->committed_reasoning
         || self->tool_calls_changes != self->committed_tool_calls
         || (!self->request_committed && self->request_json != NULL);
}

static gboolean
checkpoint_timer_cb (gpointer user_data)
{
  RillReply *self = user_data;

  self->checkpoint_id = 0;
  send_checkpoint (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_checkpoint (RillReply *self)
{
  gint64 spacing_us, wait_us;

  if (self->ending || !self->checkpointing || self->checkpoint_pending
      || self->checkpoint_id != 0 || !has_new_text (self))
    return;
  spacing_us = (gint64) (self->checkpoint_failed
                         ? MAX (self->options.checkpoint_interval_ms, CHECKPOINT_RETRY_MS)
                         : self->options.checkpoint_interval_ms) * 1000;
  wait_us = self->checkpoint_queued_us + spacing_us - g_get_monotonic_time ();
  if (self->checkpoint_queued_us == 0 || wait_us <= 0)
    send_checkpoint (self);
  else
    self->checkpoint_id = g_timeout_add ((wait_us + 999) / 1000, checkpoint_timer_cb, self);
}

static void
checkpoint_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;
  g_autoptr(GError) error = NULL;

  self->checkpoint_pending = FALSE;
  self->checkpoint_failed = !_rill_store_checkpoint_finish (RILL_STORE (source), result, &error);
  if (!self->checkpoint_failed)
    {
      self->committed_content = self->sending_content;
      self->committed_reasoning = self->sending_reasoning;
      self->request_committed |= self->sending_request;
      self->committed_tool_calls = self->sending_tool_calls;
      self->checkpoint_seq++;
    }
  schedule_checkpoint (self);
}

static void
send_checkpoint (RillReply *self)
{
  const GString *content = rill_stream_parser_get_content (self->parser);
  const GString *reasoning = rill_stream_parser_get_reasoning (self->parser);
  g_autofree char *tool_calls = NULL;

  if (self->ending || self->checkpoint_pending || !has_new_text (self))
    return;
  self->checkpoint_pending = TRUE;
  self->checkpoint_queued_us = g_get_monotonic_time ();
  self->sending_content = content->len;
  self->sending_reasoning = reasoning->len;
  self->sending_request = !self->request_committed;
  self->sending_tool_calls = self->tool_calls_changes;
  /* The calls as they stand, which replace the stored ones: what arrived
   * of an argument still streaming is kept if the app dies. */
  if (self->tool_calls_changes != self->committed_tool_calls)
    tool_calls = rill_tool_calls_to_json (rill_reply_get_tool_calls (self));
  _rill_store_checkpoint_full_async (self->store, self->rows, self->checkpoint_seq,
                                     content->str + self->committed_content,
                                     content->len - self->committed_content,
                                     reasoning->str + self->committed_reasoning,
                                     reasoning->len - self->committed_reasoning,
                                     tool_calls,
                                     self->sending_request ? self->request_json : NULL,
                                     self->sending_request ? self->history_ids : NULL,
                                     checkpoint_done_cb, g_object_ref (self));
}

/* Reading */

static void read_next (RillReply *self);

static void
fail_with_parser_error (RillReply *self)
{
  /* A limit reached is ours to say, not the server's. */
  if (rill_stream_parser_is_too_large (self->parser))
    fail (self, RILL_ERROR_INVALID, "%s", rill_stream_parser_get_error (self->parser));
  else
    fail (self, rill_stream_parser_is_malformed (self->parser) ? RILL_ERROR_INVALID
                                                               : RILL_ERROR_SERVER_SAID,
          "The server reported an error: %s", rill_stream_parser_get_error (self->parser));
}

static void
end_of_body (RillReply *self)
{
  if (self->error_body != NULL)
    {
      guint status = soup_message_get_status (self->message);
      g_autofree char *message =
        rill_provider_describe_http_error (status,
                                           soup_message_get_reason_phrase (self->message),
                                           (const char *) self->error_body->data,
                                           self->error_body->len);
      fail (self, rill_error_from_http_status (status), "%s", message);
      return;
    }

  rill_stream_parser_end (self->parser);
  if (rill_stream_parser_get_error (self->parser) != NULL)
    fail_with_parser_error (self);
  else if (rill_stream_parser_has_finished (self->parser))
    finish (self, RILL_STATUS_COMPLETE, NULL);
  else
    fail (self, RILL_ERROR_CONNECTION,
          "The server closed the connection before the reply was finished");
}

/* Takes @len bytes at @data, or the @error a read ended with when @len is
 * negative. Returns whether to read on. */
static gboolean
handle_read (RillReply *self, const char *data, gssize len, const GError *error)
{
  if (self->ending)
    {
      if (self->draining && len > 0)
        return TRUE;
      g_clear_handle_id (&self->drain_id, g_source_remove);
      return FALSE;
    }
  if (len < 0)
    {
      fail_with_error (self, "The connection was lost", error);
      return FALSE;
    }

  if (len == 0)
    {
      end_of_body (self);
      return FALSE;
    }

  push_deadline (self, self->options.idle_timeout_ms);

  if (self->error_body != NULL)
    {
      if (self->error_body->len < ERROR_BODY_MAX)
        g_byte_array_append (self->error_body, (const guint8 *) data,
                             MIN (len, ERROR_BODY_MAX - self->error_body->len));
      return TRUE;
    }

  if (rill_stream_parser_feed (self->parser, data, len))
    {
      if (self->first_token_us == 0)
        self->first_token_us = g_get_monotonic_time ();
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      schedule_checkpoint (self);
    }
  if (rill_stream_parser_tool_calls_changed (self->parser))
    {
      self->tool_calls_changes++;
      schedule_checkpoint (self);
    }
  if (self->ending)
    return FALSE;

  if (rill_stream_parser_get_error (self->parser) != NULL)
    {
      fail_with_parser_error (self);
      return FALSE;
    }
  /* After [DONE] or done: true the answer is whole: finish now, without
   * waiting for the server to end the body. */
  if (rill_stream_parser_is_done (self->parser))
    {
      self->draining = TRUE;
      finish (self, RILL_STATUS_COMPLETE, NULL);
    }
  return TRUE;
}

static void
close_body (RillReply *self)
{
  /* Give the connection back: libsoup keeps it busy, and a session allows
   * only a few per server, for as long as the body is open. */
  if (self->body != NULL)
    g_input_stream_close_async (self->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&self->body);
}

static void read_received (RillReply *self);

static gboolean
resume_reading_cb (gpointer user_data)
{
  RillReply *self = user_data;

  g_clear_handle_id (&self->resume_idle_id, g_source_remove);
  g_clear_handle_id (&self->resume_timeout_id, g_source_remove);
  read_received (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
yield_reading (RillReply *self)
{
  g_object_ref (self);
  self->resume_idle_id = g_idle_add_full (YIELD_PRIORITY, resume_reading_cb, self, NULL);
  self->resume_timeout_id = g_timeout_add (YIELD_MAX_MS, resume_reading_cb, self);
}

static void
read_received (RillReply *self)
{
  gint64 until = g_get_monotonic_time () + READ_SLICE_US;

  if (self->body == NULL)
    return;
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->body),
                                                           self->read_buffer, READ_SIZE,
                                                           self->cancellable, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (!handle_read (self, self->read_buffer, n, error))
        {
          close_body (self);
          return;
        }
      if (g_get_monotonic_time () >= until)
        {
          yield_reading (self);
          return;
        }
    }
  read_next (self);
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes =
    g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize len = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;

  if (!handle_read (self, data, bytes ? (gssize) len : -1, error))
    close_body (self);
  else if (self->read_buffer != NULL)
    read_received (self);
  else
    read_next (self);
}

static void
read_next (RillReply *self)
{
  g_input_stream_read_bytes_async (self->body, READ_SIZE, READ_PRIORITY,
                                   self->cancellable, read_cb, g_object_ref (self));
}

/* A 200 is not always an answer: a captive portal's login page, a proxy's
 * notice. What is neither a stream nor JSON fails here, saying what came
 * back; JSON may be a whole answer from a server that ignored "stream":
 * true. No type, text/plain and application/octet-stream are read as a
 * stream: some servers send one so. */
static gboolean
check_content_type (RillReply *self)
{
  static const char * const streams[] = {
    "text/event-stream", "application/x-ndjson", "application/ndjson", "application/jsonl",
    "application/x-jsonlines", "text/plain", "application/octet-stream",
  };
  SoupMessageHeaders *headers = soup_message_get_response_headers (self->message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  g_autofree char *valid = NULL;
  const char *what;

  if (type == NULL)
    return TRUE;
  if (g_ascii_strcasecmp (type, "application/json") == 0 || g_str_has_suffix (type, "+json"))
    {
      rill_stream_parser_allow_document (self->parser);
      return TRUE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (streams); i++)
    if (g_ascii_strcasecmp (type, streams[i]) == 0)
      return TRUE;

  if (g_ascii_strcasecmp (type, "text/html") == 0
      || g_ascii_strcasecmp (type, "application/xhtml+xml") == 0)
    what = "an HTML page";
  else if (g_str_has_suffix (type, "/xml") || g_str_has_suffix (type, "+xml"))
    what = "an XML document";
  else if (g_ascii_strncasecmp (type, "image/", 6) == 0)
    what = "an image";
  else
    what = "something else";
  valid = g_utf8_make_valid (type, -1);
  fail (self, RILL_ERROR_INVALID, "The server answered with %s (%s) instead of a reply",
        what, valid);
  return FALSE;
}

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = NULL;
  guint status;

  body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (self->ending)
    return;
  if (body == NULL)
    {
      g_autofree char *what = g_strdup_printf ("Could not reach %s",
                                               rill_provider_get_display_url (self->provider));
      fail_with_error (self, what, error);
      return;
    }

  self->body = g_steal_pointer (&body);
  if (G_IS_POLLABLE_INPUT_STREAM (self->body) &&
      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->body)))
    self->read_buffer = g_malloc (READ_SIZE);
  status = soup_message_get_status (self->message);
  if (status >= 300)
    self->error_body = g_byte_array_new ();
  else if (!check_content_type (self))
    {
      close_body (self);
      return;
    }
  else
    {
      /* The request is stored at once; the text as it comes. */
      self->checkpointing = TRUE;
      schedule_checkpoint (self);
    }

  push_deadline (self, self->options.idle_timeout_ms);
  read_next (self);
}

static void
send_request (RillReply *self)
{
  g_clear_object (&self->message);
  self->message = rill_provider_new_chat_request (self->provider, self->model, self->history,
                                                  self->options.temperature, self->options.tools,
                                                  self->options.tool_result_max_bytes,
                                                  &self->request_json);
  if (self->message == NULL)
    {
      fail (self, RILL_ERROR_ADDRESS, "“%s” is not a valid server address",
            rill_provider_get_display_url (self->provider));
      return;
    }
  push_deadline (self, self->options.connect_timeout_ms);
  self->sent_us = g_get_monotonic_time ();
  self->first_token_us = 0;
  soup_session_send_async (rill_provider_get_session (self->provider), self->message,
                           G_PRIORITY_DEFAULT, self->cancellable, send_cb, g_object_ref (self));
}

static void
models_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = rill_provider_list_models_finish (RILL_PROVIDER (source), result, &error);

  if (self->ending)
    return;
  if (models == NULL)
    {
      fail_with_error (self, "Could not ask the server for its models", error);
      return;
    }
  if (models[0] == NULL)
    {
      fail (self, RILL_ERROR_NO_MODEL, "The server offers no models");
      return;
    }
  self->model = g_strdup (models[0]);
  send_request (self);
}

static void
begin_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillReply) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillReplyContext) context = _rill_store_begin_reply_finish (RILL_STORE (source),
                                                                        result, &error);

  if (context == NULL)
    {
      /* Not even the user's message could be saved: say so, with the
       * store's own code; nothing is sent that could not be kept. */
      finish (self, RILL_STATUS_FAILED,
              g_error_new (error->domain, error->code, "Could not save the message: %s",
                           error->message));
      return;
    }

  self->started = TRUE;
  g_signal_emit (self, signals[SIGNAL_STARTED], 0);
  if (self->ending)
    return;

  self->history = g_steal_pointer (&context->messages);
  self->history_ids = g_steal_pointer (&context->history_ids);
  self->model = g_strdup (self->options.model ? self->options.model
                          : context->conversation_model ? context->conversation_model
                          : self->options.default_model);
  if (self->model == NULL || self->model[0] == '\0')
    {
      g_clear_pointer (&self->model, g_free);
      /* The lookup is the first thing the server is asked: it has the
       * connect deadline, kept by the provider. */
      rill_provider_list_models_full_async (self->provider, self->options.connect_timeout_ms,
                                            self->cancellable, models_cb, g_object_ref (self));
      return;
    }
  send_request (self);
}

void
rill_reply_start (RillReply *self)
{
  g_return_if_fail (RILL_IS_REPLY (self));
  g_return_if_fail (self->cancelled_id == 0 && !self->ending);

  _rill_store_begin_reply_full_async (self->store, self->rows, self->user_text,
                                      self->attachments, self->options.system_prompt,
                                      self->options.history_limit,
                                      self->options.history_image_limit,
                                      begin_cb, g_object_ref (self));
  self->cancelled_id = g_cancellable_connect (self->cancellable, G_CALLBACK (cancelled_cb),
                                              self, NULL);
}

void
rill_reply_set_version_of (RillReply *self,
                           gint64     message_id)
{
  g_return_if_fail (RILL_IS_REPLY (self));
  g_return_if_fail (self->cancelled_id == 0 && !self->ending);

  self->rows->version_of = message_id;
}

void
rill_reply_set_attachments (RillReply *self,
                            GPtrArray *attachments)
{
  g_return_if_fail (RILL_IS_REPLY (self));
  g_return_if_fail (self->cancelled_id == 0 && !self->ending);

  g_clear_pointer (&self->attachments, g_ptr_array_unref);
  if (attachments != NULL && attachments->len > 0)
    self->attachments = g_ptr_array_ref (attachments);
}

GCancellable *
rill_reply_get_cancellable (RillReply *self)
{
  return self->cancellable;
}

gint64
rill_reply_get_conversation_id (RillReply *self)
{
  return self->rows->conversation_id;
}

gint64
rill_reply_get_message_id (RillReply *self)
{
  return self->started ? self->rows->assistant_message_id : 0;
}

gint64
rill_reply_get_user_message_id (RillReply *self)
{
  return self->started ? self->rows->user_message_id : 0;
}

RillStatus
rill_reply_get_status (RillReply *self)
{
  return self->status;
}

gboolean
rill_reply_is_finished (RillReply *self)
{
  return self->finished;
}

const GString *
rill_reply_get_content (RillReply *self)
{
  return rill_stream_parser_get_content (self->parser);
}

const GString *
rill_reply_get_reasoning (RillReply *self)
{
  return rill_stream_parser_get_reasoning (self->parser);
}

GPtrArray *
rill_reply_get_tool_calls (RillReply *self)
{
  g_return_val_if_fail (RILL_IS_REPLY (self), NULL);

  return rill_stream_parser_get_tool_calls (self->parser);
}

const char *
rill_reply_get_error (RillReply *self)
{
  return self->failure ? self->failure->message : NULL;
}

const GError *
rill_reply_get_failure (RillReply *self)
{
  return self->failure;
}

const char *
rill_reply_get_model (RillReply *self)
{
  const char *answered = rill_stream_parser_get_model (self->parser);

  return answered ? answered : self->model;
}

const GError *
rill_reply_get_store_error (RillReply *self)
{
  return self->store_error;
}

/* What the reply cost, rounded to the millisecond; unknown (-1) when no
 * token came, or before the end. */
gint64
rill_reply_get_ttft_ms (RillReply *self)
{
  g_return_val_if_fail (RILL_IS_REPLY (self), -1);
  return self->first_token_us != 0 ? (self->first_token_us - self->sent_us + 500) / 1000 : -1;
}

gint64
rill_reply_get_generation_ms (RillReply *self)
{
  g_return_val_if_fail (RILL_IS_REPLY (self), -1);
  return self->first_token_us != 0 && self->ended_us != 0
         ? (self->ended_us - self->first_token_us + 500) / 1000 : -1;
}

gint64
rill_reply_get_prompt_tokens (RillReply *self)
{
  g_return_val_if_fail (RILL_IS_REPLY (self), -1);
  return rill_stream_parser_get_prompt_tokens (self->parser);
}

gint64
rill_reply_get_completion_tokens (RillReply *self)
{
  g_return_val_if_fail (RILL_IS_REPLY (self), -1);
  return rill_stream_parser_get_completion_tokens (self->parser);
}
