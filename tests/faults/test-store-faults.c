/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The database going wrong under a streaming reply: a full disk, a disk
 * that turned read-only, a data folder that cannot be created. The reply's
 * text stays with the reply, the failure is reported in words, and nothing
 * is reported saved that was not. Also: the main thread runs no SQLite
 * while a reply streams. */

#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"
#include "fault-vfs.h"

#define CHAT "/v1/chat/completions"

typedef struct
{
  gboolean started;
  gboolean finished;
} Flags;

static void on_started (RillReply *r, Flags *f) { f->started = TRUE; }
static void on_finished (RillReply *r, Flags *f) { f->finished = TRUE; }

static void
write_failure_at_finalize (FaultVfsWrites writes, RillStoreError expected)
{
  const char * const tokens[] = { "kept ", "in ", "memory", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GError) error = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  RillReply *reply;
  RillStore *store;
  Flags flags = { 0 };

  rill_test_script_send (script, sse, strstr (sse, "memory") - sse, 0);
  rill_test_script_gate (script, "finish");
  rill_test_script_send (script, strstr (sse, "memory"), -1, 0);
  rill_test_server_route (server, CHAT, script);

  fault_vfs_install ();
  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  reply = rill_reply_new (store, provider, test_create_conversation (store, "t"), "q", &options);
  rill_reply_options_clear (&options);
  g_signal_connect (reply, "started", G_CALLBACK (on_started), &flags);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &flags);
  rill_reply_start (reply);
  test_wait_for (&flags.started, 20000, "the reply to start");

  /* The disk fills (or turns read-only) while the reply streams. */
  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING, "*history database*");
  fault_vfs_set_writes (writes);
  rill_test_server_open_gate (server, "finish");
  test_wait_for (&flags.finished, 20000, "the reply to finish");

  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_reply_get_content (reply)->str, ==, "kept in memory");
  g_assert_nonnull (rill_reply_get_store_error (reply));
  g_assert_error (rill_reply_get_store_error (reply), RILL_STORE_ERROR, (gint) expected);
  g_assert_nonnull (strstr (rill_reply_get_store_error (reply)->message, "history database"));

  g_assert_true (rill_store_sync (store, 10000));
  g_test_assert_expected_messages ();
  g_object_unref (reply);
  fault_vfs_set_writes (FAULT_VFS_WRITES_OK);
  g_object_unref (store);
  fault_vfs_uninstall ();

  /* The row stays unfinished, so the next start says it was interrupted
   * rather than showing a reply as complete that was never saved whole. */
  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  g_object_unref (store);
  test_rm_rf (dir);
}

static void
test_disk_full (void)
{
  write_failure_at_finalize (FAULT_VFS_WRITES_FULL, RILL_STORE_ERROR_FULL);
}

static void
test_read_only (void)
{
  write_failure_at_finalize (FAULT_VFS_WRITES_READ_ONLY, RILL_STORE_ERROR_READ_ONLY);
}

static void
test_unusable_folder (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *blocker = g_build_filename (dir, "rill", NULL);
  g_autofree char *db = g_build_filename (blocker, "history.db", NULL);
  g_autoptr(GError) error = NULL;

  /* A file where the folder should be. */
  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_assert_null (rill_store_open (db, &error));
  g_assert_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "Could not create the folder"));
  test_rm_rf (dir);
}

static void
test_no_sqlite_on_main_thread_while_streaming (void)
{
  const char * const tokens[] = { "a", "b", "c", "d", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = rill_store_open (db, &error);
  g_autoptr(RillReply) reply = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  Flags flags = { 0 };
  gint64 conversation = test_create_conversation (store, "t");
  guint before;

  /* Slow enough for several checkpoints. */
  rill_test_script_pace (script, 150000);
  rill_test_script_send (script, sse, -1, 40);
  rill_test_server_route (server, CHAT, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  options.checkpoint_interval_ms = 50;
  reply = rill_reply_new (store, provider, conversation, "q", &options);
  rill_reply_options_clear (&options);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &flags);

  before = _rill_store_get_reader_statements (store);
  rill_reply_start (reply);
  test_wait_for (&flags.finished, 30000, "the reply to finish");
  g_assert_true (rill_store_sync (store, 10000));
  g_assert_cmpuint (_rill_store_get_reader_statements (store), ==, before);
  g_assert_cmpuint (_rill_store_get_misplaced_writes (store), ==, 0);
  {
    g_autoptr(GArray) timings = _rill_store_take_checkpoint_timings (store);
    g_test_message ("%u checkpoints, all on the writer thread", timings->len);
    g_assert_cmpuint (timings->len, >=, 3);
  }
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/faults/disk-full", test_disk_full);
  g_test_add_func ("/faults/read-only", test_read_only);
  g_test_add_func ("/faults/unusable-folder", test_unusable_folder);
  g_test_add_func ("/faults/no-sqlite-on-main-thread-while-streaming",
                   test_no_sqlite_on_main_thread_while_streaming);
  return g_test_run ();
}
