/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A reply's transactions, all on the writer thread and in queue order.
 *
 * Begin commits the user's message and the assistant row ("streaming") in
 * one durable transaction before the request goes out, and reads the
 * history to send in the same transaction. Checkpoints append only what is
 * new (content = content || ?) with synchronous=NORMAL: they are safe
 * against the app crashing, and cheap. The final write carries the whole
 * text and the ending and commits with synchronous=FULL, so a reply shown
 * as finished survives a power cut. Begin and the final write tell the
 * window through "conversation-changed"; checkpoints tell nobody. */

#include "rill-store-private.h"

#include <string.h>

void
rill_reply_context_free (RillReplyContext *context)
{
  if (context == NULL)
    return;
  g_clear_pointer (&context->messages, json_node_unref);
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
  g_free (final);
}

typedef struct
{
  RillReplyRows *rows;
  char          *user_text;
  char          *system_prompt;
  guint          history_limit;
} BeginArgs;

static void
begin_args_free (BeginArgs *args)
{
  g_atomic_rc_box_release (args->rows);
  g_free (args->user_text);
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

static JsonNode *
read_history (sqlite3 *db, BeginArgs *args, const char *system_prompt, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) turns = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonArray) messages = json_array_new ();
  int rc;

  /* The history is the path to the new reply, nearest first, and nothing
   * from other versions. A failed reply is left out; a stopped or
   * interrupted one counts with the text it has. */
  if (!(stmt = rill_sqlite_prepare (db,
                                    "WITH RECURSIVE up (id, depth) AS ("
                                    "   SELECT parent_id, 1 FROM messages WHERE id = ?2"
                                    "   UNION ALL SELECT m.parent_id, up.depth + 1"
                                    "   FROM messages m JOIN up ON m.id = up.id"
                                    "   WHERE m.parent_id < m.id AND up.depth < 1000000)"
                                    " SELECT m.role, m.content"
                                    " FROM up JOIN messages m ON m.id = up.id"
                                    " WHERE m.conversation_id = ?1"
                                    " AND m.status IN ('complete', 'stopped', 'interrupted')"
                                    " AND m.content != '' ORDER BY up.depth LIMIT ?3",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (stmt, 2, args->rows->assistant_message_id);
  sqlite3_bind_int64 (stmt, 3, args->history_limit ? (gint64) args->history_limit : -1);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      JsonObject *turn = json_object_new ();

      json_object_set_string_member (turn, "role", (const char *) sqlite3_column_text (stmt, 0));
      json_object_set_string_member (turn, "content", (const char *) sqlite3_column_text (stmt, 1));
      g_ptr_array_add (turns, turn);
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
    }
  /* Oldest first; a history cut by the limit must not open with a reply. */
  for (guint i = turns->len; i > 0; i--)
    {
      JsonObject *turn = g_ptr_array_index (turns, i - 1);

      if (json_array_get_length (messages) == (system_prompt && *system_prompt ? 1 : 0)
          && g_strcmp0 (json_object_get_string_member (turn, "role"),
                        rill_role_to_string (RILL_ROLE_ASSISTANT)) == 0)
        continue;
      json_array_add_object_element (messages, json_object_ref (turn));
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
                           &args->rows->user_message_id, &error))
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

  if (!(context->messages = read_history (db, args, system_prompt, &error)))
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
  BeginArgs *args = g_new0 (BeginArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->user_text = g_strdup (user_text);
  args->system_prompt = g_strdup (system_prompt);
  args->history_limit = history_limit;
  _rill_store_push_job (self, begin_reply_job,
                        _rill_store_new_task (self, NULL, callback, user_data,
                                              _rill_store_begin_reply_async),
                        args, (GDestroyNotify) begin_args_free);
}

RillReplyContext *
_rill_store_begin_reply_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  RillReplyRows *rows;
  char          *content;
  gsize          content_len;
  char          *reasoning;
  gsize          reasoning_len;
  char          *request_json;
} CheckpointArgs;

static void
checkpoint_args_free (CheckpointArgs *args)
{
  g_atomic_rc_box_release (args->rows);
  g_free (args->content);
  g_free (args->reasoning);
  g_free (args->request_json);
  g_free (args);
}

static void
checkpoint_job (RillStore *self, GTask *task, gpointer data)
{
  CheckpointArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;

  if (args->rows->assistant_message_id == 0)
    return;
  /* Appending keeps a checkpoint's cost to what is new, not the whole text. */
  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "UPDATE messages SET content = content || ?2,"
                                    " reasoning = reasoning || ?3,"
                                    " request = coalesce(?4, request)"
                                    " WHERE id = ?1 AND status = 'streaming'",
                                    "save to", &error)))
    {
      g_warning ("%s", error->message);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
  rill_sqlite_bind_text (stmt, 2, args->content ? args->content : "", args->content_len);
  rill_sqlite_bind_text (stmt, 3, args->reasoning ? args->reasoning : "", args->reasoning_len);
  rill_sqlite_bind_text (stmt, 4, args->request_json, -1);
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    {
      /* The final write carries the whole text, so a failed checkpoint
       * costs crash safety only; the person hears of it if that fails too. */
      g_warning ("%s", error->message);
      return;
    }
  elapsed = g_get_monotonic_time () - start;
  g_mutex_lock (&self->timings_lock);
  g_array_append_val (self->checkpoint_timings, elapsed);
  g_mutex_unlock (&self->timings_lock);
}

void
_rill_store_checkpoint (RillStore     *self,
                        RillReplyRows *rows,
                        const char    *content_tail,
                        gsize          content_len,
                        const char    *reasoning_tail,
                        gsize          reasoning_len,
                        const char    *request_json)
{
  CheckpointArgs *args = g_new0 (CheckpointArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->content = g_strndup (content_tail, content_len);
  args->content_len = content_len;
  args->reasoning = g_strndup (reasoning_tail, reasoning_len);
  args->reasoning_len = reasoning_len;
  args->request_json = g_strdup (request_json);
  _rill_store_push_job (self, checkpoint_job, NULL, args, (GDestroyNotify) checkpoint_args_free);
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

typedef struct
{
  RillReplyRows  *rows;
  RillReplyFinal *final;
} FinalizeArgs;

static void
finalize_args_free (FinalizeArgs *args)
{
  g_atomic_rc_box_release (args->rows);
  rill_reply_final_free (args->final);
  g_free (args);
}

static void
finalize_job (RillStore *self, GTask *task, gpointer data)
{
  FinalizeArgs *args = data;
  RillReplyFinal *final = args->final;
  sqlite3 *db = self->writer;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) touch = NULL;
  GError *error = NULL;
  gint64 now = _rill_store_now_ms ();
  int rc;

  if (args->rows->assistant_message_id == 0)
    {
      g_task_return_new_error (task, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                               "The reply could not be saved because its start was not saved");
      return;
    }

  if (!rill_sqlite_exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", &error))
    return _rill_store_return_write_error (task, db, error);
  if (!(stmt = rill_sqlite_prepare (db,
                                    "UPDATE messages SET content = ?2, reasoning = ?3,"
                                    " status = ?4, error = ?5, model = ?6,"
                                    " finish_reason = ?7, usage = ?8,"
                                    " request = coalesce(?9, request), prompt_tokens = ?10,"
                                    " completion_tokens = ?11, finished_at = ?12 WHERE id = ?1",
                                    "save to", &error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
  rill_sqlite_bind_text (stmt, 2, final->content ? final->content : "", -1);
  rill_sqlite_bind_text (stmt, 3, final->reasoning ? final->reasoning : "", -1);
  rill_sqlite_bind_text (stmt, 4, rill_status_to_string (final->status), -1);
  rill_sqlite_bind_text (stmt, 5, final->error, -1);
  rill_sqlite_bind_text (stmt, 6, final->model, -1);
  rill_sqlite_bind_text (stmt, 7, final->finish_reason, -1);
  rill_sqlite_bind_text (stmt, 8, final->usage_json, -1);
  rill_sqlite_bind_text (stmt, 9, final->request_json, -1);
  rill_sqlite_bind_int_or_null (stmt, 10, final->prompt_tokens);
  rill_sqlite_bind_int_or_null (stmt, 11, final->completion_tokens);
  sqlite3_bind_int64 (stmt, 12, now);
  if (!rill_sqlite_step_done (db, stmt, "save to", &error))
    goto fail;

  if (!(touch = rill_sqlite_prepare (db, "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
                                     "save to", &error)))
    goto fail;
  sqlite3_bind_int64 (touch, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (touch, 2, now);
  if (!rill_sqlite_step_done (db, touch, "save to", &error))
    goto fail;

  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (&error, db, rc, "save to");
      goto fail;
    }
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  _rill_store_queue_change (self, RILL_STORE_CONVERSATION_CHANGED, args->rows->conversation_id);
  g_task_return_boolean (task, TRUE);
  return;

fail:
  _rill_store_return_write_error (task, db, error);
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
