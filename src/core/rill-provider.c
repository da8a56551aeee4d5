/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rill-provider.h"

#include <string.h>

#include "rill-stream-parser.h"

#define MODELS_TIMEOUT_S 15
#define DISCOVERY_TIMEOUT_S 2

struct _RillProvider
{
  GObject parent_instance;

  RillProviderKind kind;
  char            *base_url;
  char            *api_key;
  gboolean         key_from_environment;
  SoupSession     *session;
};

G_DEFINE_FINAL_TYPE (RillProvider, rill_provider, G_TYPE_OBJECT)

static void
rill_provider_finalize (GObject *object)
{
  RillProvider *self = RILL_PROVIDER (object);

  g_free (self->base_url);
  g_free (self->api_key);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (rill_provider_parent_class)->finalize (object);
}

static void
rill_provider_class_init (RillProviderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rill_provider_finalize;
}

static void
rill_provider_init (RillProvider *self)
{
  self->session = soup_session_new_with_options ("user-agent", "Rill/" PACKAGE_VERSION, NULL);
}

static char *
normalize_url (RillProviderKind kind, const char *url)
{
  g_autofree char *with_scheme = NULL;
  g_autofree char *trimmed = g_strstrip (g_strdup (url));
  gsize len;

  if (strstr (trimmed, "://") == NULL)
    {
      /* OLLAMA_HOST is often "0.0.0.0", "host" or "host:port". */
      if (g_str_has_prefix (trimmed, "0.0.0.0"))
        with_scheme = g_strconcat ("http://127.0.0.1", trimmed + strlen ("0.0.0.0"), NULL);
      else
        with_scheme = g_strconcat ("http://", trimmed, NULL);
      if (kind == RILL_PROVIDER_OLLAMA && strchr (with_scheme + strlen ("http://"), ':') == NULL)
        {
          char *with_port = g_strconcat (with_scheme, ":11434", NULL);
          g_free (with_scheme);
          with_scheme = with_port;
        }
    }
  else
    with_scheme = g_steal_pointer (&trimmed);

  len = strlen (with_scheme);
  while (len > 0 && with_scheme[len - 1] == '/')
    with_scheme[--len] = '\0';
  return g_steal_pointer (&with_scheme);
}

RillProvider *
rill_provider_new (RillProviderKind kind, const char *base_url, const char *api_key)
{
  RillProvider *self;

  g_return_val_if_fail (base_url != NULL, NULL);

  self = g_object_new (RILL_TYPE_PROVIDER, NULL);
  self->kind = kind;
  self->base_url = normalize_url (kind, base_url);
  self->api_key = (api_key && *api_key) ? g_strdup (api_key) : NULL;
  return self;
}

RillProvider *
rill_provider_new_from_environment (void)
{
  const char *openai_url = g_getenv ("OPENAI_BASE_URL");
  const char *openai_key = g_getenv ("OPENAI_API_KEY");
  const char *ollama_host = g_getenv ("OLLAMA_HOST");
  RillProvider *self = NULL;

  if (openai_url != NULL && *openai_url)
    self = rill_provider_new (RILL_PROVIDER_OPENAI, openai_url, openai_key);
  else if (ollama_host != NULL && *ollama_host)
    self = rill_provider_new (RILL_PROVIDER_OLLAMA, ollama_host, NULL);
  else if (openai_key != NULL && *openai_key)
    self = rill_provider_new (RILL_PROVIDER_OPENAI, "https://api.openai.com/v1", openai_key);

  if (self != NULL && self->api_key != NULL)
    self->key_from_environment = TRUE;
  return self;
}

RillProviderKind
rill_provider_get_kind (RillProvider *self)
{
  return self->kind;
}

const char *
rill_provider_get_base_url (RillProvider *self)
{
  return self->base_url;
}

const char *
rill_provider_get_api_key (RillProvider *self)
{
  return self->api_key;
}

gboolean
rill_provider_get_key_from_environment (RillProvider *self)
{
  return self->key_from_environment;
}

SoupSession *
rill_provider_get_session (RillProvider *self)
{
  return self->session;
}

static SoupMessage *
new_message (RillProvider *self, const char *method, const char *path)
{
  g_autofree char *url = g_strconcat (self->base_url, path, NULL);
  SoupMessage *message = soup_message_new (method, url);

  if (message == NULL)
    return NULL;
  if (self->api_key != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", self->api_key, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", bearer);
    }
  return message;
}

static const char *
status_phrase (guint status, const char *reason)
{
  /* HTTP/2 has no reason phrase, and libsoup's table lacks some codes LLM
   * servers use a lot. */
  static const struct { guint status; const char *phrase; } phrases[] = {
    { 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
    { 403, "Forbidden" }, { 404, "Not Found" }, { 408, "Request Timeout" },
    { 413, "Content Too Large" }, { 422, "Unprocessable Content" },
    { 429, "Too Many Requests" }, { 500, "Internal Server Error" }, { 502, "Bad Gateway" },
    { 503, "Service Unavailable" }, { 504, "Gateway Timeout" }, { 529, "Overloaded" },
  };

  if (reason != NULL && *reason && g_strcmp0 (reason, "Unknown Error") != 0)
    return reason;
  for (guint i = 0; i < G_N_ELEMENTS (phrases); i++)
    if (phrases[i].status == status)
      return phrases[i].phrase;
  return soup_status_get_phrase (status);
}

char *
rill_provider_describe_http_error (guint       status,
                                   const char *reason,
                                   const char *body,
                                   gsize       body_len)
{
  g_autofree char *message = body ? rill_error_message_from_json (body, body_len) : NULL;
  const char *phrase = status_phrase (status, reason);

  if (message == NULL && body != NULL && body_len > 0 && body_len < 300)
    {
      message = g_utf8_make_valid (body, body_len);
      g_strstrip (message);
      if (*message == '\0' || *message == '<')
        g_clear_pointer (&message, g_free);
    }
  if (message != NULL)
    return g_strdup_printf ("HTTP %u %s: %s", status, phrase ? phrase : "", message);
  return g_strdup_printf ("HTTP %u %s", status, phrase ? phrase : "");
}

SoupMessage *
rill_provider_new_chat_message (RillProvider *self,
                                const char   *model,
                                JsonNode     *messages,
                                double        temperature,
                                char        **request_json)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) record = NULL;
  g_autofree char *body_text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  SoupMessage *message;

  g_return_val_if_fail (RILL_IS_PROVIDER (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model ? model : "");
  json_builder_set_member_name (builder, "messages");
  json_builder_add_value (builder, json_node_copy (messages));
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);
  if (self->kind == RILL_PROVIDER_OPENAI)
    {
      json_builder_set_member_name (builder, "stream_options");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "include_usage");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_end_object (builder);
      if (temperature >= 0)
        {
          json_builder_set_member_name (builder, "temperature");
          json_builder_add_double_value (builder, temperature);
        }
    }
  else if (temperature >= 0)
    {
      json_builder_set_member_name (builder, "options");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, temperature);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  body_text = json_to_string (body, FALSE);

  message = new_message (self, SOUP_METHOD_POST,
                         self->kind == RILL_PROVIDER_OLLAMA ? "/api/chat" : "/chat/completions");
  if (message == NULL)
    return NULL;
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept",
                                self->kind == RILL_PROVIDER_OLLAMA
                                ? "application/x-ndjson" : "text/event-stream");
  bytes = g_bytes_new_take (g_strdup (body_text), strlen (body_text));
  soup_message_set_request_body_from_bytes (message, "application/json", bytes);

  if (request_json != NULL)
    {
      g_autoptr(JsonBuilder) recorder = json_builder_new ();
      g_autofree char *url = g_uri_to_string (soup_message_get_uri (message));

      json_builder_begin_object (recorder);
      json_builder_set_member_name (recorder, "url");
      json_builder_add_string_value (recorder, url);
      json_builder_set_member_name (recorder, "provider");
      json_builder_add_string_value (recorder, rill_provider_kind_to_string (self->kind));
      json_builder_set_member_name (recorder, "body");
      json_builder_add_value (recorder, json_node_ref (body));
      json_builder_end_object (recorder);
      record = json_builder_get_root (recorder);
      *request_json = json_to_string (record, FALSE);
    }
  return message;
}

/* Models */

static GStrv
parse_models (RillProviderKind kind, GBytes *bytes, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonNode *list;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error_literal (error, RILL_ERROR, RILL_ERROR_INVALID, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !(list = json_object_get_member (json_node_get_object (root),
                                          kind == RILL_PROVIDER_OLLAMA ? "models" : "data"))
      || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, RILL_ERROR, RILL_ERROR_INVALID,
                   "The server's list of models is not in a known format");
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (list), i);
      const char *name;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        continue;
      name =
        json_object_get_string_member_with_default (json_node_get_object (item),
                                                    kind == RILL_PROVIDER_OLLAMA ? "name" : "id",
                                                    NULL);
      if (name != NULL && *name)
        g_strv_builder_add (names, name);
    }
  return g_strv_builder_end (names);
}

static void
list_models_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  RillProvider *self = g_task_get_source_object (task);
  SoupMessage *message = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GStrv models;
  guint status;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (bytes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  status = soup_message_get_status (message);
  if (status >= 400)
    {
      gsize len;
      const char *body = g_bytes_get_data (bytes, &len);
      g_autofree char *why =
        rill_provider_describe_http_error (status,
                                           soup_message_get_reason_phrase (message),
                                           body, len);
      g_task_return_new_error (task, RILL_ERROR, rill_error_from_http_status (status), "%s", why);
      return;
    }
  if (!(models = parse_models (self->kind, bytes, &error)))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, models, (GDestroyNotify) g_strfreev);
}

void
rill_provider_list_models_async (RillProvider        *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SoupMessage *message;

  g_return_if_fail (RILL_IS_PROVIDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_provider_list_models_async);
  message = new_message (self, SOUP_METHOD_GET,
                         self->kind == RILL_PROVIDER_OLLAMA ? "/api/tags" : "/models");
  if (message == NULL)
    {
      g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_ADDRESS,
                               "“%s” is not a valid server address", self->base_url);
      return;
    }
  g_task_set_task_data (task, message, g_object_unref);
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, cancellable,
                                    list_models_cb, g_steal_pointer (&task));
}

GStrv
rill_provider_list_models_finish (RillProvider *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Discovery */

typedef struct
{
  GPtrArray *candidates;   /* RillProvider, in order of preference */
  guint8    *answered;     /* 0 not yet, 1 with models, 2 not at all */
  gboolean   returned;
} Discovery;

static void
discovery_free (Discovery *discovery)
{
  g_ptr_array_unref (discovery->candidates);
  g_free (discovery->answered);
  g_free (discovery);
}

static void
discover_finish_if_done (GTask *task)
{
  Discovery *discovery = g_task_get_task_data (task);

  if (discovery->returned)
    return;
  /* Preference order wins over speed: wait for the better candidates. */
  for (guint i = 0; i < discovery->candidates->len; i++)
    {
      if (discovery->answered[i] == 1)
        {
          discovery->returned = TRUE;
          g_task_return_pointer (task, g_object_ref (g_ptr_array_index (discovery->candidates, i)),
                                 g_object_unref);
          return;
        }
      if (discovery->answered[i] == 0)
        return;
    }
  discovery->returned = TRUE;
  g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_NO_SERVER,
                           "No server is configured, and none answered on this computer");
}

typedef struct
{
  GTask *task;
  guint  index;
} Probe;

static void
probe_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Probe *probe = user_data;
  Discovery *discovery = g_task_get_task_data (probe->task);
  g_auto(GStrv) models = rill_provider_list_models_finish (RILL_PROVIDER (source), result, NULL);

  discovery->answered[probe->index] = models != NULL ? 1 : 2;
  discover_finish_if_done (probe->task);
  g_object_unref (probe->task);
  g_free (probe);
}

void
rill_provider_discover_async (GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  static const struct { RillProviderKind kind; const char *url; } local[] = {
    { RILL_PROVIDER_OLLAMA, "http://127.0.0.1:11434" },
    { RILL_PROVIDER_OPENAI, "http://127.0.0.1:8080/v1" },
    { RILL_PROVIDER_OPENAI, "http://127.0.0.1:1234/v1" },
  };
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(RillProvider) from_environment = rill_provider_new_from_environment ();
  Discovery *discovery;

  g_task_set_source_tag (task, rill_provider_discover_async);
  if (from_environment != NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&from_environment), g_object_unref);
      return;
    }

  discovery = g_new0 (Discovery, 1);
  discovery->candidates = g_ptr_array_new_with_free_func (g_object_unref);
  discovery->answered = g_new0 (guint8, G_N_ELEMENTS (local));
  g_task_set_task_data (task, discovery, (GDestroyNotify) discovery_free);
  for (guint i = 0; i < G_N_ELEMENTS (local); i++)
    {
      RillProvider *candidate = rill_provider_new (local[i].kind, local[i].url, NULL);
      Probe *probe = g_new0 (Probe, 1);

      g_object_set (candidate->session, "timeout", DISCOVERY_TIMEOUT_S, NULL);
      g_ptr_array_add (discovery->candidates, candidate);
      probe->task = g_object_ref (task);
      probe->index = i;
      rill_provider_list_models_async (candidate, cancellable, probe_cb, probe);
    }
}

RillProvider *
rill_provider_discover_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
