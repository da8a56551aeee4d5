/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rill-records-private.h"

#include <json-glib/json-glib.h>

G_DEFINE_FINAL_TYPE (RillConversation, rill_conversation, G_TYPE_OBJECT)
G_DEFINE_FINAL_TYPE (RillMessage, rill_message, G_TYPE_OBJECT)

enum {
  CONVERSATION_PROP_0,
  CONVERSATION_PROP_ID,
  CONVERSATION_PROP_TITLE,
  CONVERSATION_PROP_MODEL,
  CONVERSATION_PROP_UPDATED_AT,
  CONVERSATION_N_PROPS
};

enum {
  MESSAGE_PROP_0,
  MESSAGE_PROP_ID,
  MESSAGE_PROP_ROLE,
  MESSAGE_PROP_CONTENT,
  MESSAGE_PROP_STATUS,
  MESSAGE_N_PROPS
};

static GParamSpec *conversation_props[CONVERSATION_N_PROPS];
static GParamSpec *message_props[MESSAGE_N_PROPS];

static void
rill_conversation_finalize (GObject *object)
{
  RillConversation *self = RILL_CONVERSATION (object);

  g_free (self->title);
  g_free (self->model);
  g_free (self->system_prompt);
  g_free (self->uid);
  g_free (self->server);
  g_free (self->server_url);
  g_free (self->preset);
  g_free (self->tools);
  G_OBJECT_CLASS (rill_conversation_parent_class)->finalize (object);
}

static void
rill_conversation_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  RillConversation *self = RILL_CONVERSATION (object);

  switch (prop_id)
    {
    case CONVERSATION_PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case CONVERSATION_PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case CONVERSATION_PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case CONVERSATION_PROP_UPDATED_AT:
      g_value_set_int64 (value, self->updated_at);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_conversation_class_init (RillConversationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rill_conversation_finalize;
  object_class->get_property = rill_conversation_get_property;

  conversation_props[CONVERSATION_PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  conversation_props[CONVERSATION_PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  conversation_props[CONVERSATION_PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  conversation_props[CONVERSATION_PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, CONVERSATION_N_PROPS, conversation_props);
}

static void
rill_conversation_init (RillConversation *self)
{
  self->history_limit = -1;
}

gint64 rill_conversation_get_id (RillConversation *self) { return self->id; }
const char *rill_conversation_get_title (RillConversation *self) { return self->title; }
const char *rill_conversation_get_model (RillConversation *self) { return self->model; }

const char *
rill_conversation_get_system_prompt (RillConversation *self)
{
  return self->system_prompt;
}

gint64 rill_conversation_get_created_at (RillConversation *self) { return self->created_at; }
gint64 rill_conversation_get_updated_at (RillConversation *self) { return self->updated_at; }
const char *rill_conversation_get_uid (RillConversation *self) { return self->uid; }
gint64 rill_conversation_get_deleted_at (RillConversation *self) { return self->deleted_at; }
const char *rill_conversation_get_server (RillConversation *self) { return self->server; }
const char *rill_conversation_get_server_url (RillConversation *self) { return self->server_url; }
const char *rill_conversation_get_preset (RillConversation *self) { return self->preset; }

gboolean
rill_conversation_get_temperature (RillConversation *self,
                                   double           *temperature)
{
  if (self->has_temperature && temperature != NULL)
    *temperature = self->temperature;
  return self->has_temperature;
}

gint64 rill_conversation_get_history_limit (RillConversation *self) { return self->history_limit; }
const char *rill_conversation_get_tools (RillConversation *self) { return self->tools; }

static void
rill_message_finalize (GObject *object)
{
  RillMessage *self = RILL_MESSAGE (object);

  g_free (self->content);
  g_free (self->reasoning);
  g_free (self->error);
  g_free (self->model);
  g_free (self->finish_reason);
  g_free (self->request);
  g_free (self->usage);
  g_free (self->uid);
  g_free (self->tool_calls);
  g_clear_pointer (&self->tool_call_list, g_ptr_array_unref);
  g_free (self->tool_call_id);
  g_free (self->tool_server);
  g_free (self->tool_name);
  G_OBJECT_CLASS (rill_message_parent_class)->finalize (object);
}

static void
rill_message_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  RillMessage *self = RILL_MESSAGE (object);

  switch (prop_id)
    {
    case MESSAGE_PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case MESSAGE_PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case MESSAGE_PROP_CONTENT:
      g_value_set_string (value, self->content);
      break;
    case MESSAGE_PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_message_class_init (RillMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rill_message_finalize;
  object_class->get_property = rill_message_get_property;

  message_props[MESSAGE_PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  message_props[MESSAGE_PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, RILL_TYPE_ROLE, RILL_ROLE_SYSTEM,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  message_props[MESSAGE_PROP_CONTENT] =
    g_param_spec_string ("content", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  message_props[MESSAGE_PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, RILL_TYPE_STATUS, RILL_STATUS_STREAMING,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, MESSAGE_N_PROPS, message_props);
}

static void
rill_message_init (RillMessage *self)
{
  self->prompt_tokens = -1;
  self->completion_tokens = -1;
  self->ttft_ms = -1;
  self->generation_ms = -1;
}

gint64 rill_message_get_id (RillMessage *self) { return self->id; }
gint64 rill_message_get_conversation_id (RillMessage *self) { return self->conversation_id; }
RillRole rill_message_get_role (RillMessage *self) { return self->role; }

const char *
rill_message_get_content (RillMessage *self)
{
  return self->content ? self->content : "";
}

const char *
rill_message_get_reasoning (RillMessage *self)
{
  return self->reasoning ? self->reasoning : "";
}

RillStatus rill_message_get_status (RillMessage *self) { return self->status; }
const char *rill_message_get_error (RillMessage *self) { return self->error; }
const char *rill_message_get_model (RillMessage *self) { return self->model; }
const char *rill_message_get_finish_reason (RillMessage *self) { return self->finish_reason; }
const char *rill_message_get_request (RillMessage *self) { return self->request; }
const char *rill_message_get_usage (RillMessage *self) { return self->usage; }
gint64 rill_message_get_prompt_tokens (RillMessage *self) { return self->prompt_tokens; }
gint64 rill_message_get_completion_tokens (RillMessage *self) { return self->completion_tokens; }
gint64 rill_message_get_created_at (RillMessage *self) { return self->created_at; }
gint64 rill_message_get_finished_at (RillMessage *self) { return self->finished_at; }
gint64 rill_message_get_parent_id (RillMessage *self) { return self->parent_id; }
const char *rill_message_get_uid (RillMessage *self) { return self->uid; }
guint rill_message_get_version (RillMessage *self) { return self->version; }
guint rill_message_get_n_versions (RillMessage *self) { return self->n_versions; }
gint64 rill_message_get_ttft_ms (RillMessage *self) { return self->ttft_ms; }
gint64 rill_message_get_generation_ms (RillMessage *self) { return self->generation_ms; }
const char *rill_message_get_tool_calls_json (RillMessage *self) { return self->tool_calls; }
GPtrArray *rill_message_get_tool_calls (RillMessage *self) { return self->tool_call_list; }
const char *rill_message_get_tool_call_id (RillMessage *self) { return self->tool_call_id; }
const char *rill_message_get_tool_server (RillMessage *self) { return self->tool_server; }
const char *rill_message_get_tool_name (RillMessage *self) { return self->tool_name; }

/* Parsed once, when the row is read: a record is never changed after, so
 * it may be read from any thread. */
void
_rill_message_take_tool_calls (RillMessage *self,
                               char        *json)
{
  g_free (self->tool_calls);
  g_clear_pointer (&self->tool_call_list, g_ptr_array_unref);
  self->tool_calls = json;
  self->tool_call_list = rill_tool_calls_from_json (json);
}

/* Tool calls as stored */

char *
rill_tool_calls_to_json (GPtrArray *calls)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  if (calls == NULL || calls->len == 0)
    return NULL;
  builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (guint i = 0; i < calls->len; i++)
    {
      const RillToolCall *call = g_ptr_array_index (calls, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      if (call->id != NULL)
        json_builder_add_string_value (builder, call->id);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "name");
      if (call->name != NULL)
        json_builder_add_string_value (builder, call->name);
      else
        json_builder_add_null_value (builder);
      /* A string, even when it holds JSON: the model's text, byte for
       * byte, whether or not it parses. */
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_string_value (builder, call->arguments ? call->arguments->str : "");
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static char *
dup_string_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
         ? g_strdup (json_node_get_string (node)) : NULL;
}

GPtrArray *
rill_tool_calls_from_json (const char *json)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  JsonArray *array;

  if (json == NULL)
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return NULL;
  array = json_node_get_array (json_parser_get_root (parser));
  calls = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_tool_call_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *object;
      JsonNode *arguments;
      RillToolCall *call;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      object = json_node_get_object (element);
      call = g_new0 (RillToolCall, 1);
      call->index = calls->len;
      call->id = dup_string_member (object, "id");
      call->type = g_strdup ("function");
      call->name = dup_string_member (object, "name");
      arguments = json_object_get_member (object, "arguments");
      if (arguments != NULL && json_node_get_value_type (arguments) == G_TYPE_STRING)
        call->arguments = g_string_new (json_node_get_string (arguments));
      else if (arguments != NULL && !JSON_NODE_HOLDS_NULL (arguments))
        {
          g_autofree char *text = json_to_string (arguments, FALSE);

          call->arguments = g_string_new (text);
        }
      else
        call->arguments = g_string_new (NULL);
      g_ptr_array_add (calls, call);
    }
  return g_steal_pointer (&calls);
}

/* Attachments */

RillStoredAttachment *
rill_stored_attachment_new (const char *name,
                            const char *mime_type,
                            GBytes     *data,
                            const char *text)
{
  RillStoredAttachment *self;

  g_return_val_if_fail (name != NULL && mime_type != NULL && data != NULL, NULL);

  self = g_new0 (RillStoredAttachment, 1);
  self->name = g_strdup (name);
  self->mime_type = g_strdup (mime_type);
  self->data = g_bytes_ref (data);
  self->text = g_strdup (text);
  self->size = g_bytes_get_size (data);
  self->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
  return self;
}

void
rill_stored_attachment_free (RillStoredAttachment *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_free (self->mime_type);
  g_free (self->sha256);
  g_clear_pointer (&self->data, g_bytes_unref);
  g_free (self->text);
  g_clear_pointer (&self->thumbnail, g_bytes_unref);
  g_free (self);
}

gboolean
rill_stored_attachment_is_image (const RillStoredAttachment *self)
{
  return self->text == NULL && g_str_has_prefix (self->mime_type, "image/");
}
