/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-presets-page.c
 *
 * The presets, one row each with Edit and Remove, and an editor below the
 * list, shown for the one being added or edited (a group rather than a
 * dialog: the page is already a dialog of its own, and the servers are
 * edited the same way). Everything is kept in the "presets" setting and
 * written only on Save; the list follows the setting, so another window
 * editing it is shown here too.
 *
 * The model is typed, or chosen from what the servers switched on list:
 * each is asked once when the page opens (and again when the servers
 * change), and its models are a section of the menu beside the field. */

#include <glib/gi18n.h>
#include <math.h>

#include "rill-presets-page.h"

struct _RillPresetsPage
{
  AdwPreferencesPage  parent_instance;

  /* Template widgets */
  AdwPreferencesGroup *list_group;
  GtkWidget           *empty_row;
  AdwPreferencesGroup *editor_group;
  AdwEntryRow         *name_row;
  AdwEntryRow         *prompt_row;
  AdwEntryRow         *model_row;
  GtkMenuButton       *models_button;
  AdwComboRow         *server_row;
  GtkAdjustment       *temperature_adjustment;
  GtkAdjustment       *history_adjustment;

  /* Owned */
  RillSession         *session;
  GCancellable        *cancellable;
  GPtrArray           *rows;          /* the preset rows shown */
  GHashTable          *models;        /* server id → GStrv its models */
  GtkStringList       *server_labels; /* "Any server", then each server */
  GPtrArray           *server_ids;    /* "" then each server's id, as server_labels */
  char                *editing;       /* the name of the preset edited; NULL: a new one */
};

G_DEFINE_FINAL_TYPE (RillPresetsPage, rill_presets_page, ADW_TYPE_PREFERENCES_PAGE)

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
toast (RillPresetsPage *self,
       const char      *text)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (ADW_IS_PREFERENCES_WINDOW (root))
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (root), adw_toast_new (text));
}

static int
find_preset (GPtrArray  *presets,
             const char *name)
{
  for (guint i = 0; name != NULL && i < presets->len; i++)
    if (g_strcmp0 (((RillPreset *) presets->pdata[i])->name, name) == 0)
      return i;
  return -1;
}

/* The servers */

static const char *
server_label (RillPresetsPage *self,
              const char      *server_id)
{
  RillServerItem *item;

  if (server_id == NULL || *server_id == '\0')
    return NULL;
  item = rill_session_find_server (self->session, server_id);
  return item ? rill_server_item_get_label (item) : server_id;
}

static void
update_servers (RillPresetsPage *self)
{
  GListModel *servers = rill_session_get_servers (self->session);
  guint n = g_list_model_get_n_items (servers);
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  g_ptr_array_set_size (self->server_ids, 0);
  g_ptr_array_add (self->server_ids, g_strdup (""));
  g_ptr_array_add (labels, (gpointer) _("Any server that lists the model"));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);

      g_ptr_array_add (self->server_ids, g_strdup (rill_server_item_get_id (item)));
      g_ptr_array_add (labels, (gpointer) rill_server_item_get_label (item));
    }
  g_ptr_array_add (labels, NULL);
  gtk_string_list_splice (self->server_labels, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->server_labels)),
                          (const char * const *) labels->pdata);
}

/* Selects @server_id, added to the list when it is gone, so that saving a
 * preset unchanged keeps it. */
static void
select_server (RillPresetsPage *self,
               const char      *server_id)
{
  for (guint i = 0; i < self->server_ids->len; i++)
    if (g_strcmp0 (self->server_ids->pdata[i], server_id ? server_id : "") == 0)
      {
        adw_combo_row_set_selected (self->server_row, i);
        return;
      }
  g_ptr_array_add (self->server_ids, g_strdup (server_id));
  gtk_string_list_append (self->server_labels, server_id);
  adw_combo_row_set_selected (self->server_row, self->server_ids->len - 1);
}

/* The models listed, a section a server */

static void
update_models_menu (RillPresetsPage *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  GListModel *servers = rill_session_get_servers (self->session);

  for (guint i = 0; i < g_list_model_get_n_items (servers); i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);
      const char *id = rill_server_item_get_id (item);
      GStrv models = g_hash_table_lookup (self->models, id);
      g_autoptr(GMenu) section = NULL;

      if (models == NULL || models[0] == NULL)
        continue;
      section = g_menu_new ();
      for (guint j = 0; models[j] != NULL; j++)
        {
          g_autoptr(GMenuItem) entry = g_menu_item_new (models[j], NULL);

          g_menu_item_set_action_and_target_value (entry, "presets.choose-model",
                                                   g_variant_new ("(ss)", models[j], id));
          g_menu_append_item (section, entry);
        }
      g_menu_append_section (menu, rill_server_item_get_label (item), G_MENU_MODEL (section));
    }
  gtk_menu_button_set_menu_model (self->models_button, G_MENU_MODEL (menu));
  gtk_widget_set_sensitive (GTK_WIDGET (self->models_button),
                            g_menu_model_get_n_items (G_MENU_MODEL (menu)) > 0);
}

typedef struct
{
  RillPresetsPage *self;
  char            *server_id;
} Asking;

static void
models_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Asking *asking = user_data;
  g_autoptr(RillPresetsPage) self = asking->self;
  g_autofree char *server_id = asking->server_id;
  g_autoptr(GError) error = NULL;
  GStrv models;

  g_free (asking);
  models = rill_provider_list_models_finish (RILL_PROVIDER (object), result, &error);
  if (models == NULL)
    {
      /* The field is still there to type in; the picker says why. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Could not list the models of %s: %s", server_id, error->message);
      return;
    }
  g_hash_table_replace (self->models, g_steal_pointer (&server_id), models);
  update_models_menu (self);
}

static void
servers_changed_cb (RillPresetsPage *self)
{
  GListModel *servers = rill_session_get_servers (self->session);

  update_servers (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_hash_table_remove_all (self->models);
  update_models_menu (self);
  for (guint i = 0; i < g_list_model_get_n_items (servers); i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);
      RillProvider *provider = rill_server_item_get_provider (item);
      Asking *asking;

      if (provider == NULL)
        continue;
      asking = g_new0 (Asking, 1);
      asking->self = g_object_ref (self);
      asking->server_id = g_strdup (rill_server_item_get_id (item));
      rill_provider_list_models_async (provider, self->cancellable, models_cb, asking);
    }
}

static void
choose_model_action (GtkWidget  *widget,
                     const char *action,
                     GVariant   *param)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (widget);
  const char *model, *server_id;

  g_variant_get (param, "(&s&s)", &model, &server_id);
  gtk_editable_set_text (GTK_EDITABLE (self->model_row), model);
  select_server (self, server_id);
}

/* The editor */

static void
open_editor (RillPresetsPage  *self,
             const RillPreset *preset)
{
  g_free (self->editing);
  self->editing = preset ? g_strdup (preset->name) : NULL;
  adw_preferences_group_set_title (self->editor_group,
                                   preset ? _("Edit Preset") : _("New Preset"));
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), preset ? preset->name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->prompt_row), preset ? preset->system_prompt : "");
  gtk_editable_set_text (GTK_EDITABLE (self->model_row), preset ? preset->model : "");
  update_servers (self);
  select_server (self, preset ? preset->server : "");
  gtk_adjustment_set_value (self->temperature_adjustment, preset ? preset->temperature : -1);
  gtk_adjustment_set_value (self->history_adjustment, preset ? preset->history_limit : 50);
  gtk_widget_remove_css_class (GTK_WIDGET (self->name_row), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->editor_group), TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
}

static void
close_editor (RillPresetsPage *self)
{
  g_clear_pointer (&self->editing, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->editor_group), FALSE);
}

static void
add_clicked_cb (RillPresetsPage *self)
{
  open_editor (self, NULL);
}

static void
cancel_clicked_cb (RillPresetsPage *self)
{
  close_editor (self);
}

static void
name_changed_cb (RillPresetsPage *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->name_row), "error");
}

static void
save_clicked_cb (RillPresetsPage *self)
{
  g_autoptr(GPtrArray) presets = rill_session_dup_presets (self->session);
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (
                                                  GTK_EDITABLE (self->name_row))));
  guint server = adw_combo_row_get_selected (self->server_row);
  int same = find_preset (presets, name);
  int edited = find_preset (presets, self->editing);
  RillPreset *preset;

  if (*name == '\0' || (same >= 0 && same != edited))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->name_row), "error");
      toast (self, *name == '\0' ? _("A preset needs a name")
                                 : _("There is already a preset with this name"));
      gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
      return;
    }

  preset = rill_preset_new (name);
  g_free (preset->system_prompt);
  preset->system_prompt = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->prompt_row)));
  g_free (preset->model);
  preset->model = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->model_row))));
  g_free (preset->server);
  preset->server = g_strdup (server < self->server_ids->len ? self->server_ids->pdata[server] : "");
  preset->temperature = gtk_adjustment_get_value (self->temperature_adjustment);
  /* The spin button shows one digit: so is it kept. */
  preset->temperature = preset->temperature < 0 ? -1 : round (preset->temperature * 10) / 10;
  preset->history_limit = (guint) gtk_adjustment_get_value (self->history_adjustment);

  if (edited >= 0)
    {
      rill_preset_free (presets->pdata[edited]);
      presets->pdata[edited] = preset;
    }
  else
    g_ptr_array_add (presets, preset);
  close_editor (self);
  rill_session_set_presets (self->session, presets);
}

/* The list */

static const char *
row_preset (GtkWidget *button)
{
  return g_object_get_data (G_OBJECT (button), "rill-preset");
}

static void
edit_clicked_cb (GtkWidget       *button,
                 RillPresetsPage *self)
{
  g_autoptr(RillPreset) preset = rill_session_dup_preset (self->session, row_preset (button));

  if (preset != NULL)
    open_editor (self, preset);
}

static void
remove_clicked_cb (GtkWidget       *button,
                   RillPresetsPage *self)
{
  g_autoptr(GPtrArray) presets = rill_session_dup_presets (self->session);
  int index = find_preset (presets, row_preset (button));

  if (index < 0)
    return;
  if (g_strcmp0 (self->editing, row_preset (button)) == 0)
    close_editor (self);
  g_ptr_array_remove_index (presets, index);
  rill_session_set_presets (self->session, presets);
}

static GtkWidget *
row_button (RillPresetsPage *self,
            const char      *name,
            const char      *icon,
            const char      *tooltip,
            const char      *label,
            GCallback        clicked)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  g_object_set_data_full (G_OBJECT (button), "rill-preset", g_strdup (name), g_free);
  g_signal_connect_object (button, "clicked", clicked, self, 0);
  return button;
}

/* "llama3 — Ollama · temperature 0.2 · last 4 messages" */
static char *
describe (RillPresetsPage  *self,
          const RillPreset *preset)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  const char *server = server_label (self, preset->server);

  if (*preset->model != '\0')
    g_ptr_array_add (parts, server ? g_strdup_printf (_("%s — %s"), preset->model, server)
                                   : g_strdup (preset->model));
  else if (server != NULL)
    g_ptr_array_add (parts, g_strdup (server));
  if (preset->temperature >= 0)
    g_ptr_array_add (parts, g_strdup_printf (_("temperature %.1f"), preset->temperature));
  if (preset->history_limit == 0)
    g_ptr_array_add (parts, g_strdup (_("the whole history")));
  else
    g_ptr_array_add (parts, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                          "the last %u message",
                                                          "the last %u messages",
                                                          preset->history_limit),
                                             preset->history_limit));
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (" · ", (char **) parts->pdata);
}

static void
update_list (RillPresetsPage *self)
{
  g_autoptr(GPtrArray) presets = rill_session_dup_presets (self->session);

  for (guint i = 0; i < self->rows->len; i++)
    adw_preferences_group_remove (self->list_group, self->rows->pdata[i]);
  g_ptr_array_set_size (self->rows, 0);

  for (guint i = 0; i < presets->len; i++)
    {
      RillPreset *preset = presets->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_markup_escape_text (preset->name, -1);
      g_autofree char *about = describe (self, preset);
      g_autofree char *subtitle = g_markup_escape_text (about, -1);
      g_autofree char *edit = g_strdup_printf (_("Edit preset “%s”"), preset->name);
      g_autofree char *remove = g_strdup_printf (_("Remove preset “%s”"), preset->name);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 row_button (self, preset->name, "document-edit-symbolic",
                                             _("Edit"), edit, G_CALLBACK (edit_clicked_cb)));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 row_button (self, preset->name, "user-trash-symbolic",
                                             _("Remove"), remove, G_CALLBACK (remove_clicked_cb)));
      adw_preferences_group_add (self->list_group, row);
      g_ptr_array_add (self->rows, row);
    }
  gtk_widget_set_visible (self->empty_row, presets->len == 0);
}

/* GObject */

static void
rill_presets_page_constructed (GObject *object)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (object);

  G_OBJECT_CLASS (rill_presets_page_parent_class)->constructed (object);

  g_assert (RILL_IS_SESSION (self->session));
  g_signal_connect_object (rill_session_get_settings (self->session), "changed::presets",
                           G_CALLBACK (update_list), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (rill_session_get_servers (self->session), "items-changed",
                           G_CALLBACK (servers_changed_cb), self, G_CONNECT_SWAPPED);
  servers_changed_cb (self);
  update_list (self);
}

static void
rill_presets_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_presets_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_presets_page_dispose (GObject *object)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_PRESETS_PAGE);

  G_OBJECT_CLASS (rill_presets_page_parent_class)->dispose (object);
}

static void
rill_presets_page_finalize (GObject *object)
{
  RillPresetsPage *self = RILL_PRESETS_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->models, g_hash_table_unref);
  g_clear_object (&self->server_labels);
  g_clear_pointer (&self->server_ids, g_ptr_array_unref);
  g_clear_pointer (&self->editing, g_free);

  G_OBJECT_CLASS (rill_presets_page_parent_class)->finalize (object);
}

static void
rill_presets_page_class_init (RillPresetsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = rill_presets_page_constructed;
  object_class->dispose = rill_presets_page_dispose;
  object_class->finalize = rill_presets_page_finalize;
  object_class->get_property = rill_presets_page_get_property;
  object_class->set_property = rill_presets_page_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-presets-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, list_group);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, empty_row);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, editor_group);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, prompt_row);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, model_row);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, models_button);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, server_row);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPresetsPage, history_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, name_changed_cb);
  gtk_widget_class_install_action (widget_class, "presets.choose-model", "(ss)",
                                   choose_model_action);
}

static void
rill_presets_page_init (RillPresetsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_ptr_array_new ();
  self->models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_strfreev);
  self->server_labels = gtk_string_list_new (NULL);
  self->server_ids = g_ptr_array_new_with_free_func (g_free);
  adw_combo_row_set_model (self->server_row, G_LIST_MODEL (self->server_labels));
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
rill_presets_page_new (RillSession *session)
{
  g_return_val_if_fail (RILL_IS_SESSION (session), NULL);

  return g_object_new (RILL_TYPE_PRESETS_PAGE, "session", session, NULL);
}
