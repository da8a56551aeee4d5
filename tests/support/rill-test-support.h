/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-test-support.h: what the tests share, besides the test server.
 *
 * Waiting on events with a deadline instead of sleeping, a temporary data
 * directory, and short ways to make rows and read them back on a
 * connection of the test's own. Linked into the core, fault and citizen
 * tests as the rill-test-support static library, with rill-test-server.
 *
 * Every wait iterates the thread-default main context of the caller and
 * fails the test (g_error) with @what when the deadline passes: the
 * deadline guards against hangs and is never the thing waited for. */
#pragma once

#include <gio/gio.h>

#include "rill-core.h"

G_BEGIN_DECLS

typedef gboolean (*TestCondition) (gpointer data);

/* Iterates the main context until @condition (@data) holds. */
void          test_wait_until              (TestCondition   condition,
                                            gpointer        data,
                                            guint           timeout_ms,
                                            const char     *what);
/* Until *@flag is TRUE. */
void          test_wait_for                (const gboolean *flag,
                                            guint           timeout_ms,
                                            const char     *what);

/* A GAsyncReadyCallback whose @data is a GAsyncResult **: it keeps a
 * reference to the result there, for test_wait_result. */
void          test_async_result_cb         (GObject        *source,
                                            GAsyncResult   *result,
                                            gpointer        data);
/* Until test_async_result_cb has filled *@result; returns it (the caller
 * still owns the reference in *@result). */
GAsyncResult *test_wait_result             (GAsyncResult  **result,
                                            guint           timeout_ms,
                                            const char     *what);

/* A new directory under the temporary directory; test_rm_rf removes it
 * and everything in it. */
char         *test_make_tmpdir             (void);
void          test_rm_rf                   (const char     *path);

typedef struct
{
  gboolean done;
  gint64   id;
  GError  *error;
} TestResult;

/* Opens the store at @path, failing the test if it cannot; closes it after
 * every queued write committed and whatever still held it (a reply
 * draining its answer) let go, and checks that it is finalized. */
RillStore    *test_store_open              (const char     *path);
void          test_store_close             (RillStore      *store);

/* Creates a conversation through the store, as the window does. */
gint64        test_create_conversation     (RillStore      *store,
                                            const char     *title);
/* For rill_store_create_conversation_async with a TestResult as @data. */
void          test_create_conversation_cb  (GObject        *source,
                                            GAsyncResult   *result,
                                            gpointer        data);
/* For rill_store_write_async with a TestResult as @data. */
void          test_write_cb                (GObject        *source,
                                            GAsyncResult   *result,
                                            gpointer        data);

/* The first column of the first row of @sql, on a read-only connection of
 * its own, as another tool would read the file; NULL when there is none or
 * the file cannot (yet) be read: another process may be creating it.
 * test_sql_text fails the test instead of returning NULL. */
char         *test_sql_try_text            (const char     *db_path,
                                            const char     *sql);
char         *test_sql_text                (const char     *db_path,
                                            const char     *sql);
/* Runs @sql on a connection of its own, as another tool would write the
 * file; fails the test when SQLite refuses it. */
void          test_sql_exec                (const char     *db_path,
                                            const char     *sql);

/* The MCP reference server (@modelcontextprotocol/server-everything) as
 * `ninja mcp-server` installs it into @dir (the build's MCP_EVERYTHING_DIR):
 * the path of its entry script, whether it is there or not. */
char         *test_mcp_everything_path     (const char     *dir);
/* TRUE when Node.js and that server are there; else skips the test saying
 * why, or fails it when RILL_MCP_REQUIRED is set (as in CI). */
gboolean      test_have_mcp_everything     (const char     *dir);
/* TRUE when python3 is there (for the scripted MCP server); else skips. */
gboolean      test_have_python             (void);

G_END_DECLS
