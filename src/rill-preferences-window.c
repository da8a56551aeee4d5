/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-preferences-window.c
 *
 * The reply settings are bound to the session's properties, which are bound
 * to GSettings; the server is written only when the person applies it, so
 * half-typed addresses are never tried. Keys go to the keyring, never to
 * GSettings. */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-preferences-window.h"
#include "rill-toast.h"

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
  RillSession          *session;
  GCancellable         *cancellable;
  char                 *server_id;
};

G_DEFINE_FINAL_TYPE (RillPreferencesWindow, rill_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The kind row lists the kinds in the order of RillProviderKind. */
G_STATIC_ASSERT (RILL_PROVIDER_OPENAI == 0 && RILL_PROVIDER_OLLAMA == 1);

static void
update_status (RillPreferencesWindow *self)
{
  const char *status = rill_session_get_provider_status (self->session);
  RillProvider *provider = rill_session_get_provider (self->session);
  g_autofree char *text = NULL;
  g_autofree char *escaped = NULL;

  if (provider != NULL && rill_provider_get_key_from_environment (provider))
    text = g_strdup_printf ("%s %s", status ? status : "",
                            _("The API key from OPENAI_API_KEY is used and not stored."));
  else
    text = g_strdup (status);
  /* Markup in libadwaita 1.2; an address may hold "&". */
  escaped = g_markup_escape_text (text ? text : "", -1);
  adw_preferences_group_set_description (self->server_group, escaped);
}

static void
load_server (RillPreferencesWindow *self)
{
  g_autoptr(RillServer) server = rill_session_dup_active_server (self->session);
  RillProvider *provider;

  if (server != NULL)
    {
      self->server_id = g_strdup (server->id);
      adw_combo_row_set_selected (self->kind_row, server->kind);
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), server->base_url);
      return;
    }

  /* Nothing configured: offer what was found, ready to be kept. */
  if ((provider = rill_session_get_provider (self->session)) != NULL)
    {
      adw_combo_row_set_selected (self->kind_row, rill_provider_get_kind (provider));
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), rill_provider_get_base_url (provider));
    }
}

static void
key_stored_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(RillPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!rill_keyring_store_key_finish (RILL_KEYRING (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text =
            g_strdup_printf (_("The key could not be saved in the keyring: %s"), error->message);
          adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), rill_toast_new (text));
        }
      return;
    }
  rill_session_reload_provider (self->session);
}

static void
save_server_cb (RillPreferencesWindow *self)
{
  g_autofree char *url =
    g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->url_row))));
  const char *key = gtk_editable_get_text (GTK_EDITABLE (self->key_row));
  RillKeyring *keyring = rill_session_get_keyring (self->session);
  g_autoptr(RillServer) server = NULL;

  if (*url == '\0')
    return;

  server = rill_server_new (self->server_id, adw_combo_row_get_selected (self->kind_row), url);
  rill_session_save_server (self->session, server);
  g_free (self->server_id);
  self->server_id = g_strdup (server->id);

  if (key != NULL && *key != '\0')
    {
      if (keyring != NULL)
        {
          g_autofree char *label = g_strdup_printf (_("Rill API key for %s"), url);

          rill_keyring_store_key_async (keyring, server->id, label, key, self->cancellable,
                                        key_stored_cb, g_object_ref (self));
        }
      else
        adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                          rill_toast_new (_("This build cannot use the keyring; "
                                                            "the key was not saved.")));
      gtk_editable_set_text (GTK_EDITABLE (self->key_row), "");
    }

  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    rill_toast_new (_("Server saved")));
}

static void
rill_preferences_window_constructed (GObject *object)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (object);
  const GBindingFlags both = G_BINDING_SYNC_CREATE | G_BINDING_BIDIRECTIONAL;

  G_OBJECT_CLASS (rill_preferences_window_parent_class)->constructed (object);

  g_assert (RILL_IS_SESSION (self->session));
  g_object_bind_property (self->session, "default-model", self->default_model_row, "text", both);
  g_object_bind_property (self->session, "system-prompt", self->system_prompt_row, "text", both);
  g_object_bind_property (self->session, "temperature",
                          self->temperature_adjustment, "value", both);
  g_object_bind_property (self->session, "history-limit", self->history_adjustment, "value", both);
  g_object_bind_property (self->session, "connect-timeout",
                          self->connect_adjustment, "value", both);
  g_object_bind_property (self->session, "idle-timeout", self->idle_adjustment, "value", both);

  load_server (self);
  update_status (self);
  g_signal_connect_object (self->session, "notify::provider-status",
                           G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
}

static void
rill_preferences_window_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (object);

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
rill_preferences_window_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (object);

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
  g_clear_object (&self->session);
  g_clear_pointer (&self->server_id, g_free);

  G_OBJECT_CLASS (rill_preferences_window_parent_class)->finalize (object);
}

static void
rill_preferences_window_class_init (RillPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = rill_preferences_window_constructed;
  object_class->dispose = rill_preferences_window_dispose;
  object_class->finalize = rill_preferences_window_finalize;
  object_class->get_property = rill_preferences_window_get_property;
  object_class->set_property = rill_preferences_window_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, server_group);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, kind_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, key_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, default_model_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, system_prompt_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow,
                                        temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, history_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, connect_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, idle_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, save_server_cb);
}

static void
rill_preferences_window_init (RillPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  rill_accessible_name_buttons (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

RillPreferencesWindow *
rill_preferences_window_new (RillSession *session)
{
  g_return_val_if_fail (RILL_IS_SESSION (session), NULL);

  return g_object_new (RILL_TYPE_PREFERENCES_WINDOW, "session", session, NULL);
}
