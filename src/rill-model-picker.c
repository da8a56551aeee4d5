/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-model-picker.c
 *
 * The models come from the session's provider, asked again whenever the
 * provider changes; a model wanted but not listed (yet, or offline) is still
 * shown, so a conversation never appears to have lost its model. Selecting
 * from code and the person picking both change the drop-down's "selected";
 * only the second is announced as "model-chosen". */

#include <glib/gi18n.h>

#include "rill-model-picker.h"

struct _RillModelPicker
{
  AdwBin         parent_instance;

  /* Template widgets */
  GtkDropDown   *dropdown;

  /* Owned */
  RillSession   *session;
  GtkStringList *models;
  GCancellable  *cancellable;
  char          *model;

  guint          updating : 1;
};

G_DEFINE_FINAL_TYPE (RillModelPicker, rill_model_picker, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_MODEL,
  N_PROPS
};

enum {
  MODEL_CHOSEN,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
select_wanted (RillModelPicker *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->models));
  guint position = GTK_INVALID_LIST_POSITION;

  self->updating = TRUE;
  if (self->model != NULL && *self->model != '\0')
    {
      for (guint i = 0; i < n; i++)
        if (g_strcmp0 (gtk_string_list_get_string (self->models, i), self->model) == 0)
          position = i;
      if (position == GTK_INVALID_LIST_POSITION)
        {
          /* Remembered but not listed (yet, or offline): still shown. */
          gtk_string_list_append (self->models, self->model);
          position = n;
        }
    }
  else if (n > 0)
    position = 0;
  gtk_drop_down_set_selected (self->dropdown, position);
  gtk_widget_set_visible (GTK_WIDGET (self),
                          g_list_model_get_n_items (G_LIST_MODEL (self->models)) > 0);
  self->updating = FALSE;
}

void
rill_model_picker_set_model (RillModelPicker *self,
                             const char      *model)
{
  g_return_if_fail (RILL_IS_MODEL_PICKER (self));

  if (g_strcmp0 (self->model, model) != 0)
    {
      g_free (self->model);
      self->model = g_strdup (model);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
    }
  select_wanted (self);
}

char *
rill_model_picker_dup_selected (RillModelPicker *self)
{
  GtkStringObject *item;

  g_return_val_if_fail (RILL_IS_MODEL_PICKER (self), NULL);

  item = gtk_drop_down_get_selected_item (self->dropdown);
  return item ? g_strdup (gtk_string_object_get_string (item)) : NULL;
}

void
rill_model_picker_popup (RillModelPicker *self)
{
  g_return_if_fail (RILL_IS_MODEL_PICKER (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->dropdown));
  gtk_widget_activate (GTK_WIDGET (self->dropdown));
}

static void
list_models_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(RillModelPicker) self = user_data;
  g_auto(GStrv) models = NULL;
  g_autoptr(GError) error = NULL;

  models = rill_provider_list_models_finish (RILL_PROVIDER (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_debug ("Could not list models: %s", error->message);

  self->updating = TRUE;
  gtk_string_list_splice (self->models, 0, g_list_model_get_n_items (G_LIST_MODEL (self->models)),
                          (const char * const *) models);
  self->updating = FALSE;
  select_wanted (self);
}

static void
provider_changed_cb (RillModelPicker *self)
{
  RillProvider *provider = rill_session_get_provider (self->session);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (provider == NULL)
    return;
  self->cancellable = g_cancellable_new ();
  rill_provider_list_models_async (provider, self->cancellable,
                                   list_models_cb, g_object_ref (self));
}

static void
selected_cb (RillModelPicker *self)
{
  GtkStringObject *item;

  if (self->updating)
    return;
  item = gtk_drop_down_get_selected_item (self->dropdown);
  if (item == NULL)
    return;

  g_free (self->model);
  self->model = g_strdup (gtk_string_object_get_string (item));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
  g_signal_emit (self, signals[MODEL_CHOSEN], 0, self->model);
}

static void
set_session (RillModelPicker *self,
             RillSession     *session)
{
  if (self->session == session)
    return;
  g_clear_object (&self->session);
  if (session == NULL)
    return;
  self->session = g_object_ref (session);
  g_signal_connect_object (session, "notify::provider", G_CALLBACK (provider_changed_cb),
                           self, G_CONNECT_SWAPPED);
  provider_changed_cb (self);
}

static void
setup_item_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  compact)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (compact))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
      gtk_label_set_width_chars (GTK_LABEL (label), 10);
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_item_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkStringObject *model = gtk_list_item_get_item (item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      model ? gtk_string_object_get_string (model) : "");
}

static GtkListItemFactory *
new_factory (gboolean compact)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_item_cb), GINT_TO_POINTER (compact));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item_cb), NULL);
  return factory;
}

static void
rill_model_picker_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_model_picker_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      set_session (self, g_value_get_object (value));
      break;
    case PROP_MODEL:
      rill_model_picker_set_model (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_model_picker_dispose (GObject *object)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  g_cancellable_cancel (self->cancellable);
  /* No gtk_widget_dispose_template (): AdwBin unparents its child itself,
   * and the template's other widgets are inside it. */

  G_OBJECT_CLASS (rill_model_picker_parent_class)->dispose (object);
}

static void
rill_model_picker_finalize (GObject *object)
{
  RillModelPicker *self = RILL_MODEL_PICKER (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_object (&self->models);
  g_clear_pointer (&self->model, g_free);

  G_OBJECT_CLASS (rill_model_picker_parent_class)->finalize (object);
}

static void
rill_model_picker_class_init (RillModelPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_model_picker_dispose;
  object_class->finalize = rill_model_picker_finalize;
  object_class->get_property = rill_model_picker_get_property;
  object_class->set_property = rill_model_picker_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[MODEL_CHOSEN] = g_signal_new ("model-chosen", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-model-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, RillModelPicker, dropdown);
  gtk_widget_class_bind_template_callback (widget_class, selected_cb);
}

static void
rill_model_picker_init (RillModelPicker *self)
{
  g_autoptr(GtkListItemFactory) compact = new_factory (TRUE);
  g_autoptr(GtkListItemFactory) full = new_factory (FALSE);
  GtkExpression *expression;

  gtk_widget_init_template (GTK_WIDGET (self));
  /* The drop-down's button is what a screen reader lands on; GTK 4.8 gives
   * it the drop-down's name only on newer versions. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (
                                                    GTK_WIDGET (self->dropdown))),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Choose model"), -1);

  self->models = gtk_string_list_new (NULL);
  self->updating = TRUE;
  gtk_drop_down_set_model (self->dropdown, G_LIST_MODEL (self->models));
  self->updating = FALSE;
  expression = gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string");
  gtk_drop_down_set_expression (self->dropdown, expression);
  gtk_expression_unref (expression);

  /* Model names run long ("llama3.1:8b-instruct-q4_K_M"): the button shows
   * an ellipsized one so the header bar fits a phone's width, the list the
   * whole name. */
  gtk_drop_down_set_factory (self->dropdown, compact);
  gtk_drop_down_set_list_factory (self->dropdown, full);
}
