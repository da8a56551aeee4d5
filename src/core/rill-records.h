/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-records.h: rows of the store as GObjects, for GListModel and tests. */
#pragma once

#include <gio/gio.h>

#include "rill-stream-parser.h"
#include "rill-types.h"

G_BEGIN_DECLS

#define RILL_TYPE_CONVERSATION (rill_conversation_get_type ())
G_DECLARE_FINAL_TYPE (RillConversation, rill_conversation, RILL, CONVERSATION, GObject)

#define RILL_TYPE_MESSAGE (rill_message_get_type ())
G_DECLARE_FINAL_TYPE (RillMessage, rill_message, RILL, MESSAGE, GObject)

/* Times are milliseconds since the Unix epoch, as stored. */
gint64      rill_conversation_get_id            (RillConversation *self);
const char *rill_conversation_get_title         (RillConversation *self);
const char *rill_conversation_get_model         (RillConversation *self);
const char *rill_conversation_get_system_prompt (RillConversation *self);
gint64      rill_conversation_get_created_at    (RillConversation *self);
gint64      rill_conversation_get_updated_at    (RillConversation *self);
/* 32 lowercase hex digits, the same on every copy of the history. */
const char *rill_conversation_get_uid           (RillConversation *self);
/* When it was moved to the trash; 0 when it is not there. */
gint64      rill_conversation_get_deleted_at    (RillConversation *self);
/* The id of the server its replies go to; NULL until its first reply. */
const char *rill_conversation_get_server        (RillConversation *self);
/* That server's address without user info, to name it once it is gone. */
const char *rill_conversation_get_server_url    (RillConversation *self);
/* The preset it started from, by name, or NULL: its values are the
 * conversation's own copy (rill-preset.h). */
const char *rill_conversation_get_preset        (RillConversation *self);
/* TRUE with *@temperature when the conversation has its own (< 0: the
 * server's default); FALSE when the preferences' applies. */
gboolean    rill_conversation_get_temperature   (RillConversation *self,
                                                 double           *temperature);
/* Its own history limit (0 for all), or -1 when the preferences' applies. */
gint64      rill_conversation_get_history_limit (RillConversation *self);
/* The tools it offers, as a RillToolChoice's JSON; NULL for none. */
const char *rill_conversation_get_tools         (RillConversation *self);

gint64      rill_message_get_id                 (RillMessage      *self);
gint64      rill_message_get_conversation_id    (RillMessage      *self);
RillRole    rill_message_get_role               (RillMessage      *self);
const char *rill_message_get_content            (RillMessage      *self);
const char *rill_message_get_reasoning          (RillMessage      *self);
RillStatus  rill_message_get_status             (RillMessage      *self);
const char *rill_message_get_error              (RillMessage      *self);
const char *rill_message_get_model              (RillMessage      *self);
const char *rill_message_get_finish_reason      (RillMessage      *self);
const char *rill_message_get_request            (RillMessage      *self);
const char *rill_message_get_usage              (RillMessage      *self);
gint64      rill_message_get_prompt_tokens      (RillMessage      *self);
gint64      rill_message_get_completion_tokens  (RillMessage      *self);
gint64      rill_message_get_created_at         (RillMessage      *self);
gint64      rill_message_get_finished_at        (RillMessage      *self);
/* The message this one follows, 0 for the first of its conversation. */
gint64      rill_message_get_parent_id          (RillMessage      *self);
const char *rill_message_get_uid                (RillMessage      *self);
/* Read with the path shown only (rill_store_list_path()), else 0: which of
 * the messages with the same parent this is (1 for the oldest), and how
 * many there are. */
guint       rill_message_get_version            (RillMessage      *self);
guint       rill_message_get_n_versions         (RillMessage      *self);
/* What the reply cost: milliseconds from sending the request to its first
 * token, and from the first token to the end; -1 when unknown. */
gint64      rill_message_get_ttft_ms            (RillMessage      *self);
gint64      rill_message_get_generation_ms      (RillMessage      *self);

/* Tools (schema 8). On an assistant message, the calls it asked for as
 * stored: a JSON array of {"id", "name", "arguments"}, the argument text
 * exactly as the model sent it; NULL when it asked for none. The same
 * parsed, RillToolCall in the order asked (@index is the place in the
 * array; a call stored without an id or a name has NULL there), (transfer
 * none); NULL when it asked for none. */
const char *rill_message_get_tool_calls_json    (RillMessage      *self);
GPtrArray  *rill_message_get_tool_calls         (RillMessage      *self);
/* On a tool message: the id of the call it answers, the server's name in
 * mcp.json and the tool's name on that server; NULL on other messages. */
const char *rill_message_get_tool_call_id       (RillMessage      *self);
const char *rill_message_get_tool_server        (RillMessage      *self);
const char *rill_message_get_tool_name          (RillMessage      *self);

/* The one writer and reader of messages.tool_calls. @calls are
 * RillToolCall; NULL or empty gives NULL, so the column stays NULL for a
 * message without calls. Arguments are written as the text they are, never
 * parsed. */
char       *rill_tool_calls_to_json             (GPtrArray        *calls);
/* NULL when @json is NULL or not an array; an element that is not an
 * object is skipped; arguments that are not text (written by another
 * tool) are kept as compact JSON. */
GPtrArray  *rill_tool_calls_from_json           (const char       *json);

/* A file attached to a stored message, or one about to be stored with its
 * message. A plain record, never changed once made, so it may be read on
 * the store's writer thread. */
typedef struct
{
  gint64  id;          /* 0 until stored */
  gint64  message_id;  /* 0 until stored */
  char   *name;
  char   *mime_type;
  char   *sha256;      /* of data, lowercase hex */
  GBytes *data;        /* the bytes sent and stored; NULL as read for showing */
  char   *text;        /* what a model is given of a text file or a PDF; NULL for an image */
  gint64  size;
  gint64  created_at;  /* 0 until stored */
  /* An image's thumbnail (schema 9): PNG or JPEG, at most
   * RILL_STORED_THUMBNAIL_SIDE (rill-attachment.h) pixels on its longer
   * side; NULL when none is made yet (or the image does not decode). */
  GBytes *thumbnail;
  int     thumbnail_width;
  int     thumbnail_height;
} RillStoredAttachment;

/* Computes the size and SHA-256 of @data. */
RillStoredAttachment *rill_stored_attachment_new  (const char           *name,
                                                   const char           *mime_type,
                                                   GBytes               *data,
                                                   const char           *text);
void                  rill_stored_attachment_free (RillStoredAttachment *self);
gboolean              rill_stored_attachment_is_image (const RillStoredAttachment *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillStoredAttachment, rill_stored_attachment_free)

G_END_DECLS
