/* rill-application.c
 *
 * Which server to talk to is decided here, once for every window: the
 * environment first (OPENAI_BASE_URL or OLLAMA_HOST, set on purpose for this
 * run), then the active server from the preferences, then a local server
 * found on its usual port. A key from OPENAI_API_KEY is used as is and never
 * written anywhere; keys of configured servers come from the keyring. */

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>

#include "rill-application.h"
#include "rill-preferences-window.h"
#include "rill-window.h"
#ifdef HAVE_SECRET
# include "rill-secret.h"
#endif
#ifdef HAVE_SEARCH_PROVIDER
# include "rill-search-provider.h"
#endif

struct _RillApplication
{
  AdwApplication      parent_instance;

  GSettings          *settings;
  RillStore          *store;
  GError             *store_error;
  RillProvider       *provider;
  char               *provider_status;
  GCancellable       *provider_cancellable;
#ifdef HAVE_SEARCH_PROVIDER
  RillSearchProvider *search_provider;
#endif
  guint               signal_sources[3];
  guint               quitting : 1;
};

G_DEFINE_FINAL_TYPE (RillApplication, rill_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_PROVIDER,
  PROP_PROVIDER_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

RillApplication *
rill_application_new (void)
{
  return g_object_new (RILL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", RESOURCE_PREFIX,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

GSettings *
rill_application_get_settings (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->settings;
}

RillStore *
rill_application_get_store (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->store;
}

const GError *
rill_application_get_store_error (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->store_error;
}

RillProvider *
rill_application_get_provider (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->provider;
}

const char *
rill_application_get_provider_status (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->provider_status;
}

static void
set_provider (RillApplication *self,
              RillProvider    *provider,
              const char      *status)
{
  g_set_object (&self->provider, provider);
  g_free (self->provider_status);
  self->provider_status = g_strdup (status);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROVIDER_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROVIDER]);
}

typedef enum {
  FOUND_LOCALLY,
  FROM_SETTINGS,
  FROM_ENVIRONMENT,
} Origin;

static char *
describe_provider (RillProvider *provider,
                   Origin        origin)
{
  const char *kind = rill_provider_get_kind (provider) == RILL_PROVIDER_OLLAMA
                     ? _("Ollama") : _("OpenAI-compatible server");
  const char *url = rill_provider_get_base_url (provider);

  /* translators: in these three, the first %s is a kind of server, the
   * second its address */
  switch (origin)
    {
    case FOUND_LOCALLY:
      return g_strdup_printf (_("Found a local %s at %s."), kind, url);
    case FROM_ENVIRONMENT:
      return g_strdup_printf (_("Using the %s at %s, from the environment."), kind, url);
    case FROM_SETTINGS:
    default:
      return g_strdup_printf (_("Using the %s at %s."), kind, url);
    }
}

static void
discover_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(RillApplication) self = user_data;
  g_autoptr(RillProvider) provider = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  provider = rill_provider_discover_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (provider == NULL)
    {
      set_provider (self, NULL,
                    _("No server found. Start Ollama, llama-server or LM Studio on this computer, "
                      "set OPENAI_BASE_URL and OPENAI_API_KEY, or add a server in Preferences."));
      return;
    }

  status = describe_provider (provider, FOUND_LOCALLY);
  set_provider (self, provider, status);
}

#ifdef HAVE_SECRET
typedef struct
{
  RillApplication  *self;
  RillProviderKind  kind;
  char             *base_url;
} LookupData;

static void
lookup_data_free (LookupData *data)
{
  g_object_unref (data->self);
  g_free (data->base_url);
  g_free (data);
}

static void
lookup_key_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  LookupData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;
  g_autoptr(RillProvider) provider = NULL;
  g_autofree char *status = NULL;

  key = rill_secret_lookup_key_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      lookup_data_free (data);
      return;
    }
  /* A locked or missing keyring still leaves servers that need no key. */
  if (error != NULL)
    g_warning ("Could not read the API key from the keyring: %s", error->message);

  provider = rill_provider_new (data->kind, data->base_url, key);
  status = describe_provider (provider, FROM_SETTINGS);
  set_provider (data->self, provider, status);
  lookup_data_free (data);
}
#endif

/* The server new conversations use: the active one, else the first. */
gboolean
rill_application_find_active_server (RillApplication   *self,
                                     char             **id_out,
                                     RillProviderKind  *kind_out,
                                     char             **url_out)
{
  g_autoptr(GVariant) servers = g_settings_get_value (self->settings, "servers");
  g_autofree char *active = g_settings_get_string (self->settings, "active-server");
  GVariantIter iter;
  const char *id, *kind, *url;

  g_variant_iter_init (&iter, servers);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &id, &kind, &url))
    {
      if (*active != '\0' && g_strcmp0 (id, active) != 0)
        continue;
      *id_out = g_strdup (id);
      *kind_out = rill_provider_kind_from_string (kind);
      *url_out = g_strdup (url);
      return TRUE;
    }
  return FALSE;
}

void
rill_application_reload_provider (RillApplication *self)
{
  g_autoptr(RillProvider) env = NULL;
  g_autofree char *id = NULL;
  g_autofree char *url = NULL;
  RillProviderKind kind;

  g_return_if_fail (RILL_IS_APPLICATION (self));

  g_cancellable_cancel (self->provider_cancellable);
  g_clear_object (&self->provider_cancellable);
  self->provider_cancellable = g_cancellable_new ();

  if ((env = rill_provider_new_from_environment ()) != NULL)
    {
      g_autofree char *status = describe_provider (env, FROM_ENVIRONMENT);
      set_provider (self, env, status);
      return;
    }

  if (rill_application_find_active_server (self, &id, &kind, &url))
    {
#ifdef HAVE_SECRET
      LookupData *data = g_new0 (LookupData, 1);

      data->self = g_object_ref (self);
      data->kind = kind;
      data->base_url = g_steal_pointer (&url);
      rill_secret_lookup_key_async (id, self->provider_cancellable, lookup_key_cb, data);
#else
      g_autoptr(RillProvider) provider = rill_provider_new (kind, url, NULL);
      g_autofree char *status = describe_provider (provider, FROM_SETTINGS);
      set_provider (self, provider, status);
#endif
      return;
    }

  set_provider (self, NULL, _("Looking for a server on this computer…"));
  rill_provider_discover_async (self->provider_cancellable, discover_cb, g_object_ref (self));
}

void
rill_application_stop_and_quit (RillApplication *self)
{
  GList *windows;

  g_return_if_fail (RILL_IS_APPLICATION (self));

  if (self->quitting)
    return;
  self->quitting = TRUE;

  /* Stop first, everywhere, so every final write is queued before we wait;
   * then one bounded wait, so a server that keeps sending or a slow disk
   * never holds the exit for more than a second. */
  windows = gtk_application_get_windows (GTK_APPLICATION (self));
  for (const GList *l = windows; l != NULL; l = l->next)
    if (RILL_IS_WINDOW (l->data))
      rill_window_prepare_close (RILL_WINDOW (l->data));

  if (self->store != NULL && !rill_store_sync (self->store, 1000))
    g_warning ("The history database did not finish writing within a second");

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (self))) != NULL)
    gtk_window_destroy (GTK_WINDOW (windows->data));

  g_application_quit (G_APPLICATION (self));
}

static gboolean
unix_signal_cb (gpointer user_data)
{
  rill_application_stop_and_quit (RILL_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  rill_application_stop_and_quit (RILL_APPLICATION (user_data));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  RillApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  RillPreferencesWindow *prefs = rill_preferences_window_new (self);

  gtk_window_set_transient_for (GTK_WINDOW (prefs), parent);
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  RillApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;
  const char *developers[] = { _("The Rill authors"), NULL };

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "application-name", _("Rill"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        "comments", _("Chat with language models, on your computer or a server you choose"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
new_window_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  RillApplication *self = user_data;

  gtk_window_present (GTK_WINDOW (rill_window_new (self)));
}

static const GActionEntry app_entries[] = {
  { "new-window", new_window_action },
  { "quit", quit_action },
  { "preferences", preferences_action },
  { "about", about_action },
};

static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "win.new-conversation", { "<Control>n", NULL } },
  { "win.search", { "<Control>f", NULL } },
  { "win.toggle-sidebar", { "F9", NULL } },
  { "win.rename-conversation", { "F2", NULL } },
  { "win.delete-conversation", { "<Control>Delete", NULL } },
  { "win.export-markdown", { "<Control>e", NULL } },
  { "win.export-json", { "<Control><Shift>e", NULL } },
  { "win.regenerate", { "<Control>r", NULL } },
  { "win.copy-last", { "<Control><Shift>c", NULL } },
  { "win.edit-last", { "<Alt>Up", NULL } },
  { "win.choose-model", { "<Control>m", NULL } },
  { "win.focus-composer", { "<Control>l", NULL } },
};

static void
rill_application_startup (GApplication *app)
{
  RillApplication *self = RILL_APPLICATION (app);
  g_autofree char *path = NULL;
  static const int signals[] = { SIGTERM, SIGINT, SIGHUP };

  G_APPLICATION_CLASS (rill_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries, G_N_ELEMENTS (app_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action, accels[i].accels);

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    self->signal_sources[i] = g_unix_signal_add (signals[i], unix_signal_cb, self);

  /* dbus_register may have opened it already, for the search provider. */
  if (self->store == NULL && self->store_error == NULL)
    {
      path = rill_store_default_path ();
      self->store = rill_store_open (path, &self->store_error);
    }
  if (self->store == NULL)
    g_warning ("Could not open the history: %s", self->store_error->message);

  g_signal_connect_object (self->settings, "changed::servers",
                           G_CALLBACK (rill_application_reload_provider), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::active-server",
                           G_CALLBACK (rill_application_reload_provider), self, G_CONNECT_SWAPPED);
  rill_application_reload_provider (self);
}

static void
rill_application_shutdown (GApplication *app)
{
  RillApplication *self = RILL_APPLICATION (app);

  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_cancellable_cancel (self->provider_cancellable);
  if (self->store != NULL)
    rill_store_sync (self->store, 1000);

  G_APPLICATION_CLASS (rill_application_parent_class)->shutdown (app);
}

/* --new-window: the running instance opens one more window. Sent as the
 * app.new-window action, so it needs no command line forwarding; when no
 * instance runs, this one starts as usual with its first window. */
static int
rill_application_handle_local_options (GApplication *app,
                                       GVariantDict *options)
{
  g_autoptr(GError) error = NULL;

  if (!g_variant_dict_contains (options, "new-window"))
    return -1;
  if (!g_application_register (app, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  if (!g_application_get_is_remote (app))
    return -1;
  g_action_group_activate_action (G_ACTION_GROUP (app), "new-window", NULL);
  return 0;
}

static void
rill_application_activate (GApplication *app)
{
  RillApplication *self = RILL_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (rill_window_new (self));
  gtk_window_present (window);
}

#ifdef HAVE_SEARCH_PROVIDER
static void
activate_message_cb (RillApplication *self,
                     gint64           conversation_id,
                     gint64           message_id,
                     guint32          timestamp)
{
  GtkWindow *window;

  g_application_activate (G_APPLICATION (self));
  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (RILL_IS_WINDOW (window))
    rill_window_open_conversation (RILL_WINDOW (window), conversation_id, message_id);
}

static void
launch_search_cb (RillApplication  *self,
                  GStrv             terms,
                  guint32           timestamp)
{
  GtkWindow *window;
  g_autofree char *query = NULL;

  g_application_activate (G_APPLICATION (self));
  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  query = g_strjoinv (" ", terms);
  if (RILL_IS_WINDOW (window))
    rill_window_search (RILL_WINDOW (window), query);
}
#endif

static gboolean
rill_application_dbus_register (GApplication     *app,
                                GDBusConnection  *connection,
                                const char       *object_path,
                                GError          **error)
{
#ifdef HAVE_SEARCH_PROVIDER
  RillApplication *self = RILL_APPLICATION (app);
#endif

  if (!G_APPLICATION_CLASS (rill_application_parent_class)->dbus_register (app, connection, object_path, error))
    return FALSE;

#ifdef HAVE_SEARCH_PROVIDER
  /* dbus_register runs before startup, so the search provider opens the
   * store it needs here; startup then shares the same one. */
  if (self->store == NULL && self->store_error == NULL)
    {
      g_autofree char *path = rill_store_default_path ();
      self->store = rill_store_open (path, &self->store_error);
    }
  if (self->store != NULL)
    {
      g_autofree char *path = g_strconcat (object_path, "/SearchProvider", NULL);
      g_autoptr(GError) local_error = NULL;

      self->search_provider = rill_search_provider_new (self->store);
      g_signal_connect_object (self->search_provider, "activate-message",
                               G_CALLBACK (activate_message_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->search_provider, "launch-search",
                               G_CALLBACK (launch_search_cb), self, G_CONNECT_SWAPPED);
      /* Search in the shell is a nicety: never fail the start over it. */
      if (!rill_search_provider_export (self->search_provider, connection, path, &local_error))
        g_warning ("Could not export the search provider: %s", local_error->message);
    }
#endif

  return TRUE;
}

static void
rill_application_dbus_unregister (GApplication    *app,
                                  GDBusConnection *connection,
                                  const char      *object_path)
{
#ifdef HAVE_SEARCH_PROVIDER
  RillApplication *self = RILL_APPLICATION (app);

  if (self->search_provider != NULL)
    {
      rill_search_provider_unexport (self->search_provider);
      g_clear_object (&self->search_provider);
    }
#endif

  G_APPLICATION_CLASS (rill_application_parent_class)->dbus_unregister (app, connection, object_path);
}

static void
rill_application_finalize (GObject *object)
{
  RillApplication *self = RILL_APPLICATION (object);

  g_clear_object (&self->provider_cancellable);
  g_clear_object (&self->provider);
  g_clear_pointer (&self->provider_status, g_free);
#ifdef HAVE_SEARCH_PROVIDER
  g_clear_object (&self->search_provider);
#endif
  g_clear_object (&self->store);
  g_clear_error (&self->store_error);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (rill_application_parent_class)->finalize (object);
}

static void
rill_application_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RillApplication *self = RILL_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_PROVIDER:
      g_value_set_object (value, self->provider);
      break;
    case PROP_PROVIDER_STATUS:
      g_value_set_string (value, self->provider_status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_application_class_init (RillApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = rill_application_finalize;
  object_class->get_property = rill_application_get_property;

  app_class->startup = rill_application_startup;
  app_class->shutdown = rill_application_shutdown;
  app_class->activate = rill_application_activate;
  app_class->handle_local_options = rill_application_handle_local_options;
  app_class->dbus_register = rill_application_dbus_register;
  app_class->dbus_unregister = rill_application_dbus_unregister;

  properties[PROP_PROVIDER] =
    g_param_spec_object ("provider", NULL, NULL, RILL_TYPE_PROVIDER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PROVIDER_STATUS] =
    g_param_spec_string ("provider-status", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rill_application_init (RillApplication *self)
{
  self->settings = g_settings_new ("io.github.rill.Rill");

  g_application_add_main_option (G_APPLICATION (self), "new-window", 0, G_OPTION_FLAG_NONE,
                                 G_OPTION_ARG_NONE, _("Open a new window"), NULL);
  /* Started by GNOME Shell with --gapplication-service for the search
   * provider, stay up long enough to answer it. */
  g_application_set_inactivity_timeout (G_APPLICATION (self), 10000);
}
