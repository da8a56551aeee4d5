/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-preferences-window.c
 *
 * The reply settings are bound to the session's properties, which are bound
 * to GSettings; a server is written only when the person applies it, so
 * half-typed addresses are never tried. Keys go to the keyring, one per
 * server, never to GSettings.
 *
 * "Servers" lists every server the session knows, rebuilt from its list
 * whenever that changes: each can be switched off, tested, edited (in the
 * "Server" group below it) or removed; one from the environment is shown as
 * such and can only be kept, which copies its kind and address, never its
 * key, into the person's list. Row titles are plain text: libadwaita 1.2
 * reads them as markup, so use-markup is off. */

#include <glib/gi18n.h>

#include "rill-accessible.h"
#include "rill-mcp-page.h"
#include "rill-preferences-window.h"
#include "rill-presets-page.h"
#include "rill-toast.h"

struct _RillPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Template widgets */
  AdwPreferencesGroup  *servers_group;
  GtkMenuButton        *add_button;
  AdwPreferencesGroup  *server_group;
  AdwEntryRow          *name_row;
  AdwComboRow          *kind_row;
  AdwEntryRow          *url_row;
  AdwPasswordEntryRow  *key_row;
  AdwEntryRow          *default_model_row;
  AdwEntryRow          *system_prompt_row;
  GtkAdjustment        *temperature_adjustment;
  GtkAdjustment        *history_adjustment;
  GtkSwitch            *name_switch;
  GtkAdjustment        *connect_adjustment;
  GtkAdjustment        *idle_adjustment;

  /* Owned */
  RillSession          *session;
  GCancellable         *cancellable;
  char                 *server_id;
  GPtrArray            *server_rows;   /* the rows in servers_group */
};

/* What "Add Server" offers: the name, kind and address filled in. */
static const struct
{
  const char       *name;
  RillProviderKind  kind;
  const char       *url;
} presets[] = {
  { "OpenAI", RILL_PROVIDER_OPENAI, "https://api.openai.com/v1" },
  { "OpenRouter", RILL_PROVIDER_OPENAI, "https://openrouter.ai/api/v1" },
  { "DeepSeek", RILL_PROVIDER_OPENAI, "https://api.deepseek.com/v1" },
  { "Groq", RILL_PROVIDER_OPENAI, "https://api.groq.com/openai/v1" },
  { "Mistral", RILL_PROVIDER_OPENAI, "https://api.mistral.ai/v1" },
  { "Ollama", RILL_PROVIDER_OLLAMA, "http://127.0.0.1:11434" },
  { "llama-server", RILL_PROVIDER_OPENAI, "http://127.0.0.1:8080/v1" },
  { "LM Studio", RILL_PROVIDER_OPENAI, "http://127.0.0.1:1234/v1" },
  { "vLLM", RILL_PROVIDER_OPENAI, "http://127.0.0.1:8000/v1" },
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
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), server->name);
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
  g_free (server->name);
  server->name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_row))));
  {
    RillServerItem *item = rill_session_find_server (self->session, self->server_id);

    /* Saved again: where it is, switched on or off as it was. */
    if (item != NULL && rill_server_item_get_server (item)->environment == NULL)
      {
        server->enabled = rill_server_item_get_server (item)->enabled;
        rill_session_update_server (self->session, server);
      }
    else
      rill_session_save_server (self->session, server);
  }
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

/* The server list */

static void edit_server (RillPreferencesWindow *self,
                         const RillServer      *server);

static void
enabled_cb (GtkSwitch             *toggle,
            GParamSpec            *pspec,
            RillPreferencesWindow *self)
{
  const char *id = g_object_get_data (G_OBJECT (toggle), "rill-server-id");

  rill_session_set_server_enabled (self->session, id, gtk_switch_get_active (toggle));
}

static void
edit_clicked_cb (GtkButton             *button,
                 RillPreferencesWindow *self)
{
  RillServerItem *item = rill_session_find_server (self->session,
                                                   g_object_get_data (G_OBJECT (button),
                                                                      "rill-server-id"));

  if (item != NULL)
    edit_server (self, rill_server_item_get_server (item));
}

static void
remove_clicked_cb (GtkButton             *button,
                   RillPreferencesWindow *self)
{
  const char *id = g_object_get_data (G_OBJECT (button), "rill-server-id");

  if (g_strcmp0 (id, self->server_id) == 0)
    edit_server (self, NULL);
  rill_session_remove_server (self->session, id);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    rill_toast_new (_("Server removed")));
}

/* Keeps a server from the environment: its kind and address, under its
 * name, into the person's own list; the key stays in the environment. */
static void
keep_clicked_cb (GtkButton             *button,
                 RillPreferencesWindow *self)
{
  RillServerItem *item = rill_session_find_server (self->session,
                                                   g_object_get_data (G_OBJECT (button),
                                                                      "rill-server-id"));
  g_autoptr(RillServer) kept = NULL;

  if (item == NULL)
    return;
  kept = rill_server_new (NULL, rill_server_item_get_server (item)->kind,
                          rill_server_item_get_display_url (item));
  rill_session_update_server (self->session, kept);
  edit_server (self, kept);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    rill_toast_new (_("Server kept. Its key, if it needs one, "
                                                      "goes in the API Key field.")));
}

typedef struct
{
  RillPreferencesWindow *self;
  AdwActionRow          *row;
  char                  *address;
} Testing;

static void
testing_free (Testing *testing)
{
  g_object_unref (testing->self);
  g_object_unref (testing->row);
  g_free (testing->address);
  g_free (testing);
}

/* What happened, in words: "12 models", or "401: the key was refused". */
static void
tested_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Testing *testing = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = rill_provider_list_models_finish (RILL_PROVIDER (object), result,
                                                           &error);
  g_autofree char *text = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      testing_free (testing);
      return;
    }
  if (models != NULL)
    {
      guint n = g_strv_length (models);

      text = g_strdup_printf (ngettext ("%u model", "%u models", n), n);
    }
  else if (g_error_matches (error, RILL_ERROR, RILL_ERROR_UNAUTHORIZED))
    /* translators: %s is the server's own words, such as "HTTP 401 Unauthorized" */
    text = g_strdup_printf (_("The key was refused (%s)"), error->message);
  else
    text = g_strdup (error->message);
  adw_action_row_set_subtitle (testing->row, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (testing->row),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (testing->self),
                                    rill_toast_new_format ("%s: %s", testing->address, text));
  testing_free (testing);
}

static void
test_clicked_cb (GtkButton             *button,
                 RillPreferencesWindow *self)
{
  RillServerItem *item = rill_session_find_server (self->session,
                                                   g_object_get_data (G_OBJECT (button),
                                                                      "rill-server-id"));
  g_autoptr(RillProvider) off = NULL;
  RillProvider *provider;
  Testing *testing;

  if (item == NULL)
    return;
  provider = rill_server_item_get_provider (item);
  if (provider == NULL)
    {
      /* Switched off: tried without a key, as nothing is sent to it. */
      const RillServer *server = rill_server_item_get_server (item);

      provider = off = rill_provider_new (server->kind, server->base_url, NULL);
    }
  testing = g_new0 (Testing, 1);
  testing->self = g_object_ref (self);
  testing->row = g_object_ref (g_object_get_data (G_OBJECT (button), "rill-row"));
  testing->address = g_strdup (rill_server_item_get_display_url (item));
  adw_action_row_set_subtitle (testing->row, _("Testing…"));
  rill_provider_list_models_async (provider, self->cancellable, tested_cb, testing);
}

static GtkWidget *
row_button (AdwActionRow          *row,
            const char            *icon,
            const char            *text,
            const char            *server_label,
            const char            *server_id,
            GCallback              callback,
            RillPreferencesWindow *self)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);
  /* translators: the first %s is an action (“Remove”), the second a server */
  g_autofree char *name = g_strdup_printf (_("%s %s"), text, server_label);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                  -1);
  g_object_set_data_full (G_OBJECT (button), "rill-server-id", g_strdup (server_id), g_free);
  g_object_set_data (G_OBJECT (button), "rill-row", row);
  g_signal_connect (button, "clicked", callback, self);
  adw_action_row_add_suffix (row, button);
  return button;
}

static void
servers_changed_cb (RillPreferencesWindow *self)
{
  GListModel *servers = rill_session_get_servers (self->session);
  guint n = g_list_model_get_n_items (servers);

  for (guint i = 0; i < self->server_rows->len; i++)
    adw_preferences_group_remove (self->servers_group, g_ptr_array_index (self->server_rows, i));
  g_ptr_array_set_size (self->server_rows, 0);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (servers, i);
      const RillServer *server = rill_server_item_get_server (item);
      const char *label = rill_server_item_get_label (item);
      AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
      g_autofree char *subtitle = NULL;

      /* Names and addresses are shown as typed, "&" and "<" too. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), label);
      subtitle = g_strdup_printf ("%s · %s",
                                  server->kind == RILL_PROVIDER_OLLAMA
                                  ? _("Ollama") : _("OpenAI-compatible"),
                                  rill_server_item_get_display_url (item));
      adw_action_row_set_subtitle (row, subtitle);

      row_button (row, "network-transmit-receive-symbolic", _("Test connection"), label,
                  server->id, G_CALLBACK (test_clicked_cb), self);
      if (server->environment != NULL || g_str_has_prefix (server->id, "local:"))
        {
          GtkWidget *keep = gtk_button_new_with_mnemonic (_("_Keep"));
          /* translators: %s is a server, such as “From the environment (OLLAMA_HOST)” */
          g_autofree char *name = g_strdup_printf (_("Keep %s in my list"), label);

          gtk_widget_set_valign (keep, GTK_ALIGN_CENTER);
          gtk_widget_set_tooltip_text (keep, _("Copy it into your own list, without its key"));
          gtk_accessible_update_property (GTK_ACCESSIBLE (keep), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                          name, -1);
          g_object_set_data_full (G_OBJECT (keep), "rill-server-id", g_strdup (server->id),
                                  g_free);
          g_signal_connect (keep, "clicked", G_CALLBACK (keep_clicked_cb), self);
          adw_action_row_add_suffix (row, keep);
        }
      else
        {
          GtkWidget *toggle = gtk_switch_new ();
          /* translators: %s is a server's name or address */
          g_autofree char *name = g_strdup_printf (_("Use %s"), label);

          row_button (row, "document-edit-symbolic", _("Edit"), label, server->id,
                      G_CALLBACK (edit_clicked_cb), self);
          row_button (row, "user-trash-symbolic", _("Remove"), label, server->id,
                      G_CALLBACK (remove_clicked_cb), self);
          gtk_switch_set_active (GTK_SWITCH (toggle), server->enabled);
          gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
          gtk_accessible_update_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                          name, -1);
          g_object_set_data_full (G_OBJECT (toggle), "rill-server-id", g_strdup (server->id),
                                  g_free);
          g_signal_connect (toggle, "notify::active", G_CALLBACK (enabled_cb), self);
          adw_action_row_add_suffix (row, toggle);
        }
      adw_preferences_group_add (self->servers_group, GTK_WIDGET (row));
      g_ptr_array_add (self->server_rows, row);
    }
}

/* Fills the "Server" group with @server to edit, or empties it for a new
 * one (@server NULL). */
static void
edit_server (RillPreferencesWindow *self,
             const RillServer      *server)
{
  g_free (self->server_id);
  self->server_id = server ? g_strdup (server->id) : NULL;
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), server ? server->name : "");
  adw_combo_row_set_selected (self->kind_row, server ? server->kind : RILL_PROVIDER_OPENAI);
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), server ? server->base_url : "");
  gtk_editable_set_text (GTK_EDITABLE (self->key_row), "");
  gtk_widget_grab_focus (server ? GTK_WIDGET (self->key_row) : GTK_WIDGET (self->name_row));
}

static void
add_server_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  RillPreferencesWindow *self = RILL_PREFERENCES_WINDOW (widget);
  guint preset = g_variant_get_uint32 (parameter);
  g_autoptr(RillServer) server = NULL;

  if (preset >= G_N_ELEMENTS (presets))
    {
      edit_server (self, NULL);
      return;
    }
  server = rill_server_new (NULL, presets[preset].kind, presets[preset].url);
  g_free (server->name);
  server->name = g_strdup (presets[preset].name);
  /* Not saved yet: the id comes when it is applied. */
  g_clear_pointer (&server->id, g_free);
  edit_server (self, server);
}

static GMenuModel *
new_presets_menu (void)
{
  GMenu *menu = g_menu_new ();
  g_autoptr(GMenu) named = g_menu_new ();
  g_autoptr(GMenu) other = g_menu_new ();

  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new (presets[i].name, NULL);

      g_menu_item_set_action_and_target_value (item, "prefs.add-server",
                                               g_variant_new_uint32 (i));
      g_menu_append_item (named, item);
    }
  {
    g_autoptr(GMenuItem) item = g_menu_item_new (_("Other Server"), NULL);

    g_menu_item_set_action_and_target_value (item, "prefs.add-server",
                                             g_variant_new_uint32 (G_N_ELEMENTS (presets)));
    g_menu_append_item (other, item);
  }
  g_menu_append_section (menu, NULL, G_MENU_MODEL (named));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (other));
  return G_MENU_MODEL (menu);
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
  g_object_bind_property (self->session, "name-conversations", self->name_switch, "active", both);
  g_object_bind_property (self->session, "connect-timeout",
                          self->connect_adjustment, "value", both);
  g_object_bind_property (self->session, "idle-timeout", self->idle_adjustment, "value", both);

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self),
                              ADW_PREFERENCES_PAGE (rill_mcp_page_new (self->session)));

  load_server (self);
  update_status (self);
  g_signal_connect_object (rill_session_get_servers (self->session), "items-changed",
                           G_CALLBACK (servers_changed_cb), self, G_CONNECT_SWAPPED);
  servers_changed_cb (self);
  g_signal_connect_object (self->session, "notify::provider-status",
                           G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self),
                              ADW_PREFERENCES_PAGE (rill_presets_page_new (self->session)));
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
  g_clear_pointer (&self->server_rows, g_ptr_array_unref);

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
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, servers_group);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, add_button);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, server_group);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, kind_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, url_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, key_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, default_model_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, system_prompt_row);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow,
                                        temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, history_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, name_switch);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, connect_adjustment);
  gtk_widget_class_bind_template_child (widget_class, RillPreferencesWindow, idle_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, save_server_cb);
  gtk_widget_class_install_action (widget_class, "prefs.add-server", "u", add_server_cb);
}

static void
rill_preferences_window_init (RillPreferencesWindow *self)
{
  g_autoptr(GMenuModel) menu = new_presets_menu ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_menu_button_set_menu_model (self->add_button, menu);
  rill_accessible_name_buttons (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->server_rows = g_ptr_array_new ();
}

RillPreferencesWindow *
rill_preferences_window_new (RillSession *session)
{
  g_return_val_if_fail (RILL_IS_SESSION (session), NULL);

  return g_object_new (RILL_TYPE_PREFERENCES_WINDOW, "session", session, NULL);
}
