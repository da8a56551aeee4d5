/* The history database.
 *
 * Two connections to one WAL-mode file: the "reader", used on the thread
 * that opened the store for short queries, and the "writer", owned by one
 * thread that runs a FIFO queue of jobs. Checkpoints of a streaming reply
 * commit with synchronous=NORMAL (safe against the app crashing, cheap); a
 * reply's final write commits with synchronous=FULL, so a reply shown as
 * finished survives a power cut.
 *
 * Search uses an FTS5 table with the trigram tokenizer: it matches any
 * substring, so Chinese, which has no spaces between words, is found. Terms
 * shorter than three characters cannot use the trigram index and are
 * matched with LIKE over the indexed text instead. A reply is indexed once
 * it stops streaming, so checkpoints never re-index a growing text. */

#include "rill-store-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "rill-records-private.h"

#define SCHEMA_VERSION 2

struct _RillStore
{
  GObject parent_instance;

  char *path;
  char *set_aside_path;
  sqlite3 *reader;
  sqlite3 *writer;
  GThread *thread;
  GAsyncQueue *jobs;
  guint n_recovered;

  GMutex timings_lock;
  GArray *checkpoint_timings;
  guint reader_statements;
  guint misplaced_writes;
};

G_DEFINE_FINAL_TYPE (RillStore, rill_store, G_TYPE_OBJECT)
G_DEFINE_QUARK (rill-store-error-quark, rill_store_error)

typedef void (*JobFunc) (RillStore *self, GTask *task, gpointer data);

typedef struct
{
  JobFunc func;
  RillStore *store;     /* a job keeps the store, and so the writer, alive */
  GTask *task;          /* NULL for checkpoints, whose caller does not wait */
  gpointer data;
  GDestroyNotify data_free;
} Job;

static const char *schema_v1[] = {
  "CREATE TABLE conversations ("
  "  id INTEGER PRIMARY KEY,"
  "  title TEXT NOT NULL DEFAULT '',"
  "  title_from_user INTEGER NOT NULL DEFAULT 0,"
  "  model TEXT,"
  "  system_prompt TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL)",
  "CREATE INDEX conversations_by_update ON conversations (updated_at DESC, id DESC)",
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
  "  content TEXT NOT NULL DEFAULT '',"
  "  reasoning TEXT NOT NULL DEFAULT '',"
  "  status TEXT NOT NULL DEFAULT 'complete'"
  "    CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted')),"
  "  error TEXT,"
  "  model TEXT,"
  "  finish_reason TEXT,"
  "  prompt_tokens INTEGER,"
  "  completion_tokens INTEGER,"
  "  usage TEXT,"
  "  request TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  finished_at INTEGER)",
  "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
  "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
  "CREATE VIRTUAL TABLE messages_fts USING fts5 (content, tokenize = 'trigram')",
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
  "  WHEN new.status != 'streaming' BEGIN"
  "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
  "END",
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages"
  "  WHEN new.status != 'streaming' BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
  "END",
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "END",
  NULL
};

/* The trigram index finds a one- or two-character term wherever two or one
 * more characters follow it; these find it in the last two characters.
 * Like the trigram index, they leave out replies still streaming, so a
 * checkpoint does not update them. */
static const char *schema_v2[] = {
  "CREATE INDEX messages_last_char ON messages (lower(substr(content, -1)))"
  "  WHERE status != 'streaming'",
  "CREATE INDEX messages_last_two ON messages (lower(substr(content, -2)))"
  "  WHERE status != 'streaming'",
  NULL
};

/* Forward migrations: entry N brings a database from version N to N + 1. */
static const char **migrations[SCHEMA_VERSION] = { schema_v1, schema_v2 };

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

static void
set_sqlite_error (GError **error, sqlite3 *db, int rc, const char *doing)
{
  int code;
  const char *why = db ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      code = RILL_STORE_ERROR_FULL;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      code = RILL_STORE_ERROR_READ_ONLY;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = RILL_STORE_ERROR_BUSY;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = RILL_STORE_ERROR_CORRUPT;
      break;
    default:
      code = RILL_STORE_ERROR_FAILED;
    }
  g_set_error (error, RILL_STORE_ERROR, code, "Could not %s the history database: %s", doing, why);
}

static gboolean
exec (sqlite3 *db, const char *sql, const char *doing, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, doing);
      return FALSE;
    }
  return TRUE;
}

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql, const char *doing, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, doing);
      return NULL;
    }
  return stmt;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static void
bind_text (sqlite3_stmt *stmt, int index, const char *text, gssize len)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text64 (stmt, index, text, len < 0 ? strlen (text) : (gsize) len,
                         SQLITE_TRANSIENT, SQLITE_UTF8);
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (sqlite3 *db, sqlite3_stmt *stmt, const char *doing, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, doing);
      return FALSE;
    }
  return TRUE;
}

static void
rollback (sqlite3 *db)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3 *
open_connection (const char *path, GError **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "open");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db, FALSE);
  sqlite3_busy_timeout (db, 5000);
  if (!exec (db,
             "PRAGMA journal_mode = WAL;"
             "PRAGMA synchronous = NORMAL;"
             "PRAGMA foreign_keys = ON;",
             "open", error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

static gboolean
migrate (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int version;

  if (!(stmt = prepare (db, "PRAGMA user_version", "read", error)))
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      set_sqlite_error (error, db, sqlite3_errcode (db), "read");
      return FALSE;
    }
  version = sqlite3_column_int (stmt, 0);
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "The history database was written by a newer version of Rill (schema %d)",
                   version);
      return FALSE;
    }

  for (; version < SCHEMA_VERSION; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!exec (db, "BEGIN IMMEDIATE", "update", error))
        return FALSE;
      for (const char **sql = migrations[version]; *sql; sql++)
        if (!exec (db, *sql, "update", error))
          {
            rollback (db);
            return FALSE;
          }
      if (!exec (db, bump, "update", error) || !exec (db, "COMMIT", "update", error))
        {
          rollback (db);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_readable (sqlite3 *db, GError **error)
{
  /* Reading the schema finds a file that is not a database or has a
   * damaged header, which is what an open must set aside. A full
   * quick_check reads every page: 360 ms at start for a 120 MB history, so
   * damage deeper in the file is reported when it is met instead. */
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!(stmt = prepare (db, "SELECT count(*) FROM sqlite_master", "read", error)))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, "read");
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

  if (!(stmt = prepare (self->writer,
                        "UPDATE messages SET status = 'interrupted', finished_at = ?1"
                        " WHERE status = 'streaming'", "update", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now_ms ());
  if (!step_done (self->writer, stmt, "update", error))
    return FALSE;
  self->n_recovered = sqlite3_changes (self->writer);
  return TRUE;
}

static gpointer writer_thread (gpointer data);

static int
trace_reader (unsigned int type, void *data, void *statement, void *sql)
{
  RillStore *self = data;

  g_atomic_int_inc (&self->reader_statements);
  return 0;
}

static int
trace_writer (unsigned int type, void *data, void *statement, void *sql)
{
  RillStore *self = data;

  if (self->thread != NULL && g_thread_self () != self->thread)
    g_atomic_int_inc (&self->misplaced_writes);
  return 0;
}

static gboolean
open_connections (RillStore *self, GError **error)
{
  if (!(self->writer = open_connection (self->path, error)))
    return FALSE;
  if (!check_readable (self->writer, error) || !migrate (self->writer, error))
    return FALSE;
  if (!(self->reader = open_connection (self->path, error)))
    return FALSE;
  /* The index's terms, for short search terms; temp, so nothing is written. */
  return exec (self->reader,
               "CREATE VIRTUAL TABLE temp.messages_terms USING fts5vocab (main, messages_fts, instance)",
               "open", error);
}

static void
close_connections (RillStore *self)
{
  g_clear_pointer (&self->reader, sqlite3_close);
  g_clear_pointer (&self->writer, sqlite3_close);
}

RillStore *
rill_store_open (const char *path, GError **error)
{
  g_autoptr(RillStore) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

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

  if (!open_connections (self, &local_error))
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
      if (!open_connections (self, error))
        return NULL;
    }

  if (!recover_interrupted (self, error))
    return NULL;

  sqlite3_trace_v2 (self->reader, SQLITE_TRACE_STMT, trace_reader, self);
  sqlite3_trace_v2 (self->writer, SQLITE_TRACE_STMT, trace_writer, self);
  self->jobs = g_async_queue_new ();
  self->thread = g_thread_new ("rill-store-writer", writer_thread, g_async_queue_ref (self->jobs));

  return g_steal_pointer (&self);
}

char *
rill_store_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "rill", "history.db", NULL);
}

const char *
rill_store_get_path (RillStore *self)
{
  return self->path;
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

/* The writer thread */

static void
job_free (Job *job)
{
  /* The store goes first so that a barrier, released by its data, is only
   * passed once the jobs before it hold no reference. This may drop the
   * last reference, on this thread; dispose then queues the job that ends
   * this loop. */
  g_clear_object (&job->store);
  g_clear_object (&job->task);
  if (job->data_free)
    job->data_free (job->data);
  g_free (job);
}

static gpointer
writer_thread (gpointer data)
{
  g_autoptr(GAsyncQueue) jobs = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (jobs);

      if (job->func == NULL)
        {
          g_free (job);
          break;
        }
      job->func (job->store, job->task, job->data);
      job_free (job);
    }
  return NULL;
}

static void
push_job (RillStore *self, JobFunc func, GTask *task, gpointer data, GDestroyNotify data_free)
{
  Job *job = g_new0 (Job, 1);

  job->func = func;
  job->store = g_object_ref (self);
  job->task = task;
  job->data = data;
  job->data_free = data_free;
  g_async_queue_push (self->jobs, job);
}

static GTask *
new_task (RillStore *self, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  /* The writer returns results from its thread; GTask delivers them in the
   * caller's main context. */
  g_task_set_return_on_cancel (task, FALSE);
  return task;
}

typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean reached;
  gint ref_count;
} Barrier;

static void
barrier_release (Barrier *barrier)
{
  g_mutex_lock (&barrier->lock);
  barrier->reached = TRUE;
  g_cond_signal (&barrier->cond);
  g_mutex_unlock (&barrier->lock);
}

static void
barrier_unref (Barrier *barrier)
{
  if (g_atomic_int_dec_and_test (&barrier->ref_count))
    {
      g_mutex_clear (&barrier->lock);
      g_cond_clear (&barrier->cond);
      g_free (barrier);
    }
}

static void
barrier_job (RillStore *self, GTask *task, gpointer data)
{
  /* Reached in job_free, once this job holds nothing. */
}

static void
barrier_done (Barrier *barrier)
{
  barrier_release (barrier);
  barrier_unref (barrier);
}

gboolean
rill_store_sync (RillStore *self, guint timeout_ms)
{
  Barrier *barrier;
  gint64 deadline;
  gboolean reached;

  g_return_val_if_fail (RILL_IS_STORE (self), FALSE);

  barrier = g_new0 (Barrier, 1);
  g_mutex_init (&barrier->lock);
  g_cond_init (&barrier->cond);
  barrier->ref_count = 2;
  push_job (self, barrier_job, NULL, barrier, (GDestroyNotify) barrier_done);

  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_mutex_lock (&barrier->lock);
  while (!barrier->reached)
    if (!g_cond_wait_until (&barrier->cond, &barrier->lock, deadline))
      break;
  reached = barrier->reached;
  g_mutex_unlock (&barrier->lock);
  barrier_unref (barrier);
  return reached;
}

static void
rill_store_dispose (GObject *object)
{
  RillStore *self = RILL_STORE (object);

  /* Every queued job holds a reference, so the queue is empty here. */
  if (self->thread != NULL)
    {
      g_async_queue_push (self->jobs, g_new0 (Job, 1));
      if (g_thread_self () == self->thread)
        g_thread_unref (self->thread);
      else
        g_thread_join (self->thread);
      self->thread = NULL;
    }

  G_OBJECT_CLASS (rill_store_parent_class)->dispose (object);
}

static void
rill_store_finalize (GObject *object)
{
  RillStore *self = RILL_STORE (object);

  close_connections (self);
  g_clear_pointer (&self->jobs, g_async_queue_unref);
  g_clear_pointer (&self->checkpoint_timings, g_array_unref);
  g_mutex_clear (&self->timings_lock);
  g_free (self->path);
  g_free (self->set_aside_path);
  G_OBJECT_CLASS (rill_store_parent_class)->finalize (object);
}

static void
rill_store_class_init (RillStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rill_store_dispose;
  object_class->finalize = rill_store_finalize;
}

static void
rill_store_init (RillStore *self)
{
  g_mutex_init (&self->timings_lock);
  self->checkpoint_timings = g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* Reads */

static char *
column_dup (sqlite3_stmt *stmt, int column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  return text ? g_strndup (text, sqlite3_column_bytes (stmt, column)) : NULL;
}

static gint64
column_int_or (sqlite3_stmt *stmt, int column, gint64 fallback)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return fallback;
  return sqlite3_column_int64 (stmt, column);
}

#define CONVERSATION_COLUMNS "id, title, model, system_prompt, created_at, updated_at"

static RillConversation *
conversation_from_row (sqlite3_stmt *stmt)
{
  RillConversation *conversation = g_object_new (RILL_TYPE_CONVERSATION, NULL);

  conversation->id = sqlite3_column_int64 (stmt, 0);
  conversation->title = column_dup (stmt, 1);
  conversation->model = column_dup (stmt, 2);
  conversation->system_prompt = column_dup (stmt, 3);
  conversation->created_at = sqlite3_column_int64 (stmt, 4);
  conversation->updated_at = sqlite3_column_int64 (stmt, 5);
  return conversation;
}

#define MESSAGE_COLUMNS \
  "m.id, m.conversation_id, m.role, m.content, m.reasoning, m.status, m.error, m.model," \
  " m.finish_reason, m.request, m.usage, m.prompt_tokens, m.completion_tokens," \
  " m.created_at, m.finished_at"

static RillMessage *
message_from_row (sqlite3_stmt *stmt)
{
  RillMessage *message = g_object_new (RILL_TYPE_MESSAGE, NULL);

  message->id = sqlite3_column_int64 (stmt, 0);
  message->conversation_id = sqlite3_column_int64 (stmt, 1);
  message->role = rill_role_from_string ((const char *) sqlite3_column_text (stmt, 2));
  message->content = column_dup (stmt, 3);
  message->reasoning = column_dup (stmt, 4);
  message->status = rill_status_from_string ((const char *) sqlite3_column_text (stmt, 5));
  message->error = column_dup (stmt, 6);
  message->model = column_dup (stmt, 7);
  message->finish_reason = column_dup (stmt, 8);
  message->request = column_dup (stmt, 9);
  message->usage = column_dup (stmt, 10);
  message->prompt_tokens = column_int_or (stmt, 11, -1);
  message->completion_tokens = column_int_or (stmt, 12, -1);
  message->created_at = sqlite3_column_int64 (stmt, 13);
  message->finished_at = column_int_or (stmt, 14, 0);
  return message;
}

typedef gpointer (*RowFunc) (sqlite3_stmt *stmt);

static GPtrArray *
collect_rows (sqlite3 *db, sqlite3_stmt *stmt, RowFunc func, GError **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, func (stmt));
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, "read");
      return NULL;
    }
  return g_steal_pointer (&rows);
}

static gpointer
first_row (sqlite3 *db, sqlite3_stmt *stmt, RowFunc func, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return func (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND, "No such %s", what);
  else
    set_sqlite_error (error, db, rc, "read");
  return NULL;
}

guint
rill_store_count_conversations (RillStore *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), 0);

  if (!(stmt = prepare (self->reader, "SELECT count(*) FROM conversations", "read", NULL)))
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

  if (!(stmt = prepare (self->reader,
                        "SELECT " CONVERSATION_COLUMNS " FROM conversations"
                        " ORDER BY updated_at DESC, id DESC LIMIT ?1 OFFSET ?2",
                        "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit ? (gint64) limit : -1);
  sqlite3_bind_int64 (stmt, 2, offset);
  return collect_rows (self->reader, stmt, (RowFunc) conversation_from_row, error);
}

RillConversation *
rill_store_get_conversation (RillStore *self, gint64 conversation_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = prepare (self->reader,
                        "SELECT " CONVERSATION_COLUMNS " FROM conversations WHERE id = ?1",
                        "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  return first_row (self->reader, stmt, (RowFunc) conversation_from_row, "conversation", error);
}

GPtrArray *
rill_store_list_messages (RillStore *self, gint64 conversation_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = prepare (self->reader,
                        "SELECT " MESSAGE_COLUMNS " FROM messages m"
                        " WHERE m.conversation_id = ?1 ORDER BY m.id",
                        "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  return collect_rows (self->reader, stmt, (RowFunc) message_from_row, error);
}

RillMessage *
rill_store_get_message (RillStore *self, gint64 message_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = prepare (self->reader,
                        "SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.id = ?1",
                        "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, message_id);
  return first_row (self->reader, stmt, (RowFunc) message_from_row, "message", error);
}

static char *
like_pattern (const char *term)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = term; *p; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

static char *
fts_phrases (GPtrArray *terms)
{
  GString *match = g_string_new (NULL);

  for (guint i = 0; i < terms->len; i++)
    {
      const char *term = g_ptr_array_index (terms, i);

      if (match->len > 0)
        g_string_append (match, " AND ");
      g_string_append_c (match, '"');
      for (const char *p = term; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (match, '"');
          g_string_append_c (match, *p);
        }
      g_string_append_c (match, '"');
    }
  return g_string_free (match, FALSE);
}

/* How the trigram tokenizer folds case, so @term can be looked up among
 * its terms. */
static char *
fold_like_index (const char *term)
{
  GString *folded = g_string_new (NULL);

  for (const char *p = term; *p; p = g_utf8_next_char (p))
    g_string_append_unichar (folded, g_unichar_tolower (g_utf8_get_char (p)));
  return g_string_free (folded, FALSE);
}

/* The smallest string greater than every string that starts with @prefix. */
static char *
prefix_end (const char *prefix)
{
  const char *last = g_utf8_find_prev_char (prefix, prefix + strlen (prefix));
  GString *end = g_string_new_len (prefix, last - prefix);

  g_string_append_unichar (end, g_utf8_get_char (last) + 1);
  return g_string_free (end, FALSE);
}

#define RARE_INSTANCES 2000

/* A short term that is common is found by walking the newest messages, and
 * the walk stops at the limit; a rare one would walk them all (57 ms over
 * 200,000 messages). Its messages are found from the index instead: every
 * term of the trigram index that starts with it, and the messages that end
 * with it. Returns the rows, or NULL with @error unset when the term is too
 * common for this to pay. */
static GPtrArray *
search_rare_term (RillStore  *self,
                  const char *term,
                  GPtrArray  *short_terms,
                  guint       limit,
                  GError    **error)
{
  g_autofree char *folded = fold_like_index (term);
  g_autofree char *end = prefix_end (folded);
  g_autofree char *ascii_folded = g_ascii_strdown (term, -1);
  g_autofree char *ascii_end = prefix_end (ascii_folded);
  g_autoptr(sqlite3_stmt) count = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GString) sql = NULL;
  gboolean one_char = g_utf8_strlen (term, -1) == 1;

  if (!(count = prepare (self->reader,
                         "SELECT count(*) FROM (SELECT 1 FROM temp.messages_terms"
                         " WHERE term >= ?1 AND term < ?2 LIMIT ?3)",
                         "search", error)))
    return NULL;
  bind_text (count, 1, folded, -1);
  bind_text (count, 2, end, -1);
  sqlite3_bind_int (count, 3, RARE_INSTANCES);
  if (sqlite3_step (count) != SQLITE_ROW)
    {
      set_sqlite_error (error, self->reader, sqlite3_errcode (self->reader), "search");
      return NULL;
    }
  if (sqlite3_column_int (count, 0) >= RARE_INSTANCES)
    return NULL;

  sql = g_string_new ("SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.id IN ("
                      " SELECT doc FROM temp.messages_terms WHERE term >= ?1 AND term < ?2"
                      " UNION SELECT id FROM messages WHERE status != 'streaming'"
                      "  AND lower(substr(content, -2)) >= ?3 AND lower(substr(content, -2)) < ?4");
  if (one_char)
    g_string_append (sql, " UNION SELECT id FROM messages WHERE status != 'streaming'"
                          "  AND lower(substr(content, -1)) = ?3");
  g_string_append (sql, ") AND m.status != 'streaming'");
  for (guint i = 0; i < short_terms->len; i++)
    g_string_append_printf (sql, " AND m.content LIKE ?%u ESCAPE '\\'", i + 5);
  g_string_append_printf (sql, " ORDER BY m.id DESC LIMIT %u", limit ? limit : G_MAXINT);

  if (!(stmt = prepare (self->reader, sql->str, "search", error)))
    return NULL;
  bind_text (stmt, 1, folded, -1);
  bind_text (stmt, 2, end, -1);
  /* SQLite's lower() folds ASCII only, as LIKE does. */
  bind_text (stmt, 3, ascii_folded, -1);
  bind_text (stmt, 4, ascii_end, -1);
  for (guint i = 0; i < short_terms->len; i++)
    {
      g_autofree char *pattern = like_pattern (g_ptr_array_index (short_terms, i));
      bind_text (stmt, i + 5, pattern, -1);
    }
  return collect_rows (self->reader, stmt, (RowFunc) message_from_row, error);
}

GPtrArray *
rill_store_search (RillStore *self, const char *query, guint limit, GError **error)
{
  g_auto(GStrv) words = NULL;
  g_autoptr(GPtrArray) long_terms = g_ptr_array_new ();
  g_autoptr(GPtrArray) short_terms = g_ptr_array_new ();
  g_autoptr(GString) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  /* Every term must occur in the message. Terms of three characters or
   * more go to the trigram index as phrases; shorter ones cannot use it
   * and are checked with LIKE on the rows the index (or a newest-first
   * walk) yields. FTS5 is never given LIKE itself: SQLite does not pass a
   * LIKE with ESCAPE to it, and without ESCAPE 3.40 misses one- and
   * two-character CJK terms. Rows come in rowid order, newest first, which
   * FTS5 delivers without sorting, so LIMIT ends the walk early. */
  {
    /* The ideographic space separates terms too. */
    g_auto(GStrv) parts = g_strsplit (query, "\u3000", -1);
    g_autofree char *spaced = g_strjoinv (" ", parts);
    words = g_strsplit_set (spaced, " \t\n\r", -1);
  }
  for (guint i = 0; words[i]; i++)
    {
      if (words[i][0] == '\0')
        continue;
      g_ptr_array_add (g_utf8_strlen (words[i], -1) >= 3 ? long_terms : short_terms, words[i]);
    }
  if (long_terms->len == 0 && short_terms->len == 0)
    return g_ptr_array_new_with_free_func (g_object_unref);
  if (long_terms->len == 0)
    {
      GError *local_error = NULL;
      /* Two characters are rarer than one: look up the longest term. */
      const char *rarest = g_ptr_array_index (short_terms, 0);
      GPtrArray *rows;

      for (guint i = 1; i < short_terms->len; i++)
        if (g_utf8_strlen (g_ptr_array_index (short_terms, i), -1) > g_utf8_strlen (rarest, -1))
          rarest = g_ptr_array_index (short_terms, i);
      rows = search_rare_term (self, rarest, short_terms, limit, &local_error);
      if (rows != NULL || local_error != NULL)
        {
          if (local_error != NULL)
            g_propagate_error (error, local_error);
          return rows;
        }
    }

  sql = g_string_new ("SELECT " MESSAGE_COLUMNS " FROM messages_fts f"
                      " JOIN messages m ON m.id = f.rowid WHERE 1");
  if (long_terms->len > 0)
    g_string_append (sql, " AND messages_fts MATCH ?1");
  for (guint i = 0; i < short_terms->len; i++)
    g_string_append_printf (sql, " AND f.content LIKE ?%u ESCAPE '\\'", i + 2);
  g_string_append_printf (sql, " ORDER BY f.rowid DESC LIMIT %u", limit ? limit : G_MAXINT);

  if (!(stmt = prepare (self->reader, sql->str, "search", error)))
    return NULL;
  if (long_terms->len > 0)
    {
      g_autofree char *match = fts_phrases (long_terms);
      bind_text (stmt, 1, match, -1);
    }
  for (guint i = 0; i < short_terms->len; i++)
    {
      g_autofree char *pattern = like_pattern (g_ptr_array_index (short_terms, i));
      bind_text (stmt, i + 2, pattern, -1);
    }
  return collect_rows (self->reader, stmt, (RowFunc) message_from_row, error);
}

/* Writes */

static void
return_write_error (GTask *task, sqlite3 *db, GError *error)
{
  rollback (db);
  /* Durable jobs raise the level before their transaction; drop it back. */
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    {
      g_warning ("%s", error->message);
      g_error_free (error);
    }
}

typedef struct
{
  const char *sql;      /* ?1 is the id, ?2 the value */
  const char *doing;
  gint64 id;
  char *value;
} WriteArgs;

static void
write_args_free (WriteArgs *args)
{
  g_free (args->value);
  g_free (args);
}

static WriteArgs *
write_args_new (const char *sql, const char *doing, gint64 id, const char *value)
{
  WriteArgs *args = g_new0 (WriteArgs, 1);

  args->sql = sql;
  args->doing = doing;
  args->id = id;
  args->value = g_strdup (value);
  return args;
}

static void
create_conversation_job (RillStore *self, GTask *task, gpointer data)
{
  WriteArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  gint64 now = now_ms ();

  if (!(stmt = prepare (self->writer,
                        "INSERT INTO conversations (title, title_from_user, created_at, updated_at)"
                        " VALUES (?1, ?2, ?3, ?3)", "save to", &error)))
    return return_write_error (task, self->writer, error);
  bind_text (stmt, 1, args->value ? args->value : "", -1);
  sqlite3_bind_int (stmt, 2, args->value != NULL);
  sqlite3_bind_int64 (stmt, 3, now);
  if (!step_done (self->writer, stmt, "save to", &error))
    return return_write_error (task, self->writer, error);
  g_task_return_int (task, sqlite3_last_insert_rowid (self->writer));
}

void
rill_store_create_conversation_async (RillStore           *self,
                                      const char          *title,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_job (self, create_conversation_job,
            new_task (self, cancellable, callback, user_data, rill_store_create_conversation_async),
            write_args_new (NULL, NULL, 0, title), (GDestroyNotify) write_args_free);
}

gint64
rill_store_create_conversation_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  return g_task_propagate_int (G_TASK (result), error);
}

/* One statement on one row: the edits the window makes. */
static void
write_job (RillStore *self, GTask *task, gpointer data)
{
  WriteArgs *args = data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;

  if (!(stmt = prepare (self->writer, args->sql, args->doing, &error)))
    return return_write_error (task, self->writer, error);
  sqlite3_bind_int64 (stmt, 1, args->id);
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    bind_text (stmt, 2, args->value, -1);
  if (!step_done (self->writer, stmt, args->doing, &error))
    return return_write_error (task, self->writer, error);
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
  push_job (self, write_job, new_task (self, cancellable, callback, user_data, source_tag),
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
  };

  g_return_if_fail (RILL_IS_STORE (self));
  g_return_if_fail (field <= RILL_CONVERSATION_SYSTEM_PROMPT);

  push_write (self, write_args_new (statements[field], "save to", conversation_id, value),
              cancellable, callback, user_data, rill_store_update_conversation_async);
}

void
rill_store_delete_conversation_async (RillStore           *self,
                                      gint64               conversation_id,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_write (self, write_args_new ("DELETE FROM conversations WHERE id = ?1", "delete from",
                                    conversation_id, NULL),
              cancellable, callback, user_data, rill_store_delete_conversation_async);
}

void
rill_store_truncate_conversation_async (RillStore           *self,
                                        gint64               from_message_id,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  push_write (self, write_args_new ("DELETE FROM messages WHERE id >= ?1 AND conversation_id ="
                                    " (SELECT conversation_id FROM messages WHERE id = ?1)",
                                    "delete from", from_message_id, NULL),
              cancellable, callback, user_data, rill_store_truncate_conversation_async);
}

gboolean
rill_store_write_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A reply's rows */

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
  char *user_text;
  char *system_prompt;
  guint history_limit;
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

static gboolean
insert_message (sqlite3 *db, gint64 conversation_id, const char *role, const char *content,
                const char *status, gint64 *id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = prepare (db,
                        "INSERT INTO messages (conversation_id, role, content, status, created_at,"
                        " finished_at) VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 = 'streaming'"
                        " THEN NULL ELSE ?5 END)", "save to", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  bind_text (stmt, 2, role, -1);
  bind_text (stmt, 3, content, -1);
  bind_text (stmt, 4, status, -1);
  sqlite3_bind_int64 (stmt, 5, now_ms ());
  if (!step_done (db, stmt, "save to", error))
    return FALSE;
  *id = sqlite3_last_insert_rowid (db);
  return TRUE;
}

static JsonNode *
read_history (sqlite3 *db, BeginArgs *args, const char *system_prompt, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) turns = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonArray) messages = json_array_new ();
  int rc;

  /* A failed reply is left out; a stopped or interrupted one counts with
   * the text it has. */
  if (!(stmt = prepare (db,
                        "SELECT role, content FROM messages WHERE conversation_id = ?1"
                        " AND id < ?2 AND status IN ('complete', 'stopped', 'interrupted')"
                        " AND content != '' ORDER BY id DESC LIMIT ?3",
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
      set_sqlite_error (error, db, rc, "read");
      return NULL;
    }

  if (system_prompt != NULL && system_prompt[0] != '\0')
    {
      JsonObject *turn = json_object_new ();

      json_object_set_string_member (turn, "role", "system");
      json_object_set_string_member (turn, "content", system_prompt);
      json_array_add_object_element (messages, turn);
    }
  /* Oldest first; a history cut by the limit must not open with a reply. */
  for (guint i = turns->len; i > 0; i--)
    {
      JsonObject *turn = g_ptr_array_index (turns, i - 1);

      if (json_array_get_length (messages) == (system_prompt && *system_prompt ? 1 : 0)
          && g_strcmp0 (json_object_get_string_member (turn, "role"), "assistant") == 0)
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
  GError *error = NULL;
  int rc;

  /* The user's words must survive whatever happens to the request, so this
   * commit is durable (the level can only change outside a transaction). */
  if (!exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", &error))
    return return_write_error (task, db, error);

  if (!(conversation = prepare (db,
                                "SELECT model, system_prompt, title = '' AND title_from_user = 0"
                                " FROM conversations WHERE id = ?1", "read", &error)))
    return return_write_error (task, db, error);
  sqlite3_bind_int64 (conversation, 1, args->rows->conversation_id);
  rc = sqlite3_step (conversation);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        error = g_error_new (RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND,
                             "The conversation no longer exists");
      else
        set_sqlite_error (&error, db, rc, "read");
      return return_write_error (task, db, error);
    }
  context->conversation_model = column_dup (conversation, 0);
  system_prompt = args->system_prompt ? g_strdup (args->system_prompt) : column_dup (conversation, 1);
  needs_title = sqlite3_column_int (conversation, 2);

  if (args->user_text != NULL
      && !insert_message (db, args->rows->conversation_id, "user", args->user_text, "complete",
                          &args->rows->user_message_id, &error))
    return return_write_error (task, db, error);
  if (!insert_message (db, args->rows->conversation_id, "assistant", "", "streaming",
                       &args->rows->assistant_message_id, &error))
    return return_write_error (task, db, error);

  if (needs_title && args->user_text != NULL)
    title = title_from_text (args->user_text);
  if (!(touch = prepare (db,
                         "UPDATE conversations SET updated_at = ?2, title = coalesce(?3, title)"
                         " WHERE id = ?1", "save to", &error)))
    return return_write_error (task, db, error);
  sqlite3_bind_int64 (touch, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (touch, 2, now_ms ());
  bind_text (touch, 3, title, -1);
  if (!step_done (db, touch, "save to", &error))
    return return_write_error (task, db, error);

  if (!(context->messages = read_history (db, args, system_prompt, &error)))
    return return_write_error (task, db, error);

  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (&error, db, rc, "save to");
      args->rows->user_message_id = 0;
      args->rows->assistant_message_id = 0;
      return return_write_error (task, db, error);
    }

  g_task_return_pointer (task, g_steal_pointer (&context), (GDestroyNotify) rill_reply_context_free);
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
  push_job (self, begin_reply_job,
            new_task (self, NULL, callback, user_data, _rill_store_begin_reply_async),
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
  char *content;
  gsize content_len;
  char *reasoning;
  gsize reasoning_len;
  char *request_json;
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
  if (!(stmt = prepare (self->writer,
                        "UPDATE messages SET content = content || ?2, reasoning = reasoning || ?3,"
                        " request = coalesce(?4, request) WHERE id = ?1 AND status = 'streaming'",
                        "save to", &error)))
    {
      g_warning ("%s", error->message);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
  bind_text (stmt, 2, args->content ? args->content : "", args->content_len);
  bind_text (stmt, 3, args->reasoning ? args->reasoning : "", args->reasoning_len);
  bind_text (stmt, 4, args->request_json, -1);
  if (!step_done (self->writer, stmt, "save to", &error))
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
_rill_store_checkpoint (RillStore   *self,
                        RillReplyRows *rows,
                        const char  *content_tail,
                        gsize        content_len,
                        const char  *reasoning_tail,
                        gsize        reasoning_len,
                        const char  *request_json)
{
  CheckpointArgs *args = g_new0 (CheckpointArgs, 1);

  args->rows = g_atomic_rc_box_acquire (rows);
  args->content = g_strndup (content_tail, content_len);
  args->content_len = content_len;
  args->reasoning = g_strndup (reasoning_tail, reasoning_len);
  args->reasoning_len = reasoning_len;
  args->request_json = g_strdup (request_json);
  push_job (self, checkpoint_job, NULL, args, (GDestroyNotify) checkpoint_args_free);
}

guint
_rill_store_get_reader_statements (RillStore *self)
{
  return g_atomic_int_get (&self->reader_statements);
}

guint
_rill_store_get_misplaced_writes (RillStore *self)
{
  return g_atomic_int_get (&self->misplaced_writes);
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
  RillReplyRows *rows;
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
bind_int_or_null (sqlite3_stmt *stmt, int index, gint64 value)
{
  if (value < 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, value);
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
  gint64 now = now_ms ();
  int rc;

  if (args->rows->assistant_message_id == 0)
    {
      g_task_return_new_error (task, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                               "The reply could not be saved because its start was not saved");
      return;
    }

  if (!exec (db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", "save to", &error))
    return return_write_error (task, db, error);
  if (!(stmt = prepare (db,
                        "UPDATE messages SET content = ?2, reasoning = ?3, status = ?4, error = ?5,"
                        " model = ?6, finish_reason = ?7, usage = ?8,"
                        " request = coalesce(?9, request), prompt_tokens = ?10,"
                        " completion_tokens = ?11, finished_at = ?12 WHERE id = ?1",
                        "save to", &error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, args->rows->assistant_message_id);
  bind_text (stmt, 2, final->content ? final->content : "", -1);
  bind_text (stmt, 3, final->reasoning ? final->reasoning : "", -1);
  bind_text (stmt, 4, rill_status_to_string (final->status), -1);
  bind_text (stmt, 5, final->error, -1);
  bind_text (stmt, 6, final->model, -1);
  bind_text (stmt, 7, final->finish_reason, -1);
  bind_text (stmt, 8, final->usage_json, -1);
  bind_text (stmt, 9, final->request_json, -1);
  bind_int_or_null (stmt, 10, final->prompt_tokens);
  bind_int_or_null (stmt, 11, final->completion_tokens);
  sqlite3_bind_int64 (stmt, 12, now);
  if (!step_done (db, stmt, "save to", &error))
    goto fail;

  if (!(touch = prepare (db, "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
                         "save to", &error)))
    goto fail;
  sqlite3_bind_int64 (touch, 1, args->rows->conversation_id);
  sqlite3_bind_int64 (touch, 2, now);
  if (!step_done (db, touch, "save to", &error))
    goto fail;

  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (&error, db, rc, "save to");
      goto fail;
    }
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  g_task_return_boolean (task, TRUE);
  return;

fail:
  return_write_error (task, db, error);
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
  push_job (self, finalize_job,
            new_task (self, NULL, callback, user_data, _rill_store_finalize_async),
            args, (GDestroyNotify) finalize_args_free);
}

gboolean
_rill_store_finalize_finish (RillStore *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
