/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rill-records-private.h"

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
  g_free (self);
}

gboolean
rill_stored_attachment_is_image (const RillStoredAttachment *self)
{
  return self->text == NULL && g_str_has_prefix (self->mime_type, "image/");
}
