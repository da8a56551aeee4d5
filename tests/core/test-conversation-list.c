/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-conversation-list.c: the lazy list of conversations over a real
 * store file holding more than two pages of them. Every change must be told
 * through items-changed, with positions and counts that leave a view's copy
 * of the list equal to the model. */

#include <sqlite3.h>

#include "rill-conversation-list.h"
#include "rill-test-support.h"

#define N_CONVERSATIONS 150   /* two full pages of 64 and a part */

typedef struct
{
  guint position, removed, added;
} Change;

typedef struct
{
  char                 *dir;
  char                 *path;
  RillStore            *store;
  RillConversationList *list;
  GArray               *changes;
  /* What a view would hold: the ids, kept up to date from items-changed
   * alone. */
  GArray *mirror;
} Fixture;

/* The conversation shown at @position, or 0 when there is none. */
static gint64
id_at (GListModel *model,
       guint       position)
{
  g_autoptr(RillConversation) conversation = g_list_model_get_item (model, position);

  return conversation ? rill_conversation_get_id (conversation) : 0;
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Fixture    *f)
{
  Change change = { position, removed, added };

  g_array_append_val (f->changes, change);
  g_assert_cmpuint (position + removed, <=, f->mirror->len);
  g_array_remove_range (f->mirror, position, removed);
  for (guint i = 0; i < added; i++)
    {
      gint64 id = id_at (model, position + i);

      g_array_insert_val (f->mirror, position + i, id);
    }
  g_assert_cmpuint (f->mirror->len, ==, g_list_model_get_n_items (model));
}

static void
fill_mirror (Fixture *f)
{
  GListModel *model = G_LIST_MODEL (f->list);

  g_array_set_size (f->mirror, 0);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      gint64 id = id_at (model, i);

      g_array_append_val (f->mirror, id);
    }
}

/* The view's copy and a fresh read of every position agree. */
static void
assert_mirror (Fixture *f)
{
  GListModel *model = G_LIST_MODEL (f->list);

  g_assert_cmpuint (f->mirror->len, ==, g_list_model_get_n_items (model));
  for (guint i = 0; i < f->mirror->len; i++)
    g_assert_cmpint (g_array_index (f->mirror, gint64, i), ==, id_at (model, i));
}

static void
assert_one_change (Fixture *f,
                   guint    position,
                   guint    removed,
                   guint    added)
{
  g_assert_cmpuint (f->changes->len, ==, 1);
  g_assert_cmpuint (g_array_index (f->changes, Change, 0).position, ==, position);
  g_assert_cmpuint (g_array_index (f->changes, Change, 0).removed, ==, removed);
  g_assert_cmpuint (g_array_index (f->changes, Change, 0).added, ==, added);
  g_array_set_size (f->changes, 0);
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) sql = g_string_new ("BEGIN;");
  sqlite3 *db;
  char *message = NULL;

  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->store = rill_store_open (f->path, &error);
  g_assert_no_error (error);

  /* Rows as the store leaves them, in one transaction: conversation N was
   * updated at N ms, so the list runs from N_CONVERSATIONS down to 1. */
  for (guint i = 1; i <= N_CONVERSATIONS; i++)
    g_string_append_printf (sql, "INSERT INTO conversations (id, title, created_at, updated_at)"
                            " VALUES (%u, 'Conversation %u', %u, %u);", i, i, i, i);
  g_string_append (sql, "COMMIT;");
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql->str, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s", message);
  sqlite3_close (db);

  f->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  f->mirror = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->list = rill_conversation_list_new (f->store);
  g_signal_connect (f->list, "items-changed", G_CALLBACK (items_changed_cb), f);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_assert_finalize_object (f->list);
  g_assert_true (rill_store_sync (f->store, 10000));
  g_assert_finalize_object (f->store);
  g_array_unref (f->changes);
  g_array_unref (f->mirror);
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
delete_conversation (Fixture *f,
                     gint64   id)
{
  TestResult r = { 0 };

  rill_store_delete_conversation_async (f->store, id, NULL, test_write_cb, &r);
  test_wait_for (&r.done, 10000, "the conversation to be deleted");
  g_assert_no_error (r.error);
}

static void
test_items (Fixture *f, gconstpointer data)
{
  GListModel *model = G_LIST_MODEL (f->list);
  g_autoptr(RillConversation) first = NULL;

  g_assert_true (g_list_model_get_item_type (model) == RILL_TYPE_CONVERSATION);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);

  /* Newest first, across the pages' edges, and nothing past the end. */
  first = g_list_model_get_item (model, 0);
  g_assert_cmpint (rill_conversation_get_id (first), ==, N_CONVERSATIONS);
  g_assert_cmpstr (rill_conversation_get_title (first), ==, "Conversation 150");
  g_assert_cmpint (id_at (model, 63), ==, N_CONVERSATIONS - 63);
  g_assert_cmpint (id_at (model, 64), ==, N_CONVERSATIONS - 64);
  g_assert_cmpint (id_at (model, 128), ==, N_CONVERSATIONS - 128);
  g_assert_cmpint (id_at (model, N_CONVERSATIONS - 1), ==, 1);
  g_assert_null (g_list_model_get_item (model, N_CONVERSATIONS));
  g_assert_null (g_list_model_get_item (model, G_MAXUINT));
  /* An item read twice is the same object: the page is kept. */
  {
    g_autoptr(RillConversation) again = g_list_model_get_item (model, 0);

    g_assert_true (again == first);
  }
  g_assert_cmpuint (f->changes->len, ==, 0);
}

static void
test_find (Fixture *f, gconstpointer data)
{
  GListModel *model = G_LIST_MODEL (f->list);

  /* Only among the pages read so far: nothing is read to answer. */
  g_assert_cmpint (rill_conversation_list_find (f->list, N_CONVERSATIONS), ==, -1);
  g_assert_cmpint (id_at (model, 0), ==, N_CONVERSATIONS);
  g_assert_cmpint (rill_conversation_list_find (f->list, N_CONVERSATIONS), ==, 0);
  g_assert_cmpint (rill_conversation_list_find (f->list, N_CONVERSATIONS - 63), ==, 63);
  g_assert_cmpint (rill_conversation_list_find (f->list, N_CONVERSATIONS - 64), ==, -1);
  g_assert_cmpint (id_at (model, 140), ==, N_CONVERSATIONS - 140);
  g_assert_cmpint (rill_conversation_list_find (f->list, N_CONVERSATIONS - 140), ==, 140);
  g_assert_cmpint (rill_conversation_list_find (f->list, 9999), ==, -1);
}

static void
test_hide_unhide (Fixture *f, gconstpointer data)
{
  GListModel *model = G_LIST_MODEL (f->list);
  gint64 hidden = N_CONVERSATIONS - 10;

  fill_mirror (f);

  rill_conversation_list_hide (f->list, hidden);
  assert_one_change (f, 10, 1, 0);
  assert_mirror (f);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS - 1);
  g_assert_cmpint (id_at (model, 9), ==, hidden + 1);
  g_assert_cmpint (id_at (model, 10), ==, hidden - 1);
  g_assert_cmpint (id_at (model, N_CONVERSATIONS - 2), ==, 1);
  g_assert_null (g_list_model_get_item (model, N_CONVERSATIONS - 1));
  /* Positions after the hidden row move up by one. */
  g_assert_cmpint (rill_conversation_list_find (f->list, hidden), ==, -1);
  g_assert_cmpint (rill_conversation_list_find (f->list, hidden - 10), ==, 19);
  g_assert_cmpint (rill_conversation_list_find (f->list, hidden + 1), ==, 9);

  /* Hiding another shows the first again: one hidden row at a time. */
  rill_conversation_list_hide (f->list, N_CONVERSATIONS - 100);
  g_assert_cmpuint (f->changes->len, ==, 2);
  g_assert_cmpuint (g_array_index (f->changes, Change, 0).position, ==, 10);
  g_assert_cmpuint (g_array_index (f->changes, Change, 0).added, ==, 1);
  g_assert_cmpuint (g_array_index (f->changes, Change, 1).position, ==, 100);
  g_assert_cmpuint (g_array_index (f->changes, Change, 1).removed, ==, 1);
  g_array_set_size (f->changes, 0);
  assert_mirror (f);

  rill_conversation_list_unhide (f->list);
  assert_one_change (f, 100, 0, 1);
  assert_mirror (f);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
  g_assert_cmpint (id_at (model, 100), ==, N_CONVERSATIONS - 100);

  /* Nothing hidden, nothing to tell. */
  rill_conversation_list_unhide (f->list);
  g_assert_cmpuint (f->changes->len, ==, 0);
  /* A conversation not in the list cannot be hidden. */
  rill_conversation_list_hide (f->list, 9999);
  g_assert_cmpuint (f->changes->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
}

static void
test_reload (Fixture *f, gconstpointer data)
{
  GListModel *model = G_LIST_MODEL (f->list);
  gint64 newest;

  fill_mirror (f);

  /* Nothing changed: the whole list is told again, as it is. */
  rill_conversation_list_reload (f->list);
  assert_one_change (f, 0, N_CONVERSATIONS, N_CONVERSATIONS);
  assert_mirror (f);

  /* A new conversation comes first; the pages read before are not used
   * again (they would show every row one place off). */
  newest = test_create_conversation (f->store, "Newest");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
  rill_conversation_list_reload (f->list);
  assert_one_change (f, 0, N_CONVERSATIONS, N_CONVERSATIONS + 1);
  assert_mirror (f);
  g_assert_cmpint (id_at (model, 0), ==, newest);
  g_assert_cmpint (id_at (model, 64), ==, N_CONVERSATIONS - 63);
  g_assert_cmpint (id_at (model, N_CONVERSATIONS), ==, 1);

  /* A deleted one goes. */
  delete_conversation (f, 1);
  rill_conversation_list_reload (f->list);
  assert_one_change (f, 0, N_CONVERSATIONS + 1, N_CONVERSATIONS);
  assert_mirror (f);
  g_assert_null (g_list_model_get_item (model, N_CONVERSATIONS));
}

static void
test_reload_while_hidden (Fixture *f, gconstpointer data)
{
  GListModel *model = G_LIST_MODEL (f->list);
  gint64 hidden = N_CONVERSATIONS - 5;
  gint64 newest;

  fill_mirror (f);
  rill_conversation_list_hide (f->list, hidden);
  assert_one_change (f, 5, 1, 0);

  /* A new conversation moves the hidden row down a place: it stays hidden
   * there. */
  newest = test_create_conversation (f->store, "Newest");
  rill_conversation_list_reload (f->list);
  assert_one_change (f, 0, N_CONVERSATIONS - 1, N_CONVERSATIONS);
  assert_mirror (f);
  g_assert_cmpint (id_at (model, 0), ==, newest);
  g_assert_cmpint (id_at (model, 5), ==, hidden + 1);
  g_assert_cmpint (id_at (model, 6), ==, hidden - 1);
  g_assert_cmpint (rill_conversation_list_find (f->list, hidden), ==, -1);

  rill_conversation_list_unhide (f->list);
  assert_one_change (f, 6, 0, 1);
  assert_mirror (f);
  g_assert_cmpint (id_at (model, 6), ==, hidden);

  /* Hidden, then deleted (the undo time ran out): the row is gone and
   * nothing stays hidden. */
  rill_conversation_list_hide (f->list, hidden);
  assert_one_change (f, 6, 1, 0);
  delete_conversation (f, hidden);
  rill_conversation_list_reload (f->list);
  assert_one_change (f, 0, N_CONVERSATIONS, N_CONVERSATIONS);
  assert_mirror (f);
  g_assert_cmpint (id_at (model, 6), ==, hidden - 1);
  rill_conversation_list_unhide (f->list);
  g_assert_cmpuint (f->changes->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_CONVERSATIONS);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add ("/conversation-list/" path, Fixture, NULL, setup, func, teardown)
  ADD ("items", test_items);
  ADD ("find", test_find);
  ADD ("hide-unhide", test_hide_unhide);
  ADD ("reload", test_reload);
  ADD ("reload-while-hidden", test_reload_while_hidden);
#undef ADD
  return g_test_run ();
}
