/* SPDX-License-Identifier: GPL-3.0-or-later */
/* a11y-seed PATH: a history for the accessibility test, made by the real
 * store (so the file has the schema the app expects) and filled as the app
 * would have filled it: a question with two versions of its answer, a
 * table and code in the reply, a failed reply, and a conversation in the
 * trash. Prints the id of the message the test opens. */

#include "rill-store-private.h"
#include "rill-test-support.h"

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = NULL;
  g_autofree char *sql = NULL;
  gint64 shown, trashed;

  if (argc != 2)
    {
      g_printerr ("usage: a11y-seed PATH\n");
      return 2;
    }
  if (!(store = rill_store_open (argv[1], &error)))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  shown = test_create_conversation (store, "Rivers");
  trashed = test_create_conversation (store, "Deleted one");
  g_assert_true (rill_store_sync (store, 10000));
  g_clear_object (&store);

  sql = g_strdup_printf (
    "INSERT INTO messages (id, conversation_id, role, content, status, created_at, parent_id,"
    " model, error) VALUES"
    " (1, %1$" G_GINT64_FORMAT ", 'user', 'Which river is longest?', 'complete', 1, NULL,"
    "  NULL, NULL),"
    " (2, %1$" G_GINT64_FORMAT ", 'assistant', 'The Nile.', 'complete', 2, 1, 'test-model',"
    "  NULL),"
    " (3, %1$" G_GINT64_FORMAT ", 'assistant', '| river | km |\n|---|---:|\n| Nile | 6650 |\n\n"
    "```python\nprint(\"Nile\")\n```\n', 'complete', 3, 1, 'test-model', NULL),"
    " (4, %1$" G_GINT64_FORMAT ", 'user', 'And in China?', 'complete', 4, 3, NULL, NULL),"
    " (5, %1$" G_GINT64_FORMAT ", 'assistant', 'The Yang', 'failed', 5, 4, 'test-model',"
    "  'HTTP 500: overloaded');"
    "UPDATE conversations SET shown_message_id = 5 WHERE id = %1$" G_GINT64_FORMAT ";"
    "UPDATE conversations SET deleted_at = 1000 * strftime('%%s', 'now')"
    " WHERE id = %2$" G_GINT64_FORMAT ";",
    shown, trashed);
  test_sql_exec (argv[1], sql);
  g_print ("%d\n", 5);
  return 0;
}
