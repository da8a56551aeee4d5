/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SQLite with GErrors.
 *
 * Every failure is worded "Could not <doing> the history database: <why>",
 * because the window shows it as it is (a reply's "finished", a toast), and
 * carries a RILL_STORE_ERROR code so callers can tell a full disk from a
 * locked file without reading the words. Extended result codes are off on
 * every connection, so the codes mapped here are the primary ones. */

#include "rill-sqlite.h"

#include <string.h>

void
rill_sqlite_set_error (GError **error, sqlite3 *db, int rc, const char *doing)
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

gboolean
rill_sqlite_exec (sqlite3 *db, const char *sql, const char *doing, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (error, db, rc, doing);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
rill_sqlite_prepare (sqlite3 *db, const char *sql, const char *doing, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (error, db, rc, doing);
      return NULL;
    }
  return stmt;
}

gboolean
rill_sqlite_step_done (sqlite3 *db, sqlite3_stmt *stmt, const char *doing, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, rc, doing);
      return FALSE;
    }
  return TRUE;
}

void
rill_sqlite_rollback (sqlite3 *db)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
is_empty (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "PRAGMA page_count", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  return sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int64 (stmt, 0) == 0;
}

sqlite3 *
rill_sqlite_open (const char *path, GError **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL);

  if (rc != SQLITE_OK)
    {
      rill_sqlite_set_error (error, db, rc, "open");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db, FALSE);
  sqlite3_busy_timeout (db, 5000);
  /* A new file frees what is erased as it goes (PRAGMA incremental_vacuum).
   * It takes the mode only before anything is written to it, and the WAL
   * mode writes its header; an existing file is left as it is, since even
   * setting the mode it has writes to it. */
  if (is_empty (db) && !rill_sqlite_exec (db, "PRAGMA auto_vacuum = INCREMENTAL", "open", error))
    {
      sqlite3_close (db);
      return NULL;
    }
  if (!rill_sqlite_exec (db,
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

void
rill_sqlite_bind_text (sqlite3_stmt *stmt, int index, const char *text, gssize len)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text64 (stmt, index, text, len < 0 ? strlen (text) : (gsize) len,
                         SQLITE_TRANSIENT, SQLITE_UTF8);
}

void
rill_sqlite_bind_int_or_null (sqlite3_stmt *stmt, int index, gint64 value)
{
  if (value < 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, value);
}

char *
rill_sqlite_column_dup (sqlite3_stmt *stmt, int column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  return text ? g_strndup (text, sqlite3_column_bytes (stmt, column)) : NULL;
}

gint64
rill_sqlite_column_int_or (sqlite3_stmt *stmt, int column, gint64 fallback)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return fallback;
  return sqlite3_column_int64 (stmt, column);
}

GPtrArray *
rill_sqlite_collect_rows (sqlite3 *db, sqlite3_stmt *stmt, RillSqliteRowFunc func, GError **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, func (stmt));
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return NULL;
    }
  return g_steal_pointer (&rows);
}

gpointer
rill_sqlite_first_row (sqlite3            *db,
                       sqlite3_stmt       *stmt,
                       RillSqliteRowFunc   func,
                       const char         *what,
                       GError            **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return func (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND, "No such %s", what);
  else
    rill_sqlite_set_error (error, db, rc, "read");
  return NULL;
}

static int
trace_cb (unsigned int type, void *data, void *statement, void *sql)
{
  RillSqliteTrace *trace = data;

  if (trace->owner == NULL || g_thread_self () != trace->owner)
    g_atomic_int_inc (&trace->statements);
  return 0;
}

void
rill_sqlite_trace (sqlite3 *db, RillSqliteTrace *trace, GThread *owner)
{
  trace->statements = 0;
  trace->owner = owner;
  sqlite3_trace_v2 (db, SQLITE_TRACE_STMT, trace_cb, trace);
}

guint
rill_sqlite_trace_get (RillSqliteTrace *trace)
{
  return g_atomic_int_get (&trace->statements);
}
