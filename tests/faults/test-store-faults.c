/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The database going wrong under a streaming reply: a full disk, a disk
 * that turned read-only, a write lock held past the busy timeout, a data
 * folder that cannot be created. A final write that cannot commit goes to
 * the journal and is retried until it does, or imported at the next
 * start; nothing is reported saved that is not on disk. Also: the main
 * thread runs no SQLite while a reply streams. */

#include <sqlite3.h>
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
on_changed (RillStore *store, gint64 conversation_id, gboolean *changed)
{
  *changed = TRUE;
}

typedef enum
{
  HEAL_IN_PLACE,   /* the disk has room again while the app runs */
  HEAL_AT_RESTART, /* the app quits first, and starts again */
} Heal;

static char *
stored_text (const char *db, gint64 id, const char *column)
{
  g_autofree char *query = g_strdup_printf ("SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT,
                                            column, id);

  return test_sql_text (db, query);
}

/* The disk fills (or turns read-only) just before the final write. The
 * reply still finishes, without an error, because its final text went to
 * the journal, durably; the write is retried, and commits once the disk
 * has room again, or is imported from the journal at the next start. The
 * stored reply is then whole, byte for byte, and the journal is gone. */
static void
write_failure_at_finalize (FaultVfsWrites writes, Heal heal)
{
  const char * const tokens[] = { "kept ", "in ", "memory ", "and ", "the ", "journal", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  g_autofree char *expected = rill_test_join_tokens (tokens);
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autofree char *journal_dir = _rill_store_journal_dir (db);
  g_autofree char *journal = NULL;
  g_autofree char *journal_text = NULL;
  g_autofree char *text = NULL;
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GError) error = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  RillReply *reply;
  RillStore *store;
  Flags flags = { 0 };
  gboolean changed = FALSE;
  gint64 id;

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
  id = rill_reply_get_message_id (reply);
  journal = g_strdup_printf ("%s/%" G_GINT64_FORMAT ".json", journal_dir, id);

  /* The disk fills (or turns read-only) while the reply streams. */
  fault_vfs_set_writes (writes);
  rill_test_server_open_gate (server, "finish");
  test_wait_for (&flags.finished, 20000, "the reply to finish");

  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_reply_get_content (reply)->str, ==, expected);
  g_assert_no_error (rill_reply_get_store_error (reply));
  /* Not in the database yet, but on disk: the journal has every byte. */
  text = stored_text (db, id, "status");
  g_assert_cmpstr (text, ==, "streaming");
  g_assert_true (g_file_get_contents (journal, &journal_text, NULL, NULL));
  g_assert_nonnull (strstr (journal_text, expected));
  g_object_unref (reply);

  if (heal == HEAL_IN_PLACE)
    {
      g_signal_connect (store, "conversation-changed", G_CALLBACK (on_changed), &changed);
      fault_vfs_set_writes (FAULT_VFS_WRITES_OK);
      test_wait_for (&changed, 20000, "the final write to be retried");
      g_assert_true (rill_store_sync (store, 10000));
      /* Committed by the retry, before any restart. */
      g_clear_pointer (&text, g_free);
      text = stored_text (db, id, "status");
      g_assert_cmpstr (text, ==, "complete");
      g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
      g_object_unref (store);
      fault_vfs_uninstall ();
    }
  else
    {
      /* Quit while the disk is still full. */
      g_assert_true (rill_store_sync (store, 10000));
      g_object_unref (store);
      fault_vfs_set_writes (FAULT_VFS_WRITES_OK);
      fault_vfs_uninstall ();
      g_assert_true (g_file_test (journal, G_FILE_TEST_IS_REGULAR));
    }

  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  /* Nothing was left to mark interrupted: the reply is whole. */
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 0);
  {
    g_autoptr(RillMessage) message = rill_store_get_message (store, id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_COMPLETE);
    g_assert_cmpuint (strlen (rill_message_get_content (message)), ==, strlen (expected));
    g_assert_cmpint (memcmp (rill_message_get_content (message), expected, strlen (expected)),
                     ==, 0);
    g_assert_nonnull (rill_message_get_request (message));
  }
  g_clear_pointer (&text, g_free);
  text = test_sql_text (db, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal_dir, G_FILE_TEST_EXISTS));
  /* And it is found, as a finished reply is. */
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "journal", 10, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 1);
  }
  g_object_unref (store);
  test_rm_rf (dir);
}

static void
test_disk_full (void)
{
  write_failure_at_finalize (FAULT_VFS_WRITES_FULL, HEAL_IN_PLACE);
}

static void
test_disk_full_then_restart (void)
{
  write_failure_at_finalize (FAULT_VFS_WRITES_FULL, HEAL_AT_RESTART);
}

static void
test_read_only (void)
{
  write_failure_at_finalize (FAULT_VFS_WRITES_READ_ONLY, HEAL_IN_PLACE);
}

/* Another process holds the write lock past the busy timeout when the
 * reply ends: the final text goes to the journal, the reply finishes, and
 * the write commits once the lock is gone. */
static void
test_final_write_busy (void)
{
  const char * const tokens[] = { "waits ", "for ", "the ", "lock", NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, NULL, TRUE);
  g_autofree char *expected = rill_test_join_tokens (tokens);
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autofree char *journal_dir = _rill_store_journal_dir (db);
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = rill_store_open (db, &error);
  g_autoptr(RillReply) reply = NULL;
  g_autofree char *text = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  Flags flags = { 0 };
  gboolean changed = FALSE;
  sqlite3 *other;

  g_assert_no_error (error);
  rill_test_script_send (script, sse, strstr (sse, "the") - sse, 0);
  rill_test_script_gate (script, "finish");
  rill_test_script_send (script, strstr (sse, "the"), -1, 0);
  rill_test_server_route (server, CHAT, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  reply = rill_reply_new (store, provider, test_create_conversation (store, "t"), "q", &options);
  rill_reply_options_clear (&options);
  g_signal_connect (reply, "started", G_CALLBACK (on_started), &flags);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &flags);
  rill_reply_start (reply);
  test_wait_for (&flags.started, 20000, "the reply to start");

  /* Another connection, as another process would, takes the write lock. */
  g_assert_cmpint (sqlite3_open (db, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  rill_test_server_open_gate (server, "finish");
  test_wait_for (&flags.finished, 30000, "the reply to finish");
  g_assert_no_error (rill_reply_get_store_error (reply));
  g_assert_true (g_file_test (journal_dir, G_FILE_TEST_IS_DIR));

  g_signal_connect (store, "conversation-changed", G_CALLBACK (on_changed), &changed);
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  test_wait_for (&changed, 30000, "the final write to be retried");
  text = test_sql_text (db, "SELECT status || ':' || content FROM messages"
                        " WHERE role = 'assistant'");
  g_assert_cmpstr (text, ==, "complete:waits for the lock");
  g_assert_false (g_file_test (journal_dir, G_FILE_TEST_EXISTS));
  g_assert_true (rill_store_sync (store, 10000));
  test_rm_rf (dir);
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
  g_test_add_func ("/faults/disk-full-then-restart", test_disk_full_then_restart);
  g_test_add_func ("/faults/read-only", test_read_only);
  g_test_add_func ("/faults/final-write-busy", test_final_write_busy);
  g_test_add_func ("/faults/unusable-folder", test_unusable_folder);
  g_test_add_func ("/faults/no-sqlite-on-main-thread-while-streaming",
                   test_no_sqlite_on_main_thread_while_streaming);
  return g_test_run ();
}
