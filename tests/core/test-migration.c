/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Upgrading a real history to the current schema, on real SQLite files.
 *
 * The schema-2 file is made by the store's own migration steps stopped at
 * version 2 (_rill_store_create_at_version): those steps are the SQL the
 * release that wrote schema 2 ran, and shipped steps are never edited, so
 * the file is what that release made, without a second copy of its DDL
 * here that could drift from it. It is then filled through SQL, as that
 * release's rows would be, with every status, both roles, Chinese and
 * emoji text, reasoning, errors and usage, and a reply left "streaming".
 *
 * Then: the copy before the upgrade, every byte of every message after it,
 * the tree the old rows form, their uids, a failed upgrade that leaves the
 * file as it was, the copies kept, and new replies through the real client
 * against the test server. */

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"

#define CHAT "/v1/chat/completions"
/* The schema version this code upgrades to. */
#define CURRENT_VERSION "9"
#define WAIT_MS 20000

typedef struct
{
  char *dir;
  char *path;
  char *copy;   /* history.db.before-v2 */
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->copy = g_strconcat (f->path, ".before-v2", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->copy);
}

static void
close_store (RillStore *store)
{
  test_store_close (store);
}

typedef struct
{
  gint64      conversation_id;
  const char *role;
  const char *status;
  const char *content;
  const char *reasoning;
  const char *error;
  const char *usage;
} OldMessage;

/* Two conversations whose messages interleave by id, so that "the
 * previous message" must be the previous one of the same conversation. */
static const OldMessage old_messages[] = {
  { 1, "user", "complete", "你好！Explain 🦀 ownership, please.", "", NULL, NULL },
  { 2, "user", "complete", "Quelle est la capitale ? 🇫🇷", "", NULL, NULL },
  { 1, "assistant", "complete",
    "所有权规则：每个值都有一个所有者。\n\n```rust\nlet s = \"👨‍👩‍👧‍👦\";\n```",
    "先想一想……\tthen answer", NULL,
    "{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}" },
  { 2, "assistant", "stopped", "Paris, bien sûr — la capit", "", NULL, NULL },
  { 1, "user", "complete", "Shorter?\r\nOne line.", "", NULL, NULL },
  { 1, "assistant", "failed", "部分回答", "",
    "HTTP 500: 服务器错误 \"overloaded\"", NULL },
  { 2, "user", "complete", "🙂", "", NULL, NULL },
  { 2, "assistant", "interrupted", "Half a th", "reasoning kept", NULL, NULL },
  { 1, "user", "complete", "再试一次", "", NULL, NULL },
  { 1, "assistant", "streaming", "流式中的回答，尚未结束 ✍️", "思考到一半",
    NULL, NULL },
};

#define N_BULK_CONVERSATIONS 40
#define N_BULK_MESSAGES 2000

/* What the release writing schema 2 would have stored, through SQL. */
static void
make_v2_file (Fixture *f)
{
  sqlite3 *db;
  g_autoptr(GError) error = NULL;

  g_assert_true (_rill_store_create_at_version (f->path, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "INSERT INTO conversations (id, title, model, system_prompt,"
                                 " created_at, updated_at) VALUES"
                                 " (1, '所有权', 'qwen2.5', 'Be brief. 简洁。', 1000, 2000),"
                                 " (2, 'Capitale 🇫🇷', NULL, NULL, 1100, 2100);",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < G_N_ELEMENTS (old_messages); i++)
    {
      const OldMessage *m = &old_messages[i];
      sqlite3_stmt *stmt;

      g_assert_cmpint (sqlite3_prepare_v2 (db,
                                           "INSERT INTO messages (conversation_id, role, content,"
                                           " reasoning, status, error, usage, model,"
                                           " finish_reason, prompt_tokens, completion_tokens,"
                                           " created_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5,"
                                           " ?6, ?7, 'qwen2.5', 'stop', 12, 34, ?8,"
                                           " CASE WHEN ?5 = 'streaming' THEN NULL ELSE ?8 END)",
                                           -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_int64 (stmt, 1, m->conversation_id);
      sqlite3_bind_text (stmt, 2, m->role, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, m->content, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, m->reasoning, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, m->status, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, m->error, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 7, m->usage, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 8, 1500 + i);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
      sqlite3_finalize (stmt);
    }
  /* A longer history: 40 more conversations whose messages interleave. */
  g_assert_cmpint (sqlite3_exec (db,
                                 "WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
                                 " WHERE i < 39)"
                                 " INSERT INTO conversations (id, title, created_at, updated_at)"
                                 " SELECT 100 + i, 'bulk ' || i, 3000 + i, 3000 + i FROM n;"
                                 "WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
                                 " WHERE i < 1999)"
                                 " INSERT INTO messages (conversation_id, role, content, status,"
                                 " created_at, finished_at)"
                                 " SELECT 100 + i % 40, CASE i / 40 % 2 WHEN 0 THEN 'user'"
                                 " ELSE 'assistant' END,"
                                 " printf('第%d条消息：%s', i, hex(randomblob(64))),"
                                 " 'complete', 4000 + i, 4000 + i FROM n;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* Every row of both tables, quoted, as another tool would dump them. */
static const char dump_sql[] =
  "SELECT (SELECT group_concat(row, char(10)) FROM (SELECT quote(id) || ',' || quote(title)"
  " || ',' || quote(title_from_user) || ',' || quote(model) || ',' || quote(system_prompt)"
  " || ',' || quote(created_at) || ',' || quote(updated_at) AS row FROM conversations"
  " ORDER BY id)) || char(10) || (SELECT group_concat(row, char(10)) FROM (SELECT"
  " quote(id) || ',' || quote(conversation_id) || ',' || quote(role) || ','"
  " || quote(content) || ',' || quote(reasoning) || ',' || quote(status) || ','"
  " || quote(error) || ',' || quote(model) || ',' || quote(finish_reason) || ','"
  " || quote(prompt_tokens) || ',' || quote(completion_tokens) || ',' || quote(usage)"
  " || ',' || quote(request) || ',' || quote(created_at) || ',' || quote(finished_at) AS row"
  " FROM messages ORDER BY id))";

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

/* The file's size and its free pages, for the record (the test log). */
static char *
describe_size (const char *path)
{
  g_autofree char *free_pages = test_sql_text (path, "PRAGMA freelist_count");
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return g_strdup_printf ("%" G_GOFFSET_FORMAT " bytes (%s pages free)",
                          (goffset) st.st_size, free_pages);
}

static gboolean
is_uid (const char *uid)
{
  if (uid == NULL || strlen (uid) != 32)
    return FALSE;
  for (const char *c = uid; *c; c++)
    if (!g_ascii_isdigit (*c) && !(*c >= 'a' && *c <= 'f'))
      return FALSE;
  return TRUE;
}

static void
assert_no_file_containing (const char *dir_path, const char *word)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (strstr (name, word) != NULL)
      g_error ("unexpected file %s", name);
}

static void
test_from_v2 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) uids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) first = NULL;
  g_autofree char *dump_before = NULL;
  g_autofree char *dump_copy = NULL;
  g_autofree char *text = NULL;
  g_autofree char *rill_dir = NULL;
  g_autofree char *size_before = NULL;
  g_autofree char *size_after = NULL;
  g_autofree char *size_copy = NULL;
  guint n_messages = 0;
  RillStore *store;

  make_v2_file (f);
  dump_before = test_sql_text (f->path, dump_sql);
  size_before = describe_size (f->path);
  g_assert_false (g_file_test (f->copy, G_FILE_TEST_EXISTS));

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_null (rill_store_get_set_aside_path (store));

  /* The copy: a whole schema-2 database with the same rows, taken before
   * recovery (the reply is still "streaming" in it). */
  g_assert_true (g_file_test (f->copy, G_FILE_TEST_IS_REGULAR));
  text = test_sql_text (f->copy, "PRAGMA integrity_check");
  g_assert_cmpstr (text, ==, "ok");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->copy, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, "2");
  g_clear_pointer (&text, g_free);
  /* Not in WAL mode: the one file is the whole copy. */
  text = test_sql_text (f->copy, "PRAGMA journal_mode");
  g_assert_cmpstr (text, ==, "delete");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->copy, "SELECT count(*) FROM pragma_table_info('messages')"
                        " WHERE name = 'parent_id'");
  g_assert_cmpstr (text, ==, "0");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->copy, "SELECT count(*) FROM messages WHERE status = 'streaming'");
  g_assert_cmpstr (text, ==, "1");
  dump_copy = test_sql_text (f->copy, dump_sql);
  g_assert_cmpstr (dump_copy, ==, dump_before);

  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, CURRENT_VERSION);
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);

  /* The first two conversations, message by message, byte for byte. */
  {
    g_autoptr(GPtrArray) one = rill_store_list_messages (store, 1, &error);
    g_autoptr(GPtrArray) two = rill_store_list_messages (store, 2, &error);
    guint next[3] = { 0, 0, 0 };

    g_assert_no_error (error);
    g_assert_cmpuint (one->len + two->len, ==, G_N_ELEMENTS (old_messages));
    for (guint i = 0; i < G_N_ELEMENTS (old_messages); i++)
      {
        const OldMessage *m = &old_messages[i];
        GPtrArray *list = m->conversation_id == 1 ? one : two;
        RillMessage *message = g_ptr_array_index (list, next[m->conversation_id]++);
        RillStatus status = rill_status_from_string (m->status);

        g_assert_cmpint (rill_message_get_id (message), ==, i + 1);
        g_assert_cmpstr (rill_role_to_string (rill_message_get_role (message)), ==, m->role);
        g_assert_cmpuint (strlen (rill_message_get_content (message)), ==, strlen (m->content));
        g_assert_cmpstr (rill_message_get_content (message), ==, m->content);
        g_assert_cmpstr (rill_message_get_reasoning (message), ==, m->reasoning);
        g_assert_cmpstr (rill_message_get_error (message), ==, m->error);
        g_assert_cmpstr (rill_message_get_usage (message), ==, m->usage);
        if (status == RILL_STATUS_STREAMING)
          {
            g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_INTERRUPTED);
            g_assert_cmpint (rill_message_get_finished_at (message), >, 0);
          }
        else
          g_assert_cmpint (rill_message_get_status (message), ==, status);
      }
  }

  /* Every conversation: its messages, in id order, form one chain. */
  conversations = rill_store_list_conversations (store, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 2 + N_BULK_CONVERSATIONS);
  for (guint c = 0; c < conversations->len; c++)
    {
      RillConversation *conversation = g_ptr_array_index (conversations, c);
      g_autoptr(GPtrArray) messages = NULL;
      gint64 previous = 0;

      g_assert_true (is_uid (rill_conversation_get_uid (conversation)));
      g_assert_true (g_hash_table_add (uids, g_strdup (rill_conversation_get_uid (conversation))));
      messages = rill_store_list_messages (store, rill_conversation_get_id (conversation), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (messages->len, >, 0);
      for (guint i = 0; i < messages->len; i++)
        {
          RillMessage *message = g_ptr_array_index (messages, i);

          g_assert_cmpint (rill_message_get_parent_id (message), ==, previous);
          g_assert_true (is_uid (rill_message_get_uid (message)));
          g_assert_true (g_hash_table_add (uids, g_strdup (rill_message_get_uid (message))));
          previous = rill_message_get_id (message);
          n_messages++;
        }
    }
  g_assert_cmpuint (n_messages, ==, G_N_ELEMENTS (old_messages) + N_BULK_MESSAGES);
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM conversations WHERE deleted_at IS NOT NULL");
  g_assert_cmpstr (text, ==, "0");

  /* Search still finds the old text, long and short terms alike. */
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "每个值都有", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 1);
    g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==, 3);
  }
  {
    /* Indexed once recovery made it "interrupted". */
    g_autoptr(GPtrArray) hits = rill_store_search (store, "尚未结束", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 1);
    g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==, 10);
  }
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "🙂", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 1);
    g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==, 7);
  }
  {
    g_autoptr(GPtrArray) hits = rill_store_search (store, "第1999条", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 1);
  }
  first = rill_store_list_messages (store, 1, &error);
  close_store (store);

  size_after = describe_size (f->path);
  size_copy = describe_size (f->copy);
  g_test_message ("history.db: %s at schema 2, %s at schema 3; history.db.before-v2: %s",
                  size_before, size_after, size_copy);

  /* Opening again upgrades nothing and copies nothing more. */
  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) again = rill_store_list_messages (store, 1, &error);

    for (guint i = 0; i < again->len; i++)
      g_assert_cmpstr (rill_message_get_uid (g_ptr_array_index (again, i)), ==,
                       rill_message_get_uid (g_ptr_array_index (first, i)));
  }
  close_store (store);
  rill_dir = g_path_get_dirname (f->path);
  assert_no_file_containing (rill_dir, "before-v3");
  assert_no_file_containing (rill_dir, "damaged");
  assert_no_file_containing (rill_dir, "partial");
}

/* A step of the upgrade fails: an index already has the name the upgrade
 * gives its own. */
static void
test_failed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *version = NULL;
  g_autofree char *rill_dir = NULL;
  RillStore *store;

  make_v2_file (f);
  test_sql_exec (f->path, "CREATE INDEX messages_by_parent ON messages (created_at)");
  before = file_checksum (f->path);

  g_assert_null (rill_store_open (f->path, &error));
  g_assert_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "could not be upgraded"));
  g_assert_nonnull (strstr (error->message, "left as it was"));
  g_assert_nonnull (strstr (error->message, f->copy));
  g_assert_nonnull (strstr (error->message, "messages_by_parent"));

  after = file_checksum (f->path);
  g_assert_cmpstr (after, ==, before);
  version = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "2");
  rill_dir = g_path_get_dirname (f->path);
  assert_no_file_containing (rill_dir, "damaged");
  g_assert_true (g_file_test (f->copy, G_FILE_TEST_IS_REGULAR));

  /* Once the name is free the upgrade goes through, over the same copy. */
  g_clear_error (&error);
  test_sql_exec (f->path, "DROP INDEX messages_by_parent");
  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  g_clear_pointer (&version, g_free);
  version = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, CURRENT_VERSION);
  close_store (store);
  g_clear_pointer (&version, g_free);
  version = test_sql_text (f->copy, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "2");
}

static void
write_fake (const char *path)
{
  g_assert_true (g_file_set_contents (path, "not a database", -1, NULL));
}

/* From schema 3 (the release before the path shown was remembered): the
 * linear history stays, byte for byte, shown as it was, after a copy. */
static void
test_from_v3 (Fixture *f, gconstpointer data)
{
  g_autofree char *copy = g_strconcat (f->path, ".before-v3", NULL);
  g_autofree char *version = NULL;
  g_autofree char *shown = NULL;
  g_autoptr(GPtrArray) path = NULL;
  g_autoptr(GError) error = NULL;
  RillStore *store;

  make_v2_file (f);
  /* Upgraded to 3 by the release that wrote it: its copy of the v2 file. */
  g_assert_true (_rill_store_create_at_version (f->path, 3, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (copy, G_FILE_TEST_EXISTS));

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (copy, G_FILE_TEST_IS_REGULAR));
  version = test_sql_text (copy, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "3");
  g_clear_pointer (&version, g_free);
  version = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, CURRENT_VERSION);
  shown = test_sql_text (f->path, "SELECT count(*) FROM conversations"
                         " WHERE shown_message_id IS NOT NULL");
  g_assert_cmpstr (shown, ==, "0");

  /* Conversation 1 is shown whole, in order, as every message follows the
   * one before it. */
  path = rill_store_list_path (store, 1, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0, n = 0; i < G_N_ELEMENTS (old_messages); i++)
    {
      RillMessage *message;

      if (old_messages[i].conversation_id != 1)
        continue;
      g_assert_cmpuint (n, <, path->len);
      message = g_ptr_array_index (path, n++);
      g_assert_cmpstr (rill_message_get_content (message), ==, old_messages[i].content);
      g_assert_cmpuint (rill_message_get_version (message), ==, 1);
      g_assert_cmpuint (rill_message_get_n_versions (message), ==, 1);
    }
  g_assert_cmpuint (path->len, ==, 6);
  close_store (store);
}

/* From schema 5 (the release before conversations kept their server):
 * every conversation is there as it was, with no server yet, after a copy;
 * then a server written is read back byte for byte, and the address kept
 * for display has no user info. */
static void
test_from_v5 (Fixture *f, gconstpointer data)
{
  g_autofree char *copy = g_strconcat (f->path, ".before-v5", NULL);
  g_autofree char *version = NULL;
  g_autofree char *unset = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *display = rill_url_without_user_info ("http://me:s3cret@127.0.0.1:11434");
  TestResult written = { 0 };
  RillStore *store;

  make_v2_file (f);
  g_assert_true (_rill_store_create_at_version (f->path, 5, &error));
  g_assert_no_error (error);

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  version = test_sql_text (copy, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "5");
  g_clear_pointer (&version, g_free);
  version = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, CURRENT_VERSION);
  unset = test_sql_text (f->path, "SELECT count(*) > 1 AND count(*) ="
                         " sum(server IS NULL AND server_url IS NULL) FROM conversations");
  g_assert_cmpstr (unset, ==, "1");

  conversation = rill_store_get_conversation (store, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rill_conversation_get_title (conversation), ==, "所有权");
  g_assert_cmpstr (rill_conversation_get_model (conversation), ==, "qwen2.5");
  g_assert_null (rill_conversation_get_server (conversation));
  g_clear_object (&conversation);

  rill_store_update_conversation_async (store, 1, RILL_CONVERSATION_SERVER, "env:OLLAMA_HOST",
                                        NULL, test_write_cb, &written);
  test_wait_for (&written.done, 10000, "the server written");
  g_assert_no_error (written.error);
  written.done = FALSE;
  rill_store_update_conversation_async (store, 1, RILL_CONVERSATION_SERVER_URL, display,
                                        NULL, test_write_cb, &written);
  test_wait_for (&written.done, 10000, "the address written");
  g_assert_no_error (written.error);
  conversation = rill_store_get_conversation (store, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rill_conversation_get_server (conversation), ==, "env:OLLAMA_HOST");
  g_assert_cmpstr (rill_conversation_get_server_url (conversation), ==,
                   "http://127.0.0.1:11434");
  g_clear_object (&conversation);
  conversation = rill_store_get_conversation (store, 2, &error);
  g_assert_null (rill_conversation_get_server (conversation));
  close_store (store);
}

/* From schema 6: the attachments tables appear empty, every message keeps
 * its text byte for byte, and the bytes shared by two rows stay until the
 * last of them goes. */
static void
test_from_v6 (Fixture *f, gconstpointer data)
{
  static const char texts_sql[] =
    "SELECT group_concat(row, char(10)) FROM (SELECT quote(id) || quote(content)"
    " || quote(reasoning) || quote(request) AS row FROM messages ORDER BY id)";
  g_autofree char *copy = g_strconcat (f->path, ".before-v6", NULL);
  g_autofree char *texts_before = NULL;
  g_autofree char *texts_after = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  RillStore *store;

  make_v2_file (f);
  g_assert_true (_rill_store_create_at_version (f->path, 6, &error));
  g_assert_no_error (error);
  texts_before = test_sql_text (f->path, texts_sql);

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  text = test_sql_text (copy, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, "6");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, CURRENT_VERSION);
  g_clear_pointer (&text, g_free);
  texts_after = test_sql_text (f->path, texts_sql);
  g_assert_cmpstr (texts_after, ==, texts_before);
  text = test_sql_text (f->path, "SELECT (SELECT count(*) FROM attachments)"
                        " || ',' || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (text, ==, "0,0");
  g_clear_pointer (&text, g_free);
  close_store (store);

  /* The contract columns, and the bytes going with the last row. */
  test_sql_exec (f->path,
                 "INSERT INTO attachment_data (sha256, data) VALUES ('ab', x'00ff');"
                 "INSERT INTO attachments (id, message_id, name, mime_type, size, sha256, data,"
                 " created_at) VALUES (1, 1, 'a.png', 'image/png', 2, 'ab', NULL, 1),"
                 " (2, 2, 'b.png', 'image/png', 2, 'ab', NULL, 1);"
                 "DELETE FROM attachments WHERE id = 1");
  text = test_sql_text (f->path, "SELECT hex(data) FROM attachment_data");
  g_assert_cmpstr (text, ==, "00FF");
  g_clear_pointer (&text, g_free);
  test_sql_exec (f->path, "DELETE FROM attachments WHERE id = 2");
  text = test_sql_text (f->path, "SELECT count(*) FROM attachment_data");
  g_assert_cmpstr (text, ==, "0");
}

/* From schema 7: messages is rebuilt to allow tool rows, and nothing that
 * refers to a message notices. Every column of every row is the same byte
 * for byte, the pieces and attachments of a message stay (dropping the old
 * table cascades nowhere), search and the triggers work as before, and the
 * schema is exactly the one a new database gets. */
static void
test_from_v7 (Fixture *f, gconstpointer data)
{
  static const char rows_sql[] =
    "SELECT group_concat(row, char(10)) FROM (SELECT quote(id) || quote(conversation_id)"
    " || quote(role) || quote(content) || quote(reasoning) || quote(status) || quote(error)"
    " || quote(model) || quote(finish_reason) || quote(prompt_tokens)"
    " || quote(completion_tokens) || quote(usage) || quote(request) || quote(created_at)"
    " || quote(finished_at) || quote(parent_id) || quote(uid) AS row FROM messages"
    " ORDER BY id)";
  static const char schema_sql[] =
    "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), char(10))"
    " FROM (SELECT * FROM sqlite_master ORDER BY type, name)";
  g_autofree char *fresh_path = g_strconcat (f->path, ".fresh", NULL);
  g_autofree char *rows_before = NULL;
  g_autofree char *rows_after = NULL;
  g_autofree char *schema_fresh = NULL;
  g_autofree char *schema_after = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db;

  make_v2_file (f);
  g_assert_true (_rill_store_create_at_version (f->path, 7, &error));
  g_assert_no_error (error);
  test_sql_exec (f->path,
                 "INSERT INTO message_pieces (message_id, seq, content) VALUES (2, 1, 'piece');"
                 "INSERT INTO attachment_data (sha256, data) VALUES ('ab', x'00ff');"
                 "INSERT INTO attachments (id, message_id, name, mime_type, size, sha256, text,"
                 " created_at) VALUES (1, 1, 'notes-zebra.txt', 'text/plain', 2, 'ab',"
                 " 'the quokka file', 1)");
  rows_before = test_sql_text (f->path, rows_sql);

  /* Through the migration itself, on a connection set up as the store's,
   * foreign keys on: opening the store would also recover the rows left
   * streaming and fold their pieces, which is not what is tested here. */
  db = rill_sqlite_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (_rill_store_migrate_to (db, f->path, 8, &error));
  g_assert_no_error (error);
  sqlite3_close (db);

  text = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, "8");
  g_clear_pointer (&text, g_free);
  rows_after = test_sql_text (f->path, rows_sql);
  g_assert_cmpstr (rows_after, ==, rows_before);
  text = test_sql_text (f->path, "SELECT (SELECT count(*) FROM message_pieces)"
                        " || ',' || (SELECT count(*) FROM attachments)"
                        " || ',' || (SELECT hex(data) FROM attachment_data)");
  g_assert_cmpstr (text, ==, "1,1,00FF");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA integrity_check");
  g_assert_cmpstr (text, ==, "ok");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM pragma_foreign_key_check");
  g_assert_cmpstr (text, ==, "0");
  g_clear_pointer (&text, g_free);

  /* The attachment is found by its name and by its text. */
  text = test_sql_text (f->path, "SELECT group_concat(rowid) FROM attachments_fts"
                        " WHERE attachments_fts MATCH 'zebra' OR attachments_fts MATCH 'quokka'");
  g_assert_cmpstr (text, ==, "1");
  g_clear_pointer (&text, g_free);

  /* A tool row and a declined call are allowed now; the triggers still give
   * it a uid and index it once it is finished. */
  test_sql_exec (f->path,
                 "INSERT INTO messages (id, conversation_id, role, content, status, created_at,"
                 " tool_call_id, tool_server, tool_name) VALUES (100000, 1, 'tool', 'capybara',"
                 " 'denied', 1, 'call_1', 'everything', 'echo')");
  text = test_sql_text (f->path, "SELECT (uid IS NOT NULL) || ',' ||"
                        " (SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'capybara')"
                        " FROM messages WHERE id = 100000");
  g_assert_cmpstr (text, ==, "1,1");
  g_clear_pointer (&text, g_free);
  test_sql_exec (f->path, "DELETE FROM messages WHERE id = 100000");

  g_assert_true (_rill_store_create_at_version (fresh_path, 8, &error));
  g_assert_no_error (error);
  schema_fresh = test_sql_text (fresh_path, schema_sql);
  schema_after = test_sql_text (f->path, schema_sql);
  g_assert_cmpstr (schema_after, ==, schema_fresh);
  g_unlink (fresh_path);
}

/* From schema 8: the thumbnails table appears empty, every attachment
 * keeps every byte, and a thumbnail goes with the bytes it was made from,
 * not before. */
static void
test_from_v8 (Fixture *f, gconstpointer data)
{
  static const char rows_sql[] =
    "SELECT group_concat(row, char(10)) FROM (SELECT quote(a.id) || quote(a.message_id)"
    " || quote(a.name) || quote(a.mime_type) || quote(a.size) || quote(a.sha256)"
    " || quote(a.data) || quote(a.text) || quote(a.created_at) || quote(d.data) AS row"
    " FROM attachments a LEFT JOIN attachment_data d ON d.sha256 = a.sha256 ORDER BY a.id)";
  static const char schema_sql[] =
    "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), char(10))"
    " FROM (SELECT * FROM sqlite_master ORDER BY type, name)";
  g_autofree char *copy = g_strconcat (f->path, ".before-v8", NULL);
  g_autofree char *fresh_path = g_strconcat (f->path, ".fresh", NULL);
  g_autofree char *rows_before = NULL;
  g_autofree char *rows_after = NULL;
  g_autofree char *schema_fresh = NULL;
  g_autofree char *schema_after = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  RillStore *store;

  make_v2_file (f);
  g_assert_true (_rill_store_create_at_version (f->path, 8, &error));
  g_assert_no_error (error);
  test_sql_exec (f->path,
                 "INSERT INTO attachment_data (sha256, data) VALUES ('ab', x'00ff00'),"
                 " ('cd', x'89504e47');"
                 "INSERT INTO attachments (id, message_id, name, mime_type, size, sha256, data,"
                 " text, created_at) VALUES (1, 1, 'a.png', 'image/png', 3, 'ab', NULL, NULL, 1),"
                 " (2, 2, 'b.png', 'image/png', 3, 'ab', NULL, NULL, 2),"
                 " (3, 2, 'c.txt', 'text/plain', 4, 'cd', NULL, 'café ☕', 3),"
                 " (4, 1, 'own.bin', 'application/octet-stream', 2, 'ef', x'0102', NULL, 4)");
  rows_before = test_sql_text (f->path, rows_sql);

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  text = test_sql_text (copy, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, "8");
  g_clear_pointer (&text, g_free);
  close_store (store);

  text = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, CURRENT_VERSION);
  g_clear_pointer (&text, g_free);
  rows_after = test_sql_text (f->path, rows_sql);
  g_assert_cmpstr (rows_after, ==, rows_before);
  text = test_sql_text (f->path, "SELECT count(*) FROM attachment_thumbnails");
  g_assert_cmpstr (text, ==, "0");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA integrity_check");
  g_assert_cmpstr (text, ==, "ok");
  g_clear_pointer (&text, g_free);

  /* The trigger: a thumbnail stays while a row still shares its bytes,
   * and goes with them; another's stays. */
  test_sql_exec (f->path,
                 "INSERT INTO attachment_thumbnails (sha256, width, height, data)"
                 " VALUES ('ab', 2, 1, x'0a0b'), ('cd', 1, 1, x'0c');"
                 "DELETE FROM attachments WHERE id = 1");
  text = test_sql_text (f->path, "SELECT group_concat(sha256 || hex(data)) FROM"
                        " (SELECT * FROM attachment_thumbnails ORDER BY sha256)");
  g_assert_cmpstr (text, ==, "ab0A0B,cd0C");
  g_clear_pointer (&text, g_free);
  test_sql_exec (f->path, "DELETE FROM attachments WHERE id IN (2, 3)");
  text = test_sql_text (f->path, "SELECT (SELECT count(*) FROM attachment_thumbnails)"
                        " || ',' || (SELECT count(*) FROM attachment_data)");
  g_assert_cmpstr (text, ==, "0,0");
  g_clear_pointer (&text, g_free);

  g_assert_true (_rill_store_create_at_version (fresh_path, 9, &error));
  g_assert_no_error (error);
  schema_fresh = test_sql_text (fresh_path, schema_sql);
  schema_after = test_sql_text (f->path, schema_sql);
  g_assert_cmpstr (schema_after, ==, schema_fresh);
  g_unlink (fresh_path);
}

/* Only the copies of the two latest upgrades stay. */
static void
test_keeps_two (Fixture *f, gconstpointer data)
{
  static const char *left_alone[] = { ".before-v1.partial", ".before-vx", ".before-v", ".bak" };
  g_autofree char *v0 = g_strconcat (f->path, ".before-v0", NULL);
  g_autofree char *v1 = g_strconcat (f->path, ".before-v1", NULL);
  g_autoptr(GError) error = NULL;
  RillStore *store;

  make_v2_file (f);
  write_fake (v0);
  write_fake (v1);
  for (guint i = 0; i < G_N_ELEMENTS (left_alone); i++)
    {
      g_autofree char *other = g_strconcat (f->path, left_alone[i], NULL);
      write_fake (other);
    }

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  close_store (store);

  g_assert_true (g_file_test (f->copy, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (v1, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (v0, G_FILE_TEST_EXISTS));
  for (guint i = 0; i < G_N_ELEMENTS (left_alone); i++)
    {
      g_autofree char *other = g_strconcat (f->path, left_alone[i], NULL);
      g_assert_true (g_file_test (other, G_FILE_TEST_IS_REGULAR));
    }
}

/* Versions are numbers: 10 is later than 9. */
static void
test_prune_order (Fixture *f, gconstpointer data)
{
  static const int versions[] = { 2, 10, 9, 11 };
  g_autofree char *rill_dir = g_path_get_dirname (f->path);

  g_assert_cmpint (g_mkdir_with_parents (rill_dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autofree char *copy = _rill_store_copy_path (f->path, versions[i]);
      write_fake (copy);
    }
  _rill_store_prune_copies (f->path, 2);
  for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autofree char *copy = _rill_store_copy_path (f->path, versions[i]);
      g_assert_cmpint (g_file_test (copy, G_FILE_TEST_EXISTS), ==, versions[i] >= 10);
    }
}

static const char * const tokens[] = { "好的", "，", "done ", "✅", NULL };

static void
on_finished (RillReply *reply, gboolean *finished)
{
  *finished = TRUE;
}

static RillReply *
reply_and_wait (RillStore *store, RillProvider *provider, gint64 conversation_id,
                const char *text, RillReplyOptions *options)
{
  RillReply *reply = rill_reply_new (store, provider, conversation_id, text, options);
  gboolean finished = FALSE;
  gulong handler = g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &finished);

  rill_reply_start (reply);
  test_wait_for (&finished, WAIT_MS, "the reply to finish");
  g_signal_handler_disconnect (reply, handler);
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  g_assert_null (rill_reply_get_store_error (reply));
  return reply;
}

/* New rows through the real client: each follows the conversation's last
 * message, and has a uid. A new file starts at schema 5 with no copy. */
static void
test_new_rows (Fixture *f, gconstpointer data)
{
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-test");
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);
  g_autoptr(GHashTable) uids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  g_autofree char *rill_dir = NULL;
  RillReplyOptions options;
  RillTestScript *script;
  RillStore *store;
  gint64 id;

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  version = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, CURRENT_VERSION);
  rill_dir = g_path_get_dirname (f->path);
  assert_no_file_containing (rill_dir, "before-v");

  script = rill_test_script_new (200, "text/event-stream");
  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (server, CHAT, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("test-model");
  id = test_create_conversation (store, NULL);

  /* A question, a follow-up, then a regenerate (no new user message). */
  g_object_unref (reply_and_wait (store, provider, id, "第一个问题", &options));
  g_object_unref (reply_and_wait (store, provider, id, "second 🙂", &options));
  g_object_unref (reply_and_wait (store, provider, id, NULL, &options));

  conversation = rill_store_get_conversation (store, id, &error);
  g_assert_no_error (error);
  g_assert_true (is_uid (rill_conversation_get_uid (conversation)));
  g_hash_table_add (uids, (gpointer) rill_conversation_get_uid (conversation));
  messages = rill_store_list_messages (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 5);
  for (guint i = 0; i < messages->len; i++)
    {
      RillMessage *message = g_ptr_array_index (messages, i);
      static const RillRole roles[] = {
        RILL_ROLE_USER, RILL_ROLE_ASSISTANT, RILL_ROLE_USER, RILL_ROLE_ASSISTANT,
        RILL_ROLE_ASSISTANT,
      };

      g_assert_cmpint (rill_message_get_role (message), ==, roles[i]);
      g_assert_cmpint (rill_message_get_parent_id (message), ==,
                       i == 0 ? 0 : rill_message_get_id (g_ptr_array_index (messages, i - 1)));
      g_assert_true (is_uid (rill_message_get_uid (message)));
      g_assert_true (g_hash_table_add (uids, (gpointer) rill_message_get_uid (message)));
    }
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 2)), ==, "second 🙂");

  rill_reply_options_clear (&options);
  close_store (store);
}

/* From schema 4 (the release whose checkpoints appended to
 * messages.content): the pieces table appears, every message keeps its
 * text byte for byte, a reply that release left streaming keeps the text
 * its checkpoints appended and becomes interrupted, and a new reply streams
 * through pieces into a finished row, leaving none behind. */
static void
test_from_v4 (Fixture *f, gconstpointer data)
{
  static const char texts_sql[] =
    "SELECT group_concat(row, char(10)) FROM (SELECT quote(id) || quote(content)"
    " || quote(reasoning) || quote(request) AS row FROM messages ORDER BY id)";
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-test");
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);
  g_autofree char *copy = g_strconcat (f->path, ".before-v4", NULL);
  g_autofree char *texts_before = NULL;
  g_autofree char *texts_after = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMessage) recovered = NULL;
  RillReplyOptions options;
  RillTestScript *script;
  RillReply *reply;
  RillStore *store;

  make_v2_file (f);
  g_assert_true (_rill_store_create_at_version (f->path, 4, &error));
  g_assert_no_error (error);
  texts_before = test_sql_text (f->path, texts_sql);

  store = rill_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (copy, G_FILE_TEST_IS_REGULAR));
  text = test_sql_text (copy, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, "4");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA user_version");
  g_assert_cmpstr (text, ==, CURRENT_VERSION);
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "PRAGMA integrity_check");
  g_assert_cmpstr (text, ==, "ok");
  texts_after = test_sql_text (f->path, texts_sql);
  g_assert_cmpstr (texts_after, ==, texts_before);

  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  recovered = rill_store_get_message (store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rill_message_get_status (recovered), ==, RILL_STATUS_INTERRUPTED);
  g_assert_cmpstr (rill_message_get_content (recovered), ==, old_messages[9].content);
  g_assert_cmpstr (rill_message_get_reasoning (recovered), ==, old_messages[9].reasoning);

  script = rill_test_script_new (200, "text/event-stream");
  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (server, CHAT, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("test-model");
  reply = reply_and_wait (store, provider, 1, "继续", &options);
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  {
    g_autoptr(RillMessage) stored = rill_store_get_message (store,
                                                            rill_reply_get_message_id (reply),
                                                            &error);
    g_autofree char *expected = rill_test_join_tokens (tokens);

    g_assert_no_error (error);
    g_assert_cmpint (rill_message_get_status (stored), ==, RILL_STATUS_COMPLETE);
    g_assert_cmpstr (rill_message_get_content (stored), ==, expected);
  }
  g_clear_pointer (&text, g_free);
  text = test_sql_text (f->path, "SELECT count(*) FROM message_pieces");
  g_assert_cmpstr (text, ==, "0");
  g_object_unref (reply);
  rill_reply_options_clear (&options);
  close_store (store);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/migration/" path, Fixture, NULL, setup, func, teardown)
  ADD ("from-v2", test_from_v2);
  ADD ("from-v3", test_from_v3);
  ADD ("from-v4", test_from_v4);
  ADD ("from-v5", test_from_v5);
  ADD ("from-v6", test_from_v6);
  ADD ("from-v7", test_from_v7);
  ADD ("from-v8", test_from_v8);
  ADD ("failed", test_failed);
  ADD ("keeps-two", test_keeps_two);
  ADD ("prune-order", test_prune_order);
  ADD ("new-rows", test_new_rows);
#undef ADD

  return g_test_run ();
}
