/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GNOME Shell search provider.
 *
 * The Shell finds us through data/io.github.rill.Rill.search-provider.ini,
 * starts the application by D-Bus activation (`rill --gapplication-service`,
 * no window) and calls org.gnome.Shell.SearchProvider2 on
 * APP_OBJECT_PATH/SearchProvider. Searching reads the store's full-text
 * index on the main thread, as the history page does: the index answers
 * substring queries, so Chinese terms are found without word breaks.
 *
 * The Shell lists conversations, not messages: each conversation appears
 * once, through its newest matching message, and the result id is that
 * message's id, so activating it opens the conversation at that message.
 * Conversations in the trash are not found (the store leaves them out), and
 * a result that went to the trash after it was listed neither describes
 * nor opens.
 *
 * The provider is on the bus before the history is open: GApplication
 * exports it in dbus_register, before it knows whether this process is the
 * primary instance, and only the primary one opens the history (see
 * rill-application.c). A call that comes before the store is set waits for
 * it, up to PENDING_TIMEOUT_S (within the D-Bus call timeout), and is then
 * answered with no results: answering at once with none would leave the
 * Shell narrowing an empty list as the person types on.
 *
 * GTK-free on purpose (gio only), so the tests drive it over a real bus
 * without a display. */

#include "rill-search-provider.h"

#include <glib/gi18n.h>

#include "rill-snippet.h"

/* The Shell shows a handful of results per provider; more conversations
 * than this are never looked at. Messages are fetched with headroom so
 * that one long conversation matching many times does not crowd out the
 * others. */
#define MAX_CONVERSATIONS 20
#define MAX_MESSAGES 400

#define SEARCH_PROVIDER_PATH_SUFFIX "/SearchProvider"
#define PENDING_TIMEOUT_S 20

static const char search_provider_xml[] =
  "<node>"
  "  <interface name='org.gnome.Shell.SearchProvider2'>"
  "    <method name='GetInitialResultSet'>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='as' name='results' direction='out'/>"
  "    </method>"
  "    <method name='GetSubsearchResultSet'>"
  "      <arg type='as' name='previous_results' direction='in'/>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='as' name='results' direction='out'/>"
  "    </method>"
  "    <method name='GetResultMetas'>"
  "      <arg type='as' name='identifiers' direction='in'/>"
  "      <arg type='aa{sv}' name='metas' direction='out'/>"
  "    </method>"
  "    <method name='ActivateResult'>"
  "      <arg type='s' name='identifier' direction='in'/>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='u' name='timestamp' direction='in'/>"
  "    </method>"
  "    <method name='LaunchSearch'>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='u' name='timestamp' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

struct _RillSearchProvider
{
  GObject parent_instance;

  /* owned */
  RillStore       *store;
  GDBusConnection *connection;
  /* The Shell sends no terms with GetResultMetas; snippets are cut around
   * the terms of the latest search. */
  char **last_terms;
  guint  registration_id;
  /* Calls that came before the store: GDBusMethodInvocation, in order. */
  GQueue pending;
  guint  pending_timeout_id;
};

G_DEFINE_FINAL_TYPE (RillSearchProvider, rill_search_provider, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STORE,
  N_PROPS
};

enum {
  ACTIVATE_MESSAGE,
  LAUNCH_SEARCH,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static GDBusInterfaceInfo *
get_interface_info (void)
{
  static GDBusInterfaceInfo *info;

  if (g_once_init_enter (&info))
    {
      g_autoptr(GDBusNodeInfo) node = NULL;
      g_autoptr(GError) error = NULL;
      GDBusInterfaceInfo *interface;

      node = g_dbus_node_info_new_for_xml (search_provider_xml, &error);
      g_assert_no_error (error);
      interface = g_dbus_interface_info_ref (node->interfaces[0]);
      g_dbus_interface_info_cache_build (interface);
      g_once_init_leave (&info, interface);
    }

  return info;
}

static char *
join_terms (const char **terms)
{
  /* The store splits the query on whitespace again, so each term must
   * occur in a message. */
  return g_strjoinv (" ", (char **) terms);
}

static GVariant *
search (RillSearchProvider  *self,
        const char         **terms,
        GError             **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autofree char *query = join_terms (terms);
  GVariantBuilder builder;
  guint n_results = 0;

  g_strfreev (self->last_terms);
  self->last_terms = g_strdupv ((char **) terms);

  messages = rill_store_search (self->store, query, MAX_MESSAGES, error);
  if (messages == NULL)
    return NULL;

  seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("as"));
  /* Newest first, so the first message of each conversation is its newest
   * match. */
  for (guint i = 0; i < messages->len && n_results < MAX_CONVERSATIONS; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);
      gint64 conversation_id = rill_message_get_conversation_id (message);
      g_autofree char *id = NULL;

      if (g_hash_table_contains (seen, &conversation_id))
        continue;
      g_hash_table_add (seen, g_memdup2 (&conversation_id, sizeof conversation_id));

      id = g_strdup_printf ("%" G_GINT64_FORMAT, rill_message_get_id (message));
      g_variant_builder_add (&builder, "s", id);
      n_results++;
    }

  return g_variant_builder_end (&builder);
}

static gboolean
parse_message_id (const char  *identifier,
                  gint64      *message_id,
                  GError     **error)
{
  guint64 id;

  if (!g_ascii_string_to_unsigned (identifier, 10, 1, G_MAXINT64, &id, NULL))
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "Not a result of this provider: “%s”", identifier);
      return FALSE;
    }

  *message_id = (gint64) id;
  return TRUE;
}

static GVariant *
get_result_metas (RillSearchProvider  *self,
                  const char         **identifiers,
                  const char         **terms)
{
  g_autoptr(GIcon) icon = g_themed_icon_new (APP_ID);
  g_autoptr(GVariant) serialized_icon = g_icon_serialize (icon);
  g_autofree char *query = join_terms (terms);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; identifiers[i] != NULL; i++)
    {
      g_autoptr(RillMessage) message = NULL;
      g_autoptr(RillConversation) conversation = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *description = NULL;
      const char *title;
      gint64 message_id;

      /* A result deleted since the search is left out rather than failing
       * the whole call, so the Shell still shows the others. */
      if (!parse_message_id (identifiers[i], &message_id, &error) ||
          !(message = rill_store_get_message (self->store, message_id, &error)) ||
          !(conversation = rill_store_get_conversation (self->store,
                                                        rill_message_get_conversation_id (message),
                                                        &error)))
        {
          g_debug ("Skipping search result %s: %s", identifiers[i],
                   error ? error->message : "not found");
          continue;
        }

      title = rill_conversation_get_title (conversation);
      if (title == NULL || title[0] == '\0')
        title = _("Untitled Conversation");
      /* Plain text: the Shell shows the description as it is. */
      description = rill_snippet_make (rill_message_get_content (message), query, NULL, NULL);

      g_variant_builder_open (&builder, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_string (identifiers[i]));
      g_variant_builder_add (&builder, "{sv}", "name", g_variant_new_string (title));
      g_variant_builder_add (&builder, "{sv}", "description", g_variant_new_string (description));
      g_variant_builder_add (&builder, "{sv}", "icon", serialized_icon);
      g_variant_builder_close (&builder);
    }

  return g_variant_builder_end (&builder);
}

static gboolean
activate_result (RillSearchProvider  *self,
                 const char          *identifier,
                 guint32              timestamp,
                 GError             **error)
{
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  gint64 message_id;

  if (!parse_message_id (identifier, &message_id, error))
    return FALSE;
  if (!(message = rill_store_get_message (self->store, message_id, error)))
    {
      /* The store may answer NULL without an error for a missing row. */
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "Message %" G_GINT64_FORMAT " no longer exists", message_id);
      return FALSE;
    }
  /* A result shown before its conversation went to the trash opens
   * nothing: the store no longer finds a conversation there. */
  conversation = rill_store_get_conversation (self->store,
                                              rill_message_get_conversation_id (message), NULL);
  if (conversation == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "Message %" G_GINT64_FORMAT " is in the trash or no longer exists",
                   message_id);
      return FALSE;
    }

  g_signal_emit (self, signals[ACTIVATE_MESSAGE], 0,
                 rill_message_get_conversation_id (message), message_id, timestamp);
  return TRUE;
}

static void
dispatch (RillSearchProvider    *self,
          GDBusMethodInvocation *invocation)
{
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  g_autoptr(GError) error = NULL;

  if (g_str_equal (method_name, "GetInitialResultSet"))
    {
      g_autofree const char **terms = NULL;
      GVariant *results;

      g_variant_get (parameters, "(^a&s)", &terms);
      if ((results = search (self, terms, &error)))
        g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&results, 1));
    }
  else if (g_str_equal (method_name, "GetSubsearchResultSet"))
    {
      g_autofree const char **previous = NULL;
      g_autofree const char **terms = NULL;
      GVariant *results;

      /* Searching again is as cheap as filtering @previous through the
       * store, and also finds a conversation whose newest match changed
       * as the terms narrowed. */
      g_variant_get (parameters, "(^a&s^a&s)", &previous, &terms);
      if ((results = search (self, terms, &error)))
        g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&results, 1));
    }
  else if (g_str_equal (method_name, "GetResultMetas"))
    {
      g_autofree const char **identifiers = NULL;
      const char *no_terms[] = { NULL };
      GVariant *metas;

      g_variant_get (parameters, "(^a&s)", &identifiers);
      metas = get_result_metas (self, identifiers,
                                self->last_terms ? (const char **) self->last_terms : no_terms);
      g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&metas, 1));
    }
  else if (g_str_equal (method_name, "ActivateResult"))
    {
      const char *identifier;
      g_autofree const char **terms = NULL;
      guint32 timestamp;

      g_variant_get (parameters, "(&s^a&su)", &identifier, &terms, &timestamp);
      if (activate_result (self, identifier, timestamp, &error))
        g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "LaunchSearch"))
    {
      g_auto(GStrv) terms = NULL;
      guint32 timestamp;

      g_variant_get (parameters, "(^asu)", &terms, &timestamp);
      g_signal_emit (self, signals[LAUNCH_SEARCH], 0, terms, timestamp);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else
    g_set_error (&error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                 "Unknown method %s", method_name);

  if (error != NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
}

/* No history to search: no results, and nothing to describe or open. */
static void
answer_without_store (GDBusMethodInvocation *invocation)
{
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);

  if (g_str_equal (method_name, "GetInitialResultSet") ||
      g_str_equal (method_name, "GetSubsearchResultSet"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(as)", NULL));
  else if (g_str_equal (method_name, "GetResultMetas"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aa{sv})", NULL));
  else
    g_dbus_method_invocation_return_error (invocation, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                           "The history is not open");
}

static void
release_app (void)
{
  GApplication *app = g_application_get_default ();

  if (app != NULL)
    g_application_release (app);
}

/* Answers the calls that waited: through the store once it is there, else
 * with nothing. */
static void
flush_pending (RillSearchProvider *self)
{
  GDBusMethodInvocation *invocation;

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  while ((invocation = g_queue_pop_head (&self->pending)) != NULL)
    {
      if (self->store != NULL)
        dispatch (self, invocation);
      else
        answer_without_store (invocation);
      release_app ();
    }
}

static gboolean
pending_timeout_cb (gpointer user_data)
{
  RillSearchProvider *self = user_data;

  self->pending_timeout_id = 0;
  flush_pending (self);
  return G_SOURCE_REMOVE;
}

static void
method_call (GDBusConnection       *connection,
             const char            *sender,
             const char            *object_path,
             const char            *interface_name,
             const char            *method_name,
             GVariant              *parameters,
             GDBusMethodInvocation *invocation,
             gpointer               user_data)
{
  RillSearchProvider *self = user_data;
  GApplication *app = g_application_get_default ();

  /* Started by the Shell as a service, the application exits once idle;
   * holding it for each call restarts its inactivity timeout, and keeps it
   * while a call waits for the history. */
  if (app != NULL)
    g_application_hold (app);

  /* LaunchSearch only hands the terms to a window, which follows the
   * store by itself. */
  if (self->store == NULL && !g_str_equal (method_name, "LaunchSearch"))
    {
      g_queue_push_tail (&self->pending, g_object_ref (invocation));
      if (self->pending_timeout_id == 0)
        self->pending_timeout_id = g_timeout_add_seconds (PENDING_TIMEOUT_S,
                                                          pending_timeout_cb, self);
      return;
    }

  dispatch (self, invocation);
  if (app != NULL)
    g_application_release (app);
}

static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL, { 0 } };

gboolean
rill_search_provider_export (RillSearchProvider  *self,
                             GDBusConnection     *connection,
                             const char          *object_path,
                             GError             **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (RILL_IS_SEARCH_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (g_variant_is_object_path (object_path), FALSE);
  g_return_val_if_fail (self->registration_id == 0, FALSE);

  /* The application's own path carries org.gtk.Application; the provider
   * sits below it, where the .ini file says. A caller that already added
   * the suffix gets the same path. */
  if (g_str_has_suffix (object_path, SEARCH_PROVIDER_PATH_SUFFIX))
    path = g_strdup (object_path);
  else
    path = g_strconcat (object_path, SEARCH_PROVIDER_PATH_SUFFIX, NULL);

  self->registration_id = g_dbus_connection_register_object (connection, path,
                                                             get_interface_info (),
                                                             &vtable, self, NULL,
                                                             error);
  if (self->registration_id == 0)
    return FALSE;

  self->connection = g_object_ref (connection);
  return TRUE;
}

void
rill_search_provider_unexport (RillSearchProvider *self)
{
  g_return_if_fail (RILL_IS_SEARCH_PROVIDER (self));

  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->registration_id);
      self->registration_id = 0;
    }
  g_clear_object (&self->connection);
}

static void
rill_search_provider_dispose (GObject *object)
{
  RillSearchProvider *self = RILL_SEARCH_PROVIDER (object);

  rill_search_provider_unexport (self);
  g_clear_object (&self->store);
  flush_pending (self);

  G_OBJECT_CLASS (rill_search_provider_parent_class)->dispose (object);
}

static void
rill_search_provider_finalize (GObject *object)
{
  RillSearchProvider *self = RILL_SEARCH_PROVIDER (object);

  g_strfreev (self->last_terms);

  G_OBJECT_CLASS (rill_search_provider_parent_class)->finalize (object);
}

static void
rill_search_provider_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  RillSearchProvider *self = RILL_SEARCH_PROVIDER (object);

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
rill_search_provider_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  RillSearchProvider *self = RILL_SEARCH_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      rill_search_provider_set_store (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_search_provider_class_init (RillSearchProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_search_provider_dispose;
  object_class->finalize = rill_search_provider_finalize;
  object_class->get_property = rill_search_provider_get_property;
  object_class->set_property = rill_search_provider_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL,
                         RILL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[ACTIVATE_MESSAGE] =
    g_signal_new ("activate-message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_UINT);

  signals[LAUNCH_SEARCH] =
    g_signal_new ("launch-search",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRV, G_TYPE_UINT);
}

static void
rill_search_provider_init (RillSearchProvider *self)
{
}

RillSearchProvider *
rill_search_provider_new (RillStore *store)
{
  g_return_val_if_fail (store == NULL || RILL_IS_STORE (store), NULL);

  return g_object_new (RILL_TYPE_SEARCH_PROVIDER, "store", store, NULL);
}

void
rill_search_provider_set_store (RillSearchProvider *self,
                                RillStore          *store)
{
  g_return_if_fail (RILL_IS_SEARCH_PROVIDER (self));
  g_return_if_fail (store == NULL || RILL_IS_STORE (store));

  if (!g_set_object (&self->store, store))
    return;
  if (store != NULL)
    flush_pending (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
}
