/* rill-preferences-window.c
 *
 * Settings are bound straight to GSettings; the server is written only when
 * the person applies it, so half-typed addresses are never tried. Keys go to
 * the keyring, never to GSettings. */

#include <glib/gi18n.h>

#include "rill-preferences-window.h"
#ifdef HAVE_SECRET
# include "rill-secret.h"
#endif

struct _RillPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Template widgets */
  AdwPreferencesGroup  *server_group;
  AdwComboRow          *kind_row;
  AdwEntryRow          *url_row;
  AdwPasswordEntryRow  *key_row;
  AdwEntryRow          *default_model_row;
  AdwEntryRow          *system_prompt_row;
  GtkAdjustment        *temperature_adjustment;
  GtkAdjustment        *history_adjustment;
  GtkAdjustment        *connect_adjustment;
  GtkAdjustment        *idle_adjustment;

  /* Owned */
  RillApplication      *application;
  GSettings            *settings;
  GCancellable         *cancellable;
  char                 *server_id;
};

G_DEFINE_FINAL_TYPE (RillPreferencesWindow, rill_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
update_status (RillPreferencesWindow *self)
{
  const char *status = rill_application_get_provider_status (self->application);
  RillProvider *provider = rill_application_get_provider (self->application);
  g_autofree char *text = NULL;

  if (provider != NULL && rill_provider_get_key_from_environment (provider))
    text = g_strdup_printf ("%s %s", status ? status : "",
                            _("The API key from OPENAI_API_KEY is used and not stored."));
  else
    text = g_strdup (status);
  adw_preferences_group_set_description (self->server_group, text);
}

static void
load_server (RillPreferencesWindow *self)
{
  g_autofree char *url = NULL;
  RillProviderKind kind;

  if (rill_application_find_active_server (self->application, &self->server_id, &kind, &url))
    {
      adw_combo_row_set_selected (self->kind_row, kind == RILL_PROVIDER_OLLAMA ? 1 : 0);
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), url);
      return;
    }

  /* Nothing configured: offer what was found, ready to be kept. */
  {
    RillProvider *provider = rill_application_get_provider (self->application);

    if (provider != NULL)
      {
        adw_combo_row_set_selected (self->kind_row,
                                    rill_provider_get_kind (provider) == RILL_PROVIDER_OLLAMA ? 1 : 0);
        gtk_editable_set_text (GTK_EDITABLE (self->url_row), rill_provider_get_base_url (provider));
      }
  }
}

#ifdef HAVE_SECRET
static void
key_stored_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(RillPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!rill_secret_store_key_finish (result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("The key could not be saved in the keyring: %s"),
                                                   error->message);
          adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
        }
      return;
    }
  rill_application_reload_provider (self->application);
}
#endif

static void
save_server_cb (RillPreferencesWindow *self)
{
  g_autoptr(GVariant) servers = g_settings_get_value (self->settings, "servers");
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->url_row))));
  const char *key = gtk_editable_get_text (GTK_EDITABLE (self->key_row));
  const char *kind = adw_combo_row_get_selected (self->kind_row) == 1 ? "ollama" : "openai";
  GVariantBuilder builder;
  GVariantIter iter;
  const char *id, *old_kind, *old_url;

  if (*url == '\0')
    return;
  if (self->server_id == NULL)
    self->server_id = g_uuid_string_random ();

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sss)"));
  g_variant_builder_add (&builder, "(sss)", self->server_id, kind, url);
  g_variant_iter_init (&iter, servers);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &id, &old_kind, &old_url))
    if (g_strcmp0 (id, self->server_id) != 0)
      g_variant_builder_add (&builder, "(sss)", id, old_kind, old_url);

  g_settings_delay (self->settings);
  g_settings_set_value (self->settings, "servers", g_variant_builder_end (&builder));
  g_settings_set_string (self->settings, "active-server", self->server_id);
  g_settings_apply (self->settings);

  if (key != NULL && *key != '\0')
    {
#ifdef HAVE_SECRET
      g_autofree char *label = g_strdup_printf (_("Rill API key for %s"), url);

      rill_secret_store_key_async (self->server_id, label, key, self->cancellable,
                                   key_stored_cb, g_object_ref (self));
#else
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("This build cannot use the keyring; the key was not saved.")));
#endif
      gtk_editable_set_text (GTK_EDITABLE (self->key_row), "");
    }

  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (_("Server saved")));
}

static void
setup (RillPreferencesWindow *self)
{
  self->settings = g_object_ref (rill_application_get_settings (self->application));
  g_settings_bind (self->settings, "default-model", self->default_model_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "system-prompt", self->system_prompt_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "temperature", self->temperature_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "history-limit", self->history_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "connect-timeout", self->connect_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "idle-timeout", self->idle_adjustment, "value", G_SETTINGS_BIND_DEFAULT);

  load_server (self);
  update_status (self);
  g_signal_connect_object (self->application, "notify::provider-status",
                           G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
}

static void
rill_preferences_window_dispose (GObject *object)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RILL_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (rill_preferences_window_parent_class)->dispose (object);
}

static void
rill_preferences_window_finalize (GObject *object)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);
  g_clear_object (&self->application);
  g_clear_pointer (&self->server_id, g_free);

  G_OBJECT_CLASS (rill_preferences_window_parent_class)->finalize (object);
}

static void
rill_preferences_window_class_init (RillPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_preferences_window_dispose;
  object_class->finalize = rill_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/rill-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, server_group);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, kind_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, key_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, default_model_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, system_prompt_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, history_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, connect_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, idle_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, save_server_cb);
}

static void
rill_preferences_window_init (RillPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

RillPreferencesWindow *
rill_preferences_window_new (RillApplication *application)
{
  RillPreferencesWindow *self;

  g_return_val_if_fail (RILL_IS_APPLICATION (application), NULL);

  self = g_object_new (RILL_TYPE_PREFERENCES_WINDOW, NULL);
  self->application = g_object_ref (application);
  setup (self);
  return self;
}
