/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-application.c
 *
 * Thin on purpose: the session holds the state every window shares (the
 * store, the server, the preferences); this holds the lifecycle (start-up,
 * a bounded quit on Quit or a signal), the actions that are not a window's
 * and the Shell search provider, which must be on the bus before start-up.
 *
 * Only the primary instance opens the history. dbus_register runs in every
 * process that starts, before GLib asks the bus for the name; a second
 * `rill` (a launcher running Exec= again) then finds the name taken, hands
 * its activation to the running instance, which opens or raises a window,
 * and exits. Had it opened the store there, its recovery would have marked
 * the running instance's live reply "interrupted", and every later
 * checkpoint of that reply would have changed nothing. So the search
 * provider is exported without a store, and startup (which only the
 * primary runs) opens the history in a thread and hands the store to it
 * and to the windows as the session's "store" property. */

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>

#include "rill-accessible.h"
#include "rill-application.h"
#include "rill-preferences-window.h"
#include "rill-secret-keyring.h"
#include "rill-window.h"
#include "rill-search-provider.h"

struct _RillApplication
{
  AdwApplication      parent_instance;

  RillSession        *session;
  RillSearchProvider *search_provider;
  guint               signal_sources[3];
  guint               quitting : 1;
};

G_DEFINE_FINAL_TYPE (RillApplication, rill_application, ADW_TYPE_APPLICATION)

RillApplication *
rill_application_new (void)
{
  return g_object_new (RILL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", RESOURCE_PREFIX,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

RillSession *
rill_application_get_session (RillApplication *self)
{
  g_return_val_if_fail (RILL_IS_APPLICATION (self), NULL);
  return self->session;
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

  if (rill_session_get_store (self->session) != NULL &&
      !rill_store_sync (rill_session_get_store (self->session), 1000))
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
  RillPreferencesWindow *prefs = rill_preferences_window_new (self->session);

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
                        "comments", _("Chat with language models, on your computer "
                                      "or a server you choose"),
                        NULL);
  /* translators: what a screen reader calls the licence and details texts */
  rill_accessible_name_foreign (about, _("Details"));
  gtk_window_present (GTK_WINDOW (about));
}

static void
new_window_action (GSimpleAction *action,
                   GVariant      *param,
                   gpointer       user_data)
{
  RillApplication *self = user_data;

  gtk_window_present (GTK_WINDOW (rill_window_new (GTK_APPLICATION (self), self->session)));
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
};

static void
rill_application_startup (GApplication *app)
{
  RillApplication *self = RILL_APPLICATION (app);
  static const int signals[] = { SIGTERM, SIGINT, SIGHUP };

  G_APPLICATION_CLASS (rill_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries,
                                   G_N_ELEMENTS (app_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                           accels[i].action, accels[i].accels);
  rill_window_install_accels (GTK_APPLICATION (self));

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    self->signal_sources[i] = g_unix_signal_add (signals[i], unix_signal_cb, self);

  /* The first window opens at once; the history follows when it is open,
   * or when another program lets go of it. */
  rill_session_open_store (self->session);
  if (self->search_provider != NULL)
    g_object_bind_property (self->session, "store", self->search_provider, "store",
                            G_BINDING_SYNC_CREATE);
  rill_session_reload_provider (self->session);
}

static void
servers_stopped_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  rill_toolbox_stop_all_finish (RILL_TOOLBOX (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static void
rill_application_shutdown (GApplication *app)
{
  RillApplication *self = RILL_APPLICATION (app);
  gboolean servers_stopped = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  /* No tool server outlives the app. Each has half a second to exit on
   * its own and as long after SIGTERM before SIGKILL: the client's timers
   * bound this wait, whatever path the quit took. */
  rill_toolbox_stop_all_async (rill_session_get_toolbox (self->session), 500,
                               servers_stopped_cb, &servers_stopped);
  while (!servers_stopped)
    g_main_context_iteration (NULL, TRUE);
  if (rill_session_get_store (self->session) != NULL)
    rill_store_sync (rill_session_get_store (self->session), 1000);

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
    window = GTK_WINDOW (rill_window_new (GTK_APPLICATION (self), self->session));
  gtk_window_present (window);
}

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

static gboolean
rill_application_dbus_register (GApplication     *app,
                                GDBusConnection  *connection,
                                const char       *object_path,
                                GError          **error)
{
  RillApplication *self = RILL_APPLICATION (app);

  if (!G_APPLICATION_CLASS (rill_application_parent_class)->dbus_register (app, connection,
                                                                           object_path, error))
    return FALSE;

  /* On the bus before the name is owned, as the Shell expects, but with
   * no store: this may be a second instance about to hand over and exit.
   * startup gives it the store. */
  {
    g_autofree char *path = g_strconcat (object_path, "/SearchProvider", NULL);
    g_autoptr(GError) local_error = NULL;

    self->search_provider = rill_search_provider_new (NULL);
    g_signal_connect_object (self->search_provider, "activate-message",
                             G_CALLBACK (activate_message_cb), self, G_CONNECT_SWAPPED);
    g_signal_connect_object (self->search_provider, "launch-search",
                             G_CALLBACK (launch_search_cb), self, G_CONNECT_SWAPPED);
    /* Search in the shell is a nicety: never fail the start over it. */
    if (!rill_search_provider_export (self->search_provider, connection, path, &local_error))
      g_warning ("Could not export the search provider: %s", local_error->message);
  }

  return TRUE;
}

static void
rill_application_dbus_unregister (GApplication    *app,
                                  GDBusConnection *connection,
                                  const char      *object_path)
{
  RillApplication *self = RILL_APPLICATION (app);

  if (self->search_provider != NULL)
    {
      rill_search_provider_unexport (self->search_provider);
      g_clear_object (&self->search_provider);
    }

  G_APPLICATION_CLASS (rill_application_parent_class)->dbus_unregister (app, connection,
                                                                        object_path);
}

static void
rill_application_finalize (GObject *object)
{
  RillApplication *self = RILL_APPLICATION (object);

  g_clear_object (&self->search_provider);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (rill_application_parent_class)->finalize (object);
}

static void
rill_application_class_init (RillApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = rill_application_finalize;

  app_class->startup = rill_application_startup;
  app_class->shutdown = rill_application_shutdown;
  app_class->activate = rill_application_activate;
  app_class->handle_local_options = rill_application_handle_local_options;
  app_class->dbus_register = rill_application_dbus_register;
  app_class->dbus_unregister = rill_application_dbus_unregister;
}

static void
rill_application_init (RillApplication *self)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.rill.Rill");
  g_autoptr(RillKeyring) keyring = rill_secret_keyring_new ();

  self->session = rill_session_new (settings, keyring);

  g_application_add_main_option (G_APPLICATION (self), "new-window", 0, G_OPTION_FLAG_NONE,
                                 G_OPTION_ARG_NONE, _("Open a new window"), NULL);
  /* Started by GNOME Shell with --gapplication-service for the search
   * provider, stay up long enough to answer it. */
  g_application_set_inactivity_timeout (G_APPLICATION (self), 10000);
}
