/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The trash, and erasing for good.
 *
 * Moving a conversation to the trash only sets conversations.deleted_at;
 * the reads elsewhere in the store leave such conversations out. Erasing
 * is what must leave nothing behind, and SQLite keeps old text in four
 * places after a plain DELETE:
 *
 * - the free space of the pages the rows were in, and the pages freed
 *   (long texts live in overflow pages): the writer connection runs with
 *   secure_delete on, which zeroes both (rill-store.c sets it at open);
 * - the full-text index: FTS5 records a deletion as a tombstone in a new
 *   segment and keeps the old segments, with every trigram of the text,
 *   until they are merged. "optimize" merges them all into one, which drops
 *   the tombstones and what they cancel, and frees the old segments' rows
 *   (zeroed, as above);
 * - the free pages themselves, which would also keep the file at its
 *   largest size: an incremental vacuum gives them back to the file system.
 *   A history created before the trash has auto_vacuum NONE, where that
 *   needs one VACUUM (which rewrites the whole file) to switch modes; it is
 *   done at the first erase, not at open, so a start never waits for it;
 * - the WAL, which holds every page as it was written until a checkpoint
 *   copies them into the file and restarts it: a TRUNCATE checkpoint after
 *   the erase commits leaves it empty. It waits (the busy timeout) for a
 *   reader still on an older snapshot.
 *
 * messages.request may hold a history message's text where what was sent
 * differed from what is stored; it goes with its row, and a streaming
 * reply's pieces (message_pieces) go with theirs (ON DELETE CASCADE, with
 * secure_delete too). All of this runs on the
 * writer thread: optimize rewrites the index, which for a large history
 * is a noticeable wait for the writes queued behind it, and so happens only
 * when something was erased. */

#include "rill-store-private.h"

#include "rill-records-private.h"

#define MS_PER_DAY ((gint64) 24 * 60 * 60 * 1000)

/* Moving to and from the trash */

typedef struct
{
  gint64   conversation_id;
  gboolean restore;
} TrashArgs;

static void
trash_job (RillStore *self, GTask *task, gpointer data)
{
  TrashArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;

  /* Only a conversation not (or, to restore, already) in the trash: doing
   * it twice changes nothing and says nothing. */
  static const char *trash_sql =
    "UPDATE conversations SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL";
  static const char *restore_sql =
    "UPDATE conversations SET deleted_at = NULL WHERE id = ?1 AND deleted_at IS NOT NULL";

  if (!(stmt = rill_sqlite_prepare (self->writer, args->restore ? restore_sql : trash_sql,
                                    "save to", &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  sqlite3_bind_int64 (stmt, 1, args->conversation_id);
  if (!args->restore)
    sqlite3_bind_int64 (stmt, 2, _rill_store_now_ms ());
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    return _rill_store_return_write_error (task, self->writer, error);
  if (sqlite3_changes (self->writer) > 0)
    {
      _rill_store_queue_change (self, args->restore ? RILL_STORE_CONVERSATION_ADDED
                                                    : RILL_STORE_CONVERSATION_DELETED,
                                args->conversation_id);
      _rill_store_queue_change (self, RILL_STORE_TRASH_CHANGED, args->conversation_id);
    }
  g_task_return_boolean (task, TRUE);
}

static void
push_trash (RillStore           *self,
            gint64               conversation_id,
            gboolean             restore,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  TrashArgs *args = g_new0 (TrashArgs, 1);

  args->conversation_id = conversation_id;
  args->restore = restore;
  _rill_store_push_job (self, trash_job,
                        _rill_store_new_task (self, cancellable, callback, user_data, source_tag),
                        args, g_free);
}

void
rill_store_trash_conversation_async (RillStore           *self,
                                     gint64               conversation_id,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_trash (self, conversation_id, FALSE, cancellable, callback, user_data,
              rill_store_trash_conversation_async);
}

void
rill_store_restore_conversation_async (RillStore           *self,
                                       gint64               conversation_id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_trash (self, conversation_id, TRUE, cancellable, callback, user_data,
              rill_store_restore_conversation_async);
}

/* Erasing */

typedef enum
{
  ERASE_ONE,
  ERASE_TRASH,
  ERASE_EXPIRED,
} EraseWhat;

typedef struct
{
  EraseWhat what;
  gint64    conversation_id;  /* ERASE_ONE */
  guint     days;             /* ERASE_EXPIRED */
} EraseArgs;

typedef struct
{
  gint64   id;
  gboolean trashed;
} Erased;

/* Inside the erase's transaction, so nothing is moved to or from the
 * trash between choosing and erasing. */
static GArray *
choose (sqlite3 *db, EraseArgs *args, GError **error)
{
  static const char *statements[] = {
    [ERASE_ONE] = "SELECT id, deleted_at IS NOT NULL FROM conversations WHERE id = ?1",
    [ERASE_TRASH] = "SELECT id, 1 FROM conversations WHERE deleted_at IS NOT NULL",
    [ERASE_EXPIRED] = "SELECT id, 1 FROM conversations"
                      " WHERE deleted_at IS NOT NULL AND deleted_at < ?1",
  };
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) chosen = g_array_new (FALSE, FALSE, sizeof (Erased));
  int rc;

  if (!(stmt = rill_sqlite_prepare (db, statements[args->what], "read", error)))
    return NULL;
  if (args->what == ERASE_ONE)
    sqlite3_bind_int64 (stmt, 1, args->conversation_id);
  else if (args->what == ERASE_EXPIRED)
    sqlite3_bind_int64 (stmt, 1, _rill_store_now_ms () - args->days * MS_PER_DAY);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Erased erased = { sqlite3_column_int64 (stmt, 0), sqlite3_column_int (stmt, 1) };

      g_array_append_val (chosen, erased);
    }
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return NULL;
    }
  return g_steal_pointer (&chosen);
}

static gboolean
delete_rows (sqlite3 *db, GArray *chosen, GError **error)
{
  g_autoptr(sqlite3_stmt) messages = NULL;
  g_autoptr(sqlite3_stmt) conversation = NULL;

  /* All of a conversation's messages in one statement: parent_id refers to
   * messages of the same conversation and has no ON DELETE action, and the
   * key holds again once the statement ends. The full-text rows go with
   * them (messages_fts_delete). */
  if (!(messages = rill_sqlite_prepare (db, "DELETE FROM messages WHERE conversation_id = ?1",
                                        "delete from", error))
      || !(conversation = rill_sqlite_prepare (db, "DELETE FROM conversations WHERE id = ?1",
                                               "delete from", error)))
    return FALSE;
  for (guint i = 0; i < chosen->len; i++)
    {
      gint64 id = g_array_index (chosen, Erased, i).id;

      sqlite3_bind_int64 (messages, 1, id);
      sqlite3_bind_int64 (conversation, 1, id);
      if (!rill_sqlite_step_done (db, messages, "delete from", error)
          || !rill_sqlite_step_done (db, conversation, "delete from", error))
        return FALSE;
      sqlite3_reset (messages);
      sqlite3_reset (conversation);
    }
  return TRUE;
}

static int
auto_vacuum_mode (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = rill_sqlite_prepare (db, "PRAGMA auto_vacuum", "read", error)))
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, sqlite3_errcode (db), "read");
      return -1;
    }
  return sqlite3_column_int (stmt, 0);
}

static gboolean
checkpoint_truncate (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = rill_sqlite_prepare (db, "PRAGMA wal_checkpoint(TRUNCATE)", "write", error)))
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, sqlite3_errcode (db), "write");
      return FALSE;
    }
  /* busy: a reader kept an older snapshot past the busy timeout, and the
   * WAL could not be emptied. */
  if (sqlite3_column_int (stmt, 0) != 0)
    {
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_BUSY,
                   "Could not finish erasing from the history database: it is busy");
      return FALSE;
    }
  return TRUE;
}

/* After the erase committed: what SQLite still holds of it goes (see the
 * note at the top). */
static gboolean
compact (sqlite3 *db, GError **error)
{
  int mode;

  if (!rill_sqlite_exec (db, "INSERT INTO messages_fts (messages_fts) VALUES ('optimize')",
                         "delete from", error))
    return FALSE;
  if ((mode = auto_vacuum_mode (db, error)) < 0)
    return FALSE;
  /* 0 NONE (a history from before the trash), 1 FULL (another tool's
   * choice: pages are already given back at each commit), 2 INCREMENTAL. */
  if (mode == 0
      && !rill_sqlite_exec (db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", "delete from",
                            error))
    return FALSE;
  if (mode == 2 && !rill_sqlite_exec (db, "PRAGMA incremental_vacuum", "delete from", error))
    return FALSE;
  return checkpoint_truncate (db, error);
}

/* Like _rill_store_return_write_error, but the purge each open queues has
 * no task: it says why in the log, and the next start tries again. */
static void
erase_failed (GTask *task, sqlite3 *db, GError *error)
{
  if (task == NULL)
    {
      g_message ("Could not erase old conversations from the trash: %s", error->message);
      rill_sqlite_rollback (db);
      sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
      g_error_free (error);
      return;
    }
  _rill_store_return_write_error (task, db, error);
}

static void
erase_done (GTask *task)
{
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
erase_job (RillStore *self, GTask *task, gpointer data)
{
  EraseArgs *args = data;
  g_autoptr(GArray) chosen = NULL;
  gboolean any_trashed = FALSE;
  GError *error = NULL;

  /* A read first, with no lock: the purge each open queues is usually
   * only this. */
  if (!(chosen = choose (self->writer, args, &error)))
    return erase_failed (task, self->writer, error);
  if (chosen->len == 0)
    return erase_done (task);
  g_clear_pointer (&chosen, g_array_unref);

  /* Durable: an erase the person was told about must not come back after
   * a power cut. */
  if (!rill_sqlite_exec (self->writer, "PRAGMA synchronous = FULL", "delete from", &error)
      || !rill_sqlite_exec (self->writer, "BEGIN IMMEDIATE", "delete from", &error)
      || !(chosen = choose (self->writer, args, &error)))
    return erase_failed (task, self->writer, error);
  if (!delete_rows (self->writer, chosen, &error)
      || !rill_sqlite_exec (self->writer, "COMMIT", "delete from", &error))
    return erase_failed (task, self->writer, error);

  for (guint i = 0; i < chosen->len; i++)
    {
      Erased *erased = &g_array_index (chosen, Erased, i);

      if (erased->trashed)
        any_trashed = TRUE;
      else
        _rill_store_queue_change (self, RILL_STORE_CONVERSATION_DELETED, erased->id);
    }
  if (any_trashed)
    _rill_store_queue_change (self, RILL_STORE_TRASH_CHANGED,
                              chosen->len == 1 ? g_array_index (chosen, Erased, 0).id : 0);

  /* The rows are gone and the views told; a failure here leaves old pages,
   * which the next erase takes. */
  if (!compact (self->writer, &error))
    return erase_failed (task, self->writer, error);
  sqlite3_exec (self->writer, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  erase_done (task);
}

static void
push_erase (RillStore           *self,
            EraseWhat            what,
            gint64               conversation_id,
            guint                days,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  EraseArgs *args = g_new0 (EraseArgs, 1);

  args->what = what;
  args->conversation_id = conversation_id;
  args->days = days;
  _rill_store_push_job (self, erase_job,
                        _rill_store_new_task (self, cancellable, callback, user_data, source_tag),
                        args, g_free);
}

void
rill_store_erase_conversation_async (RillStore           *self,
                                     gint64               conversation_id,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_erase (self, ERASE_ONE, conversation_id, 0, cancellable, callback, user_data,
              rill_store_erase_conversation_async);
}

void
rill_store_empty_trash_async (RillStore           *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_erase (self, ERASE_TRASH, 0, 0, cancellable, callback, user_data,
              rill_store_empty_trash_async);
}

void
rill_store_purge_trash_async (RillStore           *self,
                              guint                days,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_erase (self, ERASE_EXPIRED, 0, days, cancellable, callback, user_data,
              rill_store_purge_trash_async);
}

void
_rill_store_purge_trash_at_open (RillStore *self)
{
  EraseArgs *args = g_new0 (EraseArgs, 1);

  args->what = ERASE_EXPIRED;
  args->days = RILL_STORE_TRASH_DAYS;
  _rill_store_push_job (self, erase_job, NULL, args, g_free);
}

/* Reading the trash */

static RillConversation *
trashed_from_row (sqlite3_stmt *stmt)
{
  RillConversation *conversation = g_object_new (RILL_TYPE_CONVERSATION, NULL);

  conversation->id = sqlite3_column_int64 (stmt, 0);
  conversation->title = rill_sqlite_column_dup (stmt, 1);
  conversation->model = rill_sqlite_column_dup (stmt, 2);
  conversation->created_at = sqlite3_column_int64 (stmt, 3);
  conversation->updated_at = sqlite3_column_int64 (stmt, 4);
  conversation->uid = rill_sqlite_column_dup (stmt, 5);
  conversation->deleted_at = sqlite3_column_int64 (stmt, 6);
  return conversation;
}

GPtrArray *
rill_store_list_trash (RillStore *self, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  /* No index on deleted_at: the trash is read when it is shown, and a scan
   * of the conversations (not their messages) is short. */
  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT id, title, model, created_at, updated_at, uid,"
                                    " deleted_at FROM conversations WHERE deleted_at IS NOT NULL"
                                    " ORDER BY deleted_at DESC, id DESC",
                                    "read", error)))
    return NULL;
  return rill_sqlite_collect_rows (self->reader, stmt, (RillSqliteRowFunc) trashed_from_row,
                                   error);
}
