/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A tool run's transactions, on the writer thread and in queue order.
 *
 * Begin writes one message per call (role 'tool', status 'streaming', no
 * text yet) in one durable transaction, chained after the assistant
 * message that asked for the calls: assistant → result 1 → result 2 → …,
 * so the path shown, and the history the next reply reads, go through
 * them in the order the model asked. The conversation shows the last one
 * and moves to the top.
 *
 * The final write of a row is a reply's final write: the row's text and
 * ending go through _rill_store_finalize_async(), which commits durably
 * and, when the database is busy, full or failing, keeps them in the
 * journal (committed at the next open) and retries until they commit. The
 * images of a result are written just before it, in a job of their own
 * queued ahead of it, with the attachment rows a user's files get (their
 * bytes shared by SHA-256). They are not in the journal: images that could
 * not be written are lost, and the write says so, while the text is kept.
 * Both jobs are queued together, so a rill_store_sync() after the call
 * covers them. */

#include "rill-store-private.h"

RillToolRowSpec *
_rill_tool_row_spec_new (const char *call_id, const char *server, const char *name)
{
  RillToolRowSpec *spec = g_new0 (RillToolRowSpec, 1);

  spec->call_id = g_strdup (call_id);
  spec->server = g_strdup (server);
  spec->name = g_strdup (name);
  return spec;
}

void
_rill_tool_row_spec_free (RillToolRowSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->call_id);
  g_free (spec->server);
  g_free (spec->name);
  g_free (spec);
}

/* Begin */

typedef struct
{
  gint64     conversation_id;
  gint64     assistant_message_id;
  GPtrArray *specs;  /* RillToolRowSpec, never changed once queued */
} BeginArgs;

static void
begin_args_free (BeginArgs *args)
{
  g_ptr_array_unref (args->specs);
  g_free (args);
}

static gboolean
check_assistant (sqlite3 *db, BeginArgs *args, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!(stmt = rill_sqlite_prepare (db,
                                    "SELECT 1 FROM messages WHERE id = ?1 AND conversation_id = ?2",
                                    "read", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, args->assistant_message_id);
  sqlite3_bind_int64 (stmt, 2, args->conversation_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc == SQLITE_DONE)
    g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND,
                 "The message that asked for the tools no longer exists");
  else
    rill_sqlite_set_error (error, db, rc, "read");
  return FALSE;
}

static gboolean
insert_rows (sqlite3 *db, BeginArgs *args, GArray *ids, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 parent_id = args->assistant_message_id;
  gint64 now = _rill_store_now_ms ();

  if (!(stmt = rill_sqlite_prepare (db,
                                    "INSERT INTO messages (conversation_id, role, content, status,"
                                    " created_at, parent_id, uid, tool_call_id, tool_server,"
                                    " tool_name)"
                                    " VALUES (?1, 'tool', '', 'streaming', ?2, ?3,"
                                    " lower(hex(randomblob(16))), ?4, ?5, ?6)",
                                    "save to", error)))
    return FALSE;
  for (guint i = 0; i < args->specs->len; i++)
    {
      RillToolRowSpec *spec = g_ptr_array_index (args->specs, i);
      gint64 id;

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, args->conversation_id);
      sqlite3_bind_int64 (stmt, 2, now);
      sqlite3_bind_int64 (stmt, 3, parent_id);
      rill_sqlite_bind_text (stmt, 4, spec->call_id, -1);
      rill_sqlite_bind_text (stmt, 5, spec->server, -1);
      rill_sqlite_bind_text (stmt, 6, spec->name, -1);
      if (!rill_sqlite_step_done (db, stmt, "save to", error))
        return FALSE;
      id = sqlite3_last_insert_rowid (db);
      g_array_append_val (ids, id);
      parent_id = id;
    }
  return TRUE;
}

static void
begin_tools_job (RillStore *self, GTask *task, gpointer data)
{
  BeginArgs *args = data;
  sqlite3 *db = self->writer;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(sqlite3_stmt) touch = NULL;
  GError *error = NULL;
  int rc;

  /* Durable, as a reply's begin: an assistant message whose calls have no
   * rows would leave the history without their answers. */
  if (!rill_sqlite_exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", &error))
    return _rill_store_return_write_error (task, db, error);
  if (!check_assistant (db, args, &error) || !insert_rows (db, args, ids, &error))
    return _rill_store_return_write_error (task, db, error);
  if (ids->len > 0)
    {
      if (!(touch = rill_sqlite_prepare (db,
                                         "UPDATE conversations SET updated_at = ?2,"
                                         " shown_message_id = ?3 WHERE id = ?1",
                                         "save to", &error)))
        return _rill_store_return_write_error (task, db, error);
      sqlite3_bind_int64 (touch, 1, args->conversation_id);
      sqlite3_bind_int64 (touch, 2, _rill_store_now_ms ());
      sqlite3_bind_int64 (touch, 3, g_array_index (ids, gint64, ids->len - 1));
      if (!rill_sqlite_step_done (db, touch, "save to", &error))
        return _rill_store_return_write_error (task, db, error);
    }
  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (&error, db, rc, "save to");
      return _rill_store_return_write_error (task, db, error);
    }
  _rill_store_queue_change (self, RILL_STORE_CONVERSATION_CHANGED, args->conversation_id);
  g_task_return_pointer (task, g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
}

void
_rill_store_begin_tools_async (RillStore           *self,
                               gint64               conversation_id,
                               gint64               assistant_message_id,
                               GPtrArray           *specs,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  BeginArgs *args;

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (specs != NULL);

  args = g_new0 (BeginArgs, 1);
  args->conversation_id = conversation_id;
  args->assistant_message_id = assistant_message_id;
  args->specs = g_ptr_array_ref (specs);
  _rill_store_push_job (self, begin_tools_job,
                        _rill_store_new_task (self, NULL, callback, user_data,
                                              _rill_store_begin_tools_async),
                        args, (GDestroyNotify) begin_args_free);
}

GArray *
_rill_store_begin_tools_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The final write */

/* Shared by the images' job, which fills it on the writer thread, and the
 * final write's callback, which reads it once that later job is done. */
typedef struct
{
  gint64     message_id;
  GPtrArray *attachments;       /* RillStoredAttachment, never changed once queued */
  GError    *attachments_error;
} FinishState;

static void
finish_state_clear (FinishState *state)
{
  g_clear_pointer (&state->attachments, g_ptr_array_unref);
  g_clear_error (&state->attachments_error);
}

static void
finish_state_release (FinishState *state)
{
  g_atomic_rc_box_release_full (state, (GDestroyNotify) finish_state_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FinishState, finish_state_release)

/* Only while the row is unfinished, so that no write of the same result
 * can add its images twice. Synchronous NORMAL: the final write right
 * behind it commits with FULL, which syncs the log this commit is in. */
static gboolean
write_images (sqlite3 *db, FinishState *state, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!rill_sqlite_exec (db, "BEGIN IMMEDIATE", "save to", error))
    return FALSE;
  if (!(stmt = rill_sqlite_prepare (db,
                                    "SELECT 1 FROM messages WHERE id = ?1 AND status = 'streaming'",
                                    "read", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, state->message_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return FALSE;
    }
  if (rc == SQLITE_ROW
      && !_rill_store_insert_attachments (db, state->message_id, state->attachments, error))
    return FALSE;
  return rill_sqlite_exec (db, "COMMIT", "save to", error);
}

static void
write_images_job (RillStore *self, GTask *task, gpointer data)
{
  FinishState *state = data;
  sqlite3 *db = self->writer;

  if (!write_images (db, state, &state->attachments_error))
    rill_sqlite_rollback (db);
}

static void
finalize_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  FinishState *state = g_task_get_task_data (task);
  GError *error = NULL;

  if (!_rill_store_finalize_finish (RILL_STORE (source), result, &error))
    g_task_return_error (task, error);
  else if (state->attachments_error != NULL)
    g_task_return_new_error (task, state->attachments_error->domain,
                             state->attachments_error->code,
                             "The images of the result could not be saved: %s",
                             state->attachments_error->message);
  else
    g_task_return_boolean (task, TRUE);
}

void
_rill_store_finish_tool_async (RillStore           *self,
                               gint64               conversation_id,
                               gint64               message_id,
                               RillStatus           status,
                               const char          *content,
                               const char          *error,
                               GPtrArray           *attachments,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(FinishState) state = NULL;
  RillReplyRows *rows;
  RillReplyFinal *final;
  GTask *task;

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (message_id > 0);

  state = g_atomic_rc_box_new0 (FinishState);
  state->message_id = message_id;
  task = _rill_store_new_task (self, NULL, callback, user_data, _rill_store_finish_tool_async);
  g_task_set_task_data (task, g_atomic_rc_box_acquire (state),
                        (GDestroyNotify) finish_state_release);
  if (attachments != NULL && attachments->len > 0)
    {
      state->attachments = g_ptr_array_ref (attachments);
      _rill_store_push_job (self, write_images_job, NULL, g_atomic_rc_box_acquire (state),
                            (GDestroyNotify) finish_state_release);
    }

  rows = g_atomic_rc_box_new0 (RillReplyRows);
  rows->conversation_id = conversation_id;
  rows->assistant_message_id = message_id;
  final = g_new0 (RillReplyFinal, 1);
  final->status = status;
  final->content = g_strdup (content ? content : "");
  final->error = g_strdup (error);
  final->prompt_tokens = -1;
  final->completion_tokens = -1;
  _rill_store_finalize_async (self, rows, final, finalize_cb, task);
  g_atomic_rc_box_release (rows);
}

gboolean
_rill_store_finish_tool_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
