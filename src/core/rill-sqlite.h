/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sqlite.h: SQLite with GErrors, private to the core.
 *
 * What every part of the store needs from SQLite and nothing about Rill's
 * tables: opening a connection the way the store wants it, statements whose
 * failures become RILL_STORE_ERROR codes the window can put in words, typed
 * binds, rows turned into records, and counting the statements a
 * connection runs. */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "rill-store.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* A WAL-mode connection with foreign keys and a 5 s busy timeout. */
sqlite3      *rill_sqlite_open             (const char    *path,
                                            GError       **error);

/* Sets @error to "Could not @doing the history database: why", with the
 * RILL_STORE_ERROR code that SQLite's @rc stands for. @db may be NULL. */
void          rill_sqlite_set_error        (GError       **error,
                                            sqlite3       *db,
                                            int            rc,
                                            const char    *doing);

gboolean      rill_sqlite_exec             (sqlite3       *db,
                                            const char    *sql,
                                            const char    *doing,
                                            GError       **error);
sqlite3_stmt *rill_sqlite_prepare          (sqlite3       *db,
                                            const char    *sql,
                                            const char    *doing,
                                            GError       **error);
/* Runs a statement that returns no rows. */
gboolean      rill_sqlite_step_done        (sqlite3       *db,
                                            sqlite3_stmt  *stmt,
                                            const char    *doing,
                                            GError       **error);
/* Ends the open transaction, if any; for error paths. */
void          rill_sqlite_rollback         (sqlite3       *db);

/* @text NULL binds NULL; @len -1 means up to the nul. */
void          rill_sqlite_bind_text        (sqlite3_stmt  *stmt,
                                            int            index,
                                            const char    *text,
                                            gssize         len);
/* A negative @value binds NULL. */
void          rill_sqlite_bind_int_or_null (sqlite3_stmt  *stmt,
                                            int            index,
                                            gint64         value);

char         *rill_sqlite_column_dup       (sqlite3_stmt  *stmt,
                                            int            column);
gint64        rill_sqlite_column_int_or    (sqlite3_stmt  *stmt,
                                            int            column,
                                            gint64         fallback);

typedef gpointer (*RillSqliteRowFunc) (sqlite3_stmt *stmt);

/* Every row, each made an object by @func. */
GPtrArray    *rill_sqlite_collect_rows     (sqlite3            *db,
                                            sqlite3_stmt       *stmt,
                                            RillSqliteRowFunc   func,
                                            GError            **error);
/* The first row, or RILL_STORE_ERROR_NOT_FOUND ("No such @what"). */
gpointer      rill_sqlite_first_row        (sqlite3            *db,
                                            sqlite3_stmt       *stmt,
                                            RillSqliteRowFunc   func,
                                            const char         *what,
                                            GError            **error);

/* Counts the statements a connection starts, to prove which thread runs
 * SQLite. With @owner NULL every statement counts; otherwise only those
 * started on another thread. The connection keeps a pointer to @trace, so
 * @trace must outlive it; @owner is borrowed and only compared. */
typedef struct
{
  guint    statements;  /* atomic */
  GThread *owner;
} RillSqliteTrace;

void          rill_sqlite_trace            (sqlite3          *db,
                                            RillSqliteTrace  *trace,
                                            GThread          *owner);
guint         rill_sqlite_trace_get        (RillSqliteTrace  *trace);

G_END_DECLS
