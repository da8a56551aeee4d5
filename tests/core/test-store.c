/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The store on a real SQLite file: schema and its names, recovery of
 * interrupted replies, a damaged file set aside, search, conversation edits
 * and the signals that tell of them; checkpoints as pieces, the journal of
 * final writes, and requests stored without the history's text. */

#include <sqlite3.h>
#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "rill", "history.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static RillStore *
open_store (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  RillStore *store = rill_store_open (f->path, &error);

  g_assert_no_error (error);
  return store;
}

static void
close_store (RillStore *store)
{
  test_store_close (store);
}

static void
sql (const char *path, const char *statement)
{
  sqlite3 *db;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, statement, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", statement, message);
  sqlite3_close (db);
}

/* What the change handlers saw, each read back through the store as the
 * handler ran: the proof that a signal comes after its commit. */
typedef struct
{
  GThread          *main_thread;
  const gboolean   *write_done; /* the callback of the write in flight */
  guint             added;
  guint             changed;
  guint             deleted;
  gint64            id;
  RillConversation *conversation;  /* NULL when the store had no such row */
  GPtrArray        *messages;
  gint64            top_id;        /* the conversation listed first */
} Changes;

static void
changes_record (Changes *changes, RillStore *store, gint64 id)
{
  g_autoptr(GPtrArray) top = NULL;

  g_assert_true (g_thread_self () == changes->main_thread);
  /* Before the callback of the write that caused it. */
  g_assert_false (*changes->write_done);
  changes->id = id;
  g_clear_object (&changes->conversation);
  g_clear_pointer (&changes->messages, g_ptr_array_unref);
  changes->conversation = rill_store_get_conversation (store, id, NULL);
  changes->messages = rill_store_list_messages (store, id, NULL);
  top = rill_store_list_conversations (store, 0, 1, NULL);
  changes->top_id = top->len > 0 ? rill_conversation_get_id (g_ptr_array_index (top, 0)) : 0;
}

static void
conversation_added_cb (RillStore *store, gint64 id, Changes *changes)
{
  changes->added++;
  changes_record (changes, store, id);
}

static void
conversation_changed_cb (RillStore *store, gint64 id, Changes *changes)
{
  changes->changed++;
  changes_record (changes, store, id);
}

static void
conversation_deleted_cb (RillStore *store, gint64 id, Changes *changes)
{
  changes->deleted++;
  changes_record (changes, store, id);
}

static void
changes_watch (Changes *changes, RillStore *store, const gboolean *write_done)
{
  changes->main_thread = g_thread_self ();
  changes->write_done = write_done;
  g_signal_connect (store, "conversation-added", G_CALLBACK (conversation_added_cb), changes);
  g_signal_connect (store, "conversation-changed", G_CALLBACK (conversation_changed_cb), changes);
  g_signal_connect (store, "conversation-deleted", G_CALLBACK (conversation_deleted_cb), changes);
}

static void
changes_clear (Changes *changes)
{
  g_clear_object (&changes->conversation);
  g_clear_pointer (&changes->messages, g_ptr_array_unref);
}

static void
changes_expect (Changes *changes, guint added, guint changed, guint deleted)
{
  g_assert_cmpuint (changes->added, ==, added);
  g_assert_cmpuint (changes->changed, ==, changed);
  g_assert_cmpuint (changes->deleted, ==, deleted);
}

/* Waits for a write's callback, then for the writer to be idle, then runs
 * whatever the main context still has, so a late or second signal would be
 * counted. */
static void
settle (RillStore *store, TestResult *r, const char *what)
{
  test_wait_for (&r->done, 10000, what);
  g_assert_true (rill_store_sync (store, 10000));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_begin_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  TestResult *r = data;
  g_autoptr(RillReplyContext) context = NULL;

  context = _rill_store_begin_reply_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

static void
test_finalize_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  TestResult *r = data;

  _rill_store_finalize_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

static RillReplyFinal *
final_new (RillStatus status, const char *content)
{
  RillReplyFinal *final = g_new0 (RillReplyFinal, 1);

  final->status = status;
  final->content = g_strdup (content);
  final->prompt_tokens = -1;
  final->completion_tokens = -1;
  return final;
}

static void
test_schema_names (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  static const char *columns[] = {
    "id", "conversation_id", "role", "content", "reasoning", "status", "error",
    "created_at", "finished_at", "model", "finish_reason", "prompt_tokens",
    "completion_tokens", "usage", "request", "parent_id", "uid",
  };
  g_autofree char *mode = test_sql_text (f->path, "PRAGMA journal_mode");
  g_autofree char *version = test_sql_text (f->path, "PRAGMA user_version");
  g_autofree char *conversations =
    test_sql_text (f->path, "SELECT name FROM sqlite_master WHERE name = 'conversations'");
  g_autofree char *expected_path = NULL;

  g_autofree char *auto_vacuum = test_sql_text (f->path, "PRAGMA auto_vacuum");

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpstr (version, ==, "9");
  /* Incremental: what the trash erases can be given back to the disk. */
  g_assert_cmpstr (auto_vacuum, ==, "2");
  g_assert_cmpstr (conversations, ==, "conversations");
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      g_autofree char *query = g_strdup_printf ("SELECT name FROM pragma_table_info('messages')"
                                                " WHERE name = '%s'",
                                                columns[i]);
      g_autofree char *found = test_sql_text (f->path, query);
      g_assert_cmpstr (found, ==, columns[i]);
    }

  g_setenv ("XDG_DATA_HOME", f->dir, TRUE);
  expected_path = g_build_filename (f->dir, "rill", "history.db", NULL);
  {
    g_autofree char *default_path = rill_store_default_path ();
    /* GLib caches the data dir; the path must at least end the same way. */
    g_assert_true (g_str_has_suffix (default_path, "/rill/history.db"));
  }
  close_store (store);
}

static void
test_reopen_keeps_schema (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 id = test_create_conversation (store, "kept");

  close_store (store);
  store = open_store (f);
  {
    g_autoptr(RillConversation) conversation = rill_store_get_conversation (store, id, NULL);
    g_assert_cmpstr (rill_conversation_get_title (conversation), ==, "kept");
  }
  close_store (store);
}

static void
test_newer_schema_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  RillStore *store = open_store (f);

  close_store (store);
  sql (f->path, "PRAGMA user_version = 99");
  g_assert_null (rill_store_open (f->path, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "newer version of Rill"));
}

/* A history from the first version gains the indexes for short search
 * terms and keeps its messages. */
static void
test_migration_from_v1 (Fixture *f, gconstpointer data)
{
  RillStore *store;
  g_autofree char *version = NULL;
  g_autofree char *indexes = NULL;

  g_assert_true (_rill_store_create_at_version (f->path, 1, NULL));
  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'old', 1, 1);"
       "INSERT INTO messages (id, conversation_id, role, content, status, created_at)"
       " VALUES (1, 1, 'user', '我喜欢猫', 'complete', 1);");
  store = open_store (f);
  version = test_sql_text (f->path, "PRAGMA user_version");
  indexes = test_sql_text (f->path,
                           "SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_last_%'");
  g_assert_cmpstr (version, ==, "9");
  g_assert_cmpstr (indexes, ==, "2");
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "猫", 50, NULL);
    g_assert_cmpuint (hits->len, ==, 1);
  }
  close_store (store);
}

static void
test_recovery (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  g_autoptr(GPtrArray) messages = NULL;
  RillMessage *message;

  close_store (store);
  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 't', 1, 1);"
       "INSERT INTO messages (conversation_id, role, content, status, created_at)"
       " VALUES (1, 'user', 'q', 'complete', 1);"
       "INSERT INTO messages (conversation_id, role, content, reasoning, status, created_at)"
       " VALUES (1, 'assistant', 'half an ans', 'thought', 'streaming', 2);");
  store = open_store (f);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  messages = rill_store_list_messages (store, 1, NULL);
  message = g_ptr_array_index (messages, 1);
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_INTERRUPTED);
  g_assert_cmpstr (rill_message_get_content (message), ==, "half an ans");
  g_assert_cmpstr (rill_message_get_reasoning (message), ==, "thought");
  g_assert_cmpint (rill_message_get_finished_at (message), >, 0);
  {
    /* Now indexed, so it can be found. */
    g_autoptr(GPtrArray) hits = rill_store_search (store, "an ans", 10, NULL);
    g_assert_cmpuint (hits->len, ==, 1);
  }
  close_store (store);
}

static void
test_damaged_file_set_aside (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autofree char *kept = NULL;
  const char *garbage = "this is not an SQLite database, but a person's file";
  RillStore *store;

  g_mkdir_with_parents (dir, 0700);
  g_assert_true (g_file_set_contents (f->path, garbage, -1, NULL));
  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING, "*moved it to*");
  store = open_store (f);
  g_test_assert_expected_messages ();
  g_assert_nonnull (rill_store_get_set_aside_path (store));
  g_assert_true (g_file_get_contents (rill_store_get_set_aside_path (store), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, garbage);
  /* And the new file works. */
  g_assert_cmpint (test_create_conversation (store, "fresh"), >, 0);
  close_store (store);
}

static void
test_search (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  static const struct { const char *query; int n; } cases[] = {
    { "猫", 2 }, { "小猫", 1 }, { "喜欢小猫", 1 }, { "CAT", 1 }, { "cat food", 1 },
    { "100%", 1 }, { "a_b", 1 }, { "_", 1 }, { "狗", 0 }, { "streaming text", 0 }, { "   ", 0 },
  };

  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 't', 1, 1);"
       "INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES"
       " (1, 1, 'user', '我喜欢小猫', 'complete', 1),"
       " (2, 1, 'assistant', '猫是很好的宠物', 'complete', 2),"
       " (3, 1, 'user', 'Which Cat food is 100% good? a_b', 'complete', 3),"
       " (4, 1, 'assistant', 'streaming text', 'streaming', 4);");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) hits = rill_store_search (store, cases[i].query, 50, &error);

      g_assert_no_error (error);
      if ((int) hits->len != cases[i].n)
        g_error ("“%s”: %u hits, expected %d", cases[i].query, hits->len, cases[i].n);
    }
  /* Newest first. */
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "猫", 50, NULL);
    g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==, 2);
  }
  /* Deleting a message takes it out of the index. */
  sql (f->path, "DELETE FROM messages WHERE id = 2");
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "宠物", 50, NULL);
    g_assert_cmpuint (hits->len, ==, 0);
  }
  close_store (store);
}

/* The messages a plain LIKE scan finds for @term, newest first: what the
 * search must return, however it finds them. */
static GArray *
like_scan (const char *path, const char *term, guint limit)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GString *pattern = g_string_new ("%");
  sqlite3_stmt *stmt;
  sqlite3 *db;

  for (const char *p = term; *p; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT id FROM messages WHERE status != 'streaming'"
                                       " AND content LIKE ?1 ESCAPE '\\' ORDER BY id DESC LIMIT ?2",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, pattern->str, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, limit);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_string_free (pattern, TRUE);
  return ids;
}

/* One- and two-character terms are looked up in the trigram index when
 * rare and found by a walk when common; either way the hits are exactly a
 * LIKE scan's, wherever the term sits: first, middle, second to last, last,
 * or the whole message. */
static void
test_search_short_terms (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  static const char *contents[] = {
    "q", "qabc", "abqx", "abc q", "abcq", "xq", "hello xq", "axqb", "HELLO XQ", "xQ!",
    "猫", "我喜欢猫", "小猫咪", "猫咪很可爱", "喜欢", "É", "café", "CAFÉ", "a%b", "x_y",
  };
  static const char *queries[] = {
    "q", "Q", "xq", "XQ", "猫", "咪", "喜欢", "é", "É", "%", "_", "zz", "q xq", "zz aa", "none",
  };
  g_autoptr(GString) insert = g_string_new ("INSERT INTO conversations"
                                            " (id, title, created_at, updated_at)"
                                            " VALUES (1, 't', 1, 1);");

  /* A common term first, so that the rare ones are newer: more instances
   * of "zz" than the index lookup takes. */
  g_string_append (insert,
                   "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2500)"
                   " INSERT INTO messages (conversation_id, role, content, status, created_at)"
                   " SELECT 1, 'user', 'aa zz bb ' || x, 'complete', x FROM n;");
  for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      char *quoted = sqlite3_mprintf ("%Q", contents[i]);

      g_string_append_printf (insert, "INSERT INTO messages"
                              " (conversation_id, role, content, status, created_at)"
                              " VALUES (1, 'assistant', %s, 'complete', %u);", quoted, 3000 + i);
      sqlite3_free (quoted);
    }
  g_string_append (insert, "INSERT INTO messages"
                   " (conversation_id, role, content, status, created_at)"
                   " VALUES (1, 'assistant', 'still streaming q xq 猫', 'streaming', 9000);");
  sql (f->path, insert->str);

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) hits = rill_store_search (store, queries[i], 50, &error);
      g_auto(GStrv) terms = g_strsplit (queries[i], " ", -1);
      g_autoptr(GArray) expected = like_scan (f->path, terms[0], 5000);

      g_assert_no_error (error);
      /* Every term must match: narrow the first term's scan by the rest. */
      for (guint t = 1; terms[t]; t++)
        {
          g_autoptr(GArray) also = like_scan (f->path, terms[t], 5000);

          for (guint k = expected->len; k > 0; k--)
            {
              gboolean found = FALSE;

              for (guint j = 0; j < also->len && !found; j++)
                found = g_array_index (also, gint64, j) == g_array_index (expected, gint64, k - 1);
              if (!found)
                g_array_remove_index (expected, k - 1);
            }
        }
      if (expected->len > 50)
        g_array_set_size (expected, 50);
      if (hits->len != expected->len)
        g_error ("“%s”: %u hits, a LIKE scan finds %u", queries[i], hits->len, expected->len);
      for (guint k = 0; k < hits->len; k++)
        g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, k)), ==,
                         g_array_index (expected, gint64, k));
    }
  close_store (store);
}

static void
test_conversation_edits (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 a = test_create_conversation (store, NULL);
  gint64 b = test_create_conversation (store, "second");
  TestResult r = { 0 };
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(RillConversation) renamed = NULL;

  g_assert_cmpuint (rill_store_count_conversations (store), ==, 2);
  list = rill_store_list_conversations (store, 0, 1, NULL);
  g_assert_cmpuint (list->len, ==, 1);

  rill_store_update_conversation_async (store, a, RILL_CONVERSATION_TITLE, "Renamed", NULL,
                                        test_write_cb, &r);
  test_wait_for (&r.done, 10000, "rename");
  g_assert_no_error (r.error);
  r.done = FALSE;
  rill_store_update_conversation_async (store, a, RILL_CONVERSATION_MODEL, "llama3", NULL,
                                        test_write_cb, &r);
  test_wait_for (&r.done, 10000, "model");
  renamed = rill_store_get_conversation (store, a, NULL);
  g_assert_cmpstr (rill_conversation_get_title (renamed), ==, "Renamed");
  g_assert_cmpstr (rill_conversation_get_model (renamed), ==, "llama3");

  r.done = FALSE;
  rill_store_delete_conversation_async (store, b, NULL, test_write_cb, &r);
  test_wait_for (&r.done, 10000, "delete");
  g_assert_no_error (r.error);
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 1);
  {
    g_autofree char *orphans = test_sql_text (f->path, "SELECT count(*) FROM messages");
    g_assert_cmpstr (orphans, ==, "0");
  }
  close_store (store);
}

static void
test_locked_database (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  sqlite3 *other;
  TestResult r = { 0 };

  /* Another process holds the write lock past the busy timeout: the write
   * fails with words, nothing crashes, and it works again afterwards. */
  g_assert_cmpint (sqlite3_open (f->path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
  rill_store_create_conversation_async (store, "blocked", NULL, test_create_conversation_cb, &r);
  test_wait_for (&r.done, 20000, "the locked write to give up");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_BUSY);
  g_assert_nonnull (strstr (r.error->message, "history database"));
  g_clear_error (&r.error);
  sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (other);
  g_assert_cmpint (test_create_conversation (store, "after"), >, 0);
  close_store (store);
}

/* Each edit the window makes is told once, after it committed. */
static void
test_signals_edits (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  TestResult r = { 0 };
  Changes changes = { 0 };
  gint64 id;

  changes_watch (&changes, store, &r.done);

  rill_store_create_conversation_async (store, "first", NULL, test_create_conversation_cb, &r);
  settle (store, &r, "create");
  g_assert_no_error (r.error);
  id = r.id;
  changes_expect (&changes, 1, 0, 0);
  g_assert_cmpint (changes.id, ==, id);
  g_assert_nonnull (changes.conversation);
  g_assert_cmpstr (rill_conversation_get_title (changes.conversation), ==, "first");

  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TITLE, "Renamed", NULL,
                                        test_write_cb, &r);
  settle (store, &r, "rename");
  g_assert_no_error (r.error);
  changes_expect (&changes, 1, 1, 0);
  g_assert_cmpint (changes.id, ==, id);
  g_assert_cmpstr (rill_conversation_get_title (changes.conversation), ==, "Renamed");

  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_MODEL, "llama3", NULL,
                                        test_write_cb, &r);
  settle (store, &r, "model");
  changes_expect (&changes, 1, 2, 0);
  g_assert_cmpstr (rill_conversation_get_model (changes.conversation), ==, "llama3");

  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_SYSTEM_PROMPT, "Be brief",
                                        NULL, test_write_cb, &r);
  settle (store, &r, "system prompt");
  changes_expect (&changes, 1, 3, 0);
  g_assert_cmpstr (rill_conversation_get_system_prompt (changes.conversation), ==, "Be brief");

  /* Writes that find no row change nothing, and say nothing. */
  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id + 100, RILL_CONVERSATION_TITLE, "none", NULL,
                                        test_write_cb, &r);
  settle (store, &r, "rename of nothing");
  r = (TestResult) { 0 };
  rill_store_delete_conversation_async (store, id + 100, NULL, test_write_cb, &r);
  settle (store, &r, "delete of nothing");
  g_assert_no_error (r.error);
  changes_expect (&changes, 1, 3, 0);

  r = (TestResult) { 0 };
  rill_store_delete_conversation_async (store, id, NULL, test_write_cb, &r);
  settle (store, &r, "delete");
  g_assert_no_error (r.error);
  changes_expect (&changes, 1, 3, 1);
  g_assert_cmpint (changes.id, ==, id);
  g_assert_null (changes.conversation);
  g_assert_cmpuint (changes.messages->len, ==, 0);

  changes_clear (&changes);
  close_store (store);
}

/* A reply's start and its final write each tell of the conversation once;
 * its checkpoints do not. */
static void
test_signals_reply (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 older = test_create_conversation (store, NULL);
  gint64 newer = test_create_conversation (store, "newer");
  RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
  TestResult r = { 0 };
  Changes changes = { 0 };
  RillMessage *reply;

  /* An hour apart, so the order cannot depend on the clock's resolution. */
  sql (f->path, "UPDATE conversations SET updated_at = updated_at - 7200000 WHERE id = 1;"
       "UPDATE conversations SET updated_at = updated_at - 3600000 WHERE id = 2;");
  g_assert_cmpint (older, ==, 1);
  g_assert_cmpint (newer, ==, 2);
  {
    g_autoptr(GPtrArray) top = rill_store_list_conversations (store, 0, 1, NULL);
    g_assert_cmpint (rill_conversation_get_id (g_ptr_array_index (top, 0)), ==, newer);
  }
  changes_watch (&changes, store, &r.done);
  rows->conversation_id = older;

  _rill_store_begin_reply_async (store, rows, "What is a trigram?\nAsking for a friend", NULL, 0,
                                 test_begin_cb, &r);
  settle (store, &r, "begin");
  g_assert_no_error (r.error);
  changes_expect (&changes, 0, 1, 0);
  g_assert_cmpint (changes.id, ==, older);
  /* The first message titled it and moved it above the newer one. */
  g_assert_cmpstr (rill_conversation_get_title (changes.conversation), ==, "What is a trigram?");
  g_assert_cmpint (changes.top_id, ==, older);
  g_assert_cmpint (changes.top_id, !=, newer);
  g_assert_cmpuint (changes.messages->len, ==, 2);
  reply = g_ptr_array_index (changes.messages, 1);
  g_assert_cmpint (rill_message_get_status (reply), ==, RILL_STATUS_STREAMING);

  _rill_store_checkpoint_async (store, rows, 0, "Three", 5, "", 0, NULL, NULL, NULL, NULL);
  g_assert_true (rill_store_sync (store, 10000));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  changes_expect (&changes, 0, 1, 0);

  r = (TestResult) { 0 };
  _rill_store_finalize_async (store, rows, final_new (RILL_STATUS_COMPLETE, "Three in a row."),
                              test_finalize_cb, &r);
  settle (store, &r, "finalize");
  g_assert_no_error (r.error);
  changes_expect (&changes, 0, 2, 0);
  g_assert_cmpint (changes.id, ==, older);
  reply = g_ptr_array_index (changes.messages, 1);
  g_assert_cmpint (rill_message_get_status (reply), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_message_get_content (reply), ==, "Three in a row.");

  g_atomic_rc_box_release (rows);
  changes_clear (&changes);
  close_store (store);
}

/* Every write refused by SQLite: each fails, rolls back and tells nobody.
 * The triggers are another tool's, on the real file. */
static void
test_signals_failed_writes (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 id = test_create_conversation (store, "kept");
  RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
  RillReplyRows *second = g_atomic_rc_box_new0 (RillReplyRows);
  TestResult r = { 0 };
  Changes changes = { 0 };

  rows->conversation_id = id;
  second->conversation_id = id;
  _rill_store_begin_reply_async (store, rows, "question", NULL, 0, test_begin_cb, &r);
  test_wait_for (&r.done, 10000, "begin");
  g_assert_no_error (r.error);

  changes_watch (&changes, store, &r.done);
  sql (f->path,
       "CREATE TRIGGER refuse_1 BEFORE INSERT ON conversations"
       " BEGIN SELECT RAISE (ABORT, 'no'); END;"
       "CREATE TRIGGER refuse_2 BEFORE UPDATE ON conversations"
       " BEGIN SELECT RAISE (ABORT, 'no'); END;"
       "CREATE TRIGGER refuse_3 BEFORE DELETE ON conversations"
       " BEGIN SELECT RAISE (ABORT, 'no'); END;"
       "CREATE TRIGGER refuse_4 BEFORE INSERT ON messages BEGIN SELECT RAISE (ABORT, 'no'); END;"
       "CREATE TRIGGER refuse_5 BEFORE UPDATE ON messages BEGIN SELECT RAISE (ABORT, 'no'); END;"
       "CREATE TRIGGER refuse_6 BEFORE DELETE ON messages BEGIN SELECT RAISE (ABORT, 'no'); END;");

  r = (TestResult) { 0 };
  rill_store_create_conversation_async (store, "refused", NULL, test_create_conversation_cb, &r);
  settle (store, &r, "refused create");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_clear_error (&r.error);

  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TITLE, "refused", NULL,
                                        test_write_cb, &r);
  settle (store, &r, "refused rename");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_clear_error (&r.error);

  r = (TestResult) { 0 };
  rill_store_delete_conversation_async (store, id, NULL, test_write_cb, &r);
  settle (store, &r, "refused delete");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_clear_error (&r.error);

  r = (TestResult) { 0 };
  _rill_store_begin_reply_async (store, second, "refused", NULL, 0, test_begin_cb, &r);
  settle (store, &r, "refused begin");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_clear_error (&r.error);

  r = (TestResult) { 0 };
  _rill_store_finalize_async (store, rows, final_new (RILL_STATUS_COMPLETE, "refused"),
                              test_finalize_cb, &r);
  settle (store, &r, "refused finalize");
  g_assert_error (r.error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_clear_error (&r.error);

  changes_expect (&changes, 0, 0, 0);
  {
    g_autoptr(RillConversation) kept = rill_store_get_conversation (store, id, NULL);
    g_autoptr(GPtrArray) messages = rill_store_list_messages (store, id, NULL);

    g_assert_cmpstr (rill_conversation_get_title (kept), ==, "kept");
    g_assert_cmpuint (messages->len, ==, 2);
  }

  /* And the same write, allowed, is told. */
  sql (f->path, "DROP TRIGGER refuse_2");
  r = (TestResult) { 0 };
  rill_store_update_conversation_async (store, id, RILL_CONVERSATION_TITLE, "allowed", NULL,
                                        test_write_cb, &r);
  settle (store, &r, "allowed rename");
  g_assert_no_error (r.error);
  changes_expect (&changes, 0, 1, 0);

  g_atomic_rc_box_release (rows);
  g_atomic_rc_box_release (second);
  changes_clear (&changes);
  close_store (store);
}

static void
test_checkpoint_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  TestResult *r = data;

  _rill_store_checkpoint_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

static void
checkpoint (RillStore *store, RillReplyRows *rows, guint seq, const char *content,
            const char *reasoning)
{
  TestResult r = { 0 };

  _rill_store_checkpoint_async (store, rows, seq, content, strlen (content), reasoning,
                                strlen (reasoning), NULL, NULL, test_checkpoint_cb, &r);
  settle (store, &r, "a checkpoint");
  g_assert_no_error (r.error);
}

/* Checkpoints are pieces (schema 5): a streaming row reads with them, in
 * order; a piece sent again under its seq replaces the first; the final
 * write leaves the whole text in messages.content and no piece; and a row
 * left streaming gets its pieces, in seq order, at the next start. */
static void
test_pieces (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
  g_autofree char *text = NULL;
  TestResult r = { 0 };

  rows->conversation_id = test_create_conversation (store, "t");
  _rill_store_begin_reply_async (store, rows, "q", NULL, 0, test_begin_cb, &r);
  settle (store, &r, "begin");
  g_assert_no_error (r.error);

  checkpoint (store, rows, 0, "Fi", "th");
  checkpoint (store, rows, 1, "rst", "ink");
  /* Sent again, from the same place, with what came since. */
  checkpoint (store, rows, 1, "rst, sec", "ink");
  {
    g_autoptr(RillMessage) message = rill_store_get_message (store, rows->assistant_message_id,
                                                             NULL);

    g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_STREAMING);
    g_assert_cmpstr (rill_message_get_content (message), ==, "First, sec");
    g_assert_cmpstr (rill_message_get_reasoning (message), ==, "think");
  }
  /* A checkpoint costs its piece: the row itself is not rewritten. */
  text = test_sql_text (f->path, "SELECT content FROM messages WHERE role = 'assistant'");
  g_assert_cmpstr (text, ==, "");

  r = (TestResult) { 0 };
  _rill_store_finalize_async (store, rows, final_new (RILL_STATUS_COMPLETE, "First, second."),
                              test_finalize_cb, &r);
  settle (store, &r, "finalize");
  g_assert_no_error (r.error);
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT content FROM messages WHERE role = 'assistant'");
  g_assert_cmpstr (text, ==, "First, second.");
  /* Too late: a finished row takes no piece. */
  checkpoint (store, rows, 2, " more", "");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_atomic_rc_box_release (rows);
  close_store (store);

  /* Pieces another start left, written out of order: folded by seq. */
  sql (f->path,
       "INSERT INTO messages (id, conversation_id, role, content, status, created_at)"
       " VALUES (10, 1, 'assistant', 'Old ', 'streaming', 5);"
       "INSERT INTO message_pieces (message_id, seq, content, reasoning) VALUES"
       " (10, 2, '三', 'c'), (10, 0, 'one ', 'a'), (10, 1, 'two ', 'b');");
  store = open_store (f);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  {
    g_autoptr(RillMessage) message = rill_store_get_message (store, 10, NULL);

    g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_INTERRUPTED);
    g_assert_cmpstr (rill_message_get_content (message), ==, "Old one two 三");
    g_assert_cmpstr (rill_message_get_reasoning (message), ==, "abc");
  }
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "two 三", 10, NULL);
    g_assert_cmpuint (hits->len, ==, 1);
  }
  /* Erasing a conversation erases its pieces. */
  close_store (store);
  sql (f->path,
       "UPDATE messages SET status = 'streaming' WHERE id = 10;"
       "INSERT INTO message_pieces (message_id, seq, content) VALUES (10, 0, 'gone');");
  sql (f->path, "PRAGMA foreign_keys = ON; DELETE FROM messages WHERE conversation_id = 1;"
       " DELETE FROM conversations WHERE id = 1");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
}

static void
write_journal_file (Fixture *f, const char *name, const char *json)
{
  g_autofree char *dir = _rill_store_journal_dir (f->path);
  g_autofree char *file = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, json, -1, NULL));
}

/* The journal at start: an entry is committed to the row it names while
 * that row is unfinished, and to no other (another uid, a finished row);
 * then the files are gone. */
static void
test_journal_import (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  g_autofree char *dir = _rill_store_journal_dir (f->path);
  g_autofree char *text = NULL;

  close_store (store);
  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 't', 1, 1);"
       "INSERT INTO messages (id, conversation_id, role, content, status, created_at, uid)"
       " VALUES (1, 1, 'user', 'q', 'complete', 1, 'u1'),"
       " (2, 1, 'assistant', 'Hal', 'streaming', 2, 'u2'),"
       " (3, 1, 'assistant', 'Done.', 'complete', 3, 'u3'),"
       " (4, 1, 'assistant', 'Mine', 'streaming', 4, 'u4');"
       "INSERT INTO message_pieces (message_id, seq, content) VALUES (2, 0, 'f a');");
  write_journal_file (f, "2.json",
                      "{\"message_id\":2,\"uid\":\"u2\",\"conversation_id\":1,"
                      "\"status\":\"complete\",\"content\":\"Half a reply, then all of it. 完\","
                      "\"reasoning\":\"\",\"error\":null,\"model\":\"m\","
                      "\"finish_reason\":\"stop\",\"usage\":null,\"request\":\"{}\","
                      "\"prompt_tokens\":3,\"completion_tokens\":null,\"finished_at\":99}");
  write_journal_file (f, "3.json",
                      "{\"message_id\":3,\"uid\":\"u3\",\"status\":\"failed\","
                      "\"content\":\"not this\",\"finished_at\":99}");
  write_journal_file (f, "4.json",
                      "{\"message_id\":4,\"uid\":\"someone else\",\"status\":\"complete\","
                      "\"content\":\"not this either\",\"finished_at\":99}");
  write_journal_file (f, "2.json.XY12ZW", "{\"message_id\":2,\"sta");

  store = open_store (f);
  /* Only row 4 was left streaming. */
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  text = test_sql_text (f->path,
                        "SELECT group_concat(id || ':' || status || ':' || content"
                        " || ':' || coalesce(prompt_tokens, '-'), '|')"
                        " FROM (SELECT * FROM messages ORDER BY id)");
  g_assert_cmpstr (text, ==,
                   "1:complete:q:-|2:complete:Half a reply, then all of it. 完:3"
                   "|3:complete:Done.:-|4:interrupted:Mine:-");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  close_store (store);
}

static void
reply_finished_cb (RillReply *reply, gboolean *finished)
{
  *finished = TRUE;
}

/* A 200-turn conversation of 2 KiB messages, every message sent each time
 * (no history limit): what messages.request holds grows with the number
 * of turns, not with its square, and still names exactly what was sent. */
static void
test_requests_grow_linearly (Fixture *f, gconstpointer data)
{
  const guint turns = 200;
  RillStore *store = open_store (f);
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sse = NULL;
  g_autoptr(GArray) stored = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  gint64 conversation = test_create_conversation (store, "long");
  gint64 sent_total = 0, text_total = 0, first_half, second_half;
  gint64 last_id = 0;

  /* A 2 KiB reply: 32 tokens of 64 bytes. */
  for (guint i = 0; i < 32; i++)
    g_ptr_array_add (tokens, g_strdup_printf ("%063u ", i));
  g_ptr_array_add (tokens, NULL);
  sse = rill_test_openai_sse ((const char * const *) tokens->pdata, NULL, TRUE);
  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (server, "/v1/chat/completions", script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  options.history_limit = 0;

  for (guint turn = 0; turn < turns; turn++)
    {
      g_autofree char *question = g_strdup_printf ("%02047u", turn);
      g_autoptr(RillReply) reply = rill_reply_new (store, provider, conversation, question,
                                                   &options);
      gboolean finished = FALSE;
      g_autofree char *total = NULL;
      gint64 size;

      g_signal_connect (reply, "finished", G_CALLBACK (reply_finished_cb), &finished);
      rill_reply_start (reply);
      test_wait_for (&finished, 20000, "a reply");
      g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
      g_assert_no_error (rill_reply_get_store_error (reply));
      last_id = rill_reply_get_message_id (reply);
      /* What the whole request was, as the old format stored it: the body
       * sent, the address and the kind (~100 bytes). */
      sent_total += strlen (rill_test_server_get_request_body (server,
                                                               "/v1/chat/completions")) + 100;
      total = test_sql_text (f->path, "SELECT sum(length(request)) FROM messages");
      size = g_ascii_strtoll (total, NULL, 10);
      g_array_append_val (stored, size);
    }
  rill_reply_options_clear (&options);
  {
    g_autofree char *total = test_sql_text (f->path, "SELECT sum(length(content)) FROM messages");
    text_total = g_ascii_strtoll (total, NULL, 10);
  }

  {
    g_autofree char *pages = test_sql_text (f->path,
                                            "SELECT (page_count * page_size) || ' bytes, '"
                                            " || freelist_count || ' pages free'"
                                            " FROM pragma_page_count, pragma_page_size,"
                                            " pragma_freelist_count");
    g_test_message ("database: %s", pages);
  }
  first_half = g_array_index (stored, gint64, turns / 2 - 1);
  second_half = g_array_index (stored, gint64, turns - 1) - first_half;
  g_test_message ("%u turns: text %" G_GINT64_FORMAT " bytes; requests stored %" G_GINT64_FORMAT
                  " bytes (first half %" G_GINT64_FORMAT ", second %" G_GINT64_FORMAT
                  "); the whole requests would be %" G_GINT64_FORMAT " bytes",
                  turns, text_total, first_half + second_half, first_half, second_half,
                  sent_total);
  /* Linear: the second hundred turns cost what the first did (quadratic
   * growth makes it three times as much), and all of it is small beside
   * the text. */
  g_assert_cmpint (second_half, <=, first_half + first_half / 10);
  g_assert_cmpint (first_half + second_half, <, text_total / 20);

  /* The last request names the 399 messages before it, as one run. */
  {
    g_autofree char *query = g_strdup_printf ("SELECT request FROM messages WHERE id = %"
                                              G_GINT64_FORMAT, last_id);
    g_autofree char *request = test_sql_text (f->path, query);
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GPtrArray) messages = rill_store_list_messages (store, conversation, &error);
    JsonObject *body;
    JsonArray *sent, *ids;

    g_assert_no_error (error);
    g_assert_true (json_parser_load_from_data (parser, request, -1, NULL));
    body = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                          "body");
    g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "m");
    g_assert_true (json_object_get_boolean_member (body, "stream"));
    sent = json_object_get_array_member (body, "messages");
    g_assert_cmpuint (json_array_get_length (sent), ==, 1);
    ids = json_object_get_array_member (json_array_get_object_element (sent, 0), "ids");
    g_assert_cmpuint (messages->len, ==, 2 * turns);
    g_assert_cmpint (json_array_get_int_element (ids, 0), ==,
                     rill_message_get_id (g_ptr_array_index (messages, 0)));
    g_assert_cmpint (json_array_get_int_element (ids, 1), ==,
                     rill_message_get_id (g_ptr_array_index (messages, 2 * turns - 2)));
    g_assert_cmpint (json_array_get_int_element (ids, 1) - json_array_get_int_element (ids, 0),
                     ==, 2 * turns - 2);
  }
  close_store (store);
}

/* Opening in a thread (rill_store_open_async) */

typedef struct
{
  guint         waiting;      /* times told it waits */
  gboolean      waiting_in_main;
  GAsyncResult *result;
  sqlite3      *holder;
  gboolean      released;
  gboolean      added;
  GThread      *main_thread;
} Opening;

static void
opening_waiting_cb (gpointer data)
{
  Opening *o = data;

  o->waiting++;
  o->waiting_in_main = g_thread_self () == o->main_thread;
}

static void
opening_result_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Opening *o = data;

  o->result = g_object_ref (result);
}

static void
opening_start (Opening *o, const char *path, GCancellable *cancellable)
{
  o->main_thread = g_thread_self ();
  rill_store_open_async (path, cancellable, opening_waiting_cb, opening_result_cb, o);
}

static gboolean
told_waiting (gpointer data)
{
  return ((Opening *) data)->waiting > 0;
}

static gboolean
release_lock_cb (gpointer data)
{
  Opening *o = data;

  g_assert_null (o->result);
  g_assert_cmpint (sqlite3_exec (o->holder, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  g_clear_pointer (&o->holder, sqlite3_close);
  o->released = TRUE;
  return G_SOURCE_REMOVE;
}

static void
added_cb (RillStore *store, gint64 id, Opening *o)
{
  g_assert_true (g_thread_self () == o->main_thread);
  o->added = TRUE;
}

/* Another program holds the write lock for longer than the busy timeout
 * (5 s): the open tells once that it waits, in the caller's context, keeps
 * retrying, and opens when the lock goes, with the recovery done; its
 * signals come in the caller's context too. */
static void
test_open_async_waits_for_lock (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = NULL;
  Opening o = { 0 };
  gint64 start;

  close_store (open_store (f));
  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 't', 1, 1);"
       "INSERT INTO messages (conversation_id, role, content, status, created_at)"
       " VALUES (1, 'assistant', 'half', 'streaming', 2);");
  g_assert_cmpint (sqlite3_open (f->path, &o.holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (o.holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  start = g_get_monotonic_time ();
  opening_start (&o, f->path, NULL);
  test_wait_until (told_waiting, &o, 20000, "the open says it waits");
  g_assert_true (o.waiting_in_main);
  /* The lock outlasts the busy timeout, which used to end the open. */
  g_timeout_add (6000, release_lock_cb, &o);
  test_wait_result (&o.result, 30000, "the open");
  g_assert_true (o.released);
  g_assert_cmpint (g_get_monotonic_time () - start, >, 6 * G_USEC_PER_SEC);

  store = rill_store_open_finish (o.result, &error);
  g_clear_object (&o.result);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpuint (o.waiting, ==, 1);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  {
    g_autofree char *status = test_sql_text (f->path, "SELECT status FROM messages");
    g_assert_cmpstr (status, ==, "interrupted");
  }

  g_signal_connect (store, "conversation-added", G_CALLBACK (added_cb), &o);
  g_assert_cmpint (test_create_conversation (store, "after"), >, 0);
  g_assert_true (o.added);
  close_store (g_steal_pointer (&store));
}

/* Nothing holds it: no waiting told, and the same store an open gives. */
static void
test_open_async_plain (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  RillStore *store;
  Opening o = { 0 };

  opening_start (&o, f->path, NULL);
  test_wait_result (&o.result, 20000, "the open");
  store = rill_store_open_finish (o.result, &error);
  g_clear_object (&o.result);
  g_assert_no_error (error);
  g_assert_cmpuint (o.waiting, ==, 0);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 0);
  g_assert_cmpint (test_create_conversation (store, "one"), >, 0);
  close_store (store);
}

/* A file that is not a database is set aside, as by rill_store_open, and
 * a fresh one started; a path that cannot be a database at all ends the
 * open with the real error at once: neither is taken for a lock. */
static void
test_open_async_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autofree char *kept = NULL;
  g_autoptr(GError) error = NULL;
  const char *garbage = "not a database: a person's notes";
  RillStore *store;
  Opening o = { 0 };

  g_mkdir_with_parents (dir, 0700);
  g_assert_true (g_file_set_contents (f->path, garbage, -1, NULL));
  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING, "*moved it to*");
  opening_start (&o, f->path, NULL);
  test_wait_result (&o.result, 20000, "the open");
  g_test_assert_expected_messages ();
  store = rill_store_open_finish (o.result, &error);
  g_clear_object (&o.result);
  g_assert_no_error (error);
  g_assert_cmpuint (o.waiting, ==, 0);
  g_assert_nonnull (rill_store_get_set_aside_path (store));
  g_assert_true (g_file_get_contents (rill_store_get_set_aside_path (store), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, garbage);
  g_assert_cmpint (test_create_conversation (store, "fresh"), >, 0);
  close_store (store);

  /* A folder where the file should be. */
  opening_start (&o, dir, NULL);
  test_wait_result (&o.result, 20000, "the open");
  g_assert_null (rill_store_open_finish (o.result, &error));
  g_clear_object (&o.result);
  g_assert_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "history database"));
  g_assert_cmpuint (o.waiting, ==, 0);
}

/* Cancelled while it waits: it ends, and leaves the file alone. */
static void
test_open_async_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Opening o = { 0 };

  close_store (open_store (f));
  sql (f->path,
       "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 't', 1, 1);"
       "INSERT INTO messages (conversation_id, role, content, status, created_at)"
       " VALUES (1, 'assistant', 'half', 'streaming', 2);");
  g_assert_cmpint (sqlite3_open (f->path, &o.holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (o.holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  opening_start (&o, f->path, cancellable);
  test_wait_until (told_waiting, &o, 20000, "the open says it waits");
  g_cancellable_cancel (cancellable);
  test_wait_result (&o.result, 20000, "the open ends");
  g_assert_null (rill_store_open_finish (o.result, &error));
  g_clear_object (&o.result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_assert_cmpint (sqlite3_exec (o.holder, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (o.holder);
  {
    g_autofree char *status = test_sql_text (f->path, "SELECT status FROM messages");
    g_assert_cmpstr (status, ==, "streaming");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add ("/store/" path, Fixture, NULL, setup, func, teardown)
  ADD ("schema-names", test_schema_names);
  ADD ("reopen-keeps-schema", test_reopen_keeps_schema);
  ADD ("newer-schema-refused", test_newer_schema_refused);
  ADD ("recovery", test_recovery);
  ADD ("damaged-file-set-aside", test_damaged_file_set_aside);
  ADD ("search", test_search);
  ADD ("search-short-terms", test_search_short_terms);
  ADD ("migration-from-v1", test_migration_from_v1);
  ADD ("conversation-edits", test_conversation_edits);
  ADD ("locked-database", test_locked_database);
  ADD ("signals-edits", test_signals_edits);
  ADD ("signals-reply", test_signals_reply);
  ADD ("signals-failed-writes", test_signals_failed_writes);
  ADD ("pieces", test_pieces);
  ADD ("journal-import", test_journal_import);
  ADD ("requests-grow-linearly", test_requests_grow_linearly);
  ADD ("open-async-plain", test_open_async_plain);
  ADD ("open-async-waits-for-lock", test_open_async_waits_for_lock);
  ADD ("open-async-errors", test_open_async_errors);
  ADD ("open-async-cancelled", test_open_async_cancelled);
#undef ADD
  return g_test_run ();
}
