/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer.c
 *
 * Return sends and Shift+Return starts a new line, except while an input
 * method composes: then Return confirms its text (pinyin candidates, for
 * one) and belongs to the input method, never to Send. The view reports the
 * composition through "preedit-changed"; while there is one, the key goes on
 * to the view, which gives it to the input method. (An input method that
 * takes the key before us never lets us see it at all, which is just as
 * right.) */

#include <glib/gi18n.h>

#include "rill-composer-private.h"

struct _RillComposer
{
  AdwBin       parent_instance;

  /* Template widgets */
  GtkRevealer *edit_revealer;
  GtkTextView *text_view;
  GtkButton   *send_button;

  gint64       editing_message_id;
  guint        busy : 1;
  guint        can_send : 1;
  guint        preedit : 1;
};

G_DEFINE_FINAL_TYPE (RillComposer, rill_composer, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_CAN_SEND,
  PROP_EDITING_MESSAGE_ID,
  N_PROPS
};

enum {
  SEND,
  STOP,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* One button: Send, or Stop while a reply streams here. */
static void
update_button (RillComposer *self)
{
  GtkWidget *button = GTK_WIDGET (self->send_button);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send", self->can_send && !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.stop", self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.cancel-edit",
                                 self->editing_message_id != 0);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button),
                                  self->busy ? "composer.stop" : "composer.send");
  gtk_button_set_icon_name (self->send_button,
                            self->busy ? "media-playback-stop-symbolic" : "go-up-symbolic");
  gtk_widget_set_tooltip_text (button, self->busy ? _("Stop") : _("Send"));
  /* An icon has no name of its own: a screen reader says what it does. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  self->busy ? _("Stop") : _("Send"), -1);
  gtk_widget_remove_css_class (button, self->busy ? "suggested-action" : "destructive-action");
  gtk_widget_add_css_class (button, self->busy ? "destructive-action" : "suggested-action");
}

char *
rill_composer_dup_text (RillComposer *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (RILL_IS_COMPOSER (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
rill_composer_set_text (RillComposer *self,
                        const char   *text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text ? text : "", -1);
}

static void
set_editing_message_id (RillComposer *self,
                        gint64        message_id)
{
  if (self->editing_message_id == message_id)
    return;
  self->editing_message_id = message_id;
  gtk_revealer_set_reveal_child (self->edit_revealer, message_id != 0);
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EDITING_MESSAGE_ID]);
}

void
rill_composer_edit (RillComposer *self,
                    gint64        message_id,
                    const char   *text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));
  g_return_if_fail (message_id != 0);

  set_editing_message_id (self, message_id);
  rill_composer_set_text (self, text);
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

void
rill_composer_cancel_edit (RillComposer *self,
                           gboolean      clear_text)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  set_editing_message_id (self, 0);
  if (clear_text)
    rill_composer_set_text (self, "");
}

gint64
rill_composer_get_editing_message_id (RillComposer *self)
{
  g_return_val_if_fail (RILL_IS_COMPOSER (self), 0);
  return self->editing_message_id;
}

void
rill_composer_set_busy (RillComposer *self,
                        gboolean      busy)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  busy = !!busy;
  if (self->busy == busy)
    return;
  self->busy = busy;
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

void
rill_composer_set_can_send (RillComposer *self,
                            gboolean      can_send)
{
  g_return_if_fail (RILL_IS_COMPOSER (self));

  can_send = !!can_send;
  if (self->can_send == can_send)
    return;
  self->can_send = can_send;
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_SEND]);
}

GtkTextView *
_rill_composer_get_text_view (RillComposer *self)
{
  return self->text_view;
}

GtkButton *
_rill_composer_get_send_button (RillComposer *self)
{
  return self->send_button;
}

GtkRevealer *
_rill_composer_get_edit_revealer (RillComposer *self)
{
  return self->edit_revealer;
}

static gboolean
key_pressed_cb (RillComposer       *self,
                guint               keyval,
                guint               keycode,
                GdkModifierType     state,
                GtkEventController *controller)
{
  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter && keyval != GDK_KEY_ISO_Enter)
    return GDK_EVENT_PROPAGATE;
  if (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK))
    return GDK_EVENT_PROPAGATE;
  if (self->preedit)
    return GDK_EVENT_PROPAGATE;

  if (!self->busy)
    g_signal_emit (self, signals[SEND], 0);
  return GDK_EVENT_STOP;
}

static void
preedit_changed_cb (RillComposer *self,
                    const char   *preedit)
{
  self->preedit = preedit != NULL && *preedit != '\0';
}

static void
send_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  g_signal_emit (widget, signals[SEND], 0);
}

static void
stop_action (GtkWidget  *widget,
             const char *name,
             GVariant   *param)
{
  g_signal_emit (widget, signals[STOP], 0);
}

static void
cancel_edit_action (GtkWidget  *widget,
                    const char *name,
                    GVariant   *param)
{
  rill_composer_cancel_edit (RILL_COMPOSER (widget), TRUE);
}

static gboolean
rill_composer_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (RILL_COMPOSER (widget)->text_view));
}

static void
rill_composer_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RillComposer *self = RILL_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_CAN_SEND:
      g_value_set_boolean (value, self->can_send);
      break;
    case PROP_EDITING_MESSAGE_ID:
      g_value_set_int64 (value, self->editing_message_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_composer_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RillComposer *self = RILL_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      rill_composer_set_busy (self, g_value_get_boolean (value));
      break;
    case PROP_CAN_SEND:
      rill_composer_set_can_send (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_composer_class_init (RillComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = rill_composer_get_property;
  object_class->set_property = rill_composer_set_property;
  widget_class->grab_focus = rill_composer_grab_focus;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CAN_SEND] =
    g_param_spec_boolean ("can-send", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_EDITING_MESSAGE_ID] =
    g_param_spec_int64 ("editing-message-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SEND] = g_signal_new ("send", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[STOP] = g_signal_new ("stop", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, RillComposer, edit_revealer);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, text_view);
  gtk_widget_class_bind_template_child (widget_class, RillComposer, send_button);
  gtk_widget_class_bind_template_callback (widget_class, preedit_changed_cb);

  gtk_widget_class_install_action (widget_class, "composer.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "composer.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "composer.cancel-edit", NULL, cancel_edit_action);
}

static void
rill_composer_init (RillComposer *self)
{
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->can_send = TRUE;

  /* Whether this runs before or after the view's own key handling (which
   * hands keys to the input method), key_pressed_cb leaves Return alone
   * while the input method composes. */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_name (keys, "rill-composer-keys");
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), keys);

  update_button (self);
}
