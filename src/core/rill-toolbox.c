/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-toolbox.c: the MCP servers of mcp.json, and the tools offered.
 *
 * Design:
 *
 * - The clients follow the configuration: on every "changed" the servers
 *   are compared field by field with those the clients were made for; a
 *   new server gets a client, a gone or changed one is stopped (bounded,
 *   in the background) and a changed one gets a new client. A client that
 *   is replaced is never reused, so a call in flight on it ends with the
 *   client's own "was stopped" error rather than on another program.
 * - The configuration may still be loading when tools are first needed:
 *   collect waits for the load (it is the first thing the toolbox does).
 * - Collecting is one GTask with a count of servers still out; each server
 *   lists its tools on its own and a failure is only a line in the
 *   failures, so one slow or broken server never fails the others. A server
 *   already running with its tools listed is not asked again: the client
 *   relists by itself when the server says its list changed.
 * - Function names are decided over the whole set offered at once, so that
 *   they are unique among what one request carries; see name_tools.
 * - Always-allowed tools live in the "always-allowed-tools" setting, or in
 *   memory without GSettings (tests). */

#include "rill-toolbox.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#define FUNCTION_NAME_MAX 64
/* How long a server that left the configuration has to exit. */
#define RETIRE_TIMEOUT_MS 1000

/* ---- RillToolChoice ---------------------------------------------------- */

struct _RillToolChoice
{
  /* server name → GHashTable set of the names of tools switched off */
  GHashTable *servers;
};

G_DEFINE_BOXED_TYPE (RillToolChoice, rill_tool_choice, rill_tool_choice_copy,
                     rill_tool_choice_free)

static GHashTable *
new_off_set (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static RillToolChoice *
choice_new (void)
{
  RillToolChoice *self = g_new0 (RillToolChoice, 1);

  self->servers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
  return self;
}

static void
read_server (RillToolChoice *self,
             const char     *name,
             JsonNode       *node)
{
  GHashTable *off;
  JsonNode *off_node;

  /* A server whose value is not an object is not the shape: not offered. */
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  off = new_off_set ();
  g_hash_table_replace (self->servers, g_strdup (name), off);
  off_node = json_object_get_member (json_node_get_object (node), "off");
  if (off_node == NULL || !JSON_NODE_HOLDS_ARRAY (off_node))
    return;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (off_node)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (off_node), i);

      if (JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING)
        g_hash_table_add (off, g_strdup (json_node_get_string (item)));
    }
}

RillToolChoice *
rill_tool_choice_new_from_json (const char *json)
{
  RillToolChoice *self = choice_new ();
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  JsonNode *servers;
  g_autoptr(GList) members = NULL;

  if (json == NULL || *json == '\0')
    return self;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json, -1, NULL))
    return self;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return self;
  servers = json_object_get_member (json_node_get_object (root), "servers");
  if (servers == NULL || !JSON_NODE_HOLDS_OBJECT (servers))
    return self;
  members = json_object_get_members (json_node_get_object (servers));
  for (GList *l = members; l != NULL; l = l->next)
    read_server (self, l->data, json_object_get_member (json_node_get_object (servers), l->data));
  return self;
}

RillToolChoice *
rill_tool_choice_copy (RillToolChoice *self)
{
  RillToolChoice *copy;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (self != NULL, NULL);

  copy = choice_new ();
  g_hash_table_iter_init (&iter, self->servers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GHashTable *off = new_off_set ();
      GHashTableIter tools;
      gpointer tool;

      g_hash_table_iter_init (&tools, value);
      while (g_hash_table_iter_next (&tools, &tool, NULL))
        g_hash_table_add (off, g_strdup (tool));
      g_hash_table_replace (copy->servers, g_strdup (key), off);
    }
  return copy;
}

void
rill_tool_choice_free (RillToolChoice *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->servers);
  g_free (self);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The keys of @table, sorted; the strings are the table's. */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

char *
rill_tool_choice_to_json (RillToolChoice *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) servers = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  if (rill_tool_choice_is_empty (self))
    return NULL;
  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "servers");
  json_builder_begin_object (builder);
  servers = sorted_keys (self->servers);
  for (guint i = 0; i < servers->len; i++)
    {
      GHashTable *off = g_hash_table_lookup (self->servers, servers->pdata[i]);
      g_autoptr(GPtrArray) tools = sorted_keys (off);

      json_builder_set_member_name (builder, servers->pdata[i]);
      json_builder_begin_object (builder);
      /* {"off": []} says nothing more than {}. */
      if (tools->len > 0)
        {
          json_builder_set_member_name (builder, "off");
          json_builder_begin_array (builder);
          for (guint j = 0; j < tools->len; j++)
            json_builder_add_string_value (builder, tools->pdata[j]);
          json_builder_end_array (builder);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

gboolean
rill_tool_choice_is_empty (RillToolChoice *self)
{
  g_return_val_if_fail (self != NULL, TRUE);
  return g_hash_table_size (self->servers) == 0;
}

GStrv
rill_tool_choice_get_servers (RillToolChoice *self)
{
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (self != NULL, NULL);

  keys = sorted_keys (self->servers);
  for (guint i = 0; i < keys->len; i++)
    g_strv_builder_add (builder, keys->pdata[i]);
  return g_strv_builder_end (builder);
}

gboolean
rill_tool_choice_get_server_enabled (RillToolChoice *self,
                                     const char     *server)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (server != NULL, FALSE);
  return g_hash_table_contains (self->servers, server);
}

void
rill_tool_choice_set_server_enabled (RillToolChoice *self,
                                     const char     *server,
                                     gboolean        enabled)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (server != NULL);

  if (!enabled)
    g_hash_table_remove (self->servers, server);
  else if (!g_hash_table_contains (self->servers, server))
    g_hash_table_replace (self->servers, g_strdup (server), new_off_set ());
}

gboolean
rill_tool_choice_get_tool_enabled (RillToolChoice *self,
                                   const char     *server,
                                   const char     *tool)
{
  GHashTable *off;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (server != NULL && tool != NULL, FALSE);

  off = g_hash_table_lookup (self->servers, server);
  return off != NULL && !g_hash_table_contains (off, tool);
}

void
rill_tool_choice_set_tool_enabled (RillToolChoice *self,
                                   const char     *server,
                                   const char     *tool,
                                   gboolean        enabled)
{
  GHashTable *off;

  g_return_if_fail (self != NULL);
  g_return_if_fail (server != NULL && tool != NULL);

  off = g_hash_table_lookup (self->servers, server);
  if (off == NULL)
    {
      /* Switching a tool off on a server not offered changes nothing. */
      if (!enabled)
        return;
      off = new_off_set ();
      g_hash_table_replace (self->servers, g_strdup (server), off);
    }
  if (enabled)
    g_hash_table_remove (off, tool);
  else
    g_hash_table_add (off, g_strdup (tool));
}

/* ---- RillOfferedTool --------------------------------------------------- */

typedef struct
{
  RillOfferedTool public;
  gatomicrefcount ref_count;
} OfferedTool;

G_DEFINE_BOXED_TYPE (RillOfferedTool, rill_offered_tool, rill_offered_tool_ref,
                     rill_offered_tool_unref)

/* Not in the header's contract, but tests of what runs tools need one. */
RillOfferedTool *
rill_offered_tool_new (const char  *server,
                       RillMcpTool *tool,
                       const char  *function_name)
{
  OfferedTool *self;

  g_return_val_if_fail (server != NULL && tool != NULL && function_name != NULL, NULL);

  self = g_new0 (OfferedTool, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->public.server = g_strdup (server);
  self->public.tool = rill_mcp_tool_ref (tool);
  self->public.function_name = g_strdup (function_name);
  return &self->public;
}

RillOfferedTool *
rill_offered_tool_ref (RillOfferedTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&((OfferedTool *) self)->ref_count);
  return self;
}

void
rill_offered_tool_unref (RillOfferedTool *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&((OfferedTool *) self)->ref_count))
    return;
  g_free (self->server);
  rill_mcp_tool_unref (self->tool);
  g_free (self->function_name);
  g_free (self);
}

/* Every character outside [a-zA-Z0-9_-] becomes "_", and the whole is cut to
 * FUNCTION_NAME_MAX bytes (ASCII by then); "" becomes "tool". */
static char *
function_name_from (const char *text)
{
  GString *name = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && name->len < FUNCTION_NAME_MAX; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '_' || *p == '-')
        g_string_append_c (name, *p);
      else if ((*p & 0xc0) != 0x80)
        /* One "_" per character, not per byte of a UTF-8 sequence. */
        g_string_append_c (name, '_');
    }
  if (name->len == 0)
    g_string_append (name, "tool");
  return g_string_free (name, FALSE);
}

/* Gives each of @tools (OfferedTool under construction, function_name
 * unset) its function name: the tool's own (made valid) when no other tool
 * has it, else "<server>__<tool>"; should even that clash (names cut at 64,
 * say), a number is put at the end. */
static void
name_tools (GPtrArray *tools)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < tools->len; i++)
    {
      RillOfferedTool *offered = tools->pdata[i];
      char *base = function_name_from (offered->tool->name);

      g_ptr_array_add (bases, base);
      g_hash_table_insert (counts, g_strdup (base),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts,
                                                                                    base)) + 1));
    }
  for (guint i = 0; i < tools->len; i++)
    {
      RillOfferedTool *offered = tools->pdata[i];
      g_autofree char *name = NULL;

      if (GPOINTER_TO_UINT (g_hash_table_lookup (counts, bases->pdata[i])) == 1)
        name = g_strdup (bases->pdata[i]);
      else
        {
          g_autofree char *joined = g_strconcat (offered->server, "__", offered->tool->name,
                                                 NULL);
          name = function_name_from (joined);
        }
      if (g_hash_table_contains (taken, name))
        {
          g_autofree char *clash = g_steal_pointer (&name);

          for (guint n = 2; name == NULL || g_hash_table_contains (taken, name); n++)
            {
              g_autofree char *suffix = g_strdup_printf ("_%u", n);
              g_autofree char *cut = g_strndup (clash, FUNCTION_NAME_MAX - strlen (suffix));

              g_free (name);
              name = g_strconcat (cut, suffix, NULL);
            }
        }
      offered->function_name = g_steal_pointer (&name);
      g_hash_table_add (taken, offered->function_name);
    }
}

/* ---- RillToolbox ------------------------------------------------------- */

struct _RillToolbox
{
  GObject        parent_instance;

  RillMcpConfig *config;
  RillKeyring   *keyring;
  GSettings     *settings;
  /* RillMcpClient, in the configuration's order */
  GPtrArray     *clients;
  /* "server\x1ftool" when there is no GSettings */
  GHashTable    *allowed;
  /* collect tasks waiting for the first load of the configuration */
  GQueue         waiting;
  gboolean       loading;
  /* Clients being stopped because they left the configuration, with the
   * stop_all tasks waiting for them. */
  guint          retiring;
  GQueue         stop_waiters;
};

G_DEFINE_FINAL_TYPE (RillToolbox, rill_toolbox, G_TYPE_OBJECT)

enum {
  SIGNAL_SERVERS_CHANGED,
  SIGNAL_ALWAYS_ALLOWED_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
strv_equal0 (char **a,
             char **b)
{
  if (a == NULL || b == NULL)
    return (a == NULL || *a == NULL) && (b == NULL || *b == NULL);
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

static gboolean
server_equal (RillMcpServer *a,
              RillMcpServer *b)
{
  return g_strcmp0 (a->name, b->name) == 0
         && g_strcmp0 (a->command, b->command) == 0
         && strv_equal0 (a->args, b->args)
         && strv_equal0 (a->env, b->env)
         && g_strcmp0 (a->url, b->url) == 0
         && strv_equal0 (a->headers, b->headers)
         && a->disabled == b->disabled;
}

static void
retire_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(RillToolbox) self = data;

  rill_mcp_client_stop_finish (RILL_MCP_CLIENT (source), result, NULL);
  g_assert (self->retiring > 0);
  if (--self->retiring > 0)
    return;
  while (!g_queue_is_empty (&self->stop_waiters))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&self->stop_waiters);

      g_task_return_boolean (task, TRUE);
    }
}

static void
retire (RillToolbox   *self,
        RillMcpClient *client)
{
  self->retiring++;
  rill_mcp_client_stop_async (client, RETIRE_TIMEOUT_MS, retire_cb, g_object_ref (self));
}

static RillMcpClient *
find_client (GPtrArray  *clients,
             const char *name)
{
  for (guint i = 0; i < clients->len; i++)
    if (g_strcmp0 (rill_mcp_client_get_name (clients->pdata[i]), name) == 0)
      return clients->pdata[i];
  return NULL;
}

/* Makes the clients the configuration's servers, keeping each client whose
 * server is unchanged. */
static void
sync_clients (RillToolbox *self)
{
  GPtrArray *servers = rill_mcp_config_get_servers (self->config);
  g_autoptr(GPtrArray) old = g_steal_pointer (&self->clients);

  self->clients = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < servers->len; i++)
    {
      RillMcpServer *server = servers->pdata[i];
      RillMcpClient *client = find_client (old, server->name);

      if (client != NULL && server_equal (rill_mcp_client_get_server (client), server))
        {
          g_ptr_array_add (self->clients, g_object_ref (client));
          g_ptr_array_remove (old, client);
        }
      else
        g_ptr_array_add (self->clients, rill_mcp_client_new (server, self->keyring));
    }
  /* What is left is gone or changed. */
  for (guint i = 0; i < old->len; i++)
    retire (self, old->pdata[i]);
  g_signal_emit (self, signals[SIGNAL_SERVERS_CHANGED], 0);
}

static void
config_changed_cb (RillMcpConfig *config,
                   RillToolbox   *self)
{
  sync_clients (self);
}

static void collect_begin (GTask *task);

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(RillToolbox) self = data;
  g_autoptr(GError) error = NULL;

  /* An unreadable file is said where the file is edited (Preferences);
   * here it only means no servers. */
  if (!rill_mcp_config_load_finish (RILL_MCP_CONFIG (source), result, &error))
    g_message ("%s", error->message);
  self->loading = FALSE;
  sync_clients (self);
  while (!g_queue_is_empty (&self->waiting))
    collect_begin (g_queue_pop_head (&self->waiting));
}

static void
rill_toolbox_dispose (GObject *object)
{
  RillToolbox *self = RILL_TOOLBOX (object);

  g_clear_object (&self->settings);
  G_OBJECT_CLASS (rill_toolbox_parent_class)->dispose (object);
}

static void
rill_toolbox_finalize (GObject *object)
{
  RillToolbox *self = RILL_TOOLBOX (object);

  /* Tasks hold the toolbox, so none can be waiting now. */
  g_assert (g_queue_is_empty (&self->waiting));
  g_assert (g_queue_is_empty (&self->stop_waiters));
  g_clear_pointer (&self->clients, g_ptr_array_unref);
  g_clear_pointer (&self->allowed, g_hash_table_unref);
  g_clear_object (&self->config);
  g_clear_object (&self->keyring);
  G_OBJECT_CLASS (rill_toolbox_parent_class)->finalize (object);
}

static void
rill_toolbox_class_init (RillToolboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_toolbox_dispose;
  object_class->finalize = rill_toolbox_finalize;

  /* After the clients follow a change of the configuration. */
  signals[SIGNAL_SERVERS_CHANGED] =
    g_signal_new ("servers-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The always-allowed tools changed (through the toolbox or the setting). */
  signals[SIGNAL_ALWAYS_ALLOWED_CHANGED] =
    g_signal_new ("always-allowed-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
rill_toolbox_init (RillToolbox *self)
{
  self->clients = g_ptr_array_new_with_free_func (g_object_unref);
  self->allowed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->waiting);
  g_queue_init (&self->stop_waiters);
}

RillToolbox *
rill_toolbox_new (RillMcpConfig *config,
                  RillKeyring   *keyring)
{
  RillToolbox *self;

  g_return_val_if_fail (RILL_IS_MCP_CONFIG (config), NULL);
  g_return_val_if_fail (keyring == NULL || RILL_IS_KEYRING (keyring), NULL);

  self = g_object_new (RILL_TYPE_TOOLBOX, NULL);
  self->config = g_object_ref (config);
  if (keyring != NULL)
    self->keyring = g_object_ref (keyring);
  g_signal_connect_object (config, "changed", G_CALLBACK (config_changed_cb), self, 0);
  /* There is no "loaded" flag to ask: a configuration with servers has been
   * read (or filled in memory, as tests do), one without may not have been,
   * and reading an absent file again only finds no servers again. */
  if (rill_mcp_config_get_servers (config)->len > 0)
    sync_clients (self);
  else
    {
      self->loading = TRUE;
      rill_mcp_config_load_async (config, NULL, load_cb, g_object_ref (self));
    }
  return self;
}

RillMcpConfig *
rill_toolbox_get_config (RillToolbox *self)
{
  g_return_val_if_fail (RILL_IS_TOOLBOX (self), NULL);
  return self->config;
}

GPtrArray *
rill_toolbox_get_clients (RillToolbox *self)
{
  g_return_val_if_fail (RILL_IS_TOOLBOX (self), NULL);
  return self->clients;
}

RillMcpClient *
rill_toolbox_lookup (RillToolbox *self,
                     const char  *server)
{
  g_return_val_if_fail (RILL_IS_TOOLBOX (self), NULL);
  g_return_val_if_fail (server != NULL, NULL);
  return find_client (self->clients, server);
}

/* Collecting */

typedef struct
{
  RillToolChoice *choice;
  /* per client of the configuration: GPtrArray of RillMcpTool, or NULL */
  GPtrArray      *clients;
  GPtrArray      *tools;
  /* per client: its failure in words, or NULL */
  GPtrArray      *failures;
  /* failures of servers not in the configuration */
  GPtrArray      *extra_failures;
  guint           outstanding;
} Collect;

typedef struct
{
  GPtrArray *tools;    /* RillOfferedTool */
  GStrv      failures; /* or NULL */
} Collected;

static void
collect_free (Collect *collect)
{
  rill_tool_choice_free (collect->choice);
  g_clear_pointer (&collect->clients, g_ptr_array_unref);
  g_clear_pointer (&collect->tools, g_ptr_array_unref);
  g_clear_pointer (&collect->failures, g_ptr_array_unref);
  g_clear_pointer (&collect->extra_failures, g_ptr_array_unref);
  g_free (collect);
}

static void
collected_free (Collected *collected)
{
  g_clear_pointer (&collected->tools, g_ptr_array_unref);
  g_clear_pointer (&collected->failures, g_strfreev);
  g_free (collected);
}

static void
ptr_array_unref0 (gpointer array)
{
  if (array != NULL)
    g_ptr_array_unref (array);
}

static void
collect_done (GTask *task)
{
  Collect *collect = g_task_get_task_data (task);
  Collected *collected = g_new0 (Collected, 1);
  g_autoptr(GStrvBuilder) failures = g_strv_builder_new ();
  gboolean failed = FALSE;

  collected->tools = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_offered_tool_unref);
  for (guint i = 0; i < collect->clients->len; i++)
    {
      RillMcpClient *client = collect->clients->pdata[i];
      const char *server = rill_mcp_client_get_name (client);
      GPtrArray *tools = collect->tools->pdata[i];

      if (collect->failures->pdata[i] != NULL)
        {
          g_strv_builder_add (failures, collect->failures->pdata[i]);
          failed = TRUE;
        }
      for (guint j = 0; tools != NULL && j < tools->len; j++)
        {
          RillMcpTool *tool = tools->pdata[j];
          OfferedTool *offered;

          if (!rill_tool_choice_get_tool_enabled (collect->choice, server, tool->name))
            continue;
          offered = g_new0 (OfferedTool, 1);
          g_atomic_ref_count_init (&offered->ref_count);
          offered->public.server = g_strdup (server);
          offered->public.tool = rill_mcp_tool_ref (tool);
          g_ptr_array_add (collected->tools, offered);
        }
    }
  for (guint i = 0; i < collect->extra_failures->len; i++)
    {
      g_strv_builder_add (failures, collect->extra_failures->pdata[i]);
      failed = TRUE;
    }
  name_tools (collected->tools);
  if (failed)
    collected->failures = g_strv_builder_end (failures);
  g_task_return_pointer (task, collected, (GDestroyNotify) collected_free);
}

static void
list_tools_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(GTask) task = data;
  Collect *collect = g_task_get_task_data (task);
  RillMcpClient *client = RILL_MCP_CLIENT (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  guint index;

  tools = rill_mcp_client_list_tools_finish (client, result, &error);
  if (!g_ptr_array_find (collect->clients, client, &index))
    g_assert_not_reached ();
  if (tools != NULL)
    collect->tools->pdata[index] = g_steal_pointer (&tools);
  else
    collect->failures->pdata[index] = g_strdup_printf ("%s: %s", rill_mcp_client_get_name (client),
                                                       error->message);
  if (--collect->outstanding == 0)
    collect_done (task);
}

static void
collect_begin (GTask *task)
{
  RillToolbox *self = g_task_get_source_object (task);
  Collect *collect = g_task_get_task_data (task);
  g_auto(GStrv) names = rill_tool_choice_get_servers (collect->choice);

  collect->clients = g_ptr_array_new_with_free_func (g_object_unref);
  collect->tools = g_ptr_array_new_with_free_func (ptr_array_unref0);
  collect->failures = g_ptr_array_new_with_free_func (g_free);
  collect->extra_failures = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i] != NULL; i++)
    {
      RillMcpClient *client = find_client (self->clients, names[i]);

      if (client == NULL)
        g_ptr_array_add (collect->extra_failures,
                         g_strdup_printf (_("%s: there is no such server in mcp.json"),
                                          names[i]));
      else if (rill_mcp_client_get_server (client)->disabled)
        g_ptr_array_add (collect->extra_failures,
                         g_strdup_printf (_("%s: the server is switched off in Preferences"),
                                          names[i]));
    }
  for (guint i = 0; i < self->clients->len; i++)
    {
      RillMcpClient *client = self->clients->pdata[i];

      if (rill_mcp_client_get_server (client)->disabled
          || !rill_tool_choice_get_server_enabled (collect->choice,
                                                   rill_mcp_client_get_name (client)))
        continue;
      g_ptr_array_add (collect->clients, g_object_ref (client));
      g_ptr_array_add (collect->tools, NULL);
      g_ptr_array_add (collect->failures, NULL);
    }

  /* One more than the servers, so that none completes the task while the
   * others are still being asked. */
  collect->outstanding = collect->clients->len + 1;
  for (guint i = 0; i < collect->clients->len; i++)
    {
      RillMcpClient *client = collect->clients->pdata[i];
      GPtrArray *tools = rill_mcp_client_get_tools (client);

      if (rill_mcp_client_get_state (client) == RILL_MCP_STATE_READY && tools->len > 0)
        {
          collect->tools->pdata[i] = g_ptr_array_ref (tools);
          collect->outstanding--;
        }
      else
        rill_mcp_client_list_tools_async (client, g_task_get_cancellable (task), list_tools_cb,
                                          g_object_ref (task));
    }
  if (--collect->outstanding == 0)
    collect_done (task);
  g_object_unref (task);
}

void
rill_toolbox_collect_async (RillToolbox         *self,
                            RillToolChoice      *choice,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;
  Collect *collect;

  g_return_if_fail (RILL_IS_TOOLBOX (self));
  g_return_if_fail (choice != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_toolbox_collect_async);
  collect = g_new0 (Collect, 1);
  collect->choice = rill_tool_choice_copy (choice);
  g_task_set_task_data (task, collect, (GDestroyNotify) collect_free);
  if (self->loading)
    g_queue_push_tail (&self->waiting, task);
  else
    collect_begin (task);
}

GPtrArray *
rill_toolbox_collect_finish (RillToolbox   *self,
                             GAsyncResult  *result,
                             GStrv         *failures,
                             GError       **error)
{
  Collected *collected;
  GPtrArray *tools;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (failures != NULL)
    *failures = NULL;
  collected = g_task_propagate_pointer (G_TASK (result), error);
  if (collected == NULL)
    return NULL;
  tools = g_steal_pointer (&collected->tools);
  if (failures != NULL)
    *failures = g_steal_pointer (&collected->failures);
  collected_free (collected);
  return tools;
}

/* Always allowed */

static char *
allowed_key (const char *server,
             const char *tool)
{
  return g_strconcat (server, "\x1f", tool, NULL);
}

static void
settings_changed_cb (GSettings   *settings,
                     const char  *key,
                     RillToolbox *self)
{
  g_signal_emit (self, signals[SIGNAL_ALWAYS_ALLOWED_CHANGED], 0);
}

void
rill_toolbox_set_settings (RillToolbox *self,
                           GSettings   *settings)
{
  g_return_if_fail (RILL_IS_TOOLBOX (self));
  g_return_if_fail (settings == NULL || G_IS_SETTINGS (settings));

  if (self->settings == settings)
    return;
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_func (self->settings, settings_changed_cb, self);
  g_set_object (&self->settings, settings);
  if (settings != NULL)
    g_signal_connect_object (settings, "changed::always-allowed-tools",
                             G_CALLBACK (settings_changed_cb), self, 0);
  g_signal_emit (self, signals[SIGNAL_ALWAYS_ALLOWED_CHANGED], 0);
}

gboolean
rill_toolbox_get_always_allowed (RillToolbox *self,
                                 const char  *server,
                                 const char  *tool)
{
  g_autoptr(GVariant) value = NULL;
  GVariantIter iter;
  const char *s, *t;

  g_return_val_if_fail (RILL_IS_TOOLBOX (self), FALSE);
  g_return_val_if_fail (server != NULL && tool != NULL, FALSE);

  if (self->settings == NULL)
    {
      g_autofree char *key = allowed_key (server, tool);

      return g_hash_table_contains (self->allowed, key);
    }
  value = g_settings_get_value (self->settings, "always-allowed-tools");
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &s, &t))
    if (strcmp (s, server) == 0 && strcmp (t, tool) == 0)
      return TRUE;
  return FALSE;
}

void
rill_toolbox_set_always_allowed (RillToolbox *self,
                                 const char  *server,
                                 const char  *tool,
                                 gboolean     allowed)
{
  g_autoptr(GVariant) value = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *s, *t;

  g_return_if_fail (RILL_IS_TOOLBOX (self));
  g_return_if_fail (server != NULL && tool != NULL);

  if (rill_toolbox_get_always_allowed (self, server, tool) == !!allowed)
    return;
  if (self->settings == NULL)
    {
      if (allowed)
        g_hash_table_add (self->allowed, allowed_key (server, tool));
      else
        {
          g_autofree char *key = allowed_key (server, tool);

          g_hash_table_remove (self->allowed, key);
        }
      g_signal_emit (self, signals[SIGNAL_ALWAYS_ALLOWED_CHANGED], 0);
      return;
    }
  /* The setting's order is kept: the Preferences list shows it. */
  value = g_settings_get_value (self->settings, "always-allowed-tools");
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &s, &t))
    if (strcmp (s, server) != 0 || strcmp (t, tool) != 0)
      g_variant_builder_add (&builder, "(ss)", s, t);
  if (allowed)
    g_variant_builder_add (&builder, "(ss)", server, tool);
  /* "changed::always-allowed-tools" emits always-allowed-changed. */
  g_settings_set_value (self->settings, "always-allowed-tools", g_variant_builder_end (&builder));
}

/* Stopping */

typedef struct
{
  guint outstanding;
} StopAll;

static void
stop_one_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(GTask) task = data;
  RillToolbox *self = g_task_get_source_object (task);
  StopAll *stop = g_task_get_task_data (task);

  if (source != NULL)
    rill_mcp_client_stop_finish (RILL_MCP_CLIENT (source), result, NULL);
  if (--stop->outstanding > 0)
    return;
  /* The servers that left the configuration are being stopped too, each
   * bounded by its own timer: wait for them as well. */
  if (self->retiring > 0)
    g_queue_push_tail (&self->stop_waiters, g_steal_pointer (&task));
  else
    g_task_return_boolean (task, TRUE);
}

void
rill_toolbox_stop_all_async (RillToolbox         *self,
                             guint                timeout_ms,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  StopAll *stop;

  g_return_if_fail (RILL_IS_TOOLBOX (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, rill_toolbox_stop_all_async);
  stop = g_new0 (StopAll, 1);
  g_task_set_task_data (task, stop, g_free);
  /* One more than the clients, for the same reason as in collect. */
  stop->outstanding = self->clients->len + 1;
  for (guint i = 0; i < self->clients->len; i++)
    rill_mcp_client_stop_async (self->clients->pdata[i], timeout_ms, stop_one_cb,
                                g_object_ref (task));
  stop_one_cb (NULL, NULL, g_steal_pointer (&task));
}

gboolean
rill_toolbox_stop_all_finish (RillToolbox   *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
