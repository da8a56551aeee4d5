/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-config.c: mcp.json, read, watched and written back.
 *
 * The parsed JSON document is kept whole, and the servers are a view of it:
 * an edit changes that one server's object in place, so keys Rill does not
 * know (a "type", a "timeout", a comment field another client wrote) and
 * the order of everything survive a save. A file that does not parse leaves
 * the document and the servers as they were, and says where it broke.
 *
 * The file is watched through its folder (editors save by renaming a new
 * file over the old one); events are folded into one reload on the next
 * main-loop turn, and a reload that reads the same bytes as before (our own
 * save, or an editor touching the file) emits nothing. */

#include "rill-mcp-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#define KEYRING_PREFIX "${keyring:"

/* RillMcpServer */

typedef struct
{
  RillMcpServer public;
  gatomicrefcount ref_count;
} Server;

G_DEFINE_BOXED_TYPE (RillMcpServer, rill_mcp_server, rill_mcp_server_ref, rill_mcp_server_unref)

static RillMcpServer *
server_alloc (const char *name)
{
  Server *server = g_new0 (Server, 1);

  g_atomic_ref_count_init (&server->ref_count);
  server->public.name = g_strdup (name);
  return &server->public;
}

static char **
strv_or_empty (const char * const *strv)
{
  return strv ? g_strdupv ((char **) strv) : g_new0 (char *, 1);
}

RillMcpServer *
rill_mcp_server_new_stdio (const char         *name,
                           const char         *command,
                           const char * const *args,
                           const char * const *env)
{
  RillMcpServer *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (command != NULL, NULL);

  self = server_alloc (name);
  self->command = g_strdup (command);
  self->args = strv_or_empty (args);
  self->env = strv_or_empty (env);
  self->headers = g_new0 (char *, 1);
  return self;
}

RillMcpServer *
rill_mcp_server_new_http (const char         *name,
                          const char         *url,
                          const char * const *headers)
{
  RillMcpServer *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (url != NULL, NULL);

  self = server_alloc (name);
  self->url = g_strdup (url);
  self->args = g_new0 (char *, 1);
  self->env = g_new0 (char *, 1);
  self->headers = strv_or_empty (headers);
  return self;
}

RillMcpServer *
rill_mcp_server_ref (RillMcpServer *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&((Server *) self)->ref_count);
  return self;
}

void
rill_mcp_server_unref (RillMcpServer *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&((Server *) self)->ref_count))
    return;
  g_free (self->name);
  g_free (self->command);
  g_strfreev (self->args);
  g_strfreev (self->env);
  g_free (self->url);
  g_strfreev (self->headers);
  g_free (self);
}

static RillMcpServer *
server_copy (RillMcpServer *self)
{
  RillMcpServer *copy = server_alloc (self->name);

  copy->command = g_strdup (self->command);
  copy->args = g_strdupv (self->args);
  copy->env = g_strdupv (self->env);
  copy->url = g_strdup (self->url);
  copy->headers = g_strdupv (self->headers);
  copy->disabled = self->disabled;
  return copy;
}

RillMcpServer *
rill_mcp_server_copy_disabled (RillMcpServer *self,
                               gboolean       disabled)
{
  RillMcpServer *copy;

  g_return_val_if_fail (self != NULL, NULL);
  copy = server_copy (self);
  copy->disabled = !!disabled;
  return copy;
}

static gboolean
strv_has_reference (char **strv)
{
  for (guint i = 0; strv[i] != NULL; i++)
    if (strstr (strv[i], KEYRING_PREFIX) != NULL)
      return TRUE;
  return FALSE;
}

gboolean
rill_mcp_server_has_references (RillMcpServer *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return strv_has_reference (self->env) || strv_has_reference (self->headers);
}

/* Resolving: the names referenced are looked up one after the other (a
 * server has a handful), then every value is rewritten from the answers. */

typedef struct
{
  RillMcpServer *server;
  RillKeyring   *keyring;
  GPtrArray     *names;   /* entry names still to look up */
  GHashTable    *secrets; /* entry name → secret */
} Resolve;

static void
resolve_free (Resolve *resolve)
{
  rill_mcp_server_unref (resolve->server);
  g_clear_object (&resolve->keyring);
  g_ptr_array_unref (resolve->names);
  g_hash_table_unref (resolve->secrets);
  g_free (resolve);
}

/* Calls @func for each reference in @value: the entry name, and where the
 * reference starts and ends in @value. Returns FALSE for an unclosed one. */
static gboolean
scan_references (const char *value,
                 void (*func)(const char *name, const char *start, const char *end, gpointer data),
                 gpointer    data)
{
  const char *p = value;

  while ((p = strstr (p, KEYRING_PREFIX)) != NULL)
    {
      const char *name = p + strlen (KEYRING_PREFIX);
      const char *close = strchr (name, '}');
      g_autofree char *entry = NULL;

      if (close == NULL || close == name)
        return FALSE;
      entry = g_strndup (name, close - name);
      func (entry, p, close + 1, data);
      p = close + 1;
    }
  return TRUE;
}

static void
collect_name (const char *name,
              const char *start,
              const char *end,
              gpointer    data)
{
  Resolve *resolve = data;

  if (!g_ptr_array_find_with_equal_func (resolve->names, name, g_str_equal, NULL))
    g_ptr_array_add (resolve->names, g_strdup (name));
}

typedef struct
{
  GString    *out;
  const char *from;
  GHashTable *secrets;
} Substitute;

static void
substitute_one (const char *name,
                const char *start,
                const char *end,
                gpointer    data)
{
  Substitute *sub = data;

  g_string_append_len (sub->out, sub->from, start - sub->from);
  g_string_append (sub->out, g_hash_table_lookup (sub->secrets, name));
  sub->from = end;
}

static void
substitute_strv (char **strv, GHashTable *secrets)
{
  for (guint i = 0; strv[i] != NULL; i++)
    {
      Substitute sub = { g_string_new (NULL), strv[i], secrets };

      scan_references (strv[i], substitute_one, &sub);
      g_string_append (sub.out, sub.from);
      g_free (strv[i]);
      strv[i] = g_string_free (sub.out, FALSE);
    }
}

/* Which variable or header uses @name, for the error message. */
static const char *
find_user (char **strv, const char *name, char *buf, gsize size)
{
  g_autofree char *reference = g_strconcat (KEYRING_PREFIX, name, "}", NULL);

  for (guint i = 0; strv[i] != NULL; i++)
    if (strstr (strv[i], reference) != NULL)
      {
        gsize key_len = strcspn (strv[i], "=:");

        g_strlcpy (buf, strv[i], MIN (size, key_len + 1));
        return buf;
      }
  return NULL;
}

static void resolve_next (GTask *task);

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  Resolve *resolve = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  const char *name = g_ptr_array_index (resolve->names, 0);
  char user[256];

  secret = rill_keyring_lookup_key_finish (RILL_KEYRING (source), result, &error);
  if (error != NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               _("MCP server “%s”: the keyring entry “%s” could not be read: %s"),
                               resolve->server->name, name, error->message);
      return;
    }
  if (secret == NULL)
    {
      const char *used_by = find_user (resolve->server->env, name, user, sizeof user);

      if (used_by == NULL)
        used_by = find_user (resolve->server->headers, name, user, sizeof user);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("MCP server “%s”: the keyring has no entry “%s” (for %s)"),
                               resolve->server->name, name, used_by ? used_by : "?");
      return;
    }
  g_hash_table_insert (resolve->secrets, g_strdup (name), g_steal_pointer (&secret));
  g_ptr_array_remove_index (resolve->names, 0);
  resolve_next (g_steal_pointer (&task));
}

static void
resolve_next (GTask *task)
{
  Resolve *resolve = g_task_get_task_data (task);
  RillMcpServer *copy;

  if (resolve->names->len > 0)
    {
      g_autofree char *id = g_strconcat ("mcp:", (char *) g_ptr_array_index (resolve->names, 0),
                                         NULL);

      rill_keyring_lookup_key_async (resolve->keyring, id, g_task_get_cancellable (task),
                                     lookup_cb, task);
      return;
    }
  copy = server_copy (resolve->server);
  substitute_strv (copy->env, resolve->secrets);
  substitute_strv (copy->headers, resolve->secrets);
  g_task_return_pointer (task, copy, (GDestroyNotify) rill_mcp_server_unref);
  g_object_unref (task);
}

void
rill_mcp_server_resolve_async (RillMcpServer       *self,
                               RillKeyring         *keyring,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Resolve *resolve;

  g_return_if_fail (self != NULL);
  g_return_if_fail (keyring == NULL || RILL_IS_KEYRING (keyring));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_server_resolve_async);
  resolve = g_new0 (Resolve, 1);
  resolve->server = rill_mcp_server_ref (self);
  resolve->keyring = keyring ? g_object_ref (keyring) : NULL;
  resolve->names = g_ptr_array_new_with_free_func (g_free);
  resolve->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_task_set_task_data (task, resolve, (GDestroyNotify) resolve_free);

  for (guint i = 0; self->env[i] != NULL; i++)
    scan_references (self->env[i], collect_name, resolve);
  for (guint i = 0; self->headers[i] != NULL; i++)
    scan_references (self->headers[i], collect_name, resolve);

  if (resolve->names->len > 0 && keyring == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("MCP server “%s”: its settings use the keyring, "
                                 "and no keyring is available"), self->name);
      return;
    }
  resolve_next (g_steal_pointer (&task));
}

RillMcpServer *
rill_mcp_server_resolve_finish (RillMcpServer  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* RillMcpConfig */

struct _RillMcpConfig
{
  GObject parent_instance;

  GFile        *file;
  char         *path;
  JsonNode     *root;     /* always an object */
  GPtrArray    *servers;  /* RillMcpServer, a view of root */
  GBytes       *last_read;
  GFileMonitor *monitor;
  GCancellable *cancellable;
  guint         reload_id;
};

G_DEFINE_FINAL_TYPE (RillMcpConfig, rill_mcp_config, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  SIGNAL_LOAD_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
rill_mcp_config_dispose (GObject *object)
{
  RillMcpConfig *self = RILL_MCP_CONFIG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  if (self->monitor != NULL)
    g_file_monitor_cancel (self->monitor);
  g_clear_object (&self->monitor);
  G_OBJECT_CLASS (rill_mcp_config_parent_class)->dispose (object);
}

static void
rill_mcp_config_finalize (GObject *object)
{
  RillMcpConfig *self = RILL_MCP_CONFIG (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->file);
  g_free (self->path);
  g_clear_pointer (&self->root, json_node_unref);
  g_clear_pointer (&self->servers, g_ptr_array_unref);
  g_clear_pointer (&self->last_read, g_bytes_unref);
  G_OBJECT_CLASS (rill_mcp_config_parent_class)->finalize (object);
}

static void
rill_mcp_config_class_init (RillMcpConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_mcp_config_dispose;
  object_class->finalize = rill_mcp_config_finalize;

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The file changed and cannot be read: the GError says why and where. */
  signals[SIGNAL_LOAD_FAILED] =
    g_signal_new ("load-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static JsonNode *
empty_root (void)
{
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (root, json_object_new ());
  return root;
}

static void
rill_mcp_config_init (RillMcpConfig *self)
{
  self->root = empty_root ();
  self->servers = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_mcp_server_unref);
  self->cancellable = g_cancellable_new ();
}

RillMcpConfig *
rill_mcp_config_new (const char *path)
{
  RillMcpConfig *self = g_object_new (RILL_TYPE_MCP_CONFIG, NULL);

  if (path != NULL)
    self->path = g_strdup (path);
  else
    self->path = g_build_filename (g_get_user_config_dir (), "rill", "mcp.json", NULL);
  self->file = g_file_new_for_path (self->path);
  return self;
}

const char *
rill_mcp_config_get_path (RillMcpConfig *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), NULL);
  return self->path;
}

/* A scalar as text ("3", "true"), or NULL for what cannot be a string. */
static char *
scalar_text (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (node));
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
      }
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    default:
      return NULL;
    }
}

static char **
read_args (JsonObject *object)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonNode *node = json_object_get_member (object, "args");

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *text = scalar_text (json_array_get_element (array, i));

          if (text != NULL)
            g_strv_builder_add (builder, text);
        }
    }
  return g_strv_builder_end (builder);
}

/* An object of strings as "KEYsepVALUE" pairs, in order. */
static char **
read_pairs (JsonObject *object,
            const char *member,
            const char *separator)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonNode *node = json_object_get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *pairs = json_node_get_object (node);
      g_autoptr(GList) names = json_object_get_members (pairs);

      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autofree char *text = scalar_text (json_object_get_member (pairs, l->data));
          g_autofree char *pair = NULL;

          if (text == NULL)
            continue;
          pair = g_strconcat (l->data, separator, text, NULL);
          g_strv_builder_add (builder, pair);
        }
    }
  return g_strv_builder_end (builder);
}

static const char *
string_member (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static RillMcpServer *
server_from_json (const char *name, JsonNode *node)
{
  JsonObject *object;
  const char *command, *url;
  RillMcpServer *server;
  JsonNode *disabled;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  command = string_member (object, "command");
  url = string_member (object, "url");
  if (command != NULL && command[0] != '\0')
    {
      server = server_alloc (name);
      server->command = g_strdup (command);
      server->args = read_args (object);
      server->env = read_pairs (object, "env", "=");
      server->headers = g_new0 (char *, 1);
    }
  else if (url != NULL && url[0] != '\0')
    {
      server = server_alloc (name);
      server->url = g_strdup (url);
      server->args = g_new0 (char *, 1);
      server->env = g_new0 (char *, 1);
      server->headers = read_pairs (object, "headers", ": ");
    }
  else
    return NULL;

  disabled = json_object_get_member (object, "disabled");
  server->disabled = disabled != NULL && JSON_NODE_HOLDS_VALUE (disabled)
                     && json_node_get_value_type (disabled) == G_TYPE_BOOLEAN
                     && json_node_get_boolean (disabled);
  return server;
}

static JsonObject *
servers_object (JsonNode *root, gboolean create)
{
  JsonObject *top = json_node_get_object (root);
  JsonNode *node = json_object_get_member (top, "mcpServers");

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  if (!create)
    return NULL;
  json_object_set_object_member (top, "mcpServers", json_object_new ());
  return json_object_get_object_member (top, "mcpServers");
}

static GPtrArray *
servers_from_root (JsonNode *root, gboolean log)
{
  GPtrArray *servers = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_mcp_server_unref);
  JsonObject *object = servers_object (root, FALSE);
  g_autoptr(GList) names = object ? json_object_get_members (object) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    {
      RillMcpServer *server = server_from_json (l->data, json_object_get_member (object, l->data));

      if (server != NULL)
        g_ptr_array_add (servers, server);
      else if (log)
        g_message ("MCP server “%s” in mcp.json has neither a command nor a URL; left out",
                   (const char *) l->data);
    }
  return servers;
}

gboolean
rill_mcp_config_load_from_data (RillMcpConfig  *self,
                                const char     *text,
                                gssize          len,
                                GError        **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonNode *servers;

  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), FALSE);

  if (len < 0)
    len = strlen (text);
  if (!g_utf8_validate (text, len, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("“%s” is not UTF-8 text"), self->path);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, text, len, &local_error))
    {
      /* json-glib says where as "<data>:LINE:COLUMN: Parse error: …". */
      const char *where = local_error->message;

      if (g_str_has_prefix (where, "<data>:"))
        where += strlen ("<data>:");
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("“%s” is not valid JSON, at line:position %s"), self->path, where);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("“%s” is not a JSON object with “mcpServers”"), self->path);
      return FALSE;
    }
  servers = json_object_get_member (json_node_get_object (root), "mcpServers");
  if (servers != NULL && !JSON_NODE_HOLDS_OBJECT (servers))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("In “%s”, “mcpServers” is not an object of servers"), self->path);
      return FALSE;
    }

  g_clear_pointer (&self->root, json_node_unref);
  self->root = json_node_ref (root);
  g_clear_pointer (&self->servers, g_ptr_array_unref);
  self->servers = servers_from_root (self->root, TRUE);
  return TRUE;
}

/* Reading: the file's bytes, then the same parse as load_from_data. Whether
 * "changed" is emitted is decided by the bytes, so the first load of a file
 * emits it as any change does. */
static gboolean
apply_bytes (RillMcpConfig *self,
             GBytes        *bytes,
             GError       **error)
{
  gsize len;
  const char *text;

  if (self->last_read != NULL && g_bytes_equal (self->last_read, bytes))
    return TRUE;
  text = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      /* A missing or empty file: no servers, and nothing else to keep. */
      g_clear_pointer (&self->root, json_node_unref);
      self->root = empty_root ();
      g_clear_pointer (&self->servers, g_ptr_array_unref);
      self->servers = servers_from_root (self->root, FALSE);
    }
  else if (!rill_mcp_config_load_from_data (self, text ? text : "", len, error))
    return FALSE;
  g_clear_pointer (&self->last_read, g_bytes_unref);
  self->last_read = g_bytes_ref (bytes);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static void monitor_changed_cb (GFileMonitor      *monitor,
                                GFile             *file,
                                GFile             *other,
                                GFileMonitorEvent  event,
                                RillMcpConfig     *self);

static void
ensure_monitor (RillMcpConfig *self)
{
  g_autoptr(GError) error = NULL;

  if (self->monitor != NULL)
    return;
  self->monitor = g_file_monitor_file (self->file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (self->monitor == NULL)
    {
      g_message ("%s will not be watched: %s", self->path, error->message);
      return;
    }
  g_signal_connect_object (self->monitor, "changed", G_CALLBACK (monitor_changed_cb), self, 0);
}

static void
load_contents_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GTask) task = data;
  RillMcpConfig *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  char *contents = NULL;
  gsize len = 0;

  if (g_file_load_contents_finish (G_FILE (source), result, &contents, &len, NULL, &error))
    bytes = g_bytes_new_take (contents, len);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_clear_error (&error);
      bytes = g_bytes_new (NULL, 0);
    }
  else
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!apply_bytes (self, bytes, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
rill_mcp_config_load_async (RillMcpConfig       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (RILL_IS_MCP_CONFIG (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_config_load_async);
  ensure_monitor (self);
  g_file_load_contents_async (self->file, cancellable, load_contents_cb, task);
}

gboolean
rill_mcp_config_load_finish (RillMcpConfig  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
reload_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!rill_mcp_config_load_finish (RILL_MCP_CONFIG (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_message ("%s", error->message);
      g_signal_emit (source, signals[SIGNAL_LOAD_FAILED], 0, error);
    }
}

static gboolean
reload_idle_cb (gpointer data)
{
  RillMcpConfig *self = data;

  self->reload_id = 0;
  rill_mcp_config_load_async (self, self->cancellable, reload_cb, NULL);
  return G_SOURCE_REMOVE;
}

static void
monitor_changed_cb (GFileMonitor      *monitor,
                    GFile             *file,
                    GFile             *other,
                    GFileMonitorEvent  event,
                    RillMcpConfig     *self)
{
  /* CHANGED comes once per write; CHANGES_DONE_HINT after the last. A
   * rename over the file (how editors and g_file_set_contents save) is
   * RENAMED or MOVED_IN. */
  switch (event)
    {
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_RENAMED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      if (self->reload_id == 0)
        self->reload_id = g_idle_add (reload_idle_cb, self);
      break;
    case G_FILE_MONITOR_EVENT_CHANGED:
    case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
    case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
    case G_FILE_MONITOR_EVENT_UNMOUNTED:
    case G_FILE_MONITOR_EVENT_MOVED:
    default:
      break;
    }
}

GPtrArray *
rill_mcp_config_get_servers (RillMcpConfig *self)
{
  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), NULL);
  return self->servers;
}

RillMcpServer *
rill_mcp_config_lookup (RillMcpConfig *self,
                        const char    *name)
{
  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->servers->len; i++)
    {
      RillMcpServer *server = g_ptr_array_index (self->servers, i);

      if (g_strcmp0 (server->name, name) == 0)
        return server;
    }
  return NULL;
}

static void
write_pairs (JsonObject *object,
             const char *member,
             char      **pairs,
             const char *separator)
{
  JsonObject *out;

  if (pairs[0] == NULL)
    {
      /* An empty "env": {} read from the file stays. */
      if (json_object_has_member (object, member))
        json_object_set_object_member (object, member, json_object_new ());
      return;
    }
  out = json_object_new ();
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *sep = strstr (pairs[i], separator);
      g_autofree char *key = NULL;

      if (sep == NULL)
        continue;
      key = g_strndup (pairs[i], sep - pairs[i]);
      json_object_set_string_member (out, key, sep + strlen (separator));
    }
  json_object_set_object_member (object, member, out);
}

void
rill_mcp_config_set_server (RillMcpConfig *self,
                            RillMcpServer *server)
{
  JsonObject *servers;
  JsonObject *object;
  JsonNode *node;

  g_return_if_fail (RILL_IS_MCP_CONFIG (self));
  g_return_if_fail (server != NULL);

  servers = servers_object (self->root, TRUE);
  node = json_object_get_member (servers, server->name);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (servers, server->name, json_object_new ());
      node = json_object_get_member (servers, server->name);
    }
  object = json_node_get_object (node);

  if (server->command != NULL)
    {
      JsonArray *args = json_array_new ();

      json_object_remove_member (object, "url");
      json_object_remove_member (object, "headers");
      json_object_set_string_member (object, "command", server->command);
      for (guint i = 0; server->args[i] != NULL; i++)
        json_array_add_string_element (args, server->args[i]);
      if (server->args[0] != NULL || json_object_has_member (object, "args"))
        json_object_set_array_member (object, "args", args);
      else
        json_array_unref (args);
      write_pairs (object, "env", server->env, "=");
    }
  else
    {
      json_object_remove_member (object, "command");
      json_object_remove_member (object, "args");
      json_object_remove_member (object, "env");
      json_object_set_string_member (object, "url", server->url);
      write_pairs (object, "headers", server->headers, ": ");
    }
  /* The switch: written when off, or when the file already had the key. */
  if (server->disabled || json_object_has_member (object, "disabled"))
    json_object_set_boolean_member (object, "disabled", server->disabled);

  g_clear_pointer (&self->servers, g_ptr_array_unref);
  self->servers = servers_from_root (self->root, FALSE);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

gboolean
rill_mcp_config_remove_server (RillMcpConfig *self,
                               const char    *name)
{
  JsonObject *servers;

  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  servers = servers_object (self->root, FALSE);
  if (servers == NULL || !json_object_has_member (servers, name))
    return FALSE;
  json_object_remove_member (servers, name);
  g_clear_pointer (&self->servers, g_ptr_array_unref);
  self->servers = servers_from_root (self->root, FALSE);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

char *
rill_mcp_config_to_data (RillMcpConfig *self)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  g_return_val_if_fail (RILL_IS_MCP_CONFIG (self), NULL);

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, self->root);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

static void
replace_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
rill_mcp_config_save_async (RillMcpConfig       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  char *text;

  g_return_if_fail (RILL_IS_MCP_CONFIG (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_mcp_config_save_async);

  /* One small mkdir, as the store does for its folder. */
  folder = g_file_get_parent (self->file);
  if (!g_file_make_directory_with_parents (folder, cancellable, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  text = rill_mcp_config_to_data (self);
  bytes = g_bytes_new_take (text, strlen (text));
  /* What we write is what we have: the monitor's reload of it is a no-op. */
  g_clear_pointer (&self->last_read, g_bytes_unref);
  self->last_read = g_bytes_ref (bytes);
  g_file_replace_contents_bytes_async (self->file, bytes, NULL, FALSE,
                                       G_FILE_CREATE_PRIVATE, cancellable,
                                       replace_cb, g_steal_pointer (&task));
}

gboolean
rill_mcp_config_save_finish (RillMcpConfig  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
