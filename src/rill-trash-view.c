/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-trash-view.c
 *
 * The trash, as a page of the sidebar: each conversation with when it was
 * deleted, a Restore and a Delete Forever button, and Empty Trash below,
 * which asks first because nothing brings an erased conversation back.
 * The buttons are widget actions ("trash.restore", "trash.delete-forever",
 * "trash.empty"), so a button, a test or a shortcut does the same thing.
 *
 * The list is read again when the store says the trash changed (by this
 * window, another one, or the purge at start), but only while the page is
 * on screen: the trash is read whole, and a hidden page has nobody to show
 * it to. Its buttons carry names the way a screen reader says them
 * (icon-only buttons get an accessible label), and widget names for
 * tests. */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-trash-view.h"
#include "rill-toast.h"

struct _RillTrashView
{
  GtkBox      parent_instance;

  /* Template widgets */
  GtkStack   *stack;
  GtkListBox *list;
  GtkWidget  *empty_button;

  /* Owned */
  RillStore  *store;
  GListStore *conversations;
};

G_DEFINE_FINAL_TYPE (RillTrashView, rill_trash_view, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_STORE,
  N_PROPS
};

enum {
  BACK,
  ADD_TOAST,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
update_page (RillTrashView *self)
{
  gboolean any = g_list_model_get_n_items (G_LIST_MODEL (self->conversations)) > 0;

  gtk_stack_set_visible_child_name (self->stack, any ? "conversations" : "empty");
  gtk_widget_set_visible (self->empty_button, any);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trash.empty", any);
}

static void
reload (RillTrashView *self)
{
  g_autoptr(GPtrArray) trash = NULL;
  g_autoptr(GError) error = NULL;

  if (self->store == NULL)
    trash = g_ptr_array_new ();
  else if (!(trash = rill_store_list_trash (self->store, &error)))
    {
      g_autoptr(AdwToast) toast = rill_toast_new (error->message);

      g_signal_emit (self, signals[ADD_TOAST], 0, toast);
      return;
    }
  g_list_store_splice (self->conversations, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->conversations)),
                       trash->pdata, trash->len);
  update_page (self);
}

static void
trash_changed_cb (RillTrashView *self)
{
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    reload (self);
}

GListModel *
rill_trash_view_get_conversations (RillTrashView *self)
{
  g_return_val_if_fail (RILL_IS_TRASH_VIEW (self), NULL);
  return G_LIST_MODEL (self->conversations);
}

/* Rows */

static char *
deleted_when (RillConversation *conversation)
{
  g_autoptr(GDateTime) when =
    g_date_time_new_from_unix_local (rill_conversation_get_deleted_at (conversation) / 1000);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = NULL;
  g_autofree char *date = NULL;

  if (when == NULL)
    return g_strdup ("");
  time = g_date_time_format (when, "%H:%M");
  if (g_date_time_get_year (when) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    /* translators: %s is a time, as 14:05 */
    return g_strdup_printf (_("Deleted today at %s"), time);
  date = g_date_time_format (when, "%x");
  /* translators: the first %s is a date in the locale's format, the second a time */
  return g_strdup_printf (_("Deleted %s at %s"), date, time);
}

static GtkWidget *
row_button (const char *name,
            const char *icon_name,
            const char *label,
            const char *action,
            gint64      conversation_id)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon_name);

  gtk_widget_set_name (button, name);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, label);
  gtk_widget_add_css_class (button, "flat");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                          g_variant_new_int64 (conversation_id));
  return button;
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  RillConversation *conversation = item;
  const char *title = rill_conversation_get_title (conversation);
  g_autofree char *subtitle = deleted_when (conversation);
  GtkWidget *row = adw_action_row_new ();
  gint64 id = rill_conversation_get_id (conversation);

  /* Titles are what people and servers wrote, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 title && *title ? title : _("New Conversation"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 2);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                             row_button ("restore", "edit-undo-symbolic", _("Restore"),
                                         "trash.restore", id));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                             row_button ("delete-forever", "edit-delete-symbolic",
                                         _("Delete Forever"), "trash.delete-forever", id));
  return row;
}

/* Actions */

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(RillTrashView) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The list follows "trash-changed"; only a failure is told here. */
  if (!rill_store_write_finish (RILL_STORE (object), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autoptr(AdwToast) toast = rill_toast_new (error->message);

      g_signal_emit (self, signals[ADD_TOAST], 0, toast);
    }
}

static void
restore_action (GtkWidget  *widget,
                const char *name,
                GVariant   *param)
{
  RillTrashView *self = RILL_TRASH_VIEW (widget);

  if (self->store != NULL)
    rill_store_restore_conversation_async (self->store, g_variant_get_int64 (param), NULL,
                                           write_cb, g_object_ref (self));
}

static void
delete_forever_action (GtkWidget  *widget,
                       const char *name,
                       GVariant   *param)
{
  RillTrashView *self = RILL_TRASH_VIEW (widget);

  /* No question: the conversation is already in the trash, and this row's
   * button says what it does. Emptying everything asks (below). */
  if (self->store != NULL)
    rill_store_erase_conversation_async (self->store, g_variant_get_int64 (param), NULL,
                                         write_cb, g_object_ref (self));
}

static void
empty_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   RillTrashView    *self)
{
  /* No cancellable: an erase the person confirmed goes through even if the
   * window closes now. */
  if (g_strcmp0 (response, "empty") == 0 && self->store != NULL)
    rill_store_empty_trash_async (self->store, NULL, write_cb, g_object_ref (self));
}

static void
empty_action (GtkWidget  *widget,
              const char *name,
              GVariant   *param)
{
  RillTrashView *self = RILL_TRASH_VIEW (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Empty Trash?"),
                                   _("Every conversation in the Trash will be erased for good."
                                     " This cannot be undone."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "empty", _("_Empty Trash"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "empty",
                                              ADW_RESPONSE_DESTRUCTIVE);
  /* Return must not erase everything: the safe answer is the default. */
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  gtk_widget_set_name (dialog, "empty-trash-dialog");
  g_signal_connect_object (dialog, "response", G_CALLBACK (empty_response_cb), self, 0);
  rill_accessible_name_buttons (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
back_clicked_cb (RillTrashView *self)
{
  g_signal_emit (self, signals[BACK], 0);
}

/* GObject */

static void
set_store (RillTrashView *self,
           RillStore     *store)
{
  if (self->store == store)
    return;
  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_set_object (&self->store, store);
  if (store != NULL)
    g_signal_connect_object (store, "trash-changed", G_CALLBACK (trash_changed_cb),
                             self, G_CONNECT_SWAPPED);
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    reload (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
}

static void
rill_trash_view_map (GtkWidget *widget)
{
  /* What changed while hidden was not read: read it now. */
  reload (RILL_TRASH_VIEW (widget));
  GTK_WIDGET_CLASS (rill_trash_view_parent_class)->map (widget);
}

static void
rill_trash_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RillTrashView *self = RILL_TRASH_VIEW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_trash_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  RillTrashView *self = RILL_TRASH_VIEW (object);

  switch (prop_id)
    {
    case PROP_STORE:
      set_store (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_trash_view_dispose (GObject *object)
{
  RillTrashView *self = RILL_TRASH_VIEW (object);

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_clear_object (&self->store);
  gtk_widget_dispose_template (GTK_WIDGET (object), RILL_TYPE_TRASH_VIEW);

  G_OBJECT_CLASS (rill_trash_view_parent_class)->dispose (object);
}

static void
rill_trash_view_finalize (GObject *object)
{
  RillTrashView *self = RILL_TRASH_VIEW (object);

  g_clear_object (&self->conversations);

  G_OBJECT_CLASS (rill_trash_view_parent_class)->finalize (object);
}

static void
rill_trash_view_class_init (RillTrashViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_trash_view_dispose;
  object_class->finalize = rill_trash_view_finalize;
  object_class->get_property = rill_trash_view_get_property;
  object_class->set_property = rill_trash_view_set_property;
  widget_class->map = rill_trash_view_map;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RILL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[BACK] =
    g_signal_new ("back", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[ADD_TOAST] =
    g_signal_new ("add-toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, ADW_TYPE_TOAST);

  gtk_widget_class_install_action (widget_class, "trash.restore", "x", restore_action);
  gtk_widget_class_install_action (widget_class, "trash.delete-forever", "x",
                                   delete_forever_action);
  gtk_widget_class_install_action (widget_class, "trash.empty", NULL, empty_action);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-trash-view.ui");
  gtk_widget_class_bind_template_child (widget_class, RillTrashView, stack);
  gtk_widget_class_bind_template_child (widget_class, RillTrashView, list);
  gtk_widget_class_bind_template_child (widget_class, RillTrashView, empty_button);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
}

static void
rill_trash_view_init (RillTrashView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->conversations = g_list_store_new (RILL_TYPE_CONVERSATION);
  gtk_list_box_bind_model (self->list, G_LIST_MODEL (self->conversations),
                           create_row, NULL, NULL);
  update_page (self);
}
