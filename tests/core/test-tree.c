/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The conversation as a tree: versions through the real client against the
 * test server, on a real SQLite file.
 *
 * Each reply's tokens name it, so that the request the server received
 * shows which messages went out as history: the path to the new reply, and
 * nothing from other versions. Also: the path shown and its version
 * numbers, the choice remembered across a reopen, the history limit along
 * the path, and trees another tool could write (a cycle, a shown message
 * of another conversation), which must neither hang nor show a stranger. */

#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-store-private.h"

#define CHAT "/v1/chat/completions"
#define WAIT_MS 20000

typedef struct
{
  char           *dir;
  char           *path;
  RillStore      *store;
  RillTestServer *server;
  RillProvider   *provider;
  gint64          conversation_id;
} Fixture;

static void
open_store (Fixture *f)
{
  f->store = test_store_open (f->path);
}

static void
close_store (Fixture *f)
{
  test_store_close (g_steal_pointer (&f->store));
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autofree char *base = NULL;

  f->dir = test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "history.db", NULL);
  open_store (f);
  f->server = rill_test_server_new ();
  base = g_strconcat (rill_test_server_get_url (f->server), "/v1", NULL);
  f->provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-test");
  f->conversation_id = test_create_conversation (f->store, NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->store != NULL)
    close_store (f);
  g_clear_object (&f->provider);
  g_clear_pointer (&f->server, rill_test_server_free);
  test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
on_finished (RillReply *reply, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* Writes @user_text (or none) and a reply whose text is @answer, as a new
 * version of @version_of when not 0. Returns the reply's message id. */
static gint64
reply (Fixture *f, const char *user_text, const char *answer, gint64 version_of,
       guint history_limit)
{
  const char *tokens[] = { answer, NULL };
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autoptr(RillReply) reply = NULL;
  RillReplyOptions options;
  gboolean finished = FALSE;

  rill_test_script_send (script, sse, -1, 0);
  rill_test_server_route (f->server, CHAT, script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("test-model");
  options.history_limit = history_limit;
  reply = rill_reply_new (f->store, f->provider, f->conversation_id, user_text, &options);
  rill_reply_options_clear (&options);
  rill_reply_set_version_of (reply, version_of);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), &finished);
  rill_reply_start (reply);
  test_wait_for (&finished, WAIT_MS, "the reply to finish");
  g_assert_cmpint (rill_reply_get_status (reply), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_reply_get_content (reply)->str, ==, answer);
  return rill_reply_get_message_id (reply);
}

/* The contents of the path shown, joined by " | ", each with its version
 * when it has several ("answer [2/3]"). */
static char *
path_text (Fixture *f, gint64 through)
{
  g_autoptr(GPtrArray) path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  path = rill_store_list_path (f->store, f->conversation_id, through, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < path->len; i++)
    {
      RillMessage *message = g_ptr_array_index (path, i);

      g_string_append_printf (text, "%s%s", i ? " | " : "", rill_message_get_content (message));
      if (rill_message_get_n_versions (message) > 1)
        g_string_append_printf (text, " [%u/%u]", rill_message_get_version (message),
                                rill_message_get_n_versions (message));
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The contents of the request's messages, joined by " | ". */
static char *
sent_history (Fixture *f)
{
  const char *body = rill_test_server_get_request_body (f->server, CHAT);
  g_autoptr(JsonNode) root = json_from_string (body, NULL);
  JsonArray *messages = json_object_get_array_member (json_node_get_object (root), "messages");
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (messages); i++)
    g_string_append_printf (text, "%s%s", i ? " | " : "",
                            json_object_get_string_member (
                              json_array_get_object_element (messages, i), "content"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
show (Fixture *f, gint64 message_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rill_store_show_message_async (f->store, message_id, NULL, test_async_result_cb, &result);
  test_wait_result (&result, WAIT_MS, "the choice to be saved");
  g_assert_true (rill_store_write_finish (f->store, result, &error));
  g_assert_no_error (error);
}

static gint64
parent_of (Fixture *f, gint64 message_id)
{
  g_autoptr(RillMessage) message = rill_store_get_message (f->store, message_id, NULL);

  g_assert_nonnull (message);
  return rill_message_get_parent_id (message);
}

#define ASSERT_TEXT(expr, expected) \
  G_STMT_START { \
    g_autofree char *text_ = (expr); \
    g_assert_cmpstr (text_, ==, (expected)); \
  } G_STMT_END

static void
test_regenerate_and_edit (Fixture *f, gconstpointer data)
{
  gint64 question, one, two, three, edited_answer, follow_up;
  g_autoptr(GArray) versions = NULL;

  one = reply (f, "Question", "Answer one", 0, 0);
  question = parent_of (f, one);
  ASSERT_TEXT (sent_history (f), "Question");
  two = reply (f, NULL, "Answer two", one, 0);
  ASSERT_TEXT (sent_history (f), "Question");
  three = reply (f, NULL, "Answer three", two, 0);
  ASSERT_TEXT (path_text (f, 0), "Question | Answer three [3/3]");

  versions = rill_store_list_versions (f->store, two, NULL);
  g_assert_cmpuint (versions->len, ==, 3);
  g_assert_cmpint (g_array_index (versions, gint64, 0), ==, one);
  g_assert_cmpint (g_array_index (versions, gint64, 1), ==, two);
  g_assert_cmpint (g_array_index (versions, gint64, 2), ==, three);

  /* Editing the question: a new first message, the old one kept. */
  edited_answer = reply (f, "Question, edited", "Edited answer", question, 0);
  ASSERT_TEXT (sent_history (f), "Question, edited");
  g_assert_cmpint (parent_of (f, parent_of (f, edited_answer)), ==, 0);
  ASSERT_TEXT (path_text (f, 0), "Question, edited [2/2] | Edited answer");

  /* Back to the second answer: the path through it, and what follows it
   * goes out with it and nothing else. */
  ASSERT_TEXT (path_text (f, two), "Question [1/2] | Answer two [2/3]");
  show (f, two);
  follow_up = reply (f, "Follow-up", "Follow-up answer", 0, 0);
  ASSERT_TEXT (sent_history (f), "Question | Answer two | Follow-up");
  ASSERT_TEXT (path_text (f, 0),
               "Question [1/2] | Answer two [2/3] | Follow-up | Follow-up answer");

  /* Picking a version higher up carries on to where its branch was last
   * written: the follow-up, not the second answer alone. */
  show (f, edited_answer);
  ASSERT_TEXT (path_text (f, question), "Question [1/2] | Answer two [2/3] | Follow-up"
               " | Follow-up answer");

  /* Search finds every version, the ones not shown too; the path through
   * a hit is the one that holds it. */
  {
    g_autoptr(GPtrArray) hits = rill_store_search (f->store, "Answer one", 10, NULL);

    g_assert_cmpuint (hits->len, ==, 1);
    g_assert_cmpint (rill_message_get_id (g_ptr_array_index (hits, 0)), ==, one);
    ASSERT_TEXT (path_text (f, one), "Question [1/2] | Answer one [1/3]");
  }

  /* Remembered in the file. */
  show (f, three);
  close_store (f);
  open_store (f);
  ASSERT_TEXT (path_text (f, 0), "Question [1/2] | Answer three [3/3]");
  g_assert_cmpint (parent_of (f, parent_of (f, follow_up)), ==, two);
}

/* The history limit counts along the path, not across versions. */
static void
test_history_limit (Fixture *f, gconstpointer data)
{
  gint64 first;

  first = reply (f, "One", "Reply one", 0, 0);
  reply (f, NULL, "Reply one again", first, 0);
  reply (f, "Two", "Reply two", 0, 0);
  reply (f, "Three", "Reply three", 0, 3);
  ASSERT_TEXT (sent_history (f), "Two | Reply two | Three");
}

/* A tree another tool wrote: a cycle, and a shown message that belongs to
 * another conversation. Neither hangs or shows a stranger's message. */
static void
test_foreign_trees (Fixture *f, gconstpointer data)
{
  g_autofree char *sql = NULL;
  gint64 other, answer;

  answer = reply (f, "Mine", "My answer", 0, 0);
  other = test_create_conversation (f->store, NULL);
  close_store (f);
  sql = g_strdup_printf ("INSERT INTO messages (id, conversation_id, role, content, created_at,"
                         " uid) VALUES (1000, %" G_GINT64_FORMAT ", 'user', 'Stranger', 1, 'x');"
                         "UPDATE conversations SET shown_message_id = 1000 WHERE id = %"
                         G_GINT64_FORMAT ";",
                         other, f->conversation_id);
  test_sql_exec (f->path, sql);
  open_store (f);
  ASSERT_TEXT (path_text (f, 0), "Mine | My answer");
  ASSERT_TEXT (path_text (f, 1000), "Mine | My answer");

  /* The question made to follow its own answer: a cycle. */
  close_store (f);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("PRAGMA foreign_keys = OFF;"
                         "UPDATE messages SET parent_id = %" G_GINT64_FORMAT
                         " WHERE id = (SELECT parent_id FROM messages WHERE id = %"
                         G_GINT64_FORMAT ");",
                         answer, answer);
  test_sql_exec (f->path, sql);
  open_store (f);
  {
    g_autoptr(GPtrArray) path = rill_store_list_path (f->store, f->conversation_id, 0, NULL);

    g_assert_nonnull (path);
    g_assert_cmpuint (path->len, >, 0);
  }
  /* A reply there still goes out, with a bounded history. */
  reply (f, "After the cycle", "Still answered", 0, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/tree/" path, Fixture, NULL, setup, func, teardown)
  ADD ("regenerate-and-edit", test_regenerate_and_edit);
  ADD ("history-limit", test_history_limit);
  ADD ("foreign-trees", test_foreign_trees);
#undef ADD

  return g_test_run ();
}
