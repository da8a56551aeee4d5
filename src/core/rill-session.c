/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-session.c
 *
 * Every server is known here, once for every window: each one the
 * environment names (OPENAI_BASE_URL and OLLAMA_HOST both, set on purpose
 * for this run), the ones from the preferences, and, when none of those is
 * switched on, a local server found on its usual port. Each has a provider
 * of its own with its own key, so a key never reaches another server: a
 * key from OPENAI_API_KEY goes only to the OPENAI_BASE_URL server (or
 * api.openai.com) and is never written anywhere; keys of configured
 * servers come from the keyring, one per server id. A conversation asks
 * for its server by id; "provider" is only the first one switched on, for
 * what has no server yet.
 *
 * The preferences are properties bound to their GSettings keys, as Console's
 * KgxSettings does: readers get typed values and notify, and the preferences
 * window binds its widgets to the same properties. */

#include <glib/gi18n.h>

#include "rill-session.h"
#include "rill-titler.h"

struct _RillSession
{
  GObject       parent_instance;

  GSettings    *settings;
  RillKeyring  *keyring;
  RillStore    *store;
  GError       *store_error;
  GCancellable *store_cancellable;
  GListStore   *servers;      /* RillServerItem */
  RillProvider *provider;
  char         *provider_id;
  char         *provider_status;
  GCancellable *provider_cancellable;
  RillToolbox  *toolbox;      /* made when first asked for */

  /* Mirrors of the GSettings keys of the same name. */
  char         *default_model;
  char         *system_prompt;
  double        temperature;
  guint         history_limit;
  guint         connect_timeout;
  guint         idle_timeout;
  gboolean      name_conversations;

  /* The model last chosen, and its server (rill_session_get_last_model) */
  char         *last_model;
  char         *last_server;

  guint         store_opened : 1;
  guint         store_waiting : 1;
  guint         saving_server : 1;
  guint         last_model_read : 1;
};

G_DEFINE_FINAL_TYPE (RillSession, rill_session, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (RillServer, rill_server, rill_server_copy, rill_server_free)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_KEYRING,
  PROP_STORE,
  PROP_STORE_ERROR,
  PROP_STORE_WAITING,
  PROP_PROVIDER,
  PROP_PROVIDER_STATUS,
  PROP_DEFAULT_MODEL,
  PROP_SYSTEM_PROMPT,
  PROP_TEMPERATURE,
  PROP_HISTORY_LIMIT,
  PROP_CONNECT_TIMEOUT,
  PROP_IDLE_TIMEOUT,
  PROP_NAME_CONVERSATIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Servers */

RillServer *
rill_server_new (const char       *id,
                 RillProviderKind  kind,
                 const char       *base_url)
{
  RillServer *server = g_new0 (RillServer, 1);

  server->id = g_strdup (id ? id : "");
  server->kind = kind;
  server->base_url = g_strdup (base_url ? base_url : "");
  server->name = g_strdup ("");
  server->enabled = TRUE;
  return server;
}

RillServer *
rill_server_copy (const RillServer *server)
{
  RillServer *copy = rill_server_new (server->id, server->kind, server->base_url);

  g_free (copy->name);
  copy->name = g_strdup (server->name ? server->name : "");
  copy->enabled = server->enabled;
  copy->environment = g_strdup (server->environment);
  return copy;
}

void
rill_server_free (RillServer *server)
{
  if (server == NULL)
    return;
  g_free (server->id);
  g_free (server->base_url);
  g_free (server->name);
  g_free (server->environment);
  g_free (server);
}

/* Server items */

struct _RillServerItem
{
  GObject       parent_instance;

  RillServer   *server;
  char         *label;
  char         *display_url;
  RillProvider *provider;
};

G_DEFINE_FINAL_TYPE (RillServerItem, rill_server_item, G_TYPE_OBJECT)

enum {
  ITEM_PROP_0,
  ITEM_PROP_ID,
  ITEM_PROP_LABEL,
  ITEM_N_PROPS
};

static GParamSpec *item_properties[ITEM_N_PROPS];

static void
rill_server_item_finalize (GObject *object)
{
  RillServerItem *self = RILL_SERVER_ITEM (object);

  rill_server_free (self->server);
  g_free (self->label);
  g_free (self->display_url);
  g_clear_object (&self->provider);
  G_OBJECT_CLASS (rill_server_item_parent_class)->finalize (object);
}

static void
rill_server_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RillServerItem *self = RILL_SERVER_ITEM (object);

  switch (prop_id)
    {
    case ITEM_PROP_ID:
      g_value_set_string (value, self->server->id);
      break;
    case ITEM_PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_server_item_class_init (RillServerItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rill_server_item_finalize;
  object_class->get_property = rill_server_item_get_property;
  item_properties[ITEM_PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  item_properties[ITEM_PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, ITEM_N_PROPS, item_properties);
}

static void
rill_server_item_init (RillServerItem *self)
{
}

static RillServerItem *
server_item_new (const RillServer *server)
{
  RillServerItem *self = g_object_new (RILL_TYPE_SERVER_ITEM, NULL);

  self->server = rill_server_copy (server);
  self->display_url = rill_url_without_user_info (server->base_url);
  if (server->name != NULL && *server->name != '\0')
    self->label = g_strdup (server->name);
  else if (server->environment != NULL)
    /* translators: %s is an environment variable, such as OLLAMA_HOST */
    self->label = g_strdup_printf (_("From the environment (%s)"), server->environment);
  else if (g_str_has_prefix (server->id, "local:"))
    /* translators: %s is a kind of server, such as Ollama */
    self->label = g_strdup_printf (_("Found on this computer: %s"),
                                   server->kind == RILL_PROVIDER_OLLAMA
                                   ? _("Ollama") : _("OpenAI-compatible server"));
  else
    self->label = g_strdup (self->display_url);
  return self;
}

const RillServer *
rill_server_item_get_server (RillServerItem *self)
{
  g_return_val_if_fail (RILL_IS_SERVER_ITEM (self), NULL);
  return self->server;
}

const char *
rill_server_item_get_id (RillServerItem *self)
{
  g_return_val_if_fail (RILL_IS_SERVER_ITEM (self), NULL);
  return self->server->id;
}

const char *
rill_server_item_get_label (RillServerItem *self)
{
  g_return_val_if_fail (RILL_IS_SERVER_ITEM (self), NULL);
  return self->label;
}

const char *
rill_server_item_get_display_url (RillServerItem *self)
{
  g_return_val_if_fail (RILL_IS_SERVER_ITEM (self), NULL);
  return self->display_url;
}

RillProvider *
rill_server_item_get_provider (RillServerItem *self)
{
  g_return_val_if_fail (RILL_IS_SERVER_ITEM (self), NULL);
  return self->provider;
}

/* The configured list */

/* The "servers" key is the only place the list is parsed; names and the
 * switched-off ones are in keys of their own, so that the list keeps the
 * type older versions wrote. */
static GPtrArray *
read_servers (RillSession *self)
{
  g_autoptr(GVariant) value = g_settings_get_value (self->settings, "servers");
  g_autoptr(GVariant) names = g_settings_get_value (self->settings, "server-names");
  g_auto(GStrv) disabled = g_settings_get_strv (self->settings, "disabled-servers");
  GPtrArray *servers = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_server_free);
  GVariantIter iter;
  const char *id, *kind, *url;

  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &id, &kind, &url))
    {
      RillServer *server = rill_server_new (id, rill_provider_kind_from_string (kind), url);
      const char *name = NULL;

      if (g_variant_lookup (names, id, "&s", &name))
        {
          g_free (server->name);
          server->name = g_strdup (name);
        }
      server->enabled = !g_strv_contains ((const char * const *) disabled, id);
      g_ptr_array_add (servers, server);
    }
  return servers;
}

/* Writes @servers, their names and which are off, and @active (NULL: as
 * it is) at once, then looks the providers up once. */
static void
write_servers (RillSession *self,
               GPtrArray   *servers,
               const char  *active)
{
  GVariantBuilder list, names;
  g_autoptr(GStrvBuilder) disabled = g_strv_builder_new ();
  g_auto(GStrv) off = NULL;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("a(sss)"));
  g_variant_builder_init (&names, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; i < servers->len; i++)
    {
      RillServer *server = g_ptr_array_index (servers, i);

      g_variant_builder_add (&list, "(sss)", server->id,
                             rill_provider_kind_to_string (server->kind), server->base_url);
      if (server->name != NULL && *server->name != '\0')
        g_variant_builder_add (&names, "{ss}", server->id, server->name);
      if (!server->enabled)
        g_strv_builder_add (disabled, server->id);
    }
  off = g_strv_builder_end (disabled);

  /* Delayed settings announce each key as it is set: look the providers
   * up once, with all written. */
  self->saving_server = TRUE;
  g_settings_delay (self->settings);
  g_settings_set_value (self->settings, "servers", g_variant_builder_end (&list));
  g_settings_set_value (self->settings, "server-names", g_variant_builder_end (&names));
  g_settings_set_strv (self->settings, "disabled-servers", (const char * const *) off);
  if (active != NULL)
    g_settings_set_string (self->settings, "active-server", active);
  g_settings_apply (self->settings);
  self->saving_server = FALSE;
  rill_session_reload_provider (self);
}

RillServer *
rill_session_dup_active_server (RillSession *self)
{
  g_autoptr(GPtrArray) servers = NULL;
  g_autofree char *active = NULL;

  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);

  servers = read_servers (self);
  active = g_settings_get_string (self->settings, "active-server");
  for (guint i = 0; i < servers->len; i++)
    {
      RillServer *server = g_ptr_array_index (servers, i);

      if (*active == '\0' || g_strcmp0 (server->id, active) == 0)
        return rill_server_copy (server);
    }
  return NULL;
}

static void
ensure_id (RillServer *server)
{
  if (server->id == NULL || *server->id == '\0')
    {
      g_free (server->id);
      server->id = g_uuid_string_random ();
    }
}

void
rill_session_save_server (RillSession *self,
                          RillServer  *server)
{
  g_autoptr(GPtrArray) servers = NULL;
  RillServer *copy;

  g_return_if_fail (RILL_IS_SESSION (self));
  g_return_if_fail (server != NULL);

  ensure_id (server);
  servers = read_servers (self);
  for (guint i = 0; i < servers->len; i++)
    if (g_strcmp0 (((RillServer *) g_ptr_array_index (servers, i))->id, server->id) == 0)
      g_ptr_array_remove_index (servers, i--);
  copy = rill_server_copy (server);
  g_clear_pointer (&copy->environment, g_free);
  g_ptr_array_insert (servers, 0, copy);
  write_servers (self, servers, server->id);
}

void
rill_session_update_server (RillSession *self,
                            RillServer  *server)
{
  g_autoptr(GPtrArray) servers = NULL;
  RillServer *copy;
  gboolean replaced = FALSE;

  g_return_if_fail (RILL_IS_SESSION (self));
  g_return_if_fail (server != NULL);

  ensure_id (server);
  copy = rill_server_copy (server);
  /* Kept from the environment: the address and kind, never its key. */
  g_clear_pointer (&copy->environment, g_free);
  servers = read_servers (self);
  for (guint i = 0; i < servers->len && !replaced; i++)
    if (g_strcmp0 (((RillServer *) g_ptr_array_index (servers, i))->id, server->id) == 0)
      {
        rill_server_free (g_ptr_array_index (servers, i));
        servers->pdata[i] = copy;
        replaced = TRUE;
      }
  if (!replaced)
    g_ptr_array_add (servers, copy);
  write_servers (self, servers, NULL);
}

void
rill_session_remove_server (RillSession *self,
                            const char  *server_id)
{
  g_autoptr(GPtrArray) servers = NULL;

  g_return_if_fail (RILL_IS_SESSION (self));
  g_return_if_fail (server_id != NULL);

  servers = read_servers (self);
  for (guint i = 0; i < servers->len; i++)
    if (g_strcmp0 (((RillServer *) g_ptr_array_index (servers, i))->id, server_id) == 0)
      g_ptr_array_remove_index (servers, i--);
  write_servers (self, servers, NULL);
}

void
rill_session_set_server_enabled (RillSession *self,
                                 const char  *server_id,
                                 gboolean     enabled)
{
  g_autoptr(GPtrArray) servers = NULL;

  g_return_if_fail (RILL_IS_SESSION (self));
  g_return_if_fail (server_id != NULL);

  servers = read_servers (self);
  for (guint i = 0; i < servers->len; i++)
    {
      RillServer *server = g_ptr_array_index (servers, i);

      if (g_strcmp0 (server->id, server_id) == 0)
        server->enabled = enabled;
    }
  write_servers (self, servers, NULL);
}

GListModel *
rill_session_get_servers (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return G_LIST_MODEL (self->servers);
}

RillServerItem *
rill_session_find_server (RillSession *self,
                          const char  *server_id)
{
  guint n;

  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);

  if (server_id == NULL)
    return NULL;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->servers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RillServerItem) item = g_list_model_get_item (G_LIST_MODEL (self->servers), i);

      if (g_strcmp0 (item->server->id, server_id) == 0)
        return item;  /* the list holds it */
    }
  return NULL;
}

RillProvider *
rill_session_get_provider_for (RillSession *self,
                               const char  *server_id)
{
  RillServerItem *item = rill_session_find_server (self, server_id);

  return item ? item->provider : NULL;
}

const char *
rill_session_get_provider_id (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->provider_id;
}

/* The providers */

static void
set_provider (RillSession    *self,
              RillServerItem *item,
              const char     *status)
{
  RillProvider *provider = item != NULL ? item->provider : NULL;

  g_set_object (&self->provider, provider);
  g_free (self->provider_id);
  self->provider_id = item ? g_strdup (item->server->id) : NULL;
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
  const char *url = rill_provider_get_display_url (provider);

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
  g_autoptr(RillSession) self = user_data;
  g_autoptr(RillProvider) provider = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillServer) server = NULL;
  g_autoptr(RillServerItem) item = NULL;
  g_autofree char *status = NULL;
  g_autofree char *id = NULL;

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

  /* Its address is its id: the same server is found again after a
   * restart. */
  id = g_strconcat ("local:", rill_provider_get_base_url (provider), NULL);
  server = rill_server_new (id, rill_provider_get_kind (provider),
                            rill_provider_get_base_url (provider));
  item = server_item_new (server);
  item->provider = g_object_ref (provider);
  g_list_store_append (self->servers, item);
  status = describe_provider (provider, FOUND_LOCALLY);
  set_provider (self, item, status);
}

/* One reload: the items being made, and the key look-ups still out. */
typedef struct
{
  RillSession  *self;
  GPtrArray    *items;
  GCancellable *cancellable;
  guint         pending;
} Reload;

static void
reload_free (Reload *reload)
{
  g_object_unref (reload->self);
  g_ptr_array_unref (reload->items);
  g_object_unref (reload->cancellable);
  g_free (reload);
}

static void
reload_done (Reload *reload)
{
  RillSession *self = reload->self;
  g_autofree char *active = g_settings_get_string (self->settings, "active-server");
  RillServerItem *first = NULL;
  g_autofree char *status = NULL;

  g_list_store_splice (self->servers, 0, g_list_model_get_n_items (G_LIST_MODEL (self->servers)),
                       reload->items->pdata, reload->items->len);

  /* The environment's, then the active one, then any switched on. */
  for (guint i = 0; i < reload->items->len && first == NULL; i++)
    {
      RillServerItem *item = g_ptr_array_index (reload->items, i);

      if (item->provider != NULL && item->server->environment != NULL)
        first = item;
    }
  for (guint i = 0; i < reload->items->len && first == NULL; i++)
    {
      RillServerItem *item = g_ptr_array_index (reload->items, i);

      if (item->provider != NULL && g_strcmp0 (item->server->id, active) == 0)
        first = item;
    }
  for (guint i = 0; i < reload->items->len && first == NULL; i++)
    {
      RillServerItem *item = g_ptr_array_index (reload->items, i);

      if (item->provider != NULL)
        first = item;
    }

  if (first != NULL)
    {
      status = describe_provider (first->provider, first->server->environment != NULL
                                  ? FROM_ENVIRONMENT : FROM_SETTINGS);
      set_provider (self, first, status);
      return;
    }

  set_provider (self, NULL, _("Looking for a server on this computer…"));
  rill_provider_discover_async (reload->cancellable, discover_cb, g_object_ref (self));
}

typedef struct
{
  Reload         *reload;
  RillServerItem *item;
} KeyLookup;

static void
lookup_key_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  KeyLookup *lookup = user_data;
  Reload *reload = lookup->reload;
  RillServerItem *item = lookup->item;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  g_free (lookup);
  key = rill_keyring_lookup_key_finish (RILL_KEYRING (object), result, &error);
  /* A locked or missing keyring still leaves servers that need no key. */
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Could not read the API key from the keyring: %s", error->message);
  item->provider = rill_provider_new (item->server->kind, item->server->base_url, key);

  if (--reload->pending == 0)
    {
      if (!g_cancellable_is_cancelled (reload->cancellable))
        reload_done (reload);
      reload_free (reload);
    }
}

void
rill_session_reload_provider (RillSession *self)
{
  static const char *variables[] = { "OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY" };
  g_autoptr(GPtrArray) servers = NULL;
  Reload *reload;

  g_return_if_fail (RILL_IS_SESSION (self));

  g_cancellable_cancel (self->provider_cancellable);
  g_clear_object (&self->provider_cancellable);
  self->provider_cancellable = g_cancellable_new ();

  reload = g_new0 (Reload, 1);
  reload->self = g_object_ref (self);
  reload->items = g_ptr_array_new_with_free_func (g_object_unref);
  reload->cancellable = g_object_ref (self->provider_cancellable);
  /* One held while the look-ups start, so none finishes the reload early. */
  reload->pending = 1;

  /* Each variable set is a server of its own, used as it is and never
   * written anywhere; its id is the variable, the same after a restart. */
  for (guint i = 0; i < G_N_ELEMENTS (variables); i++)
    {
      g_autoptr(RillProvider) provider =
        rill_provider_new_from_environment_variable (variables[i]);
      g_autofree char *id = NULL;
      g_autoptr(RillServer) server = NULL;
      RillServerItem *item;

      if (provider == NULL)
        continue;
      id = g_strconcat ("env:", variables[i], NULL);
      server = rill_server_new (id, rill_provider_get_kind (provider),
                                rill_provider_get_base_url (provider));
      server->environment = g_strdup (variables[i]);
      item = server_item_new (server);
      item->provider = g_steal_pointer (&provider);
      g_ptr_array_add (reload->items, item);
    }

  servers = read_servers (self);
  for (guint i = 0; i < servers->len; i++)
    {
      RillServer *server = g_ptr_array_index (servers, i);
      RillServerItem *item = server_item_new (server);

      g_ptr_array_add (reload->items, item);
      if (!server->enabled)
        continue;
      if (self->keyring == NULL)
        item->provider = rill_provider_new (server->kind, server->base_url, NULL);
      else
        {
          KeyLookup *lookup = g_new0 (KeyLookup, 1);

          lookup->reload = reload;
          lookup->item = item;
          reload->pending++;
          rill_keyring_lookup_key_async (self->keyring, server->id, reload->cancellable,
                                         lookup_key_cb, lookup);
        }
    }

  if (--reload->pending == 0)
    {
      reload_done (reload);
      reload_free (reload);
    }
}

/* The store */

static void
set_store_waiting (RillSession *self,
                   gboolean     waiting)
{
  if (self->store_waiting == waiting)
    return;
  self->store_waiting = waiting;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE_WAITING]);
}

static void
store_waiting_cb (gpointer user_data)
{
  set_store_waiting (RILL_SESSION (user_data), TRUE);
}

/* New conversations offer the tools of "default-tools", set in the same
 * INSERT so that no reply can start before they are. */
static void
default_tools_changed_cb (RillSession *self)
{
  g_autofree char *tools = NULL;

  if (self->store == NULL)
    return;
  tools = g_settings_get_string (self->settings, "default-tools");
  rill_store_set_new_conversation_tools (self->store, tools);
}

static void
store_opened_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(RillSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = rill_store_open_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_object_freeze_notify (G_OBJECT (self));
  set_store_waiting (self, FALSE);
  if (store == NULL)
    {
      g_warning ("Could not open the history: %s", error->message);
      self->store_error = g_steal_pointer (&error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE_ERROR]);
    }
  else
    {
      self->store = g_steal_pointer (&store);
      default_tools_changed_cb (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

void
rill_session_open_store (RillSession *self)
{
  g_autofree char *path = NULL;

  g_return_if_fail (RILL_IS_SESSION (self));

  if (self->store_opened)
    return;
  self->store_opened = TRUE;

  path = rill_store_default_path ();
  rill_store_open_async (path, self->store_cancellable, store_waiting_cb, store_opened_cb,
                         g_object_ref (self));
}

RillToolbox *
rill_session_get_toolbox (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);

  /* Made when first needed: reading mcp.json and watching it is for runs
   * that use tools (or show them). */
  if (self->toolbox == NULL)
    {
      g_autoptr(RillMcpConfig) config = rill_mcp_config_new (NULL);

      self->toolbox = rill_toolbox_new (config, self->keyring);
      rill_toolbox_set_settings (self->toolbox, self->settings);
    }
  return self->toolbox;
}

RillStore *
rill_session_get_store (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->store;
}

const GError *
rill_session_get_store_error (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->store_error;
}

gboolean
rill_session_get_store_waiting (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), FALSE);
  return self->store_waiting;
}

GSettings *
rill_session_get_settings (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->settings;
}

RillKeyring *
rill_session_get_keyring (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->keyring;
}

RillProvider *
rill_session_get_provider (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->provider;
}

const char *
rill_session_get_provider_status (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return self->provider_status;
}

void
rill_session_fill_reply_options (RillSession      *self,
                                 RillConversation *conversation,
                                 const char       *model,
                                 RillReplyOptions *options)
{
  const char *own_prompt = conversation ? rill_conversation_get_system_prompt (conversation) : NULL;

  g_return_if_fail (RILL_IS_SESSION (self));

  rill_reply_options_init (options);
  options->model = g_strdup (model);
  if (self->default_model != NULL && *self->default_model != '\0')
    options->default_model = g_strdup (self->default_model);
  /* A conversation's own prompt wins over the one from the preferences. */
  if ((own_prompt == NULL || *own_prompt == '\0') &&
      self->system_prompt != NULL && *self->system_prompt != '\0')
    options->system_prompt = g_strdup (self->system_prompt);
  options->temperature = self->temperature;
  options->history_limit = self->history_limit;
  /* Read when a reply starts, so a change applies to the next one. */
  options->history_image_limit = g_settings_get_uint (self->settings, "history-images");
  /* The copy of the preset it started from wins, whatever the preferences
   * or the preset say now. */
  if (conversation != NULL)
    {
      double temperature;

      if (rill_conversation_get_temperature (conversation, &temperature))
        options->temperature = temperature < 0 ? -1 : temperature;
      if (rill_conversation_get_history_limit (conversation) >= 0)
        options->history_limit = rill_conversation_get_history_limit (conversation);
    }
  options->connect_timeout_ms = self->connect_timeout * 1000;
  options->idle_timeout_ms = self->idle_timeout * 1000;
}

/* The model last chosen: remembered as the person chooses it, in every
 * window; before any choice in this run, the model of the conversation
 * used last (with a model of its own), read once the history is open, so
 * that it holds across a restart without a setting of its own. */
void
rill_session_set_last_model (RillSession *self,
                             const char  *model,
                             const char  *server_id)
{
  g_return_if_fail (RILL_IS_SESSION (self));

  if (model == NULL || *model == '\0')
    return;
  self->last_model_read = TRUE;
  g_free (self->last_model);
  self->last_model = g_strdup (model);
  g_free (self->last_server);
  self->last_server = server_id && *server_id ? g_strdup (server_id) : NULL;
}

static void
read_last_model (RillSession *self)
{
  g_autoptr(GPtrArray) recent = NULL;

  if (self->last_model_read || self->store == NULL)
    return;
  self->last_model_read = TRUE;
  recent = rill_store_list_conversations (self->store, 0, 20, NULL);
  for (guint i = 0; recent != NULL && i < recent->len; i++)
    {
      RillConversation *conversation = recent->pdata[i];
      const char *model = rill_conversation_get_model (conversation);

      if (model != NULL && *model != '\0')
        {
          self->last_model = g_strdup (model);
          self->last_server = g_strdup (rill_conversation_get_server (conversation));
          return;
        }
    }
}

const char *
rill_session_get_last_model (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  read_last_model (self);
  return self->last_model;
}

const char *
rill_session_get_last_server (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  read_last_model (self);
  return self->last_server;
}

GPtrArray *
rill_session_dup_presets (RillSession *self)
{
  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);
  return rill_presets_load (self->settings);
}

RillPreset *
rill_session_dup_preset (RillSession *self,
                         const char  *name)
{
  g_autoptr(GPtrArray) presets = NULL;

  g_return_val_if_fail (RILL_IS_SESSION (self), NULL);

  if (name == NULL || *name == '\0')
    return NULL;
  presets = rill_presets_load (self->settings);
  for (guint i = 0; i < presets->len; i++)
    {
      RillPreset *preset = presets->pdata[i];

      if (g_strcmp0 (preset->name, name) == 0)
        return rill_preset_copy (preset);
    }
  return NULL;
}

void
rill_session_set_presets (RillSession *self,
                          GPtrArray   *presets)
{
  g_return_if_fail (RILL_IS_SESSION (self));
  rill_presets_save (self->settings, presets);
}

/* GObject */

/* "change-event" rather than two "changed::" handlers: a change made
 * elsewhere to both keys at once needs one look-up. */
static gboolean
settings_changed_cb (RillSession  *self,
                     const GQuark *keys,
                     int           n_keys)
{
  GQuark servers = g_quark_from_static_string ("servers");
  GQuark active = g_quark_from_static_string ("active-server");
  GQuark names = g_quark_from_static_string ("server-names");
  GQuark disabled = g_quark_from_static_string ("disabled-servers");

  if (self->saving_server)
    return FALSE;
  for (int i = 0; i < n_keys; i++)
    if (keys[i] == servers || keys[i] == active || keys[i] == names || keys[i] == disabled)
      {
        rill_session_reload_provider (self);
        break;
      }
  return FALSE;
}

static void
rill_session_constructed (GObject *object)
{
  RillSession *self = RILL_SESSION (object);
  static const struct { const char *key; guint prop; } bound[] = {
    { "default-model", PROP_DEFAULT_MODEL },
    { "system-prompt", PROP_SYSTEM_PROMPT },
    { "temperature", PROP_TEMPERATURE },
    { "history-limit", PROP_HISTORY_LIMIT },
    { "connect-timeout", PROP_CONNECT_TIMEOUT },
    { "idle-timeout", PROP_IDLE_TIMEOUT },
    { "name-conversations", PROP_NAME_CONVERSATIONS },
  };

  G_OBJECT_CLASS (rill_session_parent_class)->constructed (object);

  g_assert (self->settings != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bound); i++)
    g_settings_bind (self->settings, bound[i].key, self,
                     g_param_spec_get_name (properties[bound[i].prop]), G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_object (self->settings, "change-event", G_CALLBACK (settings_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::default-tools",
                           G_CALLBACK (default_tools_changed_cb), self, G_CONNECT_SWAPPED);
}

static void
rill_session_dispose (GObject *object)
{
  RillSession *self = RILL_SESSION (object);

  g_cancellable_cancel (self->provider_cancellable);
  g_cancellable_cancel (self->store_cancellable);

  G_OBJECT_CLASS (rill_session_parent_class)->dispose (object);
}

static void
rill_session_finalize (GObject *object)
{
  RillSession *self = RILL_SESSION (object);

  g_clear_object (&self->provider_cancellable);
  g_clear_object (&self->provider);
  g_clear_pointer (&self->provider_id, g_free);
  g_clear_object (&self->servers);
  g_clear_pointer (&self->provider_status, g_free);
  g_clear_object (&self->store_cancellable);
  g_clear_object (&self->toolbox);
  g_clear_object (&self->store);
  g_clear_error (&self->store_error);
  g_clear_object (&self->keyring);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->default_model, g_free);
  g_clear_pointer (&self->system_prompt, g_free);
  g_clear_pointer (&self->last_model, g_free);
  g_clear_pointer (&self->last_server, g_free);

  G_OBJECT_CLASS (rill_session_parent_class)->finalize (object);
}

static void
rill_session_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  RillSession *self = RILL_SESSION (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_KEYRING:
      g_value_set_object (value, self->keyring);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_STORE_ERROR:
      g_value_set_boxed (value, self->store_error);
      break;
    case PROP_STORE_WAITING:
      g_value_set_boolean (value, self->store_waiting);
      break;
    case PROP_PROVIDER:
      g_value_set_object (value, self->provider);
      break;
    case PROP_PROVIDER_STATUS:
      g_value_set_string (value, self->provider_status);
      break;
    case PROP_DEFAULT_MODEL:
      g_value_set_string (value, self->default_model);
      break;
    case PROP_SYSTEM_PROMPT:
      g_value_set_string (value, self->system_prompt);
      break;
    case PROP_TEMPERATURE:
      g_value_set_double (value, self->temperature);
      break;
    case PROP_HISTORY_LIMIT:
      g_value_set_uint (value, self->history_limit);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, self->idle_timeout);
      break;
    case PROP_NAME_CONVERSATIONS:
      g_value_set_boolean (value, self->name_conversations);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_string (RillSession  *self,
            char        **field,
            const GValue *value,
            guint         prop_id)
{
  if (g_strcmp0 (*field, g_value_get_string (value)) == 0)
    return;
  g_free (*field);
  *field = g_value_dup_string (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_uint (RillSession  *self,
          guint        *field,
          const GValue *value,
          guint         prop_id)
{
  if (*field == g_value_get_uint (value))
    return;
  *field = g_value_get_uint (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
rill_session_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  RillSession *self = RILL_SESSION (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_KEYRING:
      self->keyring = g_value_dup_object (value);
      break;
    case PROP_DEFAULT_MODEL:
      set_string (self, &self->default_model, value, prop_id);
      break;
    case PROP_SYSTEM_PROMPT:
      set_string (self, &self->system_prompt, value, prop_id);
      break;
    case PROP_TEMPERATURE:
      if (self->temperature != g_value_get_double (value))
        {
          self->temperature = g_value_get_double (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_HISTORY_LIMIT:
      set_uint (self, &self->history_limit, value, prop_id);
      break;
    case PROP_CONNECT_TIMEOUT:
      set_uint (self, &self->connect_timeout, value, prop_id);
      break;
    case PROP_IDLE_TIMEOUT:
      set_uint (self, &self->idle_timeout, value, prop_id);
      break;
    case PROP_NAME_CONVERSATIONS:
      if (self->name_conversations != g_value_get_boolean (value))
        {
          self->name_conversations = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_session_class_init (RillSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags readable = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  const GParamFlags setting = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = rill_session_constructed;
  object_class->dispose = rill_session_dispose;
  object_class->finalize = rill_session_finalize;
  object_class->get_property = rill_session_get_property;
  object_class->set_property = rill_session_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KEYRING] =
    g_param_spec_object ("keyring", NULL, NULL, RILL_TYPE_KEYRING,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RILL_TYPE_STORE, readable);
  properties[PROP_STORE_ERROR] =
    g_param_spec_boxed ("store-error", NULL, NULL, G_TYPE_ERROR, readable);
  properties[PROP_STORE_WAITING] =
    g_param_spec_boolean ("store-waiting", NULL, NULL, FALSE, readable);
  properties[PROP_PROVIDER] =
    g_param_spec_object ("provider", NULL, NULL, RILL_TYPE_PROVIDER, readable);
  properties[PROP_PROVIDER_STATUS] =
    g_param_spec_string ("provider-status", NULL, NULL, NULL, readable);
  properties[PROP_DEFAULT_MODEL] =
    g_param_spec_string ("default-model", NULL, NULL, NULL, setting);
  properties[PROP_SYSTEM_PROMPT] =
    g_param_spec_string ("system-prompt", NULL, NULL, NULL, setting);
  properties[PROP_TEMPERATURE] =
    g_param_spec_double ("temperature", NULL, NULL, -1, 2, -1, setting);
  properties[PROP_HISTORY_LIMIT] =
    g_param_spec_uint ("history-limit", NULL, NULL, 0, 1000, 50, setting);
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 1, 600, 30, setting);
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL, 1, 3600, 120, setting);
  properties[PROP_NAME_CONVERSATIONS] =
    g_param_spec_boolean ("name-conversations", NULL, NULL, FALSE, setting);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rill_session_init (RillSession *self)
{
  self->store_cancellable = g_cancellable_new ();
  self->servers = g_list_store_new (RILL_TYPE_SERVER_ITEM);
  self->temperature = -1;
  self->history_limit = 50;
  self->connect_timeout = 30;
  self->idle_timeout = 120;
}

RillSession *
rill_session_new (GSettings   *settings,
                  RillKeyring *keyring)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (keyring == NULL || RILL_IS_KEYRING (keyring), NULL);

  return g_object_new (RILL_TYPE_SESSION, "settings", settings, "keyring", keyring, NULL);
}

/* Naming a conversation after its first reply (rill-titler.h) */

static void
named_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RillSession *self = g_task_get_source_object (task);
  gint64 conversation_id = GPOINTER_TO_SIZE (g_task_get_task_data (task));
  g_autoptr(GError) error = NULL;
  g_autofree char *title = rill_titler_request_finish (RILL_PROVIDER (source), result, &error);

  /* Quietly: the title from the first message stays. */
  if (title == NULL)
    {
      g_message ("The conversation was not named by the model: %s", error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->store != NULL)
    rill_store_update_conversation_async (self->store, conversation_id,
                                          RILL_CONVERSATION_TITLE_FROM_MODEL, title,
                                          NULL, NULL, NULL);
  g_task_return_pointer (task, g_steal_pointer (&title), g_free);
}

void
rill_session_name_conversation_async (RillSession         *self,
                                      RillReply           *reply,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(RillMessage) question = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GTask) task = NULL;
  RillProvider *provider = NULL;
  const char *server;

  g_return_if_fail (RILL_IS_SESSION (self));
  g_return_if_fail (RILL_IS_REPLY (reply));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_session_name_conversation_async);
  g_task_set_task_data (task, GSIZE_TO_POINTER (rill_reply_get_conversation_id (reply)), NULL);

  if (!self->name_conversations || self->store == NULL ||
      rill_reply_get_status (reply) != RILL_STATUS_COMPLETE ||
      rill_reply_get_user_message_id (reply) == 0)
    return g_task_return_pointer (task, NULL, NULL);
  /* After the first exchange only: the question opens the conversation. */
  question = rill_store_get_message (self->store, rill_reply_get_user_message_id (reply), NULL);
  if (question == NULL || rill_message_get_parent_id (question) != 0)
    return g_task_return_pointer (task, NULL, NULL);
  conversation = rill_store_get_conversation (self->store,
                                              rill_reply_get_conversation_id (reply), NULL);
  if (conversation == NULL)
    return g_task_return_pointer (task, NULL, NULL);
  /* The same server as the reply. */
  server = rill_conversation_get_server (conversation);
  if (server != NULL && *server != '\0')
    provider = rill_session_get_provider_for (self, server);
  if (provider == NULL)
    provider = self->provider;
  if (provider == NULL)
    return g_task_return_pointer (task, NULL, NULL);

  rill_titler_request_async (provider, rill_reply_get_model (reply),
                             rill_message_get_content (question),
                             rill_reply_get_content (reply)->str,
                             self->connect_timeout * 1000, cancellable, named_cb,
                             g_steal_pointer (&task));
}

char *
rill_session_name_conversation_finish (RillSession   *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
