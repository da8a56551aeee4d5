/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-test-support.c: see rill-test-support.h. */

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "rill-test-support.h"

static gboolean
tick_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A short wake-up timer keeps the loop turning for conditions that change
 * on another thread (the store's writer) or in another process, which
 * wake no source of this context. */
void
test_wait_until (TestCondition  condition,
                 gpointer       data,
                 guint          timeout_ms,
                 const char    *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (data))
    {
      gboolean tick = FALSE;
      guint id;

      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      id = g_timeout_add (10, tick_cb, &tick);
      g_main_context_iteration (NULL, TRUE);
      if (!tick)
        g_source_remove (id);
    }
}

static gboolean
flag_is_set (gpointer data)
{
  return *(const gboolean *) data;
}

void
test_wait_for (const gboolean *flag,
               guint           timeout_ms,
               const char     *what)
{
  test_wait_until (flag_is_set, (gpointer) flag, timeout_ms, what);
}

void
test_async_result_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  GAsyncResult **slot = data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
result_is_set (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

GAsyncResult *
test_wait_result (GAsyncResult **result,
                  guint          timeout_ms,
                  const char    *what)
{
  test_wait_until (result_is_set, result, timeout_ms, what);
  return *result;
}

char *
test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("rill-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
test_rm_rf (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children && (info = g_file_enumerator_next_file (children, NULL, NULL)))
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        test_rm_rf (child);
      else
        g_unlink (child);
      g_object_unref (info);
    }
  g_rmdir (path);
}

void
test_create_conversation_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      data)
{
  TestResult *r = data;

  r->id = rill_store_create_conversation_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

RillStore *
test_store_open (const char *path)
{
  g_autoptr(GError) error = NULL;
  RillStore *store = rill_store_open (path, &error);

  g_assert_no_error (error);
  return store;
}

static gboolean
only_this_reference (gpointer store)
{
  return G_OBJECT (store)->ref_count == 1;
}

void
test_store_close (RillStore *store)
{
  g_assert_true (rill_store_sync (store, 10000));
  /* A reply that finished may still drain the rest of its answer for a
   * moment, holding the store; that is not a leak, so it is waited for. */
  test_wait_until (only_this_reference, store, 10000, "the last reply to let the store go");
  g_assert_finalize_object (store);
}

gint64
test_create_conversation (RillStore  *store,
                          const char *title)
{
  TestResult r = { 0 };

  rill_store_create_conversation_async (store, title, NULL, test_create_conversation_cb, &r);
  test_wait_for (&r.done, 10000, "a new conversation");
  g_assert_no_error (r.error);
  g_assert_cmpint (r.id, >, 0);
  return r.id;
}

void
test_write_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  TestResult *r = data;

  rill_store_write_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

char *
test_sql_try_text (const char *db_path,
                   const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *text = NULL;

  if (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
      sqlite3_busy_timeout (db, 10000);
      if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
          && sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        text = g_strndup ((const char *) sqlite3_column_text (stmt, 0),
                          sqlite3_column_bytes (stmt, 0));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

char *
test_sql_text (const char *db_path,
               const char *sql)
{
  char *text = test_sql_try_text (db_path, sql);

  g_assert_nonnull (text);
  return text;
}

void
test_sql_exec (const char *db_path,
               const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

/* The MCP reference server */

char *
test_mcp_everything_path (const char *dir)
{
  return g_build_filename (dir, "node_modules", "@modelcontextprotocol",
                           "server-everything", "dist", "index.js", NULL);
}

gboolean
test_have_mcp_everything (const char *dir)
{
  g_autofree char *script = test_mcp_everything_path (dir);
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *why = NULL;

  if (node == NULL)
    why = g_strdup ("Node.js (node) is not installed");
  else if (!g_file_test (script, G_FILE_TEST_EXISTS))
    why = g_strdup_printf ("the MCP reference server is not installed in %s (run `ninja "
                           "mcp-server` in the build folder, or tests/core/mcp-server.sh %s)",
                           dir, dir);
  if (why == NULL)
    return TRUE;
  if (g_getenv ("RILL_MCP_REQUIRED") != NULL)
    g_error ("%s, and RILL_MCP_REQUIRED is set", why);
  g_test_skip (why);
  return FALSE;
}

gboolean
test_have_python (void)
{
  g_autofree char *python = g_find_program_in_path ("python3");

  if (python != NULL)
    return TRUE;
  g_test_skip ("python3 is not installed (the scripted MCP server needs it)");
  return FALSE;
}
