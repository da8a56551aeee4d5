/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The calls of one assistant message, from the approval card to their rows.
 *
 * A run writes its rows first (one transaction, rill-store-tools.c), then
 * makes one RillToolStep per call and emits "started": nothing is called
 * before every call has a row, so a crash mid-run leaves rows that the
 * next open marks interrupted, never a call the history does not know.
 *
 * A step waits for the person, or runs at once when its tool is always
 * allowed; a call that names no tool offered fails at once. Every ending
 * (the tool's answer, its failure, a denial, Stop) goes through
 * finalize_step(), the one place that sets the step's ending, tells the
 * card and queues the row's final write; whatever comes later for a step
 * that has ended (the answer of a call that was stopped) is dropped there.
 * Its status changes at once, so the card answers a click at once; its
 * state becomes done when the final write returned, so that "done" means
 * what the header says, the row is final, and "finished" (every step done)
 * means the next reply reads the results from the store.
 *
 * Stop finalizes first and cancels second: the cancellation may call back
 * at once, and finds the step ended. Cancelling the call sends the server
 * notifications/cancelled (RillMcpClient). */

#include <glib/gi18n-lib.h>

#include "rill-tool-run.h"

#include "rill-store-private.h"

#include <string.h>

G_DEFINE_ENUM_TYPE (RillToolStepState, rill_tool_step_state,
                    G_DEFINE_ENUM_VALUE (RILL_TOOL_STEP_WAITING, "waiting"),
                    G_DEFINE_ENUM_VALUE (RILL_TOOL_STEP_RUNNING, "running"),
                    G_DEFINE_ENUM_VALUE (RILL_TOOL_STEP_DONE, "done"))

struct _RillToolStep
{
  GObject parent_instance;

  RillToolRun       *run;            /* borrowed: the run owns its steps */

  gint64             message_id;     /* 0 when the rows could not be written */
  char              *call_id;
  char              *server;         /* NULL when no tool offered has the name */
  char              *tool;
  char              *arguments;
  char              *progress_key;   /* names the call in the client's "progress" */

  RillToolStepState  state;
  RillStatus         status;
  char              *content;
  RillMcpResult     *result;
  double             progress;
  char              *progress_message;

  /* While it runs; a call keeps its run. */
  RillToolRun       *running_run;
  RillMcpClient     *client;
  gulong             progress_handler;
  GCancellable      *cancellable;
};

struct _RillToolRun
{
  GObject parent_instance;

  RillStore   *store;
  RillToolbox *toolbox;
  gint64       conversation_id;
  gint64       message_id;
  GPtrArray   *calls;          /* RillToolCall, copies */
  GPtrArray   *offered;        /* RillOfferedTool */
  gsize        max_result_bytes;

  GPtrArray   *steps;          /* RillToolStep, empty until "started" */
  GError      *store_error;
  guint        pending_writes;
  guint        hold;           /* > 0: "finished" waits for the caller's loop */
  gboolean     starting;
  gboolean     started;
  gboolean     stopping;
  gboolean     finished;
  gboolean     any_stopped;
};

G_DEFINE_FINAL_TYPE (RillToolStep, rill_tool_step, G_TYPE_OBJECT)
G_DEFINE_FINAL_TYPE (RillToolRun, rill_tool_run, G_TYPE_OBJECT)

enum {
  STEP_PROP_0,
  STEP_PROP_STATE,
  STEP_PROP_STATUS,
  STEP_PROP_CONTENT,
  STEP_PROP_PROGRESS,
  STEP_PROP_PROGRESS_MESSAGE,
  STEP_N_PROPS
};

static GParamSpec *step_properties[STEP_N_PROPS];

enum {
  SIGNAL_STARTED,
  SIGNAL_STEP_CHANGED,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint run_signals[N_SIGNALS];

static void finalize_step (RillToolStep  *step,
                           RillStatus     status,
                           const char    *content,
                           const char    *error,
                           RillMcpResult *result);
static void maybe_finish  (RillToolRun   *self);

/* RillToolStep */

static void
rill_tool_step_dispose (GObject *object)
{
  RillToolStep *self = RILL_TOOL_STEP (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_signal_handler (&self->progress_handler, self->client);
  g_clear_object (&self->client);
  g_clear_object (&self->running_run);
  G_OBJECT_CLASS (rill_tool_step_parent_class)->dispose (object);
}

static void
rill_tool_step_finalize (GObject *object)
{
  RillToolStep *self = RILL_TOOL_STEP (object);

  g_free (self->call_id);
  g_free (self->server);
  g_free (self->tool);
  g_free (self->arguments);
  g_free (self->progress_key);
  g_free (self->content);
  g_clear_pointer (&self->result, rill_mcp_result_unref);
  g_free (self->progress_message);
  G_OBJECT_CLASS (rill_tool_step_parent_class)->finalize (object);
}

static void
rill_tool_step_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  RillToolStep *self = RILL_TOOL_STEP (object);

  switch (prop_id)
    {
    case STEP_PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case STEP_PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case STEP_PROP_CONTENT:
      g_value_set_string (value, self->content);
      break;
    case STEP_PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case STEP_PROP_PROGRESS_MESSAGE:
      g_value_set_string (value, self->progress_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_tool_step_class_init (RillToolStepClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = rill_tool_step_dispose;
  object_class->finalize = rill_tool_step_finalize;
  object_class->get_property = rill_tool_step_get_property;

  step_properties[STEP_PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, RILL_TYPE_TOOL_STEP_STATE, RILL_TOOL_STEP_WAITING,
                       flags);
  /* 'streaming' until the step is done. */
  step_properties[STEP_PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, RILL_TYPE_STATUS, RILL_STATUS_STREAMING, flags);
  step_properties[STEP_PROP_CONTENT] =
    g_param_spec_string ("content", NULL, NULL, NULL, flags);
  step_properties[STEP_PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL, -1, 1, -1, flags);
  step_properties[STEP_PROP_PROGRESS_MESSAGE] =
    g_param_spec_string ("progress-message", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, STEP_N_PROPS, step_properties);
}

static void
rill_tool_step_init (RillToolStep *self)
{
  self->status = RILL_STATUS_STREAMING;
  self->progress = -1;
}

/* The step's function name is looked up among the tools offered; a call
 * that names none keeps the name the model gave, and no server. */
static RillToolStep *
step_new (RillToolRun *run, RillToolCall *call, RillOfferedTool *offered, gint64 message_id)
{
  RillToolStep *self = g_object_new (RILL_TYPE_TOOL_STEP, NULL);

  self->run = run;
  self->message_id = message_id;
  self->call_id = g_strdup (call->id);
  self->server = offered ? g_strdup (offered->server) : NULL;
  self->tool = g_strdup (offered ? offered->tool->name : call->name ? call->name : "");
  self->arguments = g_strdup (call->arguments ? call->arguments->str : "");
  return self;
}

/* Its ending is decided; done comes once its row is written. */
static gboolean
step_has_ended (RillToolStep *self)
{
  return self->status != RILL_STATUS_STREAMING;
}

static void
step_notify (RillToolStep *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), step_properties[prop_id]);
}

static void
step_changed (RillToolStep *self)
{
  if (self->run != NULL)
    g_signal_emit (self->run, run_signals[SIGNAL_STEP_CHANGED], 0, self);
}

gint64
rill_tool_step_get_message_id (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), 0);
  return self->message_id;
}

const char *
rill_tool_step_get_call_id (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->call_id;
}

const char *
rill_tool_step_get_server (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->server;
}

const char *
rill_tool_step_get_tool (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->tool;
}

const char *
rill_tool_step_get_arguments (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->arguments;
}

/* No text at all is a call without arguments (some servers of the OpenAI
 * API send "" for a function without parameters). */
static gboolean
arguments_empty (const char *arguments)
{
  for (const char *p = arguments; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

char *
rill_tool_step_dup_arguments_pretty (RillToolStep *self)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);

  if (arguments_empty (self->arguments)
      || !(node = json_from_string (self->arguments, NULL)))
    return g_strdup (self->arguments);
  return json_to_string (node, TRUE);
}

RillToolStepState
rill_tool_step_get_state (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), RILL_TOOL_STEP_WAITING);
  return self->state;
}

RillStatus
rill_tool_step_get_status (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), RILL_STATUS_STREAMING);
  return self->status;
}

const char *
rill_tool_step_get_content (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->content;
}

RillMcpResult *
rill_tool_step_get_result (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->result;
}

double
rill_tool_step_get_progress (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), -1);
  return self->progress;
}

const char *
rill_tool_step_get_progress_message (RillToolStep *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_STEP (self), NULL);
  return self->progress_message;
}

/* Calling */

/* The arguments as the object the server is sent; NULL for none. FALSE
 * with words in *@why when the text is not a JSON object. */
static gboolean
parse_arguments (const char *text, JsonNode **arguments, char **why)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;

  *arguments = NULL;
  if (arguments_empty (text))
    return TRUE;
  if (!json_parser_load_from_data (parser, text, -1, &error))
    {
      *why = g_strdup_printf (_("The call was not made: its arguments are not valid JSON (%s)."),
                              error->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *why = g_strdup (_("The call was not made: its arguments are not a JSON object."));
      return FALSE;
    }
  *arguments = json_node_ref (json_parser_get_root (parser));
  return TRUE;
}

static void
progress_cb (RillMcpClient *client,
             const char    *call_id,
             double         progress,
             double         total,
             const char    *message,
             RillToolStep  *self)
{
  double fraction = total > 0 ? CLAMP (progress / total, 0, 1) : -1;

  if (g_strcmp0 (call_id, self->progress_key) != 0 || step_has_ended (self))
    return;
  if (fraction != self->progress)
    {
      self->progress = fraction;
      step_notify (self, STEP_PROP_PROGRESS);
    }
  if (g_strcmp0 (message, self->progress_message) != 0)
    {
      g_free (self->progress_message);
      self->progress_message = g_strdup (message);
      step_notify (self, STEP_PROP_PROGRESS_MESSAGE);
    }
  step_changed (self);
}

static void
call_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillToolStep) self = user_data;
  g_autoptr(RillMcpResult) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  answer = rill_mcp_client_call_tool_finish (RILL_MCP_CLIENT (source), result, &error);
  /* Stopped: the step ended when Stop was pressed. */
  if (step_has_ended (self))
    return;
  if (answer == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finalize_step (self, RILL_STATUS_STOPPED, RILL_TOOL_STOPPED_TEXT, NULL, NULL);
      else
        /* The client's words name the server: a JSON-RPC error, or the
         * program gone with its last lines on stderr. */
        finalize_step (self, RILL_STATUS_FAILED, error->message, error->message, NULL);
      return;
    }
  text = rill_mcp_result_get_text (answer);
  if (answer->is_error)
    finalize_step (self, RILL_STATUS_FAILED,
                   text[0] != '\0' ? text : _("The tool failed without saying why."),
                   NULL, answer);
  else
    finalize_step (self, RILL_STATUS_COMPLETE, text, NULL, answer);
}

static void
step_set_state (RillToolStep *self, RillToolStepState state)
{
  if (self->state == state)
    return;
  self->state = state;
  step_notify (self, STEP_PROP_STATE);
}

static void
step_call (RillToolStep *self)
{
  RillToolRun *run = self->run;
  g_autoptr(JsonNode) arguments = NULL;
  g_autofree char *why = NULL;
  RillMcpClient *client;

  if (!parse_arguments (self->arguments, &arguments, &why))
    {
      finalize_step (self, RILL_STATUS_FAILED, why, why, NULL);
      return;
    }
  if ((client = rill_toolbox_lookup (run->toolbox, self->server)) == NULL)
    {
      why = g_strdup_printf (_("The call was not made: MCP server “%s” is no longer configured."),
                             self->server);
      finalize_step (self, RILL_STATUS_FAILED, why, why, NULL);
      return;
    }
  /* Switched off since the tools were collected: its client never starts. */
  if (rill_mcp_client_get_server (client)->disabled)
    {
      why = g_strdup_printf (_("The call was not made: MCP server “%s” is switched off."),
                             self->server);
      finalize_step (self, RILL_STATUS_FAILED, why, why, NULL);
      return;
    }

  self->running_run = g_object_ref (run);
  self->client = g_object_ref (client);
  self->cancellable = g_cancellable_new ();
  /* The row's id is unique where the model's call id may not be (two
   * runs of one conversation, or a model that numbers its calls). */
  self->progress_key = g_strdup_printf ("rill-tool-%" G_GINT64_FORMAT "-%p", self->message_id,
                                        self);
  self->progress_handler = g_signal_connect (client, "progress", G_CALLBACK (progress_cb), self);
  step_set_state (self, RILL_TOOL_STEP_RUNNING);
  step_changed (self);
  rill_mcp_client_call_tool_async (client, self->tool,
                                   arguments ? json_node_get_object (arguments) : NULL,
                                   self->progress_key, self->cancellable, call_cb,
                                   g_object_ref (self));
}

void
rill_tool_step_allow (RillToolStep *self)
{
  g_return_if_fail (RILL_IS_TOOL_STEP (self));
  g_return_if_fail (self->run != NULL);

  if (self->state != RILL_TOOL_STEP_WAITING || step_has_ended (self))
    return;
  step_call (self);
}

void
rill_tool_step_always_allow (RillToolStep *self)
{
  g_autoptr(RillToolRun) run = NULL;

  g_return_if_fail (RILL_IS_TOOL_STEP (self));
  g_return_if_fail (self->run != NULL);

  if (self->state != RILL_TOOL_STEP_WAITING || step_has_ended (self))
    return;
  run = g_object_ref (self->run);
  rill_toolbox_set_always_allowed (run->toolbox, self->server, self->tool, TRUE);
  /* The other calls of that tool waiting in this run are later calls too. */
  run->hold++;
  for (guint i = 0; i < run->steps->len; i++)
    {
      RillToolStep *step = g_ptr_array_index (run->steps, i);

      if (step->state == RILL_TOOL_STEP_WAITING && !step_has_ended (step)
          && g_strcmp0 (step->server, self->server) == 0
          && g_strcmp0 (step->tool, self->tool) == 0)
        step_call (step);
    }
  run->hold--;
  maybe_finish (run);
}

void
rill_tool_step_deny (RillToolStep *self)
{
  g_return_if_fail (RILL_IS_TOOL_STEP (self));

  if (self->state != RILL_TOOL_STEP_WAITING || step_has_ended (self))
    return;
  finalize_step (self, RILL_STATUS_DENIED, RILL_TOOL_DENIED_TEXT, NULL, NULL);
}

/* Finishing */

/* The images of a result, as attachments of the tool message. */
static GPtrArray *
result_images (RillMcpResult *result)
{
  g_autoptr(GPtrArray) images = NULL;
  guint n = 0;

  if (result == NULL)
    return NULL;
  for (guint i = 0; i < result->content->len; i++)
    {
      RillMcpContent *item = g_ptr_array_index (result->content, i);
      const char *mime_type = item->mime_type ? item->mime_type : "application/octet-stream";
      const char *subtype = strchr (mime_type, '/');
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *name = NULL;
      guchar *data;
      gsize len;

      if (item->kind != RILL_MCP_CONTENT_IMAGE || item->data == NULL)
        continue;
      data = g_base64_decode (item->data, &len);
      bytes = g_bytes_new_take (data, len);
      if (len == 0)
        continue;
      n++;
      /* "image-1.png": the subtype names the format well enough for a
       * file name; anything odd in it is dropped. */
      name = g_strdup_printf ("image-%u.%s", n,
                              subtype && g_regex_match_simple ("^[a-z0-9.+-]{1,16}$", subtype + 1,
                                                               G_REGEX_CASELESS, 0)
                              ? subtype + 1 : "bin");
      if (images == NULL)
        images = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_stored_attachment_free);
      g_ptr_array_add (images, rill_stored_attachment_new (name, mime_type, bytes, NULL));
    }
  return g_steal_pointer (&images);
}

static void
maybe_finish (RillToolRun *self)
{
  if (!self->started || self->finished || self->hold > 0 || self->pending_writes > 0)
    return;
  for (guint i = 0; i < self->steps->len; i++)
    if (RILL_TOOL_STEP (g_ptr_array_index (self->steps, i))->state != RILL_TOOL_STEP_DONE)
      return;
  self->finished = TRUE;
  g_signal_emit (self, run_signals[SIGNAL_FINISHED], 0);
}

typedef struct
{
  RillToolRun  *run;
  RillToolStep *step;
} Written;

static void
step_done (RillToolStep *self)
{
  step_set_state (self, RILL_TOOL_STEP_DONE);
  step_changed (self);
  if (self->run != NULL)
    maybe_finish (self->run);
}

static void
written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Written *written = user_data;
  g_autoptr(RillToolRun) run = written->run;
  g_autoptr(RillToolStep) step = written->step;
  g_autoptr(GError) error = NULL;

  g_free (written);
  if (!_rill_store_finish_tool_finish (RILL_STORE (source), result, &error))
    {
      g_debug ("The result of tool call %s was not saved: %s", step->call_id, error->message);
      if (run->store_error == NULL)
        run->store_error = g_steal_pointer (&error);
    }
  run->pending_writes--;
  step_done (step);
}

/* Every ending of a step comes here, once (a step has ended once its
 * status is no longer 'streaming'): its status and content, the card
 * told, and the row's final write queued; the step is done once that
 * write returned. */
static void
finalize_step (RillToolStep  *self,
               RillStatus     status,
               const char    *content,
               const char    *error,
               RillMcpResult *result)
{
  g_autoptr(RillToolStep) hold = g_object_ref (self);
  g_autoptr(RillToolRun) running_run = NULL;
  g_autoptr(GPtrArray) images = NULL;
  RillToolRun *run = self->run;

  g_assert (status != RILL_STATUS_STREAMING);
  if (step_has_ended (self))
    return;
  g_clear_signal_handler (&self->progress_handler, self->client);
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  /* The caller of a run that ends here holds it, or this does. */
  running_run = g_steal_pointer (&self->running_run);

  self->status = status;
  g_free (self->content);
  self->content = g_strdup (content);
  if (result != NULL)
    self->result = rill_mcp_result_ref (result);
  if (status == RILL_STATUS_STOPPED && run != NULL)
    run->any_stopped = TRUE;
  g_object_freeze_notify (G_OBJECT (self));
  step_notify (self, STEP_PROP_STATUS);
  step_notify (self, STEP_PROP_CONTENT);
  g_object_thaw_notify (G_OBJECT (self));

  if (run != NULL && self->message_id > 0)
    {
      Written *written = g_new0 (Written, 1);

      images = result_images (result);
      written->run = g_object_ref (run);
      written->step = g_object_ref (self);
      run->pending_writes++;
      _rill_store_finish_tool_async (run->store, run->conversation_id, self->message_id, status,
                                     content, error, images, written_cb, written);
      step_changed (self);
    }
  else
    step_done (self);
}

/* RillToolRun */

static void
rill_tool_run_dispose (GObject *object)
{
  RillToolRun *self = RILL_TOOL_RUN (object);

  /* Only reached once no call runs (each holds the run); a step the card
   * still holds outlives it. */
  if (self->steps != NULL)
    for (guint i = 0; i < self->steps->len; i++)
      RILL_TOOL_STEP (g_ptr_array_index (self->steps, i))->run = NULL;
  g_clear_pointer (&self->steps, g_ptr_array_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->toolbox);
  G_OBJECT_CLASS (rill_tool_run_parent_class)->dispose (object);
}

static void
rill_tool_run_finalize (GObject *object)
{
  RillToolRun *self = RILL_TOOL_RUN (object);

  g_clear_pointer (&self->calls, g_ptr_array_unref);
  g_clear_pointer (&self->offered, g_ptr_array_unref);
  g_clear_error (&self->store_error);
  G_OBJECT_CLASS (rill_tool_run_parent_class)->finalize (object);
}

static void
rill_tool_run_class_init (RillToolRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_tool_run_dispose;
  object_class->finalize = rill_tool_run_finalize;

  /* Once the rows are written: the steps are there. */
  run_signals[SIGNAL_STARTED] =
    g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* Its state, status, content or progress changed. */
  run_signals[SIGNAL_STEP_CHANGED] =
    g_signal_new ("step-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, RILL_TYPE_TOOL_STEP);
  /* Every row is final. */
  run_signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
rill_tool_run_init (RillToolRun *self)
{
  self->steps = g_ptr_array_new_with_free_func (g_object_unref);
}

RillToolRun *
rill_tool_run_new (RillStore   *store,
                   RillToolbox *toolbox,
                   gint64       conversation_id,
                   gint64       message_id,
                   GPtrArray   *calls,
                   GPtrArray   *offered,
                   gsize        max_result_bytes)
{
  RillToolRun *self;

  g_return_val_if_fail (RILL_IS_STORE (store), NULL);
  g_return_val_if_fail (RILL_IS_TOOLBOX (toolbox), NULL);
  g_return_val_if_fail (calls != NULL, NULL);

  self = g_object_new (RILL_TYPE_TOOL_RUN, NULL);
  self->store = g_object_ref (store);
  self->toolbox = g_object_ref (toolbox);
  self->conversation_id = conversation_id;
  self->message_id = message_id;
  self->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_tool_call_free);
  for (guint i = 0; i < calls->len; i++)
    g_ptr_array_add (self->calls, rill_tool_call_copy (g_ptr_array_index (calls, i)));
  self->offered = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_offered_tool_unref);
  for (guint i = 0; offered != NULL && i < offered->len; i++)
    g_ptr_array_add (self->offered, rill_offered_tool_ref (g_ptr_array_index (offered, i)));
  self->max_result_bytes = max_result_bytes;
  return self;
}

static RillOfferedTool *
find_offered (RillToolRun *self, const char *function_name)
{
  if (function_name == NULL)
    return NULL;
  for (guint i = 0; i < self->offered->len; i++)
    {
      RillOfferedTool *offered = g_ptr_array_index (self->offered, i);

      if (g_strcmp0 (offered->function_name, function_name) == 0)
        return offered;
    }
  return NULL;
}

/* What each new step does first: a call that names no tool offered fails,
 * a run stopped while its rows were written stops, a tool always allowed
 * runs. */
static void
step_begin (RillToolRun *self, RillToolStep *step)
{
  g_autofree char *why = NULL;

  if (self->store_error != NULL)
    {
      why = g_strdup_printf (_("The call was not made: its result could not be saved (%s)."),
                             self->store_error->message);
      finalize_step (step, RILL_STATUS_FAILED, why, why, NULL);
    }
  else if (self->stopping)
    finalize_step (step, RILL_STATUS_STOPPED, RILL_TOOL_STOPPED_TEXT, NULL, NULL);
  else if (step->server == NULL)
    {
      why = g_strdup_printf (_("The call was not made: no tool offered is called “%s”."),
                             step->tool);
      finalize_step (step, RILL_STATUS_FAILED, why, why, NULL);
    }
  else if (rill_toolbox_get_always_allowed (self->toolbox, step->server, step->tool))
    step_call (step);
}

static void
begin_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(RillToolRun) self = user_data;
  g_autoptr(GArray) ids = NULL;

  ids = _rill_store_begin_tools_finish (RILL_STORE (source), result, &self->store_error);
  if (self->steps == NULL)  /* disposed meanwhile */
    return;
  for (guint i = 0; i < self->calls->len; i++)
    {
      RillToolCall *call = g_ptr_array_index (self->calls, i);

      g_ptr_array_add (self->steps,
                       step_new (self, call, find_offered (self, call->name),
                                 ids ? g_array_index (ids, gint64, i) : 0));
    }
  self->started = TRUE;
  self->hold++;
  g_signal_emit (self, run_signals[SIGNAL_STARTED], 0);
  for (guint i = 0; self->steps != NULL && i < self->steps->len; i++)
    step_begin (self, g_ptr_array_index (self->steps, i));
  self->hold--;
  maybe_finish (self);
}

void
rill_tool_run_start (RillToolRun *self)
{
  g_autoptr(GPtrArray) specs = NULL;

  g_return_if_fail (RILL_IS_TOOL_RUN (self));
  g_return_if_fail (!self->starting);

  self->starting = TRUE;
  specs = g_ptr_array_new_with_free_func ((GDestroyNotify) _rill_tool_row_spec_free);
  for (guint i = 0; i < self->calls->len; i++)
    {
      RillToolCall *call = g_ptr_array_index (self->calls, i);
      RillOfferedTool *offered = find_offered (self, call->name);

      g_ptr_array_add (specs,
                       _rill_tool_row_spec_new (call->id, offered ? offered->server : NULL,
                                                offered ? offered->tool->name
                                                : call->name ? call->name : ""));
    }
  _rill_store_begin_tools_async (self->store, self->conversation_id, self->message_id, specs,
                                 begin_cb, g_object_ref (self));
}

void
rill_tool_run_stop (RillToolRun *self)
{
  g_autoptr(RillToolRun) hold = NULL;

  g_return_if_fail (RILL_IS_TOOL_RUN (self));

  hold = g_object_ref (self);
  self->stopping = TRUE;
  self->hold++;
  for (guint i = 0; i < self->steps->len; i++)
    {
      RillToolStep *step = g_ptr_array_index (self->steps, i);
      g_autoptr(GCancellable) cancellable = NULL;

      if (step_has_ended (step))
        continue;
      cancellable = step->cancellable ? g_object_ref (step->cancellable) : NULL;
      finalize_step (step, RILL_STATUS_STOPPED, RILL_TOOL_STOPPED_TEXT, NULL, NULL);
      if (cancellable != NULL)
        g_cancellable_cancel (cancellable);
    }
  self->hold--;
  maybe_finish (self);
}

gint64
rill_tool_run_get_conversation_id (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), 0);
  return self->conversation_id;
}

gint64
rill_tool_run_get_message_id (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), 0);
  return self->message_id;
}

GPtrArray *
rill_tool_run_get_steps (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), NULL);
  return self->steps;
}

gboolean
rill_tool_run_is_finished (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), FALSE);
  return self->finished;
}

gboolean
rill_tool_run_can_continue (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), FALSE);
  return self->finished && !self->any_stopped && self->store_error == NULL;
}

const GError *
rill_tool_run_get_store_error (RillToolRun *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_RUN (self), NULL);
  return self->store_error;
}
