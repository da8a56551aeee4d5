/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A server: its address, its key, and one SoupSession for its requests.
 *
 * Every deadline is Rill's own: the session's I/O timeout is 0, because
 * libsoup's (60 s by default) would cut a reply that the silence setting
 * (up to an hour) allows. A reply keeps its own deadlines (rill-reply.c),
 * and a list of models has one here.
 *
 * What a server sends is read in pieces and bounded: a list of models past
 * RILL_MAX_MODELS_BYTES fails instead of being held. User info in an
 * address (http://user:password@host) is used to connect, but never
 * written into what is stored or shown: see rill_provider_get_display_url().
 */
#include "rill-provider.h"

#include <string.h>

#include "rill-provider-private.h"
#include "rill-stream-parser.h"
#include "rill-toolbox.h"

#define MODELS_TIMEOUT_MS 15000
#define DISCOVERY_TIMEOUT_MS 2000
#define MODELS_READ_SIZE 65536
/* An error page is read this far: enough for any message worth showing. */
#define ERROR_BODY_MAX 65536

static gsize max_models_override;  /* 0: RILL_MAX_MODELS_BYTES */

struct _RillProvider
{
  GObject parent_instance;

  RillProviderKind kind;
  char            *base_url;
  char            *display_url;   /* base_url without user info */
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
  g_free (self->display_url);
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
  /* "timeout" 0: no I/O deadline but ours. "idle-timeout" only closes
   * pooled connections no request is using, and stays. */
  self->session = soup_session_new_with_options ("user-agent", "Rill/" PACKAGE_VERSION,
                                                 "timeout", 0,
                                                 NULL);
}

char *
rill_url_without_user_info (const char *url)
{
  const char *scheme_end = strstr (url, "://");
  const char *authority;
  const char *authority_end;
  const char *at = NULL;

  if (scheme_end == NULL)
    return g_strdup (url);
  authority = scheme_end + 3;
  authority_end = authority + strcspn (authority, "/?#");
  /* The last '@': a password may hold one unescaped. */
  for (const char *p = authority; p < authority_end; p++)
    if (*p == '@')
      at = p;
  if (at == NULL)
    return g_strdup (url);
  return g_strdup_printf ("%.*s%s", (int) (authority - url), url, at + 1);
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
  self->display_url = rill_url_without_user_info (self->base_url);
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

RillProvider *
rill_provider_new_from_environment_variable (const char *variable)
{
  const char *openai_url = g_getenv ("OPENAI_BASE_URL");
  const char *openai_key = g_getenv ("OPENAI_API_KEY");
  const char *ollama_host = g_getenv ("OLLAMA_HOST");
  RillProvider *self = NULL;

  g_return_val_if_fail (variable != NULL, NULL);

  if (g_str_equal (variable, "OPENAI_BASE_URL") && openai_url != NULL && *openai_url)
    self = rill_provider_new (RILL_PROVIDER_OPENAI, openai_url, openai_key);
  else if (g_str_equal (variable, "OLLAMA_HOST") && ollama_host != NULL && *ollama_host)
    self = rill_provider_new (RILL_PROVIDER_OLLAMA, ollama_host, NULL);
  else if (g_str_equal (variable, "OPENAI_API_KEY") && openai_key != NULL && *openai_key &&
           (openai_url == NULL || *openai_url == '\0'))
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
rill_provider_get_display_url (RillProvider *self)
{
  return self->display_url;
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

/* The key is for the server it belongs to: a redirect to another scheme,
 * host or port is followed without it. Older libsoup releases keep a
 * message's request headers across any redirect, so they are looked at
 * each time it restarts, whatever the library does. */
static gboolean
same_origin (GUri *a, GUri *b)
{
  return a != NULL && b != NULL &&
         g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (a) ? g_uri_get_host (a) : "",
                             g_uri_get_host (b) ? g_uri_get_host (b) : "") == 0 &&
         g_uri_get_port (a) == g_uri_get_port (b);
}

static void
message_restarted_cb (SoupMessage *message,
                      gpointer     user_data)
{
  GUri *origin = user_data;

  if (!same_origin (origin, soup_message_get_uri (message)))
    soup_message_headers_remove (soup_message_get_request_headers (message), "Authorization");
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
      g_signal_connect_data (message, "restarted", G_CALLBACK (message_restarted_cb),
                             g_uri_ref (soup_message_get_uri (message)),
                             (GClosureNotify) (void (*)(void))g_uri_unref, 0);
    }
  return message;
}

SoupMessage *
rill_provider_new_request (RillProvider *self,
                           const char   *method,
                           const char   *path)
{
  g_return_val_if_fail (RILL_IS_PROVIDER (self), NULL);
  return new_message (self, method, path);
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
  /* A reason phrase is whatever bytes the server wrote. */
  g_autofree char *valid_reason = reason ? g_utf8_make_valid (reason, -1) : NULL;
  const char *phrase = status_phrase (status, valid_reason);

  if (message == NULL && body != NULL && body_len > 0 && body_len < 300)
    {
      message = g_utf8_make_valid (body, body_len);
      g_strstrip (message);
      if (*message == '\0' || *message == '<')
        g_clear_pointer (&message, g_free);
    }
  /* A redirect that reaches here was not followed: a reply's request is
   * not sent twice, and a key goes only to its own address. */
  if (message == NULL && status >= 300 && status < 400)
    message = g_strdup ("the server sent the request to another address, which is not followed;"
                        " give the server's new address in Preferences");
  if (message != NULL)
    return g_strdup_printf ("HTTP %u %s: %s", status, phrase ? phrase : "", message);
  return g_strdup_printf ("HTTP %u %s", status, phrase ? phrase : "");
}

/* Attachments.
 *
 * The history comes from the store with each message's attachments in an
 * "attachments" array (see _rill_store_begin_reply_full_async): a text file
 * or a PDF with the "text" a model is given, an image with its "data" in
 * base64, or without it when it is older than the images sent again. The
 * text sent is what was typed, then each file's text, then a note for each
 * image not sent again; images go as OpenAI's image_url parts or in
 * Ollama's images array. The request recorded names the attachments by id
 * only, so the stored request does not grow with what they hold. */

/* Tools.
 *
 * The history carries an assistant message's calls as the store keeps
 * them ({"id", "name", "arguments"} with the argument text as the model
 * sent it) and each result as a "tool" message with the call's id and the
 * function name the model called; rill-store-reply.c already paired them,
 * so every result sent follows the message whose call it answers. Here
 * they take each API's shape: OpenAI's calls have the text as "arguments",
 * byte for byte; Ollama's have an object, parsed from that text. */

/* @text cut to at most @max bytes (0: whole) without splitting a
 * character, with a note saying so: for the model, not translated. */
static char *
cut_tool_result (const char *text, gsize max)
{
  gsize len = strlen (text);
  gsize keep = max;

  if (max == 0 || len <= max)
    return g_strdup (text);
  /* Back to the first byte of a character: a continuation byte is
   * 10xxxxxx. */
  while (keep > 0 && ((guchar) text[keep] & 0xc0) == 0x80)
    keep--;
  return g_strdup_printf ("%.*s\n\n[The result was cut to %" G_GSIZE_FORMAT " of its %"
                          G_GSIZE_FORMAT " bytes.]", (int) keep, text, keep, len);
}

static JsonArray *
api_tool_calls (RillProviderKind kind, JsonArray *calls)
{
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonObject *call = json_array_get_object_element (calls, i);
      const char *name = json_object_get_string_member_with_default (call, "name", "");
      const char *arguments = json_object_get_string_member_with_default (call, "arguments", "");
      JsonObject *function = json_object_new ();
      JsonObject *item = json_object_new ();

      json_object_set_string_member (function, "name", name);
      if (kind == RILL_PROVIDER_OLLAMA)
        {
          g_autoptr(JsonNode) parsed = json_from_string (arguments, NULL);

          /* Ollama takes an object only. Text that is not one (a call cut
           * short by Stop) was never run: its result says so, and the call
           * goes as an empty object rather than a request Ollama refuses. */
          if (parsed != NULL && JSON_NODE_HOLDS_OBJECT (parsed))
            json_object_set_member (function, "arguments", g_steal_pointer (&parsed));
          else
            json_object_set_object_member (function, "arguments", json_object_new ());
        }
      else
        {
          json_object_set_string_member (item, "id",
                                         json_object_get_string_member_with_default (call, "id",
                                                                                     ""));
          json_object_set_string_member (item, "type", "function");
          json_object_set_string_member (function, "arguments", arguments);
        }
      json_object_set_object_member (item, "function", function);
      json_array_add_object_element (out, item);
    }
  return out;
}

/* A "tool" message in the API's shape. */
static JsonNode *
api_tool_result (RillProviderKind kind, JsonObject *message, gsize max)
{
  const char *content = json_object_get_string_member_with_default (message, "content", "");
  g_autofree char *sent = cut_tool_result (content, max);
  JsonObject *out = json_object_new ();

  json_object_set_string_member (out, "role", "tool");
  if (kind == RILL_PROVIDER_OLLAMA)
    {
      json_object_set_string_member (out, "content", sent);
      json_object_set_string_member (out, "tool_name",
                                     json_object_get_string_member_with_default (message,
                                                                                 "tool_name",
                                                                                 ""));
    }
  else
    {
      json_object_set_string_member (out, "tool_call_id",
                                     json_object_get_string_member_with_default (message,
                                                                                 "tool_call_id",
                                                                                 ""));
      json_object_set_string_member (out, "content", sent);
    }
  return json_node_init_object (json_node_alloc (), out);
}

/* The "tools" the model is offered: the same function shape for both APIs. */
static JsonNode *
api_tools (GPtrArray *tools)
{
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < tools->len; i++)
    {
      RillOfferedTool *offered = g_ptr_array_index (tools, i);
      RillMcpTool *tool = offered->tool;
      const char *description = tool->description ? tool->description : tool->title;
      JsonObject *function = json_object_new ();
      JsonObject *item = json_object_new ();

      json_object_set_string_member (function, "name", offered->function_name);
      if (description != NULL)
        json_object_set_string_member (function, "description", description);
      if (tool->input_schema != NULL)
        json_object_set_member (function, "parameters", json_node_copy (tool->input_schema));
      else
        {
          JsonObject *schema = json_object_new ();

          json_object_set_string_member (schema, "type", "object");
          json_object_set_object_member (function, "parameters", schema);
        }
      json_object_set_string_member (item, "type", "function");
      json_object_set_object_member (item, "function", function);
      json_array_add_object_element (out, item);
    }
  return json_node_init_array (json_node_alloc (), out);
}

static JsonNode *
api_message (RillProviderKind kind, JsonObject *message, gboolean record, gsize max)
{
  JsonArray *attachments = json_object_has_member (message, "attachments")
                           ? json_object_get_array_member (message, "attachments") : NULL;
  const char *role = json_object_get_string_member_with_default (message, "role", "");
  const char *content = json_object_get_string_member_with_default (message, "content", "");
  g_autoptr(GString) text = g_string_new (content);
  g_autoptr(JsonArray) images = json_array_new ();
  g_autoptr(JsonArray) ids = json_array_new ();
  JsonObject *out;

  /* A tool's result is recorded as it is sent, cut. */
  if (g_str_equal (role, "tool"))
    return api_tool_result (kind, message, max);
  out = json_object_new ();
  json_object_set_string_member (out, "role", role);
  for (guint i = 0; attachments != NULL && i < json_array_get_length (attachments); i++)
    {
      JsonObject *item = json_array_get_object_element (attachments, i);
      const char *name = json_object_get_string_member_with_default (item, "name", "");
      const char *file_text = json_object_get_string_member_with_default (item, "text", NULL);
      const char *data = json_object_get_string_member_with_default (item, "data", NULL);
      JsonObject *id = json_object_new ();

      json_object_set_int_member (id, "id", json_object_get_int_member (item, "id"));
      if (file_text != NULL)
        g_string_append_printf (text, "%s%s", text->len > 0 ? "\n\n" : "", file_text);
      else if (data != NULL)
        {
          const char *mime_type = json_object_get_string_member_with_default (item, "mime_type",
                                                                              "");

          if (kind == RILL_PROVIDER_OLLAMA)
            json_array_add_string_element (images, data);
          else
            {
              JsonObject *part = json_object_new ();
              JsonObject *url = json_object_new ();
              g_autofree char *data_url = g_strdup_printf ("data:%s;base64,%s", mime_type, data);

              json_object_set_string_member (url, "url", data_url);
              json_object_set_string_member (part, "type", "image_url");
              json_object_set_object_member (part, "image_url", url);
              json_array_add_object_element (images, part);
            }
        }
      else
        {
          /* For the model, not for the person: not translated. */
          g_string_append_printf (text, "%s[image: %s, not resent]",
                                  text->len > 0 ? "\n\n" : "", name);
          json_object_set_boolean_member (id, "resent", FALSE);
        }
      json_array_add_object_element (ids, id);
    }

  if (record)
    {
      json_object_set_string_member (out, "content", content);
      if (attachments != NULL)
        json_object_set_array_member (out, "attachments", g_steal_pointer (&ids));
    }
  else if (kind == RILL_PROVIDER_OLLAMA)
    {
      json_object_set_string_member (out, "content", text->str);
      if (json_array_get_length (images) > 0)
        json_object_set_array_member (out, "images", g_steal_pointer (&images));
    }
  else if (json_array_get_length (images) > 0)
    {
      JsonArray *parts = json_array_new ();
      JsonObject *part = json_object_new ();

      json_object_set_string_member (part, "type", "text");
      json_object_set_string_member (part, "text", text->str);
      json_array_add_object_element (parts, part);
      for (guint i = 0; i < json_array_get_length (images); i++)
        json_array_add_element (parts, json_array_dup_element (images, i));
      json_object_set_array_member (out, "content", parts);
    }
  else
    json_object_set_string_member (out, "content", text->str);
  /* With its text, "" when it has none: OpenAI allows null there too, but
   * some compatible servers take only a string. */
  if (json_object_has_member (message, "tool_calls"))
    {
      JsonArray *calls = json_object_get_array_member (message, "tool_calls");

      json_object_set_array_member (out, "tool_calls", api_tool_calls (kind, calls));
    }
  return json_node_init_object (json_node_alloc (), out);
}

static gboolean
needs_api_shape (JsonNode *message)
{
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (message))
    return FALSE;
  object = json_node_get_object (message);
  return json_object_has_member (object, "attachments")
         || json_object_has_member (object, "tool_calls")
         || g_strcmp0 (json_object_get_string_member_with_default (object, "role", NULL),
                       "tool") == 0;
}

/* @messages as the API takes them (or, with @record, as the request is
 * recorded): the same node when none has attachments or tool parts. */
static JsonNode *
api_messages (RillProviderKind kind, JsonNode *messages, gboolean record, gsize max)
{
  JsonArray *in;
  JsonArray *out;
  gboolean any = FALSE;

  if (!JSON_NODE_HOLDS_ARRAY (messages))
    return json_node_ref (messages);
  in = json_node_get_array (messages);
  for (guint i = 0; i < json_array_get_length (in) && !any; i++)
    any = needs_api_shape (json_array_get_element (in, i));
  if (!any)
    return json_node_ref (messages);

  out = json_array_new ();
  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *message = json_array_get_element (in, i);

      if (needs_api_shape (message))
        json_array_add_element (out, api_message (kind, json_node_get_object (message), record,
                                                  max));
      else
        json_array_add_element (out, json_node_copy (message));
    }
  return json_node_init_array (json_node_alloc (), out);
}

static gboolean
api_messages_differ (JsonNode *messages)
{
  g_autoptr(JsonNode) same = api_messages (RILL_PROVIDER_OPENAI, messages, TRUE, 0);

  return same != messages;
}

SoupMessage *
rill_provider_new_chat_message (RillProvider *self,
                                const char   *model,
                                JsonNode     *messages,
                                double        temperature,
                                char        **request_json)
{
  return rill_provider_new_chat_request (self, model, messages, temperature, NULL, 0,
                                         request_json);
}

SoupMessage *
rill_provider_new_chat_request (RillProvider *self,
                                const char   *model,
                                JsonNode     *messages,
                                double        temperature,
                                GPtrArray    *tools,
                                gsize         tool_result_max_bytes,
                                char        **request_json)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) record = NULL;
  g_autofree char *body_text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *path;
  SoupMessage *message;

  g_return_val_if_fail (RILL_IS_PROVIDER (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model ? model : "");
  json_builder_set_member_name (builder, "messages");
  json_builder_add_value (builder, api_messages (self->kind, messages, FALSE,
                                                 tool_result_max_bytes));
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);
  if (tools != NULL && tools->len > 0)
    {
      json_builder_set_member_name (builder, "tools");
      json_builder_add_value (builder, api_tools (tools));
    }
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

  path = self->kind == RILL_PROVIDER_OLLAMA ? "/api/chat" : "/chat/completions";
  message = new_message (self, SOUP_METHOD_POST, path);
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
      /* The address as shown, never with a password in it. */
      g_autofree char *url = g_strconcat (self->display_url, path, NULL);

      json_builder_begin_object (recorder);
      json_builder_set_member_name (recorder, "url");
      json_builder_add_string_value (recorder, url);
      json_builder_set_member_name (recorder, "provider");
      json_builder_add_string_value (recorder, rill_provider_kind_to_string (self->kind));
      json_builder_set_member_name (recorder, "body");
      if (api_messages_differ (messages))
        {
          g_autoptr(JsonNode) recorded = json_node_copy (body);

          json_object_set_member (json_node_get_object (recorded), "messages",
                                  api_messages (self->kind, messages, TRUE,
                                                tool_result_max_bytes));
          json_builder_add_value (recorder, g_steal_pointer (&recorded));
        }
      else
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

/* A lookup reads the body in pieces, so that a list that never ends is
 * stopped at the limit instead of held, under a deadline of its own: the
 * session has none. Its cancellable is cancelled by the caller's or by the
 * deadline, and which one it was decides the error. */
typedef struct
{
  SoupMessage  *message;
  GInputStream *body;
  GByteArray   *bytes;
  GCancellable *cancellable;
  GCancellable *caller_cancellable;
  gulong        caller_cancelled_id;
  guint         deadline_id;
  guint         timeout_ms;
  gboolean      timed_out;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  if (lookup->caller_cancelled_id != 0)
    g_cancellable_disconnect (lookup->caller_cancellable, lookup->caller_cancelled_id);
  g_clear_object (&lookup->caller_cancellable);
  g_clear_handle_id (&lookup->deadline_id, g_source_remove);
  /* Gives the connection back, or closes it when the body was cut short. */
  if (lookup->body != NULL)
    g_input_stream_close_async (lookup->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&lookup->body);
  g_clear_object (&lookup->message);
  g_clear_pointer (&lookup->bytes, g_byte_array_unref);
  g_clear_object (&lookup->cancellable);
  g_free (lookup);
}

static gsize
max_models_bytes (void)
{
  return max_models_override ? max_models_override : RILL_MAX_MODELS_BYTES;
}

void
_rill_provider_set_max_models_bytes (gsize max)
{
  max_models_override = max;
}

static gboolean
lookup_deadline_cb (gpointer user_data)
{
  Lookup *lookup = user_data;

  lookup->deadline_id = 0;
  lookup->timed_out = TRUE;
  g_cancellable_cancel (lookup->cancellable);
  return G_SOURCE_REMOVE;
}

static void
lookup_caller_cancelled_cb (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

static void
lookup_return_error (GTask *task, GError *error)
{
  RillProvider *self = g_task_get_source_object (task);
  Lookup *lookup = g_task_get_task_data (task);

  if (lookup->timed_out)
    {
      g_error_free (error);
      g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_TIMEOUT,
                               "The server at %s did not list its models within %g seconds",
                               self->display_url, lookup->timeout_ms / 1000.0);
      return;
    }
  g_task_return_error (task, error);
}

static void
lookup_done (GTask *task)
{
  RillProvider *self = g_task_get_source_object (task);
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&lookup->bytes));
  g_autoptr(GError) error = NULL;
  guint status = soup_message_get_status (lookup->message);
  GStrv models;

  if (status >= 300)
    {
      gsize len;
      const char *body = g_bytes_get_data (bytes, &len);
      g_autofree char *why =
        rill_provider_describe_http_error (status,
                                           soup_message_get_reason_phrase (lookup->message),
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

static void
lookup_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Lookup *lookup = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(GBytes) piece = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);
  gboolean error_page = soup_message_get_status (lookup->message) >= 300;
  gsize len;
  const guint8 *data;

  if (piece == NULL)
    {
      lookup_return_error (task, error);
      return;
    }
  data = g_bytes_get_data (piece, &len);
  if (len == 0)
    {
      lookup_done (task);
      return;
    }
  if (error_page)
    {
      g_byte_array_append (lookup->bytes, data, MIN (len, ERROR_BODY_MAX - lookup->bytes->len));
      if (lookup->bytes->len >= ERROR_BODY_MAX)
        {
          lookup_done (task);
          return;
        }
    }
  else if (lookup->bytes->len + len > max_models_bytes ())
    {
      gsize max = max_models_bytes ();

      if (max % (1024 * 1024) == 0)
        g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_INVALID,
                                 "The server's list of models is larger than %" G_GSIZE_FORMAT
                                 " MiB", max / (1024 * 1024));
      else
        g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_INVALID,
                                 "The server's list of models is larger than %" G_GSIZE_FORMAT
                                 " bytes", max);
      return;
    }
  else
    g_byte_array_append (lookup->bytes, data, len);

  g_input_stream_read_bytes_async (lookup->body, MODELS_READ_SIZE, G_PRIORITY_DEFAULT,
                                   lookup->cancellable, lookup_read_cb, g_steal_pointer (&task));
}

static void
lookup_send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Lookup *lookup = g_task_get_task_data (task);
  GError *error = NULL;

  lookup->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (lookup->body == NULL)
    {
      lookup_return_error (task, error);
      return;
    }
  g_input_stream_read_bytes_async (lookup->body, MODELS_READ_SIZE, G_PRIORITY_DEFAULT,
                                   lookup->cancellable, lookup_read_cb, g_steal_pointer (&task));
}

void
rill_provider_list_models_async (RillProvider        *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  rill_provider_list_models_full_async (self, MODELS_TIMEOUT_MS, cancellable, callback,
                                        user_data);
}

void
rill_provider_list_models_full_async (RillProvider        *self,
                                      guint                timeout_ms,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SoupMessage *message;
  Lookup *lookup;

  g_return_if_fail (RILL_IS_PROVIDER (self));
  g_return_if_fail (timeout_ms > 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_provider_list_models_async);
  message = new_message (self, SOUP_METHOD_GET,
                         self->kind == RILL_PROVIDER_OLLAMA ? "/api/tags" : "/models");
  if (message == NULL)
    {
      g_task_return_new_error (task, RILL_ERROR, RILL_ERROR_ADDRESS,
                               "“%s” is not a valid server address", self->display_url);
      return;
    }
  lookup = g_new0 (Lookup, 1);
  lookup->message = message;
  lookup->bytes = g_byte_array_new ();
  lookup->cancellable = g_cancellable_new ();
  lookup->timeout_ms = timeout_ms;
  g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
  if (cancellable != NULL)
    {
      lookup->caller_cancellable = g_object_ref (cancellable);
      lookup->caller_cancelled_id = g_cancellable_connect (cancellable,
                                                           G_CALLBACK (lookup_caller_cancelled_cb),
                                                           lookup->cancellable, NULL);
    }
  lookup->deadline_id = g_timeout_add (timeout_ms, lookup_deadline_cb, lookup);
  soup_session_send_async (self->session, message, G_PRIORITY_DEFAULT, lookup->cancellable,
                           lookup_send_cb, g_steal_pointer (&task));
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

      g_ptr_array_add (discovery->candidates, candidate);
      probe->task = g_object_ref (task);
      probe->index = i;
      rill_provider_list_models_full_async (candidate, DISCOVERY_TIMEOUT_MS, cancellable,
                                            probe_cb, probe);
    }
}

RillProvider *
rill_provider_discover_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
