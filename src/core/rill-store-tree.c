/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A conversation as a tree, and the path through it that is shown.
 *
 * Nothing is ever replaced in place: a regenerated reply is a new message
 * with the same parent as the reply it replaces, an edited message a new
 * message with the same parent as the one edited. Messages with the same
 * parent are versions of one another, numbered by age (their ids).
 *
 * The path shown runs from the first message to a leaf. It is chosen by
 * conversations.shown_message_id, the message the person last wrote, opened
 * or picked: the path goes up from it through its ancestors, and down from
 * it to its newest descendant. So picking a version higher up carries on
 * down to where that branch was last written, and a reply written since,
 * in this window or another, is on the path. A missing or foreign
 * shown_message_id means the newest message of the conversation.
 *
 * A message is always written after the one it follows, so its parent has
 * the smaller id. The walk up relies on that, which also means a cycle that
 * no Rill writes but another tool could ends there instead of going round
 * (and a depth no conversation reaches stops it in any case); the walk down
 * uses UNION, which visits each message once. */

#include "rill-store-private.h"
#include "rill-records-private.h"

/* Deeper than any conversation a person has; only a cycle gets there. */
#define MAX_DEPTH 1000000

gboolean
_rill_store_find_shown_leaf (sqlite3 *db, gint64 conversation_id, gint64 through_message_id,
                             gint64 *leaf, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  /* Where the path goes through, then the newest message below it. */
  if (!(stmt = rill_sqlite_prepare (db,
                                    "WITH RECURSIVE"
                                    " start (id) AS (SELECT coalesce("
                                    "   (SELECT id FROM messages"
                                    "    WHERE id = ?2 AND conversation_id = ?1),"
                                    "   (SELECT m.id FROM conversations c"
                                    "    JOIN messages m ON m.id = c.shown_message_id"
                                    "    WHERE c.id = ?1 AND m.conversation_id = ?1),"
                                    "   (SELECT max(id) FROM messages"
                                    "    WHERE conversation_id = ?1))),"
                                    " below (id) AS (SELECT id FROM start WHERE id IS NOT NULL"
                                    "   UNION SELECT m.id FROM messages m"
                                    "   JOIN below ON m.parent_id = below.id)"
                                    " SELECT max(id) FROM below",
                                    "read", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  sqlite3_bind_int64 (stmt, 2, through_message_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, rc, "read");
      return FALSE;
    }
  *leaf = sqlite3_column_int64 (stmt, 0);  /* 0 (NULL) when it has no messages */
  return TRUE;
}

static RillMessage *
path_message_from_row (sqlite3_stmt *stmt)
{
  RillMessage *message = _rill_store_message_from_row (stmt);
  int column = sqlite3_column_count (stmt) - 2;

  message->n_versions = sqlite3_column_int (stmt, column);
  message->version = sqlite3_column_int (stmt, column + 1);
  return message;
}

GPtrArray *
rill_store_list_path (RillStore *self, gint64 conversation_id, gint64 through_message_id,
                      GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 leaf;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!_rill_store_find_shown_leaf (self->reader, conversation_id, through_message_id,
                                    &leaf, error))
    return NULL;
  /* Messages with the same parent are versions, found through the index on
   * parent_id; the first messages of a conversation all have none, and are
   * found through the conversation's own index instead of among the first
   * messages of every conversation. */
  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "WITH RECURSIVE up (id, depth) AS (SELECT ?1, 0"
                                    "   UNION ALL SELECT m.parent_id, up.depth + 1"
                                    "   FROM messages m JOIN up ON m.id = up.id"
                                    "   WHERE m.parent_id < m.id AND up.depth < ?2)"
                                    " SELECT " RILL_STORE_MESSAGE_COLUMNS ","
                                    "  CASE WHEN m.parent_id IS NULL THEN"
                                    "   (SELECT count(*) FROM messages s"
                                    "    WHERE s.conversation_id = m.conversation_id"
                                    "    AND s.parent_id IS NULL)"
                                    "  ELSE (SELECT count(*) FROM messages s"
                                    "        WHERE s.parent_id = m.parent_id) END,"
                                    "  CASE WHEN m.parent_id IS NULL THEN"
                                    "   (SELECT count(*) FROM messages s"
                                    "    WHERE s.conversation_id = m.conversation_id"
                                    "    AND s.parent_id IS NULL AND s.id <= m.id)"
                                    "  ELSE (SELECT count(*) FROM messages s"
                                    "        WHERE s.parent_id = m.parent_id AND s.id <= m.id) END"
                                    " FROM up JOIN messages m ON m.id = up.id"
                                    " WHERE m.conversation_id = ?3"
                                    " ORDER BY up.depth DESC",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, leaf);
  sqlite3_bind_int (stmt, 2, MAX_DEPTH);
  sqlite3_bind_int64 (stmt, 3, conversation_id);
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) path_message_from_row, error);
}

GArray *
rill_store_list_versions (RillStore *self, gint64 message_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);

  if (!(stmt = rill_sqlite_prepare (self->reader,
                                    "SELECT id FROM messages WHERE parent_id ="
                                    "  (SELECT parent_id FROM messages WHERE id = ?1)"
                                    " UNION ALL SELECT id FROM messages WHERE conversation_id ="
                                    "  (SELECT conversation_id FROM messages"
                                    "   WHERE id = ?1 AND parent_id IS NULL)"
                                    " AND parent_id IS NULL"
                                    " ORDER BY id",
                                    "read", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, message_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  if (rc != SQLITE_DONE)
    {
      rill_sqlite_set_error (error, self->reader, rc, "read");
      return NULL;
    }
  return g_steal_pointer (&ids);
}

/* Only the conversation's own message is remembered; no signal, since
 * nothing any list shows changed. */
static void
show_message_job (RillStore *self, GTask *task, gpointer data)
{
  gint64 message_id = *(gint64 *) data;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;

  if (!(stmt = rill_sqlite_prepare (self->writer,
                                    "UPDATE conversations SET shown_message_id = ?1"
                                    " WHERE id = (SELECT conversation_id FROM messages"
                                    "             WHERE id = ?1)",
                                    "save to", &error)))
    return _rill_store_return_write_error (task, self->writer, error);
  sqlite3_bind_int64 (stmt, 1, message_id);
  if (!rill_sqlite_step_done (self->writer, stmt, "save to", &error))
    return _rill_store_return_write_error (task, self->writer, error);
  g_task_return_boolean (task, TRUE);
}

void
rill_store_show_message_async (RillStore           *self,
                               gint64               message_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (RILL_IS_STORE (self));

  _rill_store_push_job (self, show_message_job,
                        _rill_store_new_task (self, cancellable, callback, user_data,
                                              rill_store_show_message_async),
                        g_memdup2 (&message_id, sizeof message_id), g_free);
}
