/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-tool-card.c
 *
 * A tool call shows what will run before it runs: the tool, its server and
 * the arguments exactly as they will be sent (pretty-printed when they are
 * JSON), with Allow, Deny and "Always allow this tool". Then its progress,
 * then its result: text collapsed under the call, images as images, and a
 * failure in words, never collapsed.
 *
 * The card has the same properties whether it follows a step of the run
 * going on or shows a row stored earlier, and its widgets are bound to them
 * in the template; a live card copies the step's values as they change. A
 * result can be megabytes: the card shows its first part and says so, while
 * the whole of it is stored, searchable and exported. */

#include <glib/gi18n.h>

#include "rill-tool-card.h"

/* What the result label shows at most; GtkLabel lays out all it holds. */
#define SHOWN_RESULT_BYTES (32 * 1024)

struct _RillToolCard
{
  GtkBox          parent_instance;

  /* Template widgets */
  GtkButton      *allow_button;
  GtkButton      *deny_button;
  GtkButton      *always_button;
  GtkProgressBar *progress_bar;
  GtkFlowBox     *images_box;

  /* Owned */
  RillToolStep   *step;
  char           *tool;
  char           *server;
  char           *arguments;
  char           *content;
  char           *progress_message;
  gint64          message_id;
  double          progress;
  guint           pulse_id;
  guint           n_images;
  gboolean        is_last;
  guint           state;  /* RillToolStepState; G_MAXUINT before the first sync */
  RillStatus      status;
};

G_DEFINE_FINAL_TYPE (RillToolCard, rill_tool_card, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_TOOL,
  PROP_SERVER,
  PROP_ARGUMENTS,
  PROP_STATE,
  PROP_STATUS,
  PROP_CONTENT,
  PROP_PROGRESS_MESSAGE,
  PROP_N_IMAGES,
  PROP_IS_LAST,
  N_PROPS
};

enum {
  CONTINUE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Template closures */

static gboolean
is_waiting (gpointer unused,
            guint    state)
{
  return state == RILL_TOOL_STEP_WAITING;
}

static gboolean
is_running (gpointer unused,
            guint    state)
{
  return state == RILL_TOOL_STEP_RUNNING;
}

static gboolean
has_text (gpointer    unused,
          const char *text)
{
  return text != NULL && *text != '\0';
}

static gboolean
has_images (gpointer unused,
            guint    n_images)
{
  return n_images > 0;
}

static gboolean
is_problem (gpointer    unused,
            guint       state,
            guint       status,
            const char *content)
{
  return state == RILL_TOOL_STEP_DONE && status == RILL_STATUS_FAILED && has_text (NULL, content);
}

/* Text is collapsed under the call; images show as they are. */
static gboolean
has_result (gpointer    unused,
            guint       state,
            guint       status,
            const char *content)
{
  return state == RILL_TOOL_STEP_DONE && status == RILL_STATUS_COMPLETE &&
         has_text (NULL, content);
}

/* The loop stopped here: Continue sends what was decided. */
static gboolean
can_continue (gpointer unused,
              gboolean is_last,
              guint    state,
              guint    status)
{
  return is_last && state == RILL_TOOL_STEP_DONE &&
         (status == RILL_STATUS_STOPPED || status == RILL_STATUS_INTERRUPTED);
}

static char *
status_text (gpointer unused,
             guint    state,
             guint    status)
{
  if (state == RILL_TOOL_STEP_WAITING)
    return g_strdup (_("Waiting for your approval"));
  if (state == RILL_TOOL_STEP_RUNNING)
    return g_strdup (_("Running…"));
  switch ((RillStatus) status)
    {
    case RILL_STATUS_COMPLETE:
      return g_strdup (_("Done"));
    case RILL_STATUS_FAILED:
      return g_strdup (_("Failed"));
    case RILL_STATUS_DENIED:
      return g_strdup (_("Declined"));
    case RILL_STATUS_STOPPED:
      return g_strdup (_("Stopped"));
    case RILL_STATUS_INTERRUPTED:
      return g_strdup (_("Interrupted"));
    case RILL_STATUS_STREAMING:
    default:
      return g_strdup ("");
    }
}

static char *
shown_content (gpointer    unused,
               const char *content)
{
  gsize length = content ? strlen (content) : 0;
  g_autofree char *size = NULL;
  const char *end;

  if (length <= SHOWN_RESULT_BYTES)
    return g_strdup (content ? content : "");
  /* Cut at a character, never inside one. */
  end = g_utf8_find_prev_char (content, content + SHOWN_RESULT_BYTES + 1);
  size = g_format_size (length);
  /* translators: %.*s is the start of a tool's result, %s its whole size */
  return g_strdup_printf (_("%.*s\n… (%s in all; the whole result is kept and exported)"),
                          (int) (end - content), content, size);
}

/* Pretty-printed when it is JSON, exactly as sent when it is not. */
static char *
pretty_arguments (const char *arguments)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (arguments == NULL)
    return NULL;
  if (*arguments == '\0')
    return g_strdup ("{}");
  if (!json_parser_load_from_data (parser, arguments, -1, NULL))
    return g_strdup (arguments);
  return json_to_string (json_parser_get_root (parser), TRUE);
}

/* State */

static void
update_accessible (RillToolCard *self)
{
  g_autofree char *label = g_strdup_printf (_("Tool call: %s on %s"), self->tool ? self->tool : "",
                                            self->server ? self->server : "");
  g_autofree char *status = status_text (NULL, self->state, self->status);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, status,
                                  -1);
}

static gboolean
pulse_cb (gpointer user_data)
{
  RillToolCard *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

/* A server that gives no total gets a pulsing bar. */
static void
update_progress (RillToolCard *self)
{
  gboolean pulsing = self->state == RILL_TOOL_STEP_RUNNING && self->progress < 0;

  if (self->progress >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (self->progress, 0, 1));
  if (pulsing && self->pulse_id == 0)
    self->pulse_id = g_timeout_add (150, pulse_cb, self);
  else if (!pulsing)
    g_clear_handle_id (&self->pulse_id, g_source_remove);
}

static void
set_string (RillToolCard *self,
            char        **field,
            const char   *value,
            int           prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
add_image (RillToolCard *self,
           GBytes       *bytes)
{
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_bytes (bytes, NULL);
  GtkWidget *picture;

  /* Bytes that are not an image say so in the result's text, if at all. */
  if (texture == NULL)
    return;
  picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_set_size_request (picture, -1, MIN (256, gdk_texture_get_height (texture)));
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Image from the tool"),
                                  -1);
  gtk_flow_box_append (self->images_box, picture);
  self->n_images++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_IMAGES]);
}

static void
add_result_images (RillToolCard  *self,
                   RillMcpResult *result)
{
  for (guint i = 0; result != NULL && i < result->content->len; i++)
    {
      RillMcpContent *item = g_ptr_array_index (result->content, i);
      g_autoptr(GBytes) bytes = NULL;
      guchar *data;
      gsize length;

      if (item->kind != RILL_MCP_CONTENT_IMAGE || item->data == NULL)
        continue;
      data = g_base64_decode (item->data, &length);
      bytes = g_bytes_new_take (data, length);
      add_image (self, bytes);
    }
}

static void
sync_from_step (RillToolCard *self)
{
  RillStatus status = rill_tool_step_get_status (self->step);
  /* The outcome shows at once (the status changes first); the step is
   * done for the store once its row is written, a moment later. */
  guint state = status != RILL_STATUS_STREAMING ? RILL_TOOL_STEP_DONE
                                                 : rill_tool_step_get_state (self->step);
  gboolean finished_now = state == RILL_TOOL_STEP_DONE && self->state != RILL_TOOL_STEP_DONE;

  self->message_id = rill_tool_step_get_message_id (self->step);
  self->progress = rill_tool_step_get_progress (self->step);
  set_string (self, &self->content, rill_tool_step_get_content (self->step), PROP_CONTENT);
  set_string (self, &self->progress_message, rill_tool_step_get_progress_message (self->step),
              PROP_PROGRESS_MESSAGE);
  if (finished_now)
    add_result_images (self, rill_tool_step_get_result (self->step));
  if (self->status != status)
    {
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  if (self->state != state)
    {
      gboolean had_focus = gtk_widget_has_focus (GTK_WIDGET (self->allow_button)) ||
                           gtk_widget_has_focus (GTK_WIDGET (self->deny_button)) ||
                           gtk_widget_has_focus (GTK_WIDGET (self->always_button));

      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
      /* The buttons go once decided: the keyboard stays on the card. */
      if (had_focus)
        gtk_widget_grab_focus (GTK_WIDGET (self));
    }
  update_progress (self);
  update_accessible (self);
}

static void
step_notify_cb (RillToolCard *self)
{
  sync_from_step (self);
}

/* Actions */

static void
allow_clicked_cb (RillToolCard *self)
{
  if (self->step != NULL)
    rill_tool_step_allow (self->step);
}

static void
deny_clicked_cb (RillToolCard *self)
{
  if (self->step != NULL)
    rill_tool_step_deny (self->step);
}

static void
continue_clicked_cb (RillToolCard *self)
{
  g_signal_emit (self, signals[CONTINUE], 0);
}

static void
always_clicked_cb (RillToolCard *self)
{
  if (self->step != NULL)
    rill_tool_step_always_allow (self->step);
}

/* Public */

RillToolCard *
rill_tool_card_new_for_step (RillToolStep *step)
{
  RillToolCard *self;
  g_autofree char *pretty = NULL;

  g_return_val_if_fail (RILL_IS_TOOL_STEP (step), NULL);

  pretty = rill_tool_step_dup_arguments_pretty (step);
  self = g_object_new (RILL_TYPE_TOOL_CARD,
                       "tool", rill_tool_step_get_tool (step),
                       "server", rill_tool_step_get_server (step),
                       "arguments", pretty,
                       NULL);
  self->step = g_object_ref (step);
  self->state = G_MAXUINT; /* so the first sync notifies */
  g_signal_connect_object (step, "notify", G_CALLBACK (step_notify_cb), self, G_CONNECT_SWAPPED);
  sync_from_step (self);
  return self;
}

RillToolCard *
rill_tool_card_new_stored (RillMessage *message,
                           const char  *arguments,
                           GPtrArray   *images)
{
  RillToolCard *self;
  g_autofree char *pretty = pretty_arguments (arguments);
  RillStatus status;

  g_return_val_if_fail (message != NULL, NULL);

  status = rill_message_get_status (message);
  self = g_object_new (RILL_TYPE_TOOL_CARD,
                       "tool", rill_message_get_tool_name (message),
                       "server", rill_message_get_tool_server (message),
                       "arguments", pretty,
                       "content", rill_message_get_content (message),
                       NULL);
  self->message_id = rill_message_get_id (message);
  /* A row still 'streaming' belongs to a run in another window or one
   * the next start will call interrupted: it is not decided here. */
  self->state = status == RILL_STATUS_STREAMING ? RILL_TOOL_STEP_RUNNING : RILL_TOOL_STEP_DONE;
  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
  for (guint i = 0; images != NULL && i < images->len; i++)
    {
      RillStoredAttachment *image = g_ptr_array_index (images, i);

      if (rill_stored_attachment_is_image (image))
        add_image (self, image->data);
    }
  update_accessible (self);
  return self;
}

gint64
rill_tool_card_get_message_id (RillToolCard *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_CARD (self), 0);
  return self->message_id;
}

RillToolStep *
rill_tool_card_get_step (RillToolCard *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_CARD (self), NULL);
  return self->step;
}

gboolean
rill_tool_card_get_waiting (RillToolCard *self)
{
  g_return_val_if_fail (RILL_IS_TOOL_CARD (self), FALSE);
  return self->state == RILL_TOOL_STEP_WAITING;
}

void
rill_tool_card_set_is_last (RillToolCard *self,
                            gboolean      is_last)
{
  g_return_if_fail (RILL_IS_TOOL_CARD (self));

  if (self->is_last == !!is_last)
    return;
  self->is_last = !!is_last;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_LAST]);
}

void
rill_tool_card_focus_allow (RillToolCard *self)
{
  g_return_if_fail (RILL_IS_TOOL_CARD (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->allow_button));
}

/* GObject */

static void
rill_tool_card_dispose (GObject *object)
{
  RillToolCard *self = RILL_TOOL_CARD (object);

  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->step != NULL)
    g_signal_handlers_disconnect_by_data (self->step, self);
  g_clear_object (&self->step);
  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_TOOL_CARD);
  G_OBJECT_CLASS (rill_tool_card_parent_class)->dispose (object);
}

static void
rill_tool_card_finalize (GObject *object)
{
  RillToolCard *self = RILL_TOOL_CARD (object);

  g_free (self->tool);
  g_free (self->server);
  g_free (self->arguments);
  g_free (self->content);
  g_free (self->progress_message);
  G_OBJECT_CLASS (rill_tool_card_parent_class)->finalize (object);
}

static void
rill_tool_card_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  RillToolCard *self = RILL_TOOL_CARD (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      g_value_set_string (value, self->tool);
      break;
    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case PROP_ARGUMENTS:
      g_value_set_string (value, self->arguments);
      break;
    case PROP_STATE:
      g_value_set_uint (value, self->state == G_MAXUINT ? RILL_TOOL_STEP_WAITING : self->state);
      break;
    case PROP_STATUS:
      g_value_set_uint (value, self->status);
      break;
    case PROP_CONTENT:
      g_value_set_string (value, self->content);
      break;
    case PROP_PROGRESS_MESSAGE:
      g_value_set_string (value, self->progress_message);
      break;
    case PROP_N_IMAGES:
      g_value_set_uint (value, self->n_images);
      break;
    case PROP_IS_LAST:
      g_value_set_boolean (value, self->is_last);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_tool_card_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  RillToolCard *self = RILL_TOOL_CARD (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      set_string (self, &self->tool, g_value_get_string (value), PROP_TOOL);
      break;
    case PROP_SERVER:
      set_string (self, &self->server, g_value_get_string (value), PROP_SERVER);
      break;
    case PROP_ARGUMENTS:
      set_string (self, &self->arguments, g_value_get_string (value), PROP_ARGUMENTS);
      break;
    case PROP_CONTENT:
      set_string (self, &self->content, g_value_get_string (value), PROP_CONTENT);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_tool_card_class_init (RillToolCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = rill_tool_card_dispose;
  object_class->finalize = rill_tool_card_finalize;
  object_class->get_property = rill_tool_card_get_property;
  object_class->set_property = rill_tool_card_set_property;

  properties[PROP_TOOL] = g_param_spec_string ("tool", NULL, NULL, NULL, rw);
  properties[PROP_SERVER] = g_param_spec_string ("server", NULL, NULL, NULL, rw);
  properties[PROP_ARGUMENTS] = g_param_spec_string ("arguments", NULL, NULL, NULL, rw);
  properties[PROP_CONTENT] = g_param_spec_string ("content", NULL, NULL, NULL,
                                                  G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                                                  G_PARAM_EXPLICIT_NOTIFY |
                                                  G_PARAM_STATIC_STRINGS);
  /* RillToolStepState and RillStatus, as numbers for the closures. */
  properties[PROP_STATE] = g_param_spec_uint ("state", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_STATUS] = g_param_spec_uint ("status", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_PROGRESS_MESSAGE] = g_param_spec_string ("progress-message", NULL, NULL, NULL,
                                                           ro);
  properties[PROP_N_IMAGES] = g_param_spec_uint ("n-images", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_IS_LAST] = g_param_spec_boolean ("is-last", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CONTINUE] = g_signal_new ("continue", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/rill/Rill/rill-tool-card.ui");
  gtk_widget_class_bind_template_child (widget_class, RillToolCard, allow_button);
  gtk_widget_class_bind_template_child (widget_class, RillToolCard, deny_button);
  gtk_widget_class_bind_template_child (widget_class, RillToolCard, always_button);
  gtk_widget_class_bind_template_child (widget_class, RillToolCard, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, RillToolCard, images_box);
  gtk_widget_class_bind_template_callback (widget_class, allow_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, deny_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, always_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, continue_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, can_continue);
  gtk_widget_class_bind_template_callback (widget_class, is_waiting);
  gtk_widget_class_bind_template_callback (widget_class, is_running);
  gtk_widget_class_bind_template_callback (widget_class, has_text);
  gtk_widget_class_bind_template_callback (widget_class, has_images);
  gtk_widget_class_bind_template_callback (widget_class, is_problem);
  gtk_widget_class_bind_template_callback (widget_class, has_result);
  gtk_widget_class_bind_template_callback (widget_class, status_text);
  gtk_widget_class_bind_template_callback (widget_class, shown_content);
  gtk_widget_class_set_css_name (widget_class, "toolcard");
}

static void
rill_tool_card_init (RillToolCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->progress = -1;
}
