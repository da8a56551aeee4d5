/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The history database: opening it, its change signals, the plain reads
 * and the edits the window makes.
 *
 * Two connections to one WAL-mode file: the "reader", used on the thread
 * that opened the store for short queries (rill_store_open_async opens it
 * in a thread of its own and hands it over to the caller's thread, which
 * SQLite's multi-thread mode allows: one thread at a time), and the
 * "writer", owned by one thread that runs a FIFO queue of jobs
 * (rill-store-writer.c). In WAL mode
 * a read never waits for the writer, and the main loop never waits on
 * SQLite or fsync. The rest lives beside this file: the SQL helpers in
 * rill-sqlite.c, the schema and its migrations in rill-store-schema.c,
 * search in rill-store-search.c, a reply's transactions in
 * rill-store-reply.c, and the trash and erasing in rill-store-trash.c.
 *
 * Change signals: a job whose write committed queues one idle source in the
 * opener's main context, which emits the signal there, so a handler reading
 * through the reader connection sees the write. It is queued before the job
 * returns its task, and both are default-priority idles in that context, so
 * the signal comes first: a view has the new row before the caller's
 * callback runs. The source holds only a weak reference: a pending signal
 * never keeps the store, and its writer thread, alive. */

#include "rill-store-private.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "rill-records-private.h"

enum
{
  CONVERSATION_ADDED,
  CONVERSATION_CHANGED,
  CONVERSATION_DELETED,
  TRASH_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (RillStore, rill_store, G_TYPE_OBJECT)
G_DEFINE_QUARK (rill-store-error-quark, rill_store_error)

/* Opening */

static gboolean
check_readable (sqlite3 *db, GError **error)
{
  /* Reading the schema finds a file that is not a database or has a
   * damaged header, which is what an open must set aside. A full
   * quick_check reads every page: 360 ms at start for a 120 MB history, so
   * damage deeper in the file is reported when it is met instead. */
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!(stmt = rill_sqlite_prepare (db, "SELECT count(*) FROM sqlite_master", "read", error)))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return FALSE;
    }
  return TRUE;
}

static char *
set_aside (const char *path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *aside = g_strdup_printf ("%s.damaged-%s", path, stamp);
  static const char *suffixes[] = { "-wal", "-shm" };

  if (g_rename (path, aside) != 0)
    {
      g_free (aside);
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[i], NULL);
      g_rename (from, to);
    }
  return aside;
}

static gboolean
recover_interrupted (RillStore *self, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!_rill_store_recover_replies (self->writer, self->path, error))
    return FALSE;
  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "UPDATE messages SET status = 'interrupted', finished_at = ?1"
                                    " WHERE status = 'streaming'", "update", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, _rill_store_now_ms ());
  if (!rill_sqlite_step_done (self->writer, stmt, "update", error))
    return FALSE;
  self->n_recovered = sqlite3_changes (self->writer);
  return TRUE;
}

/* Waiting for another program.
 *
 * While another connection (another process, a backup tool, the sqlite3
 * shell) holds the write lock, the open's writes (the upgrade, the
 * recovery below) cannot go. An open from rill_store_open_async() waits
 * for it as long as it takes, in its own thread: SQLite calls open_busy_cb
 * for each turn of a lock it meets, which tells the caller once that it is
 * waiting and then backs off (1 ms doubling to 200 ms between tries); a
 * busy answer SQLite gives without asking (a lock it cannot wait for
 * without a deadlock) retries the whole open, backing off the same way up
 * to a second. Only a real error, or the caller cancelling, ends it. Once
 * open, both connections go back to the 5 s busy timeout every other write
 * has. */

typedef struct
{
  char                *path;
  GMainContext        *context;  /* the caller's: where signals go */
  GCancellable        *cancellable;
  RillStoreWaitingFunc waiting;
  gpointer             user_data;
  GTask               *task;     /* borrowed: the task owns this */
  gint                 told;     /* atomic: the caller was told it waits */
} OpenArgs;

static void
open_args_free (OpenArgs *args)
{
  g_free (args->path);
  g_main_context_unref (args->context);
  g_clear_object (&args->cancellable);
  g_free (args);
}

static gboolean
tell_waiting_cb (gpointer data)
{
  GTask *task = data;
  OpenArgs *args = g_task_get_task_data (task);

  /* Too late once the open ended (its callback may have freed user_data),
   * or when nobody wants it any more. */
  if (!g_task_get_completed (task) && !g_cancellable_is_cancelled (args->cancellable))
    args->waiting (args->user_data);
  return G_SOURCE_REMOVE;
}

static void
tell_waiting (OpenArgs *args)
{
  if (args->waiting == NULL || !g_atomic_int_compare_and_exchange (&args->told, FALSE, TRUE))
    return;
  g_main_context_invoke_full (args->context, G_PRIORITY_DEFAULT, tell_waiting_cb,
                              g_object_ref (args->task), g_object_unref);
}

static int
open_busy_cb (void *data, int n_calls)
{
  OpenArgs *args = data;

  if (g_cancellable_is_cancelled (args->cancellable))
    return 0;
  tell_waiting (args);
  g_usleep (MIN (1u << MIN (n_calls, 8), 200u) * 1000);
  return 1;
}

static gboolean
open_connection (sqlite3 **db, const char *path, OpenArgs *args, GError **error)
{
  if (!(*db = rill_sqlite_open (path, error)))
    return FALSE;
  if (args != NULL)
    sqlite3_busy_handler (*db, open_busy_cb, args);
  return TRUE;
}

static gboolean
open_connections (RillStore *self, OpenArgs *args, GError **error)
{
  if (!open_connection (&self->writer, self->path, args, error))
    return FALSE;
  if (!check_readable (self->writer, error)
      || !_rill_store_migrate (self->writer, self->path, error))
    return FALSE;
  /* Whatever the writer deletes or overwrites is zeroed in the file, so
   * erasing a conversation (rill-store-trash.c) leaves none of its text in
   * free space. */
  if (!rill_sqlite_exec (self->writer, "PRAGMA secure_delete = ON", "open", error))
    return FALSE;
  if (!open_connection (&self->reader, self->path, args, error))
    return FALSE;
  return _rill_store_search_prepare (self->reader, error);
}

static void
close_connections (RillStore *self)
{
  g_clear_pointer (&self->reader, sqlite3_close);
  g_clear_pointer (&self->writer, sqlite3_close);
}

/* Both opens: @args is NULL for rill_store_open(), which waits no longer
 * than the busy timeout. Signals are emitted in @context. */
static RillStore *
open_store (const char *path, GMainContext *context, OpenArgs *args, GError **error)
{
  g_autoptr(RillStore) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_READ_ONLY,
                   "Could not create the folder %s for the history database: %s",
                   dir, g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (RILL_TYPE_STORE, NULL);
  self->path = g_strdup (path);

  if (!open_connections (self, args, &local_error))
    {
      close_connections (self);
      if (!g_error_matches (local_error, RILL_STORE_ERROR, RILL_STORE_ERROR_CORRUPT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      /* Keep the damaged file for the person (or a recovery tool) and start
       * afresh rather than write over what may still be rescued. */
      if (!(self->set_aside_path = set_aside (path)))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_warning ("%s; moved it to %s", local_error->message, self->set_aside_path);
      g_clear_error (&local_error);
      if (!open_connections (self, args, error))
        return NULL;
    }

  /* Only the instance that owns the application's name gets here (see
   * rill-application.c): a row still "streaming" was left by a process
   * that died, never by one still writing it. */
  if (!recover_interrupted (self, error))
    return NULL;

  if (args != NULL)
    {
      sqlite3_busy_timeout (self->writer, 5000);
      sqlite3_busy_timeout (self->reader, 5000);
    }
  self->main_context = g_main_context_ref (context);
  rill_sqlite_trace (self->reader, &self->reader_trace, NULL);
  _rill_store_writer_start (self);
  /* Queued first, on the writer thread: the open does not wait for it, and
   * with nothing old in the trash it is one short read. */
  _rill_store_purge_trash_at_open (self);

  return g_steal_pointer (&self);
}

RillStore *
rill_store_open (const char *path, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  g_return_val_if_fail (path != NULL, NULL);

  return open_store (path, context, NULL, error);
}

static gboolean
sleep_unless_cancelled (GCancellable *cancellable, guint ms)
{
  GPollFD fd;

  if (g_cancellable_make_pollfd (cancellable, &fd))
    {
      g_poll (&fd, 1, ms);
      g_cancellable_release_fd (cancellable);
    }
  else
    g_usleep (ms * 1000);
  return !g_cancellable_is_cancelled (cancellable);
}

static gpointer
open_thread (gpointer data)
{
  g_autoptr(GTask) task = data;
  OpenArgs *args = g_task_get_task_data (task);
  guint delay_ms = 10;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      RillStore *store = open_store (args->path, args->context, args, &error);

      if (store != NULL)
        {
          g_task_return_pointer (task, store, g_object_unref);
          break;
        }
      if (g_task_return_error_if_cancelled (task))
        break;
      if (!g_error_matches (error, RILL_STORE_ERROR, RILL_STORE_ERROR_BUSY))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          break;
        }
      tell_waiting (args);
      if (!sleep_unless_cancelled (args->cancellable, delay_ms))
        {
          g_task_return_error_if_cancelled (task);
          break;
        }
      delay_ms = MIN (delay_ms * 2, 1000);
    }
  return NULL;
}

void
rill_store_open_async (const char           *path,
                       GCancellable         *cancellable,
                       RillStoreWaitingFunc  waiting,
                       GAsyncReadyCallback   callback,
                       gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenArgs *args;

  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rill_store_open_async);
  g_task_set_name (task, "[rill] open the history");

  args = g_new0 (OpenArgs, 1);
  args->path = g_strdup (path);
  args->context = g_main_context_ref_thread_default ();
  /* The busy handler and the back-off watch one, even when the caller
   * gives none. */
  args->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  args->waiting = waiting;
  args->user_data = user_data;
  args->task = task;
  g_task_set_task_data (task, args, (GDestroyNotify) open_args_free);

  /* A thread of its own rather than GTask's pool: the wait may last as
   * long as the other program keeps the lock. */
  g_thread_unref (g_thread_new ("rill-store-open", open_thread, g_steal_pointer (&task)));
}

RillStore *
rill_store_open_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rill_store_open_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
_rill_store_create_at_version (const char *path, int version, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  sqlite3 *db;
  gboolean ok;

  g_mkdir_with_parents (dir, 0700);
  if (!(db = rill_sqlite_open (path, error)))
    return FALSE;
  ok = check_readable (db, error) && _rill_store_migrate_to (db, path, version, error);
  sqlite3_close (db);
  return ok;
}

char *
rill_store_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "rill", "history.db", NULL);
}

guint
rill_store_get_n_recovered (RillStore *self)
{
  return self->n_recovered;
}

const char *
rill_store_get_set_aside_path (RillStore *self)
{
  return self->set_aside_path;
}

guint
_rill_store_get_reader_statements (RillStore *self)
{
  return rill_sqlite_trace_get (&self->reader_trace);
}

guint
_rill_store_get_misplaced_writes (RillStore *self)
{
  return rill_sqlite_trace_get (&self->writer_trace);
}

/* Change signals */

typedef struct
{
  GWeakRef        store;
  RillStoreChange change;
  gint64          conversation_id;
} Change;

static void
change_free (Change *change)
{
  g_weak_ref_clear (&change->store);
  g_free (change);
}

static gboolean
emit_change_cb (gpointer data)
{
  Change *change = data;
  g_autoptr(RillStore) self = g_weak_ref_get (&change->store);
  static const guint signal_of[] = {
    [RILL_STORE_CONVERSATION_ADDED] = CONVERSATION_ADDED,
    [RILL_STORE_CONVERSATION_CHANGED] = CONVERSATION_CHANGED,
    [RILL_STORE_CONVERSATION_DELETED] = CONVERSATION_DELETED,
    [RILL_STORE_TRASH_CHANGED] = TRASH_CHANGED,
  };

  if (self != NULL)
    g_signal_emit (self, signals[signal_of[change->change]], 0, change->conversation_id);
  return G_SOURCE_REMOVE;
}

void
_rill_store_queue_change (RillStore *self, RillStoreChange change, gint64 conversation_id)
{
  g_autoptr(GSource) source = g_idle_source_new ();
  Change *data = g_new0 (Change, 1);

  g_assert (g_thread_self () == self->thread);

  g_weak_ref_init (&data->store, self);
  data->change = change;
  data->conversation_id = conversation_id;
  /* The priority GTask uses to return a result, so the order holds. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_change_cb, data, (GDestroyNotify) change_free);
  g_source_set_static_name (source, "[rill] store change");
  g_source_attach (source, self->main_context);
}

static void
rill_store_dispose (GObject *object)
{
  RillStore *self = RILL_STORE (object);

  _rill_store_writer_stop (self);

  G_OBJECT_CLASS (rill_store_parent_class)->dispose (object);
}

static void
rill_store_finalize (GObject *object)
{
  RillStore *self = RILL_STORE (object);

  close_connections (self);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_clear_pointer (&self->jobs, g_async_queue_unref);
  g_clear_pointer (&self->checkpoint_timings, g_array_unref);
  g_mutex_clear (&self->timings_lock);
  g_free (self->path);
  g_free (self->set_aside_path);
  g_free (self->new_conversation_tools);
  G_OBJECT_CLASS (rill_store_parent_class)->finalize (object);
}

static void
rill_store_class_init (RillStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_store_dispose;
  object_class->finalize = rill_store_finalize;

  /**
   * RillStore::conversation-added:
   * @conversation_id: the new conversation
   *
   * A conversation was created, and committed.
   */
  signals[CONVERSATION_ADDED] =
    g_signal_new ("conversation-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  /**
   * RillStore::conversation-changed:
   * @conversation_id: the conversation
   *
   * Its title, model or system prompt, or its messages, changed.
   */
  signals[CONVERSATION_CHANGED] =
    g_signal_new ("conversation-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  /**
   * RillStore::conversation-deleted:
   * @conversation_id: the conversation, which is gone with its messages or
   *   is in the trash
   */
  signals[CONVERSATION_DELETED] =
    g_signal_new ("conversation-deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  /**
   * RillStore::trash-changed:
   * @conversation_id: the conversation moved to, restored from or erased
   *   from the trash; 0 when several were
   */
  signals[TRASH_CHANGED] =
    g_signal_new ("trash-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
}

static void
rill_store_init (RillStore *self)
{
  g_mutex_init (&self->timings_lock);
  self->checkpoint_timings = g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* Reads */

#define CONVERSATION_COLUMNS \
  "id, title, model, system_prompt, created_at, updated_at, uid, server, server_url, tools," \
  " preset, temperature, history_limit"

static RillConversation *
conversation_from_row (sqlite3_stmt *stmt)
{
  RillConversation *conversation = g_object_new (RILL_TYPE_CONVERSATION, NULL);

  conversation->id = sqlite3_column_int64 (stmt, 0);
  conversation->title = rill_sqlite_column_dup (stmt, 1);
  conversation->model = rill_sqlite_column_dup (stmt, 2);
  conversation->system_prompt = rill_sqlite_column_dup (stmt, 3);
  conversation->created_at = sqlite3_column_int64 (stmt, 4);
  conversation->updated_at = sqlite3_column_int64 (stmt, 5);
  conversation->uid = rill_sqlite_column_dup (stmt, 6);
  conversation->server = rill_sqlite_column_dup (stmt, 7);
  conversation->server_url = rill_sqlite_column_dup (stmt, 8);
  conversation->tools = rill_sqlite_column_dup (stmt, 9);
  conversation->preset = rill_sqlite_column_dup (stmt, 10);
  conversation->has_temperature = sqlite3_column_type (stmt, 11) != SQLITE_NULL;
  conversation->temperature = sqlite3_column_double (stmt, 11);
  conversation->history_limit = rill_sqlite_column_int_or (stmt, 12, -1);
  return conversation;
}

RillMessage *
_rill_store_message_from_row (sqlite3_stmt *stmt)
{
  RillMessage *message = g_object_new (RILL_TYPE_MESSAGE, NULL);

  message->id = sqlite3_column_int64 (stmt, 0);
  message->conversation_id = sqlite3_column_int64 (stmt, 1);
  message->role = rill_role_from_string ((const char *) sqlite3_column_text (stmt, 2));
  message->content = rill_sqlite_column_dup (stmt, 3);
  message->reasoning = rill_sqlite_column_dup (stmt, 4);
  message->status = rill_status_from_string ((const char *) sqlite3_column_text (stmt, 5));
  message->error = rill_sqlite_column_dup (stmt, 6);
  message->model = rill_sqlite_column_dup (stmt, 7);
  message->finish_reason = rill_sqlite_column_dup (stmt, 8);
  message->request = rill_sqlite_column_dup (stmt, 9);
  message->usage = rill_sqlite_column_dup (stmt, 10);
  message->prompt_tokens = rill_sqlite_column_int_or (stmt, 11, -1);
  message->completion_tokens = rill_sqlite_column_int_or (stmt, 12, -1);
  message->created_at = sqlite3_column_int64 (stmt, 13);
  message->finished_at = rill_sqlite_column_int_or (stmt, 14, 0);
  message->parent_id = rill_sqlite_column_int_or (stmt, 15, 0);
  message->uid = rill_sqlite_column_dup (stmt, 16);
  _rill_message_take_tool_calls (message, rill_sqlite_column_dup (stmt, 17));
  message->tool_call_id = rill_sqlite_column_dup (stmt, 18);
  message->tool_server = rill_sqlite_column_dup (stmt, 19);
  message->tool_name = rill_sqlite_column_dup (stmt, 20);
  message->ttft_ms = rill_sqlite_column_int_or (stmt, 21, -1);
  message->generation_ms = rill_sqlite_column_int_or (stmt, 22, -1);
  return message;
}

guint
rill_store_count_conversations (RillStore *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), 0);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT count(*) FROM conversations WHERE deleted_at IS NULL",
                                    "read", NULL)))
    return 0;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  return sqlite3_column_int (stmt, 0);
}

GPtrArray *
rill_store_list_conversations (RillStore *self, guint offset, guint limit, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT " CONVERSATION_COLUMNS " FROM conversations"
                                    " WHERE deleted_at IS NULL"
                                    " ORDER BY updated_at DESC, id DESC LIMIT ?1 OFFSET ?2",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit ? (gint64) limit : -1);
  sqlite3_bind_int64 (stmt, 2, offset);
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) conversation_from_row, error);
}

RillConversation *
rill_store_get_conversation (RillStore *self, gint64 conversation_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT " CONVERSATION_COLUMNS " FROM conversations"
                                    " WHERE id = ?1 AND deleted_at IS NULL",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  return rill_sqlite_first_row (self->reader, stmt, (RillSqliteRowFunc) conversation_from_row,
                                "conversation", error);
}

GPtrArray *
rill_store_list_messages (RillStore *self, gint64 conversation_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT " RILL_STORE_MESSAGE_COLUMNS " FROM messages m"
                                    " WHERE m.conversation_id = ?1 ORDER BY m.id",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) _rill_store_message_from_row, error);
}

/* What showing, opening and exporting share: the metadata of each file of
 * message @message_id, then either its bytes (schema 7: shared by hash
 * unless the row has its own) or, with @previews, its thumbnail (schema 9:
 * by hash too), in which case the bytes and their pages are never read. */
static GPtrArray *
list_attachments (RillStore  *self,
                  gint64      message_id,
                  gboolean    previews,
                  GError    **error)
{
  static const char columns[] =
    "SELECT a.id, a.message_id, a.name, a.mime_type, a.sha256, a.text, a.size, a.created_at,";
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  int rc;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  {
    g_autofree char *sql = g_strdup_printf (previews
                                            ? "%s t.data, t.width, t.height FROM attachments a"
                                            " LEFT JOIN attachment_thumbnails t"
                                            " ON t.sha256 = a.sha256"
                                            " WHERE a.message_id = ?1 ORDER BY a.id"
                                            : "%s coalesce(a.data, d.data) FROM attachments a"
                                            " LEFT JOIN attachment_data d ON d.sha256 = a.sha256"
                                            " WHERE a.message_id = ?1 ORDER BY a.id",
                                            columns);

    if (!(stmt = rill_sqlite_prepare (self->reader, sql, "read", error)))
      return NULL;
  }
  sqlite3_bind_int64 (stmt, 1, message_id);
  attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) rill_stored_attachment_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RillStoredAttachment *attachment = g_new0 (RillStoredAttachment, 1);

      attachment->id = sqlite3_column_int64 (stmt, 0);
      attachment->message_id = sqlite3_column_int64 (stmt, 1);
      attachment->name = rill_sqlite_column_dup (stmt, 2);
      attachment->mime_type = rill_sqlite_column_dup (stmt, 3);
      attachment->sha256 = rill_sqlite_column_dup (stmt, 4);
      attachment->text = rill_sqlite_column_dup (stmt, 5);
      attachment->size = sqlite3_column_int64 (stmt, 6);
      attachment->created_at = sqlite3_column_int64 (stmt, 7);
      if (!previews)
        attachment->data = g_bytes_new (sqlite3_column_blob (stmt, 8),
                                        sqlite3_column_bytes (stmt, 8));
      else if (sqlite3_column_type (stmt, 8) != SQLITE_NULL)
        {
          attachment->thumbnail = g_bytes_new (sqlite3_column_blob (stmt, 8),
                                               sqlite3_column_bytes (stmt, 8));
          attachment->thumbnail_width = sqlite3_column_int (stmt, 9);
          attachment->thumbnail_height = sqlite3_column_int (stmt, 10);
        }
      g_ptr_array_add (attachments, attachment);
    }
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, self->reader, rc, "read");
      return NULL;
    }
  return g_steal_pointer (&attachments);
}

GPtrArray *
rill_store_list_attachments (RillStore *self, gint64 message_id, GError **error)
{
  return list_attachments (self, message_id, FALSE, error);
}

GPtrArray *
rill_store_list_attachment_previews (RillStore *self, gint64 message_id, GError **error)
{
  return list_attachments (self, message_id, TRUE, error);
}

RillMessage *
rill_store_get_message (RillStore *self, gint64 message_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT " RILL_STORE_MESSAGE_COLUMNS " FROM messages m"
                                    " WHERE m.id = ?1",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, message_id);
  return rill_sqlite_first_row (self->reader, stmt,
                                (RillSqliteRowFunc) _rill_store_message_from_row, "message", error);
}

/* Writes */

typedef struct
{
  const char     *sql;  /* ?1 is the id, ?2 the value */
  const char     *doing;
  gint64          id;
  char           *value;
  RillStoreChange change;
  char           *tools;  /* a new conversation's */
} WriteArgs;

static void
write_args_free (WriteArgs *args)
{
  g_free (args->value);
  g_free (args->tools);
  g_free (args);
}

static WriteArgs *
write_args_new (const char      *sql,
                const char      *doing,
                gint64           id,
                const char      *value,
                RillStoreChange  change)
{
  WriteArgs *args = g_new0 (WriteArgs, 1);

  args->sql = sql;
  args->doing = doing;
  args->id = id;
  args->value = g_strdup (value);
  args->change = change;
  return args;
}

static void
create_conversation_job (RillStore *self, GTask *task, gpointer data)
{
  WriteArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  gint64 now = _rill_store_now_ms ();
  gint64 id;

  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "INSERT INTO conversations (title, title_from_user, created_at,"
                                    " updated_at, uid, tools)"
                                    " VALUES (?1, ?2, ?3, ?3, lower(hex(randomblob(16))), ?4)",
                                    "save to", &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  rill_sqlite_bind_text (stmt, 1, args->value ? args->value : "", -1);
  sqlite3_bind_int (stmt, 2, args->value != NULL);
  sqlite3_bind_int64 (stmt, 3, now);
  rill_sqlite_bind_text (stmt, 4, args->tools, -1);
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    return _rill_store_return_write_error (task, self->writer, error);
  id = sqlite3_last_insert_rowid (self->writer);
  _rill_store_queue_change (self, RILL_STORE_CONVERSATION_ADDED, id);
  g_task_return_int (task, id);
}

void
rill_store_create_conversation_async (RillStore           *self,
                                      const char          *title,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  WriteArgs *args;

  g_return_if_fail (RILL_IS_STORE (self));

  args = write_args_new (NULL, NULL, 0, title, RILL_STORE_CONVERSATION_ADDED);
  args->tools = g_strdup (self->new_conversation_tools);
  _rill_store_push_job (self, create_conversation_job,
                        _rill_store_new_task (self, cancellable, callback, user_data,
                                              rill_store_create_conversation_async),
                        args, (GDestroyNotify) write_args_free);
}

void
rill_store_set_new_conversation_tools (RillStore  *self,
                                       const char *tools)
{
  g_return_if_fail (RILL_IS_STORE (self));

  g_free (self->new_conversation_tools);
  /* "" is the setting's "none": the column's none is NULL. */
  self->new_conversation_tools = tools != NULL && *tools != '\0' ? g_strdup (tools) : NULL;
}

gint64
rill_store_create_conversation_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  return g_task_propagate_int (G_TASK (result), error);
}

/* One statement on one row: the edits the window makes. Each commits on
 * its own (autocommit), so the change is told once the statement is done. */
static void
write_job (RillStore *self, GTask *task, gpointer data)
{
  WriteArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  gint64 conversation_id = args->id;

  if (!(stmt = rill_sqlite_prepare (self->writer, args->sql, args->doing, &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  sqlite3_bind_int64 (stmt, 1, args->id);
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    rill_sqlite_bind_text (stmt, 2, args->value, -1);
  if (!rill_sqlite_step_done (self->writer, stmt, args->doing, &error))
    return _rill_store_return_write_error (task, self->writer, error);
  /* A write that found no row changed nothing anyone shows. */
  if (sqlite3_changes (self->writer) > 0)
    _rill_store_queue_change (self, args->change, conversation_id);
  g_task_return_boolean (task, TRUE);
}

static void
push_write (RillStore           *self,
            WriteArgs           *args,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  _rill_store_push_job (self, write_job,
                        _rill_store_new_task (self, cancellable, callback, user_data, source_tag),
                        args, (GDestroyNotify) write_args_free);
}

void
rill_store_update_conversation_async (RillStore             *self,
                                      gint64                 conversation_id,
                                      RillConversationField  field,
                                      const char            *value,
                                      GCancellable          *cancellable,
                                      GAsyncReadyCallback    callback,
                                      gpointer               user_data)
{
  static const char *statements[] = {
    [RILL_CONVERSATION_TITLE] =
      "UPDATE conversations SET title = coalesce(?2, ''), title_from_user = 1 WHERE id = ?1",
    [RILL_CONVERSATION_MODEL] = "UPDATE conversations SET model = ?2 WHERE id = ?1",
    [RILL_CONVERSATION_SYSTEM_PROMPT] = "UPDATE conversations SET system_prompt = ?2 WHERE id = ?1",
    [RILL_CONVERSATION_TITLE_FROM_MODEL] =
      "UPDATE conversations SET title = coalesce(?2, title) WHERE id = ?1 AND title_from_user = 0",
    [RILL_CONVERSATION_SERVER] = "UPDATE conversations SET server = ?2 WHERE id = ?1",
    [RILL_CONVERSATION_SERVER_URL] = "UPDATE conversations SET server_url = ?2 WHERE id = ?1",
    [RILL_CONVERSATION_TOOLS] = "UPDATE conversations SET tools = ?2 WHERE id = ?1",
  };

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (field <= RILL_CONVERSATION_TOOLS);

  push_write (self, write_args_new (statements[field], "save to", conversation_id, value,
                                    RILL_STORE_CONVERSATION_CHANGED),
              cancellable, callback, user_data, rill_store_update_conversation_async);
}

void
rill_store_delete_conversation_async (RillStore           *self,
                                      gint64               conversation_id,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  rill_store_erase_conversation_async (self, conversation_id, cancellable, callback, user_data);
}

gboolean
rill_store_write_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A thumbnail made late, for an image stored before there were any. */

typedef struct
{
  char   *sha256;
  int     width;
  int     height;
  GBytes *data;
} ThumbnailArgs;

static void
thumbnail_args_free (ThumbnailArgs *args)
{
  g_free (args->sha256);
  g_bytes_unref (args->data);
  g_free (args);
}

/* One statement, autocommit: written only while the bytes it was made
 * from are there (erased meanwhile, their trigger would not see it), and
 * never over one another row wrote first. Nothing anyone shows changes,
 * so no signal. */
static void
save_thumbnail_job (RillStore *self, GTask *task, gpointer data)
{
  ThumbnailArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  gsize len;
  gconstpointer bytes = g_bytes_get_data (args->data, &len);

  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "INSERT OR IGNORE INTO attachment_thumbnails"
                                    " (sha256, width, height, data) SELECT ?1, ?2, ?3, ?4"
                                    " WHERE EXISTS (SELECT 1 FROM attachment_data"
                                    " WHERE sha256 = ?1)",
                                    "save to", &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  rill_sqlite_bind_text (stmt, 1, args->sha256, -1);
  sqlite3_bind_int (stmt, 2, args->width);
  sqlite3_bind_int (stmt, 3, args->height);
  sqlite3_bind_blob64 (stmt, 4, bytes ? bytes : "", len, SQLITE_STATIC);
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    return _rill_store_return_write_error (task, self->writer, error);
  g_task_return_boolean (task, TRUE);
}

void
rill_store_save_thumbnail_async (RillStore           *self,
                                 const char          *sha256,
                                 int                  width,
                                 int                  height,
                                 GBytes              *data,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  ThumbnailArgs *args;

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (sha256 != NULL && data != NULL);

  args = g_new0 (ThumbnailArgs, 1);
  args->sha256 = g_strdup (sha256);
  args->width = width;
  args->height = height;
  args->data = g_bytes_ref (data);
  _rill_store_push_job (self, save_thumbnail_job,
                        _rill_store_new_task (self, cancellable, callback, user_data,
                                              rill_store_save_thumbnail_async),
                        args, (GDestroyNotify) thumbnail_args_free);
}
