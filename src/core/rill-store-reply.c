/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A reply's transactions, all on the writer thread and in queue order.
 *
 * Begin commits the user's message and the assistant row ("streaming") in
 * one durable transaction before the request goes out, and reads the
 * history to send in the same transaction, with the ids of what it read.
 * Checkpoints insert what is new since the last one that committed as a
 * piece (message_pieces, schema 5) with synchronous=NORMAL: safe against
 * the app crashing, and as cheap at 2 MiB as at 1 KiB; the reply learns
 * whether each committed and sends a failed one again from the same place,
 * so the stored text has no hole. The final write carries the whole text
 * and the ending, deletes the pieces and commits with synchronous=FULL, so
 * a reply shown as finished survives a power cut; when it cannot commit,
 * the journal keeps it (below) and it is retried. The request is stored
 * once, naming the history by ids. At open, the journal is committed and
 * the pieces of rows left streaming are folded into their content. Begin
 * and the final write tell the window through "conversation-changed";
 * checkpoints tell nobody. */

#include "rill-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

void
rill_reply_context_free (RillReplyContext *context)
{
  if (context == NULL)
    return;
  g_clear_pointer (&context->messages, json_node_unref);
  g_clear_pointer (&context->history_ids, g_array_unref);
  g_free (context->conversation_model);
  g_free (context);
}

void
rill_reply_final_free (RillReplyFinal *final)
{
  if (final == NULL)
    return;
  g_free (final->content);
  g_free (final->reasoning);
  g_free (final->error);
  g_free (final->model);
  g_free (final->finish_reason);
  g_free (final->usage_json);
  g_free (final->request_json);
  g_free (final->tool_calls_json);
  g_clear_pointer (&final->history_ids, g_array_unref);
  g_free (final);
}

typedef struct
{
  RillReplyRows *rows;
  char          *user_text;
  GPtrArray     *attachments;   /* RillStoredAttachment, never changed: safe here */
  char          *system_prompt;
  guint          history_limit;
  guint          image_limit;
} BeginArgs;

static void
begin_args_free (BeginArgs *args)
{
  g_atomic_rc_box_release (args->rows);
  g_free (args->user_text);
  g_clear_pointer (&args->attachments, g_ptr_array_unref);
  g_free (args->system_prompt);
  g_free (args);
}

static char *
title_from_text (const char *text)
{
  g_autofree char *line = NULL;
  const char *end = strchr (text, '\n');
  glong n_chars;

  line = g_strstrip (end ? g_strndup (text, end - text) : g_strdup (text));
  n_chars = g_utf8_strlen (line, -1);
  if (n_chars > 80)
    {
      g_autofree char *cut = g_utf8_substring (line, 0, 79);
      return g_strconcat (cut, "…", NULL);
    }
  return g_steal_pointer (&line);
}

/* @parent_id 0: the first message of its conversation. */
static gboolean
insert_message (sqlite3 *db, gint64 conversation_id, gint64 parent_id, RillRole role,
                const char *content, RillStatus status, gint64 *id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = rill_sqlite_prepare (db,
                                    "INSERT INTO messages (conversation_id, role, content, status,"
                                    " created_at, finished_at, parent_id, uid)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5,"
                                    " CASE WHEN ?4 = 'streaming' THEN NULL ELSE ?5 END,"
                                    " nullif(?6, 0), lower(hex(randomblob(16))))",
                                    "save to", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  rill_sqlite_bind_text (stmt, 2, rill_role_to_string (role), -1);
  rill_sqlite_bind_text (stmt, 3, content, -1);
  rill_sqlite_bind_text (stmt, 4, rill_status_to_string (status), -1);
  sqlite3_bind_int64 (stmt, 5, _rill_store_now_ms ());
  sqlite3_bind_int64 (stmt, 6, parent_id);
  if (!rill_sqlite_step_done (db, stmt, "save to", error))
    return FALSE;
  *id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

/* What the new rows follow: a new version follows what the message it is a
 * version of follows; anything else follows the last message of the path
 * shown, read in this transaction, so a reply written since the window
 * last read it (in another window) is not skipped. */
static gboolean
find_parent (sqlite3 *db, RillReplyRows *rows, gint64 *parent_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (rows->version_of == 0)
    return _rill_store_find_shown_leaf (db, rows->conversation_id, 0, parent_id, error);

  if (!(stmt = rill_sqlite_prepare (db,
                                    "SELECT coalesce(parent_id, 0) FROM messages"
                                    " WHERE id = ?1 AND conversation_id = ?2",
                                    "read", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, rows->version_of);
  sqlite3_bind_int64 (stmt, 2, rows->conversation_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND,
                   "The message to write a new version of no longer exists");
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return FALSE;
    }
  *parent_id = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* The bytes go to attachment_data once per SHA-256 (schema 7); the row
 * names them. The text a model is given of a text file or a PDF is kept
 * with the row, so the history is sent again without reading the file. */
gboolean
_rill_store_insert_attachments (sqlite3 *db, gint64 message_id, GPtrArray *attachments,
                                GError **error)
{
  g_autoptr(sqlite3_stmt) data = NULL;
  g_autoptr(sqlite3_stmt) row = NULL;
  g_autoptr(sqlite3_stmt) thumbnail = NULL;
  gint64 now = _rill_store_now_ms ();

  if (attachments == NULL || attachments->len == 0)
    return TRUE;
  if (!(data = rill_sqlite_prepare (db,
                                    "INSERT OR IGNORE INTO attachment_data (sha256, data)"
                                    " VALUES (?1, ?2)", "save to", error))
      || !(row = rill_sqlite_prepare (db,
                                      "INSERT INTO attachments (message_id, name, mime_type, size,"
                                      " sha256, data, text, created_at)"
                                      " VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7)",
                                      "save to", error))
      || !(thumbnail = rill_sqlite_prepare (db,
                                            "INSERT OR IGNORE INTO attachment_thumbnails"
                                            " (sha256, width, height, data)"
                                            " VALUES (?1, ?2, ?3, ?4)", "save to", error)))
    return FALSE;
  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      gsize len;
      gconstpointer bytes_data = g_bytes_get_data (attachment->data, &len);

      sqlite3_reset (data);
      rill_sqlite_bind_text (data, 1, attachment->sha256, -1);
      /* An empty blob is a blob, not NULL (NOT NULL holds). */
      sqlite3_bind_blob64 (data, 2, bytes_data ? bytes_data : "", len, SQLITE_STATIC);
      if (!rill_sqlite_step_done (db, data, "save to", error))
        return FALSE;
      /* Made by the loader, from the pixels it had decoded anyway. */
      if (attachment->thumbnail != NULL)
        {
          gsize thumbnail_len;
          gconstpointer thumbnail_data = g_bytes_get_data (attachment->thumbnail, &thumbnail_len);

          sqlite3_reset (thumbnail);
          rill_sqlite_bind_text (thumbnail, 1, attachment->sha256, -1);
          sqlite3_bind_int (thumbnail, 2, attachment->thumbnail_width);
          sqlite3_bind_int (thumbnail, 3, attachment->thumbnail_height);
          sqlite3_bind_blob64 (thumbnail, 4, thumbnail_data ? thumbnail_data : "",
                               thumbnail_len, SQLITE_STATIC);
          if (!rill_sqlite_step_done (db, thumbnail, "save to", error))
            return FALSE;
        }
      sqlite3_reset (row);
      sqlite3_bind_int64 (row, 1, message_id);
      rill_sqlite_bind_text (row, 2, attachment->name, -1);
      rill_sqlite_bind_text (row, 3, attachment->mime_type, -1);
      sqlite3_bind_int64 (row, 4, (gint64) len);
      rill_sqlite_bind_text (row, 5, attachment->sha256, -1);
      rill_sqlite_bind_text (row, 6, attachment->text, -1);
      sqlite3_bind_int64 (row, 7, now);
      if (!rill_sqlite_step_done (db, row, "save to", error))
        return FALSE;
    }
  return TRUE;
}

/* Adds its attachments to @turn, the history message of row @id, and
 * whether one is an image to *@has_image. An image's bytes are read only
 * when @with_images. */
static gboolean
add_attachments (sqlite3_stmt *stmt, sqlite3 *db, gint64 id, gboolean with_images,
                 JsonObject *turn, gboolean *has_image, GError **error)
{
  JsonArray *list = NULL;
  int rc;

  *has_image = FALSE;
  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int (stmt, 2, with_images);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      JsonObject *item = json_object_new ();
      const char *mime_type = (const char *) sqlite3_column_text (stmt, 2);

      json_object_set_int_member (item, "id", sqlite3_column_int64 (stmt, 0));
      json_object_set_string_member (item, "name", (const char *) sqlite3_column_text (stmt, 1));
      json_object_set_string_member (item, "mime_type", mime_type);
      if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        json_object_set_string_member (item, "text",
                                       (const char *) sqlite3_column_text (stmt, 3));
      else if (g_str_has_prefix (mime_type, "image/"))
        {
          *has_image = TRUE;
          if (sqlite3_column_type (stmt, 4) != SQLITE_NULL)
            {
              g_autofree char *base64 =
                g_base64_encode (sqlite3_column_blob (stmt, 4), sqlite3_column_bytes (stmt, 4));

              json_object_set_string_member (item, "data", base64);
            }
        }
      if (list == NULL)
        list = json_array_new ();
      json_array_add_object_element (list, item);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      if (list != NULL)
        json_array_unref (list);
      return FALSE;
    }
  if (list != NULL)
    json_object_set_array_member (turn, "attachments", list);
  return TRUE;
}

/* One row of the history as read, nearest first. */
typedef struct
{
  gint64      id;
  RillRole    role;
  RillStatus  status;
  JsonObject *turn;         /* role, content, attachments */
  GPtrArray  *calls;        /* an assistant's RillToolCall, or NULL */
  char       *tool_call_id; /* a tool row's */
} HistoryRow;

static void
history_row_clear (HistoryRow *row)
{
  g_clear_pointer (&row->turn, json_object_unref);
  g_clear_pointer (&row->calls, g_ptr_array_unref);
  g_free (row->tool_call_id);
}

static void
add_turn (JsonArray *messages, GArray *ids, JsonObject *turn, gint64 id)
{
  json_array_add_object_element (messages, json_object_ref (turn));
  g_array_append_val (ids, id);
}

/* A step of a tool loop: the assistant message at @rows[@at] and the tool
 * rows right after it (oldest first in @rows). APIs refuse a call without
 * its result and a result without its call, so each result is paired
 * with a call (by id; by place when either has none) and only what pairs
 * is sent: a call without a result (one cut short by Stop never ran) is
 * left out, its message's text still goes, and so is a result whose call
 * is not there. A call without an id takes its result's, or one made up from
 * the row and its place, the same on both sides. Returns the index after
 * the step. */
static guint
add_tool_step (GArray *rows, guint at, JsonArray *messages, GArray *ids)
{
  HistoryRow *assistant = &g_array_index (rows, HistoryRow, at);
  guint n_calls = assistant->calls->len;
  g_autofree HistoryRow **answers = g_new0 (HistoryRow *, n_calls);
  g_autofree char **call_ids = g_new0 (char *, n_calls);
  JsonArray *sent_calls = json_array_new ();
  guint end = at + 1;

  for (guint k = 0; end < rows->len
       && g_array_index (rows, HistoryRow, end).role == RILL_ROLE_TOOL; end++, k++)
    {
      HistoryRow *result = &g_array_index (rows, HistoryRow, end);
      guint found = n_calls;

      for (guint c = 0; c < n_calls && result->tool_call_id != NULL; c++)
        {
          RillToolCall *call = g_ptr_array_index (assistant->calls, c);

          if (answers[c] == NULL && g_strcmp0 (call->id, result->tool_call_id) == 0)
            found = c;
        }
      if (found == n_calls && k < n_calls && answers[k] == NULL
          && (result->tool_call_id == NULL
              || ((RillToolCall *) g_ptr_array_index (assistant->calls, k))->id == NULL))
        found = k;
      if (found < n_calls)
        answers[found] = result;
    }

  for (guint c = 0; c < n_calls; c++)
    {
      RillToolCall *call = g_ptr_array_index (assistant->calls, c);
      JsonObject *sent;

      if (answers[c] == NULL)
        continue;
      call_ids[c] = call->id ? g_strdup (call->id)
                    : answers[c]->tool_call_id ? g_strdup (answers[c]->tool_call_id)
                    : g_strdup_printf ("call_%" G_GINT64_FORMAT "_%u", assistant->id, c);
      sent = json_object_new ();
      json_object_set_string_member (sent, "id", call_ids[c]);
      json_object_set_string_member (sent, "name", call->name ? call->name : "");
      json_object_set_string_member (sent, "arguments", call->arguments->str);
      json_array_add_object_element (sent_calls, sent);
    }

  if (json_array_get_length (sent_calls) > 0)
    json_object_set_array_member (assistant->turn, "tool_calls", json_array_ref (sent_calls));
  if (json_array_get_length (sent_calls) > 0
      || *json_object_get_string_member (assistant->turn, "content") != '\0')
    add_turn (messages, ids, assistant->turn, assistant->id);

  /* The results in the order they were written, each with the call's id
   * and the function name the model called (Ollama's "tool_name"). */
  for (guint i = at + 1; i < end; i++)
    {
      HistoryRow *result = &g_array_index (rows, HistoryRow, i);

      for (guint c = 0; c < n_calls; c++)
        if (answers[c] == result)
          {
            RillToolCall *call = g_ptr_array_index (assistant->calls, c);

            json_object_set_string_member (result->turn, "tool_call_id", call_ids[c]);
            json_object_set_string_member (result->turn, "tool_name",
                                           call->name ? call->name : "");
            add_turn (messages, ids, result->turn, result->id);
          }
    }
  for (guint c = 0; c < n_calls; c++)
    g_free (call_ids[c]);
  json_array_unref (sent_calls);
  return end;
}

/* Also fills @ids: each message's row, 0 for the system prompt. */
static JsonNode *
read_history (sqlite3 *db, BeginArgs *args, const char *system_prompt, GArray *ids,
              GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) attachments = NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (HistoryRow));
  g_autoptr(JsonArray) messages = json_array_new ();
  guint with_images = 0;
  gboolean has_user = FALSE;
  gint64 no_row = 0;
  guint first;
  int rc;

  g_array_set_clear_func (rows, (GDestroyNotify) history_row_clear);
  /* ?2: whether the image's bytes are wanted. */
  if (!(attachments = rill_sqlite_prepare (db,
                                           "SELECT a.id, a.name, a.mime_type, a.text,"
                                           " CASE WHEN ?2 THEN coalesce(a.data, d.data) END"
                                           " FROM attachments a"
                                           " LEFT JOIN attachment_data d ON d.sha256 = a.sha256"
                                           " WHERE a.message_id = ?1 ORDER BY a.id",
                                           "read", error)))
    return NULL;

  /* The history is the path to the new reply, nearest first, and nothing
   * from other versions. A failed reply is left out; a stopped or
   * interrupted one counts with the text it has, and an assistant message
   * with calls counts without text. A tool's result counts once it is
   * final, whatever its ending: the model is told of a call denied, failed
   * or stopped, in the words of its content. */
  if (!(stmt = rill_sqlite_prepare (db,
                                    "WITH RECURSIVE up (id, depth) AS ("
                                    "   SELECT parent_id, 1 FROM messages WHERE id = ?2"
                                    "   UNION ALL SELECT m.parent_id, up.depth + 1"
                                    "   FROM messages m JOIN up ON m.id = up.id"
                                    "   WHERE m.parent_id < m.id AND up.depth < 1000000)"
                                    " SELECT m.role, m.content, m.id, m.status, m.tool_calls,"
                                    " m.tool_call_id"
                                    " FROM up JOIN messages m ON m.id = up.id"
                                    " WHERE m.conversation_id = ?1"
                                    " AND CASE WHEN m.role = 'tool' THEN m.status != 'streaming'"
                                    "  ELSE m.status IN ('complete', 'stopped', 'interrupted')"
                                    "   AND (m.content != '' OR m.tool_calls IS NOT NULL) END"
                                    " ORDER BY up.depth",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (stmt, 2, args->rows->assistant_message_id);
  /* The history limit counts messages; the rows past it are not read,
   * except when none of those within it is the person's: a tool loop
   * longer than the limit is then sent from the question that began it
   * (starting earlier), as the model cannot answer calls whose reason it
   * was not given. */
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      HistoryRow row = { 0 };
      const char *content = (const char *) sqlite3_column_text (stmt, 1);
      gboolean has_image;

      row.id = sqlite3_column_int64 (stmt, 2);
      row.role = rill_role_from_string ((const char *) sqlite3_column_text (stmt, 0));
      row.status = rill_status_from_string ((const char *) sqlite3_column_text (stmt, 3));
      row.turn = json_object_new ();
      json_object_set_string_member (row.turn, "role",
                                     (const char *) sqlite3_column_text (stmt, 0));
      /* A result with no words of its own still answers its call. */
      if (row.role == RILL_ROLE_TOOL && *content == '\0'
          && (row.status == RILL_STATUS_STOPPED || row.status == RILL_STATUS_INTERRUPTED))
        content = "[The call was stopped before it returned a result.]";
      json_object_set_string_member (row.turn, "content", content);
      if (row.role == RILL_ROLE_ASSISTANT)
        {
          row.calls = rill_tool_calls_from_json ((const char *) sqlite3_column_text (stmt, 4));
          if (row.calls != NULL && row.calls->len == 0)
            g_clear_pointer (&row.calls, g_ptr_array_unref);
        }
      row.tool_call_id = rill_sqlite_column_dup (stmt, 5);
      g_array_append_val (rows, row);
      /* Nearest first: the latest messages with images carry them. */
      if (!add_attachments (attachments, db, row.id,
                            args->image_limit == 0 || with_images < args->image_limit,
                            row.turn, &has_image, error))
        return NULL;
      if (has_image)
        with_images++;
      if (row.role == RILL_ROLE_USER)
        has_user = TRUE;
      /* The limit reached before the person's message: go on until it. */
      if (args->history_limit != 0 && rows->len >= args->history_limit && has_user)
        {
          rc = SQLITE_DONE;
          break;
        }
    }
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return NULL;
    }

  if (system_prompt != NULL && system_prompt[0] != '\0')
    {
      JsonObject *turn = json_object_new ();

      json_object_set_string_member (turn, "role", rill_role_to_string (RILL_ROLE_SYSTEM));
      json_object_set_string_member (turn, "content", system_prompt);
      json_array_add_object_element (messages, turn);
      g_array_append_val (ids, no_row);
    }
  /* Oldest first. A history cut by the limit must not open with a reply,
   * nor with a tool's result, whose call would be missing: it starts at
   * the next message of the person (later, at a whole step). */
  for (guint i = 0; i < rows->len / 2; i++)
    {
      HistoryRow *a = &g_array_index (rows, HistoryRow, i);
      HistoryRow *b = &g_array_index (rows, HistoryRow, rows->len - 1 - i);
      HistoryRow swap = *a;

      *a = *b;
      *b = swap;
    }
  for (first = 0; first < rows->len; first++)
    {
      RillRole role = g_array_index (rows, HistoryRow, first).role;

      if (role != RILL_ROLE_ASSISTANT && role != RILL_ROLE_TOOL)
        break;
    }
  for (guint i = first; i < rows->len;)
    {
      HistoryRow *row = &g_array_index (rows, HistoryRow, i);

      if (row->role == RILL_ROLE_ASSISTANT && row->calls != NULL)
        i = add_tool_step (rows, i, messages, ids);
      else
        {
          /* A result not right after the call it answers (another tool
           * wrote it so) cannot be sent. */
          if (row->role != RILL_ROLE_TOOL)
            add_turn (messages, ids, row->turn, row->id);
          i++;
        }
    }
  return json_node_init_array (json_node_alloc (), messages);
}

static void
begin_reply_job (RillStore *self, GTask *task, gpointer data)
{
  BeginArgs *args = data;
  sqlite3 *db = self->writer;
  g_autoptr(RillReplyContext) context = g_new0 (RillReplyContext, 1);
  g_autoptr(sqlite3_stmt) conversation = NULL;
  g_autoptr(sqlite3_stmt) touch = NULL;
  g_autofree char *system_prompt = NULL;
  g_autofree char *title = NULL;
  gboolean needs_title;
  gint64 parent_id;
  GError *error = NULL;
  int rc;

  /* The user's words must survive whatever happens to the request, so this
   * commit is durable (the level can only change outside a transaction). */
  if (!rill_sqlite_exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", &error))
    return _rill_store_return_write_error (task, db, error);

  if (!(conversation = rill_sqlite_prepare (db,
                                            "SELECT model, system_prompt,"
                                            " title = '' AND title_from_user = 0"
                                            " FROM conversations WHERE id = ?1", "read", &error)))
    return _rill_store_return_write_error (task, db, error);
  sqlite3_bind_int64 (conversation, 1, args->rows->conversation_id);
  rc = sqlite3_step (conversation);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        error = g_error_new (RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND,
                             "The conversation no longer exists");
      else
        rill_sqlite_set_error (&error, db, rc, "read");
      return _rill_store_return_write_error (task, db, error);
    }
  context->conversation_model = rill_sqlite_column_dup (conversation, 0);
  system_prompt = args->system_prompt ? g_strdup (args->system_prompt)
                                      : rill_sqlite_column_dup (conversation, 1);
  needs_title = sqlite3_column_int (conversation, 2);

  if (!find_parent (db, args->rows, &parent_id, &error))
    return _rill_store_return_write_error (task, db, error);
  if (args->user_text != NULL)
    {
      if (!insert_message (db, args->rows->conversation_id, parent_id, RILL_ROLE_USER,
                           args->user_text, RILL_STATUS_COMPLETE,
                           &args->rows->user_message_id, &error)
          || !_rill_store_insert_attachments (db, args->rows->user_message_id,
                                              args->attachments, &error))
        return _rill_store_return_write_error (task, db, error);
      parent_id = args->rows->user_message_id;
    }
  if (!insert_message (db, args->rows->conversation_id, parent_id, RILL_ROLE_ASSISTANT, "",
                       RILL_STATUS_STREAMING, &args->rows->assistant_message_id, &error))
    return _rill_store_return_write_error (task, db, error);

  if (needs_title && args->user_text != NULL)
    title = title_from_text (args->user_text);
  if (!(touch = rill_sqlite_prepare (db,
                                     "UPDATE conversations SET updated_at = ?2,"
                                     " title = coalesce(?3, title), shown_message_id = ?4"
                                     " WHERE id = ?1",
                                     "save to", &error)))
    return _rill_store_return_write_error (task, db, error);
  sqlite3_bind_int64 (touch, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (touch, 2, _rill_store_now_ms ());
  rill_sqlite_bind_text (touch, 3, title, -1);
  sqlite3_bind_int64 (touch, 4, args->rows->assistant_message_id);
  if (!rill_sqlite_step_done (db, touch, "save to", &error))
    return _rill_store_return_write_error (task, db, error);

  context->history_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!(context->messages = read_history (db, args, system_prompt, context->history_ids, &error)))
    return _rill_store_return_write_error (task, db, error);

  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (&error, db, rc, "save to");
      args->rows->user_message_id = 0;
      args->rows->assistant_message_id = 0;
      return _rill_store_return_write_error (task, db, error);
    }

  /* A new message, and perhaps a title: the conversation also moved to
   * the top of the list. */
  _rill_store_queue_change (self, RILL_STORE_CONVERSATION_CHANGED, args->rows->conversation_id);
  g_task_return_pointer (task, g_steal_pointer (&context),
                         (GDestroyNotify) rill_reply_context_free);
}

void
_rill_store_begin_reply_async (RillStore           *self,
                               RillReplyRows       *rows,
                               const char          *user_text,
                               const char          *system_prompt,
                               guint                history_limit,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  _rill_store_begin_reply_full_async (self, rows, user_text, NULL, system_prompt, history_limit,
                                      0, callback, user_data);
}

void
_rill_store_begin_reply_full_async (RillStore           *self,
                                    RillReplyRows       *rows,
                                    const char          *user_text,
                                    GPtrArray           *attachments,
                                    const char          *system_prompt,
                                    guint                history_limit,
                                    guint                image_limit,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  BeginArgs *args = g_new0 (BeginArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->user_text = g_strdup (user_text);
  if (attachments != NULL)
    args->attachments = g_ptr_array_ref (attachments);
  args->image_limit = image_limit;
  args->system_prompt = g_strdup (system_prompt);
  args->history_limit = history_limit;
  _rill_store_push_job (self, begin_reply_job,
                        _rill_store_new_task (self, NULL, callback, user_data,
                                              _rill_store_begin_reply_full_async),
                        args, (GDestroyNotify) begin_args_free);
}

RillReplyContext *
_rill_store_begin_reply_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The request as stored */

static gboolean
sent_as_stored (sqlite3_stmt *stored, JsonNode *sent, gint64 id)
{
  JsonObject *object;
  JsonNode *role, *content;
  gboolean same;

  if (id == 0 || !JSON_NODE_HOLDS_OBJECT (sent))
    return FALSE;
  object = json_node_get_object (sent);
  role = json_object_get_member (object, "role");
  content = json_object_get_member (object, "content");
  /* A message with attachments is recorded with their ids only (see the
   * provider), which the message's row names again. */
  if (json_object_get_size (object) != (json_object_has_member (object, "attachments") ? 3 : 2)
      || role == NULL || content == NULL
      || json_node_get_value_type (role) != G_TYPE_STRING
      || json_node_get_value_type (content) != G_TYPE_STRING)
    return FALSE;
  sqlite3_reset (stored);
  sqlite3_bind_int64 (stored, 1, id);
  if (sqlite3_step (stored) != SQLITE_ROW)
    return FALSE;
  {
    const char *text = json_node_get_string (content);
    gsize len = strlen (text);

    same = g_strcmp0 (json_node_get_string (role),
                      (const char *) sqlite3_column_text (stored, 0)) == 0
           && (gsize) sqlite3_column_bytes (stored, 1) == len
           && memcmp (sqlite3_column_text (stored, 1), text, len) == 0;
  }
  sqlite3_reset (stored);
  return same;
}

static void
add_run (JsonArray *messages, gint64 first, gint64 last)
{
  JsonObject *run = json_object_new ();
  JsonArray *ids = json_array_new ();

  json_array_add_int_element (ids, first);
  json_array_add_int_element (ids, last);
  json_object_set_array_member (run, "ids", ids);
  json_array_add_object_element (messages, run);
}

/* Every reply stored its whole request, history included, so a
 * conversation's requests grew with the square of its length (200 turns
 * of 2 KiB: 10 MB of requests for 0.4 MB of text). The history is in the
 * rows the ids name; a conversation's messages are written one after the
 * other, so the path sent is mostly one run of ids, and a request costs
 * the same at the 200th turn as at the first. */
char *
_rill_store_compact_request (sqlite3 *db, const char *request_json, const GArray *history_ids)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(sqlite3_stmt) stored = NULL;
  g_autoptr(JsonArray) compact = json_array_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *body;
  JsonArray *sent;
  gint64 first = 0, last = 0;

  if (request_json == NULL)
    return NULL;
  if (history_ids == NULL
      || !json_parser_load_from_data (parser, request_json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_strdup (request_json);
  root = json_node_copy (json_parser_get_root (parser));
  body = json_object_get_object_member (json_node_get_object (root), "body");
  if (body == NULL || !json_object_has_member (body, "messages")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (body, "messages")))
    return g_strdup (request_json);
  sent = json_object_get_array_member (body, "messages");
  /* Not the shape it was read for: kept as sent rather than guessed at. */
  if (json_array_get_length (sent) != history_ids->len
      || !(stored = rill_sqlite_prepare (db, "SELECT role, content FROM messages WHERE id = ?1",
                                         "read", NULL)))
    return g_strdup (request_json);

  for (guint i = 0; i < history_ids->len; i++)
    {
      JsonNode *message = json_array_get_element (sent, i);
      gint64 id = g_array_index (history_ids, gint64, i);

      if (sent_as_stored (stored, message, id))
        {
          if (last != 0 && id == last + 1)
            last = id;
          else
            {
              if (first != 0)
                add_run (compact, first, last);
              first = last = id;
            }
          continue;
        }
      if (first != 0)
        add_run (compact, first, last);
      first = last = 0;
      message = json_node_copy (message);
      if (id != 0 && JSON_NODE_HOLDS_OBJECT (message))
        json_object_set_int_member (json_node_get_object (message), "id", id);
      json_array_add_element (compact, message);
    }
  if (first != 0)
    add_run (compact, first, last);
  json_object_set_array_member (body, "messages", json_array_ref (compact));
  return json_to_string (root, FALSE);
}

/* Checkpoints */

/* Waits for another process's write lock. The writer's connection waits
 * up to 5 s (rill_sqlite_open); a checkpoint or a final write that is
 * retried anyway waits less, so that a lock held by another process
 * never holds the writer thread, and the jobs queued behind it (a quit's
 * final writes), for seconds: the retries do the waiting, off the thread. */
#define WRITER_BUSY_MS 5000
#define CHECKPOINT_BUSY_MS 100
#define FINAL_BUSY_MS 250

typedef struct
{
  RillReplyRows *rows;
  guint          seq;
  char          *content;
  gsize          content_len;
  char          *reasoning;
  gsize          reasoning_len;
  char          *request_json;
  GArray        *history_ids;
  char          *tool_calls;
} CheckpointArgs;

static void
checkpoint_args_free (CheckpointArgs *args)
{
  g_atomic_rc_box_release (args->rows);
  g_free (args->content);
  g_free (args->reasoning);
  g_free (args->request_json);
  g_clear_pointer (&args->history_ids, g_array_unref);
  g_free (args->tool_calls);
  g_free (args);
}

/* A checkpoint that failed is not worth a warning: the reply sends the
 * same text again, and the final write carries all of it. */
static void
checkpoint_failed (GTask *task, sqlite3 *db, GError *error)
{
  rill_sqlite_rollback (db);
  g_debug ("Checkpoint not saved, to be sent again: %s", error->message);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* The piece (and the request, once, and the tool calls when they
 * changed), in one transaction. */
static gboolean
checkpoint_write (sqlite3 *db, CheckpointArgs *args, GError **error)
{
  g_autoptr(sqlite3_stmt) piece = NULL;
  g_autoptr(sqlite3_stmt) request = NULL;
  g_autoptr(sqlite3_stmt) calls = NULL;
  g_autofree char *compact = NULL;
  gboolean transaction = args->request_json != NULL || args->tool_calls != NULL;

  if (args->request_json != NULL)
    compact = _rill_store_compact_request (db, args->request_json, args->history_ids);
  if (transaction && !rill_sqlite_exec (db, "BEGIN IMMEDIATE", "save to", error))
    return FALSE;

  /* One new row: the cost follows the new text, not the reply's length. A
   * row no longer streaming (finalized, or marked interrupted) takes no
   * more pieces. Written again under the same seq, a piece replaces the
   * one a failure may have committed after all. */
  if (args->content_len > 0 || args->reasoning_len > 0)
    {
      if (!(piece = rill_sqlite_prepare (db,
                                         "INSERT OR REPLACE INTO message_pieces"
                                         " (message_id, seq, content, reasoning)"
                                         " SELECT id, ?2, ?3, ?4 FROM messages"
                                         " WHERE id = ?1 AND status = 'streaming'",
                                         "save to", error)))
        return FALSE;
      sqlite3_bind_int64 (piece, 1, args->rows->assistant_message_id);
      sqlite3_bind_int64 (piece, 2, args->seq);
      rill_sqlite_bind_text (piece, 3, args->content ? args->content : "", args->content_len);
      rill_sqlite_bind_text (piece, 4, args->reasoning ? args->reasoning : "",
                             args->reasoning_len);
      if (!rill_sqlite_step_done (db, piece, "save to", error))
        return FALSE;
    }

  if (compact != NULL)
    {
      if (!(request = rill_sqlite_prepare (db,
                                           "UPDATE messages SET request = ?2"
                                           " WHERE id = ?1 AND status = 'streaming'",
                                           "save to", error)))
        return FALSE;
      sqlite3_bind_int64 (request, 1, args->rows->assistant_message_id);
      rill_sqlite_bind_text (request, 2, compact, -1);
      if (!rill_sqlite_step_done (db, request, "save to", error))
        return FALSE;
    }

  /* The whole array each time: calls are small next to the text, and a
   * row holding the calls as they stand needs no folding at open. */
  if (args->tool_calls != NULL)
    {
      if (!(calls = rill_sqlite_prepare (db,
                                         "UPDATE messages SET tool_calls = ?2"
                                         " WHERE id = ?1 AND status = 'streaming'",
                                         "save to", error)))
        return FALSE;
      sqlite3_bind_int64 (calls, 1, args->rows->assistant_message_id);
      rill_sqlite_bind_text (calls, 2, args->tool_calls, -1);
      if (!rill_sqlite_step_done (db, calls, "save to", error))
        return FALSE;
    }
  return !transaction || rill_sqlite_exec (db, "COMMIT", "save to", error);
}

static void
checkpoint_job (RillStore *self, GTask *task, gpointer data)
{
  CheckpointArgs *args = data;
  sqlite3 *db = self->writer;
  GError *error = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean ok;

  if (args->rows->assistant_message_id == 0)
    return checkpoint_failed (task, db,
                              g_error_new (RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                                           "The reply's start was not saved"));
  sqlite3_busy_timeout (db, CHECKPOINT_BUSY_MS);
  ok = checkpoint_write (db, args, &error);
  sqlite3_busy_timeout (db, WRITER_BUSY_MS);
  if (!ok)
    return checkpoint_failed (task, db, error);

  {
    gint64 elapsed = g_get_monotonic_time () - start;

    g_mutex_lock (&self->timings_lock);
    g_array_append_val (self->checkpoint_timings, elapsed);
    g_mutex_unlock (&self->timings_lock);
  }
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

void
_rill_store_checkpoint_async (RillStore           *self,
                              RillReplyRows       *rows,
                              guint                seq,
                              const char          *content_tail,
                              gsize                content_len,
                              const char          *reasoning_tail,
                              gsize                reasoning_len,
                              const char          *request_json,
                              const GArray        *history_ids,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  _rill_store_checkpoint_full_async (self, rows, seq, content_tail, content_len, reasoning_tail,
                                     reasoning_len, NULL, request_json, history_ids, callback,
                                     user_data);
}

void
_rill_store_checkpoint_full_async (RillStore           *self,
                                   RillReplyRows       *rows,
                                   guint                seq,
                                   const char          *content_tail,
                                   gsize                content_len,
                                   const char          *reasoning_tail,
                                   gsize                reasoning_len,
                                   const char          *tool_calls_json,
                                   const char          *request_json,
                                   const GArray        *history_ids,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  CheckpointArgs *args = g_new0 (CheckpointArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->seq = seq;
  args->content = g_strndup (content_tail, content_len);
  args->content_len = content_len;
  args->reasoning = g_strndup (reasoning_tail, reasoning_len);
  args->reasoning_len = reasoning_len;
  args->request_json = g_strdup (request_json);
  if (history_ids != NULL)
    args->history_ids = g_array_ref ((GArray *) history_ids);
  args->tool_calls = g_strdup (tool_calls_json);
  _rill_store_push_job (self, checkpoint_job,
                        callback ? _rill_store_new_task (self, NULL, callback, user_data,
                                                         _rill_store_checkpoint_async) : NULL,
                        args, (GDestroyNotify) checkpoint_args_free);
}

gboolean
_rill_store_checkpoint_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

GArray *
_rill_store_take_checkpoint_timings (RillStore *self)
{
  GArray *timings;

  g_mutex_lock (&self->timings_lock);
  timings = g_steal_pointer (&self->checkpoint_timings);
  self->checkpoint_timings = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_mutex_unlock (&self->timings_lock);
  return timings;
}

/* The journal
 *
 * A final write that cannot commit (the database busy past the busy
 * timeout, the disk full or failing) is written as one small JSON file,
 * "<path>.pending/<message id>.json", under a temporary name, synced,
 * renamed into place and its folder synced: once the reply says it is
 * finished, its text survives a crash, a quit and a power cut. The write
 * is retried meanwhile; once it commits the file goes. The next start
 * commits what is left (_rill_store_recover_replies). A file is applied
 * only to the row it was written for (its id and uid) while that row is
 * unfinished, so applying it twice changes nothing. */

char *
_rill_store_journal_dir (const char *path)
{
  return g_strconcat (path, ".pending", NULL);
}

static char *
journal_file (const char *path, gint64 message_id)
{
  g_autofree char *dir = _rill_store_journal_dir (path);
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT ".json", message_id);

  return g_build_filename (dir, name, NULL);
}

static gboolean
sync_folder (const char *dir)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

static void
add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_count (JsonBuilder *builder, const char *name, gint64 value)
{
  json_builder_set_member_name (builder, name);
  if (value >= 0)
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

typedef struct
{
  RillReplyRows  *rows;
  RillReplyFinal *final;
  char           *request;     /* compacted once, then kept for the retries */
  gboolean        compacted;
  gboolean        journaled;
  gint64          finished_at;
  guint           attempts;
} FinalizeArgs;

static gboolean
write_journal (sqlite3 *db, const char *path, FinalizeArgs *args, GError **error)
{
  RillReplyFinal *final = args->final;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = _rill_store_journal_dir (path);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *file = journal_file (path, args->rows->assistant_message_id);
  gboolean new_dir = !g_file_test (dir, G_FILE_TEST_IS_DIR);

  /* Reading works when writing does not; without the uid, the id alone. */
  if ((stmt = rill_sqlite_prepare (db, "SELECT uid FROM messages WHERE id = ?1", "read", NULL)))
    {
      sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        uid = rill_sqlite_column_dup (stmt, 0);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "message_id");
  json_builder_add_int_value (builder, args->rows->assistant_message_id);
  add_string (builder, "uid", uid);
  json_builder_set_member_name (builder, "conversation_id");
  json_builder_add_int_value (builder, args->rows->conversation_id);
  add_string (builder, "status", rill_status_to_string (final->status));
  add_string (builder, "content", final->content ? final->content : "");
  add_string (builder, "reasoning", final->reasoning ? final->reasoning : "");
  add_string (builder, "error", final->error);
  add_string (builder, "model", final->model);
  add_string (builder, "finish_reason", final->finish_reason);
  add_string (builder, "usage", final->usage_json);
  add_string (builder, "request", args->request);
  add_string (builder, "tool_calls", final->tool_calls_json);
  add_count (builder, "prompt_tokens", final->prompt_tokens);
  add_count (builder, "completion_tokens", final->completion_tokens);
  add_count (builder, "ttft_ms", final->ttft_ms);
  add_count (builder, "generation_ms", final->generation_ms);
  json_builder_set_member_name (builder, "finished_at");
  json_builder_add_int_value (builder, args->finished_at);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "Could not create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  if (new_dir)
    sync_folder (parent);
  if (!g_file_set_contents_full (file, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  if (!sync_folder (dir))
    {
      int saved_errno = errno;
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "Could not write %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static void
remove_journal (const char *path, gint64 message_id)
{
  g_autofree char *file = journal_file (path, message_id);
  g_autofree char *dir = _rill_store_journal_dir (path);

  g_unlink (file);
  /* Only when it is empty. */
  g_rmdir (dir);
}

/* The final write */

static void
finalize_args_free (FinalizeArgs *args)
{
  if (args->rows != NULL)
    g_atomic_rc_box_release (args->rows);
  rill_reply_final_free (args->final);
  g_free (args->request);
  g_free (args);
}

/* What may succeed if tried again later. A refusal (a constraint, a
 * trigger) or a damaged file will not. */
static gboolean
is_transient (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return TRUE;
    default:
      return FALSE;
    }
}

/* What the reply cost: its own statement, in the final write's
 * transaction, so the figures commit with the text or not at all. */
static gboolean
write_timings (sqlite3    *db,
               gint64      message_id,
               gint64      ttft_ms,
               gint64      generation_ms,
               const char *doing,
               GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = rill_sqlite_prepare (db, "UPDATE messages SET ttft_ms = ?2, generation_ms = ?3"
                                    " WHERE id = ?1", doing, error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, message_id);
  rill_sqlite_bind_int_or_null (stmt, 2, ttft_ms);
  rill_sqlite_bind_int_or_null (stmt, 3, generation_ms);
  return rill_sqlite_step_done (db, stmt, doing, error);
}

/* The whole text and the ending, and the pieces folded away, in one
 * durable transaction. On failure, *@rc is SQLite's code. */
static gboolean
write_final (sqlite3 *db, FinalizeArgs *args, int *rc, GError **error)
{
  RillReplyFinal *final = args->final;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) pieces = NULL;
  g_autoptr(sqlite3_stmt) touch = NULL;

  if (!rill_sqlite_exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", error))
    goto fail;
  if (!(stmt = rill_sqlite_prepare (db,
                                    "UPDATE messages SET content = ?2, reasoning = ?3,"
                                    " status = ?4, error = ?5, model = ?6,"
                                    " finish_reason = ?7, usage = ?8,"
                                    " request = coalesce(?9, request), prompt_tokens = ?10,"
                                    " completion_tokens = ?11, finished_at = ?12,"
                                    " tool_calls = ?13 WHERE id = ?1",
                                    "save to", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
  rill_sqlite_bind_text (stmt, 2, final->content ? final->content : "", -1);
  rill_sqlite_bind_text (stmt, 3, final->reasoning ? final->reasoning : "", -1);
  rill_sqlite_bind_text (stmt, 4, rill_status_to_string (final->status), -1);
  rill_sqlite_bind_text (stmt, 5, final->error, -1);
  rill_sqlite_bind_text (stmt, 6, final->model, -1);
  rill_sqlite_bind_text (stmt, 7, final->finish_reason, -1);
  rill_sqlite_bind_text (stmt, 8, final->usage_json, -1);
  rill_sqlite_bind_text (stmt, 9, args->request, -1);
  rill_sqlite_bind_int_or_null (stmt, 10, final->prompt_tokens);
  rill_sqlite_bind_int_or_null (stmt, 11, final->completion_tokens);
  sqlite3_bind_int64 (stmt, 12, args->finished_at);
  rill_sqlite_bind_text (stmt, 13, final->tool_calls_json, -1);
  if (!rill_sqlite_step_done (db, stmt, "save to", error))
    goto fail;
  if (!write_timings (db, args->rows->assistant_message_id, final->ttft_ms,
                      final->generation_ms, "save to", error))
    goto fail;

  if (!(pieces = rill_sqlite_prepare (db, "DELETE FROM message_pieces WHERE message_id = ?1",
                                      "save to", error)))
    goto fail;
  sqlite3_bind_int64 (pieces, 1, args->rows->assistant_message_id);
  if (!rill_sqlite_step_done (db, pieces, "save to", error))
    goto fail;

  if (!(touch = rill_sqlite_prepare (db, "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
                                     "save to", error)))
    goto fail;
  sqlite3_bind_int64 (touch, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (touch, 2, _rill_store_now_ms ());
  if (!rill_sqlite_step_done (db, touch, "save to", error)
      || !rill_sqlite_exec (db, "COMMIT", "save to", error))
    goto fail;
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  return TRUE;

fail:
  *rc = sqlite3_errcode (db);
  rill_sqlite_rollback (db);
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  return FALSE;
}

typedef struct
{
  GWeakRef      store;
  FinalizeArgs *args;
} Retry;

static void finalize_job (RillStore *self, GTask *task, gpointer data);

static void
retry_free (Retry *retry)
{
  g_weak_ref_clear (&retry->store);
  g_clear_pointer (&retry->args, finalize_args_free);
  g_free (retry);
}

static gboolean
retry_cb (gpointer data)
{
  Retry *retry = data;
  g_autoptr(RillStore) self = g_weak_ref_get (&retry->store);

  /* A store closed meanwhile left the journal for the next start. */
  if (self != NULL)
    _rill_store_push_job (self, finalize_job, NULL, g_steal_pointer (&retry->args),
                          (GDestroyNotify) finalize_args_free);
  return G_SOURCE_REMOVE;
}

/* Queues the write again after a pause that doubles from 250 ms to 8 s:
 * a lock or a full disk goes away on its own time. The pause is a timeout
 * in the store's main context, so the writer thread goes on with other
 * jobs; the store is held weakly, so a pending retry never keeps it open. */
static void
schedule_retry (RillStore *self, FinalizeArgs *args)
{
  g_autoptr(GSource) source = NULL;
  Retry *retry = g_new0 (Retry, 1);
  FinalizeArgs *moved = g_new0 (FinalizeArgs, 1);

  /* The job's own args are freed when it returns: move their content. */
  *moved = *args;
  memset (args, 0, sizeof *args);
  moved->attempts++;
  g_weak_ref_init (&retry->store, self);
  retry->args = moved;
  source = g_timeout_source_new (250u << MIN (moved->attempts - 1, 5u));
  g_source_set_callback (source, retry_cb, retry, (GDestroyNotify) retry_free);
  g_source_set_static_name (source, "[rill] final write retry");
  g_source_attach (source, self->main_context);
}

static void
finalize_job (RillStore *self, GTask *task, gpointer data)
{
  FinalizeArgs *args = data;
  sqlite3 *db = self->writer;
  g_autoptr(GError) journal_error = NULL;
  GError *error = NULL;
  int rc = SQLITE_OK;
  gboolean ok;

  if (args->rows->assistant_message_id == 0)
    {
      g_task_return_new_error (task, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                               "The reply could not be saved because its start was not saved");
      return;
    }
  if (!args->compacted)
    {
      args->request = _rill_store_compact_request (db, args->final->request_json,
                                                   args->final->history_ids);
      args->compacted = TRUE;
    }

  sqlite3_busy_timeout (db, FINAL_BUSY_MS);
  ok = write_final (db, args, &rc, &error);
  sqlite3_busy_timeout (db, WRITER_BUSY_MS);
  if (ok)
    {
      if (args->journaled)
        remove_journal (self->path, args->rows->assistant_message_id);
      _rill_store_queue_change (self, RILL_STORE_CONVERSATION_CHANGED,
                                args->rows->conversation_id);
      if (task != NULL)
        g_task_return_boolean (task, TRUE);
      return;
    }

  if (!is_transient (rc))
    {
      /* Refused for good: no retry would do better. */
      if (task != NULL)
        g_task_return_error (task, error);
      else
        {
          g_debug ("The final write was refused: %s", error->message);
          g_error_free (error);
        }
      return;
    }

  if (!args->journaled)
    args->journaled = write_journal (db, self->path, args, &journal_error);
  if (task != NULL)
    {
      /* Journaled, the text is as safe as committed: the reply is
       * finished, and nobody is told of a failure that will heal. */
      if (args->journaled)
        {
          g_debug ("Final write kept in the journal until it commits: %s", error->message);
          g_clear_error (&error);
          g_task_return_boolean (task, TRUE);
        }
      else
        g_task_return_error (task, g_error_copy (error));
    }
  else
    g_debug ("The final write failed again: %s", error->message);
  g_clear_error (&error);
  schedule_retry (self, args);
}

void
_rill_store_finalize_async (RillStore           *self,
                            RillReplyRows       *rows,
                            RillReplyFinal      *final,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  FinalizeArgs *args = g_new0 (FinalizeArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->final = final;
  args->finished_at = _rill_store_now_ms ();
  _rill_store_push_job (self, finalize_job,
                        _rill_store_new_task (self, NULL, callback, user_data,
                                              _rill_store_finalize_async),
                        args, (GDestroyNotify) finalize_args_free);
}

gboolean
_rill_store_finalize_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Recovery at start */

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
}

static const char *
or_empty (const char *text)
{
  return text ? text : "";
}

static gint64
member_int (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_INT64
         ? json_node_get_int (node) : -1;
}

/* Commits one journal file. FALSE with @error when the database failed
 * (the file is kept for the next start); a file that is not a journal is
 * left alone and skipped. */
static gboolean
import_journal (sqlite3 *db, const char *file, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) pieces = NULL;
  g_autoptr(sqlite3_stmt) touch = NULL;
  JsonObject *entry;
  gint64 id;
  int rc;

  if (!json_parser_load_from_mapped_file (parser, file, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_debug ("%s is not a journal of Rill's; left alone", file);
      return TRUE;
    }
  entry = json_node_get_object (json_parser_get_root (parser));
  if ((id = member_int (entry, "message_id")) <= 0 || member_string (entry, "status") == NULL)
    {
      g_debug ("%s is not a journal of Rill's; left alone", file);
      return TRUE;
    }

  if (!rill_sqlite_exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "update", error))
    goto fail;
  /* Only while the row is unfinished: a write that committed after all is
   * kept, and so is a row that is gone (erased). */
  if (!(stmt = rill_sqlite_prepare (db,
                                    "UPDATE messages SET content = ?2, reasoning = ?3,"
                                    " status = ?4, error = ?5, model = ?6,"
                                    " finish_reason = ?7, usage = ?8,"
                                    " request = coalesce(?9, request), prompt_tokens = ?10,"
                                    " completion_tokens = ?11, finished_at = ?12,"
                                    " tool_calls = coalesce(?14, tool_calls)"
                                    " WHERE id = ?1 AND (?13 IS NULL OR uid = ?13)"
                                    " AND status IN ('streaming', 'interrupted')",
                                    "update", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  rill_sqlite_bind_text (stmt, 2, or_empty (member_string (entry, "content")), -1);
  rill_sqlite_bind_text (stmt, 3, or_empty (member_string (entry, "reasoning")), -1);
  rill_sqlite_bind_text (stmt, 4, member_string (entry, "status"), -1);
  rill_sqlite_bind_text (stmt, 5, member_string (entry, "error"), -1);
  rill_sqlite_bind_text (stmt, 6, member_string (entry, "model"), -1);
  rill_sqlite_bind_text (stmt, 7, member_string (entry, "finish_reason"), -1);
  rill_sqlite_bind_text (stmt, 8, member_string (entry, "usage"), -1);
  rill_sqlite_bind_text (stmt, 9, member_string (entry, "request"), -1);
  rill_sqlite_bind_int_or_null (stmt, 10, member_int (entry, "prompt_tokens"));
  rill_sqlite_bind_int_or_null (stmt, 11, member_int (entry, "completion_tokens"));
  sqlite3_bind_int64 (stmt, 12, MAX (member_int (entry, "finished_at"), 0));
  rill_sqlite_bind_text (stmt, 13, member_string (entry, "uid"), -1);
  rill_sqlite_bind_text (stmt, 14, member_string (entry, "tool_calls"), -1);
  if (!rill_sqlite_step_done (db, stmt, "update", error))
    goto fail;
  if (sqlite3_changes (db) > 0)
    {
      if (!(pieces = rill_sqlite_prepare (db, "DELETE FROM message_pieces WHERE message_id = ?1",
                                          "update", error))
          || !(touch = rill_sqlite_prepare (db,
                                            "UPDATE conversations SET updated_at ="
                                            " max(updated_at, ?2) WHERE id ="
                                            " (SELECT conversation_id FROM messages WHERE id = ?1)",
                                            "update", error)))
        goto fail;
      sqlite3_bind_int64 (pieces, 1, id);
      sqlite3_bind_int64 (touch, 1, id);
      sqlite3_bind_int64 (touch, 2, MAX (member_int (entry, "finished_at"), 0));
      if (!rill_sqlite_step_done (db, pieces, "update", error)
          || !rill_sqlite_step_done (db, touch, "update", error))
        goto fail;
      if (!write_timings (db, id, member_int (entry, "ttft_ms"),
                          member_int (entry, "generation_ms"), "update", error))
        goto fail;
    }
  if (!rill_sqlite_exec (db, "COMMIT", "update", error))
    goto fail;
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  g_unlink (file);
  return TRUE;

fail:
  rc = sqlite3_errcode (db);
  rill_sqlite_rollback (db);
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (is_transient (rc))
    return FALSE;
  /* Refused (another tool's trigger, a damaged page): the open goes on,
   * and the file stays for a later start. */
  g_debug ("%s could not be applied: %s", file, (*error)->message);
  g_clear_error (error);
  return TRUE;
}

static gboolean
import_journals (sqlite3 *db, const char *path, GError **error)
{
  g_autofree char *dir_path = _rill_store_journal_dir (path);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return TRUE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (dir_path, name, NULL);

      if (g_str_has_suffix (name, ".json"))
        {
          GError *local_error = NULL;

          if (!import_journal (db, file, &local_error))
            {
              g_propagate_error (error, local_error);
              return FALSE;
            }
        }
      /* A temporary file from a write cut short: the final write it was
       * for never reported success, and its pieces are in the database. */
      else if (strstr (name, ".json.") != NULL)
        g_unlink (file);
    }
  g_rmdir (dir_path);
  return TRUE;
}

typedef struct
{
  gint64   id;
  GString *content;
  GString *reasoning;
} Folded;

static void
folded_clear (Folded *folded)
{
  g_string_free (folded->content, TRUE);
  g_string_free (folded->reasoning, TRUE);
}

/* The pieces of rows still streaming, appended to their content in seq
 * order; then no piece is left (a finished row's went with its final
 * write). All read before any row is written, so the scan never meets a
 * row it changed. */
static gboolean
fold_pieces (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) any = NULL;
  g_autoptr(sqlite3_stmt) read = NULL;
  g_autoptr(sqlite3_stmt) append = NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (Folded));
  int rc;

  g_array_set_clear_func (rows, (GDestroyNotify) folded_clear);
  if (!(any = rill_sqlite_prepare (db, "SELECT EXISTS (SELECT 1 FROM message_pieces)",
                                   "read", error)))
    return FALSE;
  if (sqlite3_step (any) != SQLITE_ROW || sqlite3_column_int (any, 0) == 0)
    return TRUE;

  if (!rill_sqlite_exec (db, "BEGIN IMMEDIATE", "update", error))
    return FALSE;
  if (!(read = rill_sqlite_prepare (db,
                                    "SELECT p.message_id, p.content, p.reasoning"
                                    " FROM message_pieces p JOIN messages m ON m.id = p.message_id"
                                    " WHERE m.status = 'streaming' ORDER BY p.message_id, p.seq",
                                    "read", error)))
    goto fail;
  while ((rc = sqlite3_step (read)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (read, 0);
      Folded *last = rows->len ? &g_array_index (rows, Folded, rows->len - 1) : NULL;

      if (last == NULL || last->id != id)
        {
          Folded next = { id, g_string_new (NULL), g_string_new (NULL) };

          g_array_append_val (rows, next);
          last = &g_array_index (rows, Folded, rows->len - 1);
        }
      g_string_append_len (last->content, (const char *) sqlite3_column_text (read, 1),
                           sqlite3_column_bytes (read, 1));
      g_string_append_len (last->reasoning, (const char *) sqlite3_column_text (read, 2),
                           sqlite3_column_bytes (read, 2));
    }
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      goto fail;
    }
  g_clear_pointer (&read, sqlite3_finalize);

  if (!(append = rill_sqlite_prepare (db,
                                      "UPDATE messages SET content = content || ?2,"
                                      " reasoning = reasoning || ?3 WHERE id = ?1",
                                      "update", error)))
    goto fail;
  for (guint i = 0; i < rows->len; i++)
    {
      Folded *folded = &g_array_index (rows, Folded, i);

      sqlite3_reset (append);
      sqlite3_bind_int64 (append, 1, folded->id);
      rill_sqlite_bind_text (append, 2, folded->content->str, folded->content->len);
      rill_sqlite_bind_text (append, 3, folded->reasoning->str, folded->reasoning->len);
      if (!rill_sqlite_step_done (db, append, "update", error))
        goto fail;
    }
  if (!rill_sqlite_exec (db, "DELETE FROM message_pieces; COMMIT", "update", error))
    goto fail;
  return TRUE;

fail:
  rill_sqlite_rollback (db);
  return FALSE;
}

gboolean
_rill_store_recover_replies (sqlite3 *db, const char *path, GError **error)
{
  return import_journals (db, path, error) && fold_pieces (db, error);
}
