/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The trash on a real SQLite file: moving to it and back, what every read
 * leaves out while a conversation is there (the list, the count, search,
 * the Shell's search provider), the signals, the purge of what has been
 * there for 30 days at the next open, and erasing: afterwards the erased
 * text is in neither the database file nor its WAL, read byte by byte, and
 * the file is no larger than before the conversation was written.
 *
 * Messages are written with SQLite directly, the way a finished reply
 * leaves them (the store's triggers index them); the trash is driven only
 * through the store. */

#define _GNU_SOURCE /* memmem */

#include <sqlite3.h>
#include <string.h>

#include "rill-search-provider.h"
#include "rill-store-private.h"
#include "rill-test-support.h"

#define MS_PER_DAY ((gint64) 24 * 60 * 60 * 1000)

/* Words found nowhere else: the marker, and the sentence a long text is
 * made of. */
#define MARKER "Quillwort7Zephyrine"
/* In the image and in its thumbnail (schema 9) attached to the question. */
#define IMAGE_MARKER "Heronimage4Bytes"
#define THUMBNAIL_MARKER "Heronthumb9Pixels"
#define SENTENCE "A heron counted seventeen violet lanterns drifting over Lake Ozymandias. "

typedef struct
{
  char *dir;
  char *path;
  char *wal_path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->wal_path = g_strconcat (f->path, "-wal", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->wal_path);
}

static RillStore *
open_store (Fixture *f)
{
  return test_store_open (f->path);
}

static gint64
add_message (Fixture    *f,
             gint64      conversation_id,
             const char *role,
             const char *content,
             const char *request)
{
  static gint64 created_at = 1700000000000;
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 id;

  g_assert_cmpint (sqlite3_open_v2 (f->path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO messages (conversation_id, parent_id, role,"
                                       " content, status, created_at, request)"
                                       " VALUES (?1, (SELECT max(id) FROM messages"
                                       "  WHERE conversation_id = ?1), ?2, ?3, 'complete', ?4, ?5)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  sqlite3_bind_text (stmt, 2, role, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, content, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, created_at += 1000);
  sqlite3_bind_text (stmt, 5, request, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  id = sqlite3_last_insert_rowid (db);
  sqlite3_close (db);
  return id;
}

typedef void (*WriteFunc) (RillStore           *self,
                           gint64               conversation_id,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data);

static void
write_and_wait (RillStore *store, WriteFunc func, gint64 id, const char *what)
{
  TestResult r = { 0 };

  func (store, id, NULL, test_write_cb, &r);
  test_wait_for (&r.done, 30000, what);
  g_assert_no_error (r.error);
}

static void
empty_trash (RillStore *store)
{
  TestResult r = { 0 };

  rill_store_empty_trash_async (store, NULL, test_write_cb, &r);
  test_wait_for (&r.done, 30000, "the trash is emptied");
  g_assert_no_error (r.error);
}

/* Signals, counted; each handler reads the store, as a view does. */
typedef struct
{
  guint     added, changed, deleted, trash_changed;
  gint64    last_id;
  gint64    trash_id;
  gboolean  listed_when_told;  /* what the last signal's conversation was */
  guint     trash_len_when_told;
} Signals;

static void
record (RillStore *store, gint64 id, Signals *s)
{
  g_autoptr(RillConversation) conversation = rill_store_get_conversation (store, id, NULL);

  s->last_id = id;
  s->listed_when_told = conversation != NULL;
}

static void
added_cb (RillStore *store, gint64 id, Signals *s)
{
  s->added++;
  record (store, id, s);
}

static void
changed_cb (RillStore *store, gint64 id, Signals *s)
{
  s->changed++;
  record (store, id, s);
}

static void
deleted_cb (RillStore *store, gint64 id, Signals *s)
{
  s->deleted++;
  record (store, id, s);
}

static void
trash_changed_cb (RillStore *store, gint64 id, Signals *s)
{
  g_autoptr(GPtrArray) trash = rill_store_list_trash (store, NULL);

  s->trash_changed++;
  s->trash_id = id;
  s->trash_len_when_told = trash->len;
}

static void
signals_watch (Signals *s, RillStore *store)
{
  g_signal_connect (store, "conversation-added", G_CALLBACK (added_cb), s);
  g_signal_connect (store, "conversation-changed", G_CALLBACK (changed_cb), s);
  g_signal_connect (store, "conversation-deleted", G_CALLBACK (deleted_cb), s);
  g_signal_connect (store, "trash-changed", G_CALLBACK (trash_changed_cb), s);
}

static void
signals_expect (Signals *s, guint added, guint changed, guint deleted, guint trash_changed)
{
  g_assert_cmpuint (s->added, ==, added);
  g_assert_cmpuint (s->changed, ==, changed);
  g_assert_cmpuint (s->deleted, ==, deleted);
  g_assert_cmpuint (s->trash_changed, ==, trash_changed);
}

static guint
search_count (RillStore *store, const char *query, gint64 conversation_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = rill_store_search (store, query, 0, &error);
  guint n = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < found->len; i++)
    if (rill_message_get_conversation_id (g_ptr_array_index (found, i)) == conversation_id)
      n++;
  return n;
}

static gboolean
listed (RillStore *store, gint64 conversation_id)
{
  g_autoptr(GPtrArray) list = rill_store_list_conversations (store, 0, 0, NULL);

  for (guint i = 0; i < list->len; i++)
    if (rill_conversation_get_id (g_ptr_array_index (list, i)) == conversation_id)
      return TRUE;
  return FALSE;
}

static void
test_trash_and_restore (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 kept = test_create_conversation (store, "Kept");
  gint64 binned = test_create_conversation (store, "Binned 回收");
  Signals s = { 0 };
  g_autoptr(GPtrArray) trash = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RillConversation) gone = NULL;
  g_autoptr(GError) error = NULL;
  gint64 before, after;

  add_message (f, kept, "user", "Where do herons sleep?", NULL);
  add_message (f, binned, "user", "Do herons dream of 猫? " MARKER, NULL);
  add_message (f, binned, "assistant", "Herons dream of fish.", "{\"old\":\"" MARKER "\"}");
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 2);
  g_assert_cmpuint (search_count (store, "herons", binned), ==, 2);
  g_assert_cmpuint (search_count (store, "猫", binned), ==, 1);
  signals_watch (&s, store);

  before = g_get_real_time () / 1000;
  write_and_wait (store, rill_store_trash_conversation_async, binned, "moved to the trash");
  after = g_get_real_time () / 1000;
  /* "conversation-deleted" tells the list, which no longer has it. */
  signals_expect (&s, 0, 0, 1, 1);
  g_assert_cmpint (s.last_id, ==, binned);
  g_assert_false (s.listed_when_told);
  g_assert_cmpint (s.trash_id, ==, binned);
  g_assert_cmpuint (s.trash_len_when_told, ==, 1);

  /* Left out of every read but the trash's own. */
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 1);
  g_assert_false (listed (store, binned));
  g_assert_true (listed (store, kept));
  gone = rill_store_get_conversation (store, binned, &error);
  g_assert_null (gone);
  g_assert_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (search_count (store, "herons", binned), ==, 0);
  g_assert_cmpuint (search_count (store, "herons", kept), ==, 1);
  g_assert_cmpuint (search_count (store, "猫", binned), ==, 0);
  g_assert_cmpuint (search_count (store, "dream", binned), ==, 0);
  g_assert_cmpuint (search_count (store, MARKER, binned), ==, 0);

  trash = rill_store_list_trash (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (trash->len, ==, 1);
  g_assert_cmpint (rill_conversation_get_id (g_ptr_array_index (trash, 0)), ==, binned);
  g_assert_cmpstr (rill_conversation_get_title (g_ptr_array_index (trash, 0)), ==, "Binned 回收");
  g_assert_cmpint (rill_conversation_get_deleted_at (g_ptr_array_index (trash, 0)), >=, before);
  g_assert_cmpint (rill_conversation_get_deleted_at (g_ptr_array_index (trash, 0)), <=, after);
  g_clear_pointer (&trash, g_ptr_array_unref);
  /* Nothing is erased by moving to the trash. */
  {
    g_autofree char *n = test_sql_text (f->path, "SELECT count(*) FROM messages");
    g_assert_cmpstr (n, ==, "3");
  }

  /* Twice changes nothing and says nothing; so does restoring what is not
   * in the trash. */
  write_and_wait (store, rill_store_trash_conversation_async, binned, "moved again");
  write_and_wait (store, rill_store_restore_conversation_async, kept, "restore of nothing");
  g_assert_true (rill_store_sync (store, 10000));
  signals_expect (&s, 0, 0, 1, 1);

  write_and_wait (store, rill_store_restore_conversation_async, binned, "restored");
  signals_expect (&s, 1, 0, 1, 2);
  g_assert_cmpint (s.last_id, ==, binned);
  g_assert_true (s.listed_when_told);
  g_assert_cmpuint (s.trash_len_when_told, ==, 0);
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 2);
  g_assert_true (listed (store, binned));
  g_assert_cmpuint (search_count (store, "herons", binned), ==, 2);
  g_assert_cmpuint (search_count (store, "猫", binned), ==, 1);
  trash = rill_store_list_trash (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (trash->len, ==, 0);
  /* Restored whole, byte for byte. */
  messages = rill_store_list_messages (store, binned, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==,
                   "Do herons dream of 猫? " MARKER);
  g_assert_cmpstr (rill_message_get_request (g_ptr_array_index (messages, 1)), ==,
                   "{\"old\":\"" MARKER "\"}");
  {
    g_autoptr(RillConversation) back = rill_store_get_conversation (store, binned, NULL);
    g_assert_nonnull (back);
    g_assert_cmpint (rill_conversation_get_deleted_at (back), ==, 0);
  }

  test_store_close (store);
}

/* Erasing from the trash says so to the trash only; erasing a conversation
 * that was not in it (rill_store_delete_conversation_async) to the list. */
static void
test_erase_signals (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 a = test_create_conversation (store, "a");
  gint64 b = test_create_conversation (store, "b");
  gint64 c = test_create_conversation (store, "c");
  Signals s = { 0 };

  add_message (f, a, "user", "first of a", NULL);
  add_message (f, a, "assistant", "second of a", NULL);
  add_message (f, b, "user", "only of b", NULL);
  signals_watch (&s, store);

  write_and_wait (store, rill_store_trash_conversation_async, a, "a to the trash");
  write_and_wait (store, rill_store_trash_conversation_async, b, "b to the trash");
  signals_expect (&s, 0, 0, 2, 2);

  write_and_wait (store, rill_store_erase_conversation_async, a, "a erased");
  signals_expect (&s, 0, 0, 2, 3);
  g_assert_cmpint (s.trash_id, ==, a);
  g_assert_cmpuint (s.trash_len_when_told, ==, 1);

  write_and_wait (store, rill_store_delete_conversation_async, c, "c erased at once");
  signals_expect (&s, 0, 0, 3, 3);
  g_assert_cmpint (s.last_id, ==, c);

  empty_trash (store);
  signals_expect (&s, 0, 0, 3, 4);
  g_assert_cmpuint (s.trash_len_when_told, ==, 0);
  /* Erasing what is not there changes nothing and says nothing. */
  empty_trash (store);
  write_and_wait (store, rill_store_erase_conversation_async, a, "a erased again");
  g_assert_true (rill_store_sync (store, 10000));
  signals_expect (&s, 0, 0, 3, 4);

  {
    g_autofree char *conversations = test_sql_text (f->path, "SELECT count(*) FROM conversations");
    g_autofree char *messages = test_sql_text (f->path, "SELECT count(*) FROM messages");
    g_autofree char *indexed = test_sql_text (f->path, "SELECT count(*) FROM messages_fts");

    g_assert_cmpstr (conversations, ==, "0");
    g_assert_cmpstr (messages, ==, "0");
    g_assert_cmpstr (indexed, ==, "0");
  }
  test_store_close (store);
}

/* 30 days in the trash, then erased at a start; 29 days are kept, and so
 * is an old conversation that is not in the trash. */
static void
test_purge_after_30_days (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  gint64 old = test_create_conversation (store, "31 days in the trash");
  gint64 young = test_create_conversation (store, "29 days in the trash");
  gint64 untouched = test_create_conversation (store, "old but not deleted");
  gint64 now = g_get_real_time () / 1000;
  g_autoptr(GPtrArray) trash = NULL;
  g_autofree char *set_old = NULL;

  add_message (f, old, "user", "expired " MARKER, NULL);
  add_message (f, young, "user", "not yet", NULL);
  add_message (f, untouched, "user", "ancient", NULL);
  write_and_wait (store, rill_store_trash_conversation_async, old, "old to the trash");
  write_and_wait (store, rill_store_trash_conversation_async, young, "young to the trash");
  test_store_close (store);

  set_old = g_strdup_printf ("UPDATE conversations SET deleted_at = %" G_GINT64_FORMAT
                             " WHERE id = %" G_GINT64_FORMAT ";"
                             "UPDATE conversations SET deleted_at = %" G_GINT64_FORMAT
                             " WHERE id = %" G_GINT64_FORMAT ";"
                             "UPDATE conversations SET created_at = 1, updated_at = 1"
                             " WHERE id = %" G_GINT64_FORMAT,
                             now - 31 * MS_PER_DAY, old, now - 29 * MS_PER_DAY, young, untouched);
  test_sql_exec (f->path, set_old);

  store = open_store (f);
  /* The purge is the first job the open queued. */
  g_assert_true (rill_store_sync (store, 30000));
  trash = rill_store_list_trash (store, NULL);
  g_assert_cmpuint (trash->len, ==, 1);
  g_assert_cmpint (rill_conversation_get_id (g_ptr_array_index (trash, 0)), ==, young);
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 1);
  g_assert_true (listed (store, untouched));
  {
    g_autofree char *rows = test_sql_text (f->path,
                                           "SELECT count(*) FROM conversations WHERE id = 1");
    g_autofree char *messages = test_sql_text (f->path,
                                               "SELECT count(*) FROM messages"
                                               " WHERE conversation_id = 1");
    g_autofree char *left = test_sql_text (f->path, "SELECT count(*) FROM messages");

    g_assert_cmpint (old, ==, 1);
    g_assert_cmpstr (rows, ==, "0");
    g_assert_cmpstr (messages, ==, "0");
    g_assert_cmpstr (left, ==, "2");
  }

  /* The public call does the same with any age. */
  {
    TestResult r = { 0 };

    rill_store_purge_trash_async (store, 30, NULL, test_write_cb, &r);
    test_wait_for (&r.done, 30000, "purge of nothing");
    g_assert_no_error (r.error);
    g_clear_pointer (&trash, g_ptr_array_unref);
    trash = rill_store_list_trash (store, NULL);
    g_assert_cmpuint (trash->len, ==, 1);

    r = (TestResult) { 0 };
    rill_store_purge_trash_async (store, 28, NULL, test_write_cb, &r);
    test_wait_for (&r.done, 30000, "purge of 28 days");
    g_assert_no_error (r.error);
    g_clear_pointer (&trash, g_ptr_array_unref);
    trash = rill_store_list_trash (store, NULL);
    g_assert_cmpuint (trash->len, ==, 0);
  }
  test_store_close (store);
}

/* Erasing, read on the bytes */

static gboolean
file_contains (const char *path, const char *needle)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  return memmem (bytes, len, needle, strlen (needle)) != NULL;
}

static goffset
file_size (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  return info ? g_file_info_get_size (info) : 0;
}

/* The database and its WAL together: what the history costs on disk. */
static goffset
history_size (Fixture *f)
{
  return file_size (f->path) + file_size (f->wal_path);
}

static char *
long_text (gsize size)
{
  GString *text = g_string_sized_new (size + 128);

  while (text->len < size)
    g_string_append (text, SENTENCE);
  /* The marker in the middle of the text, in its own word. */
  g_string_insert (text, text->len / 2, " " MARKER " ");
  return g_string_free (text, FALSE);
}

/* A conversation the way a long one is left: a long question, the reply,
 * and a later request that carries both again as history. */
static gint64
add_long_conversation (Fixture *f, RillStore *store, gsize size)
{
  gint64 id = test_create_conversation (store, "Lanterns " MARKER);
  g_autofree char *text = long_text (size);
  g_autofree char *request = g_strconcat ("{\"messages\":[{\"content\":\"", text, "\"}]}", NULL);

  gint64 question = add_message (f, id, "user", text, NULL);
  g_autofree char *attach = g_strdup_printf (
    "INSERT INTO attachment_data (sha256, data) VALUES ('e1', CAST('" IMAGE_MARKER "' AS BLOB));"
    "INSERT INTO attachment_thumbnails (sha256, width, height, data)"
    " VALUES ('e1', 2, 1, CAST('" THUMBNAIL_MARKER "' AS BLOB));"
    "INSERT INTO attachments (message_id, name, mime_type, size, sha256, created_at)"
    " VALUES (%" G_GINT64_FORMAT ", 'heron.png', 'image/png', 16, 'e1', 1)", question);

  test_sql_exec (f->path, attach);
  add_message (f, id, "assistant", "Seventeen, and one more " MARKER ".", request);
  add_message (f, id, "user", "Count them again.", request);
  return id;
}

static void
assert_erased (Fixture *f)
{
  g_assert_false (file_contains (f->path, MARKER));
  g_assert_false (file_contains (f->path, SENTENCE));
  g_assert_false (file_contains (f->path, "violet lanterns"));
  g_assert_false (file_contains (f->wal_path, MARKER));
  g_assert_false (file_contains (f->wal_path, SENTENCE));
  g_assert_false (file_contains (f->wal_path, "violet lanterns"));
  /* The image's bytes and its thumbnail went with the last row using them. */
  g_assert_false (file_contains (f->path, IMAGE_MARKER));
  g_assert_false (file_contains (f->path, THUMBNAIL_MARKER));
  g_assert_false (file_contains (f->wal_path, IMAGE_MARKER));
  g_assert_false (file_contains (f->wal_path, THUMBNAIL_MARKER));
}

static void
keep_a_small_conversation (Fixture *f, RillStore *store)
{
  gint64 id = test_create_conversation (store, "Small talk");

  add_message (f, id, "user", "Hello there", NULL);
  add_message (f, id, "assistant", "General Kenobi", NULL);
}

/* @data: TRUE when the text reached the database file before the erase
 * (checkpointed), FALSE when it was still only in the WAL. The first runs
 * on a file that vacuums incrementally, where only secure_delete keeps the
 * text out of the pages that stay; the second on one from before the
 * trash (auto_vacuum NONE), which the erase converts with a VACUUM. */
static void
test_erase_leaves_no_bytes (Fixture *f, gconstpointer data)
{
  gboolean checkpointed = GPOINTER_TO_INT (data);
  RillStore *store = open_store (f);
  gint64 id;

  test_sql_exec (f->path, checkpointed ? "PRAGMA auto_vacuum = INCREMENTAL; VACUUM"
                                       : "PRAGMA auto_vacuum = NONE; VACUUM");
  test_sql_exec (f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
  keep_a_small_conversation (f, store);
  id = add_long_conversation (f, store, 200 * 1024);

  if (checkpointed)
    {
      test_sql_exec (f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
      g_assert_true (file_contains (f->path, MARKER));
      g_assert_true (file_contains (f->path, SENTENCE));
      g_assert_true (file_contains (f->path, THUMBNAIL_MARKER));
      g_assert_false (file_contains (f->wal_path, MARKER));
    }
  else
    {
      g_assert_true (file_contains (f->wal_path, MARKER));
      g_assert_true (file_contains (f->wal_path, SENTENCE));
      g_assert_true (file_contains (f->wal_path, THUMBNAIL_MARKER));
      g_assert_false (file_contains (f->path, MARKER));
    }

  write_and_wait (store, rill_store_trash_conversation_async, id, "moved to the trash");
  /* In the trash, nothing is erased yet. */
  g_assert_true (file_contains (f->path, MARKER) || file_contains (f->wal_path, MARKER));
  empty_trash (store);
  g_assert_true (rill_store_sync (store, 10000));
  assert_erased (f);
  /* And what was not erased is all there. */
  {
    g_autofree char *small = test_sql_text (f->path,
                                            "SELECT group_concat(content, '|') FROM messages");
    g_autofree char *files = test_sql_text (f->path,
                                            "SELECT (SELECT count(*) FROM attachments) || ','"
                                            " || (SELECT count(*) FROM attachment_data) || ','"
                                            " || (SELECT count(*) FROM attachment_thumbnails)");

    g_assert_cmpstr (small, ==, "Hello there|General Kenobi");
    g_assert_cmpstr (files, ==, "0,0,0");
    g_assert_cmpuint (search_count (store, "Kenobi", 1), ==, 1);
    g_assert_cmpuint (search_count (store, "lanterns", id), ==, 0);
  }

  test_store_close (store);
  assert_erased (f);
  /* Reopened, nothing comes back. */
  store = open_store (f);
  g_assert_cmpuint (rill_store_count_conversations (store), ==, 1);
  test_store_close (store);
  assert_erased (f);
}

/* The file does not keep growing: after erasing a large conversation it is
 * no larger than before the conversation was written. The first erase of a
 * history made before the trash (auto_vacuum NONE) converts it with a
 * VACUUM; the next one vacuums incrementally. */
static void
test_erase_gives_space_back (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  goffset before, full, after;
  gint64 id;

  keep_a_small_conversation (f, store);
  /* As a history from before the trash is, whatever new ones start with. */
  test_sql_exec (f->path, "PRAGMA auto_vacuum = NONE; VACUUM; PRAGMA wal_checkpoint(TRUNCATE)");
  {
    g_autofree char *mode = test_sql_text (f->path, "PRAGMA auto_vacuum");
    g_assert_cmpstr (mode, ==, "0");
  }

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *mode = NULL;

      before = history_size (f);
      id = add_long_conversation (f, store, 2 * 1024 * 1024);
      test_sql_exec (f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
      full = history_size (f);
      g_assert_cmpint (full, >, before + 2 * 1024 * 1024);

      if (round == 0)
        {
          write_and_wait (store, rill_store_trash_conversation_async, id, "to the trash");
          empty_trash (store);
        }
      else
        write_and_wait (store, rill_store_erase_conversation_async, id, "deleted forever");
      g_assert_true (rill_store_sync (store, 10000));
      after = history_size (f);
      g_test_message ("round %u: %" G_GOFFSET_FORMAT " bytes before the conversation, %"
                      G_GOFFSET_FORMAT " with it, %" G_GOFFSET_FORMAT " after erasing it",
                      round, before, full, after);
      /* Stdout too, so the figures can be quoted from the test log. */
      g_printerr ("# erase round %u: before %" G_GOFFSET_FORMAT " B, with the conversation %"
                  G_GOFFSET_FORMAT " B, after erasing %" G_GOFFSET_FORMAT " B\n",
                  round, before, full, after);
      /* The index may end a page or two apart, no more. */
      g_assert_cmpint (after, <=, before + 4 * 4096);
      g_assert_cmpint (file_size (f->wal_path), ==, 0);
      mode = test_sql_text (f->path, "PRAGMA auto_vacuum");
      g_assert_cmpstr (mode, ==, "2");
      assert_erased (f);
    }
  test_store_close (store);
}

/* The Shell's search provider over a real private bus: nothing in the
 * trash is found, described or opened, and a restored conversation is
 * found again. */

typedef struct
{
  gint64 conversation;
  gint64 message;
} Activated;

static void
activate_message_cb (RillSearchProvider *provider,
                     gint64              conversation_id,
                     gint64              message_id,
                     guint32             timestamp,
                     Activated          *activated)
{
  activated->conversation = conversation_id;
  activated->message = message_id;
}

static GVariant *
call (GDBusProxy *proxy, const char *method, GVariant *parameters, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_proxy_call (proxy, method, parameters, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                     test_async_result_cb, &result);
  test_wait_result (&result, 10000, method);
  return g_dbus_proxy_call_finish (proxy, result, error);
}

static char *
provider_search (GDBusProxy *proxy, const char *term)
{
  const char *terms[] = { term, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **ids = NULL;

  reply = call (proxy, "GetInitialResultSet", g_variant_new ("(^as)", terms), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(^a&s)", &ids);
  return g_strjoinv (" ", (char **) ids);
}

static guint
provider_n_metas (GDBusProxy *proxy, const char *id)
{
  const char *ids[] = { id, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) metas = NULL;

  reply = call (proxy, "GetResultMetas", g_variant_new ("(^as)", ids), &error);
  g_assert_no_error (error);
  metas = g_variant_get_child_value (reply, 0);
  return g_variant_n_children (metas);
}

static void
test_search_provider (Fixture *f, gconstpointer data)
{
  RillStore *store = open_store (f);
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) server = NULL;
  g_autoptr(GDBusConnection) client = NULL;
  g_autoptr(GDBusProxy) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  RillSearchProvider *provider;
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;
  Activated activated = { 0 };
  gint64 kept = test_create_conversation (store, "Herons at dusk");
  gint64 binned = test_create_conversation (store, "Herons in the trash");
  gint64 kept_message, binned_message;
  g_autofree char *kept_id = NULL;
  g_autofree char *binned_id = NULL;
  g_autofree char *both = NULL;

  kept_message = add_message (f, kept, "user", "Where do grey herons sleep?", NULL);
  binned_message = add_message (f, binned, "user", "Do grey herons dream? 白鹭", NULL);
  kept_id = g_strdup_printf ("%" G_GINT64_FORMAT, kept_message);
  binned_id = g_strdup_printf ("%" G_GINT64_FORMAT, binned_message);
  both = g_strconcat (binned_id, " ", kept_id, NULL);

  g_test_dbus_up (bus);
  server = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (bus), flags,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  client = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (bus), flags,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  provider = rill_search_provider_new (store);
  g_signal_connect (provider, "activate-message", G_CALLBACK (activate_message_cb), &activated);
  g_assert_true (rill_search_provider_export (provider, server, "/io/github/rill/Rill", &error));
  g_assert_no_error (error);
  proxy = g_dbus_proxy_new_sync (client,
                                 G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                 G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                 G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                 NULL, g_dbus_connection_get_unique_name (server),
                                 "/io/github/rill/Rill/SearchProvider",
                                 "org.gnome.Shell.SearchProvider2", NULL, &error);
  g_assert_no_error (error);

  {
    g_autofree char *found = provider_search (proxy, "grey herons");
    g_assert_cmpstr (found, ==, both);
  }
  g_assert_cmpuint (provider_n_metas (proxy, binned_id), ==, 1);

  write_and_wait (store, rill_store_trash_conversation_async, binned, "moved to the trash");
  {
    g_autofree char *found = provider_search (proxy, "grey herons");
    g_autofree char *chinese = provider_search (proxy, "白鹭");
    g_assert_cmpstr (found, ==, kept_id);
    g_assert_cmpstr (chinese, ==, "");
  }
  /* A result the Shell listed before is neither described nor opened. */
  g_assert_cmpuint (provider_n_metas (proxy, binned_id), ==, 0);
  reply = call (proxy, "ActivateResult",
                g_variant_new ("(s^asu)", binned_id, (const char *[]) { "herons", NULL }, 7),
                &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (activated.message, ==, 0);

  write_and_wait (store, rill_store_restore_conversation_async, binned, "restored");
  {
    g_autofree char *found = provider_search (proxy, "grey herons");
    g_autofree char *chinese = provider_search (proxy, "白鹭");
    g_assert_cmpstr (found, ==, both);
    g_assert_cmpstr (chinese, ==, binned_id);
  }
  reply = call (proxy, "ActivateResult",
                g_variant_new ("(s^asu)", binned_id, (const char *[]) { "herons", NULL }, 7),
                &error);
  g_assert_no_error (error);
  g_assert_cmpint (activated.conversation, ==, binned);
  g_assert_cmpint (activated.message, ==, binned_message);

  g_clear_object (&proxy);
  rill_search_provider_unexport (provider);
  g_assert_finalize_object (provider);
  g_dbus_connection_close_sync (client, NULL, NULL);
  g_dbus_connection_close_sync (server, NULL, NULL);
  g_clear_object (&client);
  g_clear_object (&server);
  g_test_dbus_down (bus);
  test_store_close (store);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, data, func) g_test_add ("/trash/" path, Fixture, data, setup, func, teardown)
  ADD ("trash-and-restore", NULL, test_trash_and_restore);
  ADD ("erase-signals", NULL, test_erase_signals);
  ADD ("purge-after-30-days", NULL, test_purge_after_30_days);
  ADD ("erase-from-wal", GINT_TO_POINTER (FALSE), test_erase_leaves_no_bytes);
  ADD ("erase-from-file", GINT_TO_POINTER (TRUE), test_erase_leaves_no_bytes);
  ADD ("erase-gives-space-back", NULL, test_erase_gives_space_back);
  ADD ("search-provider", NULL, test_search_provider);
#undef ADD
  return g_test_run ();
}
