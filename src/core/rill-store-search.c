/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Full-text search over every message.
 *
 * messages_fts is an FTS5 table with the trigram tokenizer: it matches any
 * substring, so Chinese, which has no spaces between words, is found. A
 * reply is indexed once it stops streaming, so checkpoints never re-index
 * a growing text. Terms of three characters or more go to MATCH; shorter
 * ones cannot use a trigram index and are matched with LIKE on the rows the
 * index (or a newest-first walk) yields, or, when rare, looked up among the
 * index's own terms and the two indexes on the last characters of each
 * message (schema 2). Every query runs on the reader connection.
 *
 * Messages of a conversation in the trash are never found: each row found
 * is checked by its conversation's primary key, so a walk that stops at the
 * limit still stops early, and no index on deleted_at is needed.
 *
 * A message is also found by what is attached to it: every term in the
 * name or the text (of a text file or a PDF) of one of its attachments,
 * through attachments_fts (schema 8), the same trigram index. Attachments
 * are few beside messages, so short terms are matched with LIKE on the
 * index's own columns, without the rare-term look-ups. The two lists,
 * both newest first, are merged. */

#include "rill-store-private.h"

#include <string.h>

#define NOT_IN_TRASH \
  " AND NOT EXISTS (SELECT 1 FROM conversations c" \
  "  WHERE c.id = m.conversation_id AND c.deleted_at IS NOT NULL)"

gboolean
_rill_store_search_prepare (sqlite3 *reader, GError **error)
{
  /* The index's terms, for short search terms; temp, so nothing is written. */
  return rill_sqlite_exec (reader,
                           "CREATE VIRTUAL TABLE temp.messages_terms"
                           " USING fts5vocab (main, messages_fts, instance)",
                           "open", error);
}

static char *
like_pattern (const char *term)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = term; *p; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

static char *
fts_phrases (GPtrArray *terms)
{
  GString *match = g_string_new (NULL);

  for (guint i = 0; i < terms->len; i++)
    {
      const char *term = g_ptr_array_index (terms, i);

      if (match->len > 0)
        g_string_append (match, " AND ");
      g_string_append_c (match, '"');
      for (const char *p = term; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (match, '"');
          g_string_append_c (match, *p);
        }
      g_string_append_c (match, '"');
    }
  return g_string_free (match, FALSE);
}

/* How the trigram tokenizer folds case, so @term can be looked up among
 * its terms. */
static char *
fold_like_index (const char *term)
{
  GString *folded = g_string_new (NULL);

  for (const char *p = term; *p; p = g_utf8_next_char (p))
    g_string_append_unichar (folded, g_unichar_tolower (g_utf8_get_char (p)));
  return g_string_free (folded, FALSE);
}

/* The smallest string greater than every string that starts with @prefix. */
static char *
prefix_end (const char *prefix)
{
  const char *last = g_utf8_find_prev_char (prefix, prefix + strlen (prefix));
  GString *end = g_string_new_len (prefix, last - prefix);

  g_string_append_unichar (end, g_utf8_get_char (last) + 1);
  return g_string_free (end, FALSE);
}

#define RARE_INSTANCES 2000

/* A short term that is common is found by walking the newest messages, and
 * the walk stops at the limit; a rare one would walk them all (57 ms over
 * 200,000 messages). Its messages are found from the index instead: every
 * term of the trigram index that starts with it, and the messages that end
 * with it. Returns the rows, or NULL with @error unset when the term is too
 * common for this to pay. */
static GPtrArray *
search_rare_term (RillStore  *self,
                  const char *term,
                  GPtrArray  *short_terms,
                  guint       limit,
                  GError    **error)
{
  g_autofree char *folded = fold_like_index (term);
  g_autofree char *end = prefix_end (folded);
  g_autofree char *ascii_folded = g_ascii_strdown (term, -1);
  g_autofree char *ascii_end = prefix_end (ascii_folded);
  g_autoptr(sqlite3_stmt) count = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GString) sql = NULL;
  gboolean one_char = g_utf8_strlen (term, -1) == 1;

  if (!(count = rill_sqlite_prepare (self->reader,
                                     "SELECT count(*) FROM (SELECT 1 FROM temp.messages_terms"
                                     " WHERE term >= ?1 AND term < ?2 LIMIT ?3)",
                                     "search", error)))
    return NULL;
  rill_sqlite_bind_text (count, 1, folded, -1);
  rill_sqlite_bind_text (count, 2, end, -1);
  sqlite3_bind_int (count, 3, RARE_INSTANCES);
  if (sqlite3_step (count) != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, self->reader, sqlite3_errcode (self->reader), "search");
      return NULL;
    }
  if (sqlite3_column_int (count, 0) >= RARE_INSTANCES)
    return NULL;

  sql = g_string_new ("SELECT " RILL_STORE_MESSAGE_COLUMNS " FROM messages m WHERE m.id IN ("
                      " SELECT doc FROM temp.messages_terms WHERE term >= ?1 AND term < ?2"
                      " UNION SELECT id FROM messages WHERE status != 'streaming'"
                      "  AND lower(substr(content, -2)) >= ?3 AND lower(substr(content, -2)) < ?4");
  if (one_char)
    g_string_append (sql, " UNION SELECT id FROM messages WHERE status != 'streaming'"
                     "  AND lower(substr(content, -1)) = ?3");
  g_string_append (sql, ") AND m.status != 'streaming'" NOT_IN_TRASH);
  for (guint i = 0; i < short_terms->len; i++)
    g_string_append_printf (sql, " AND m.content LIKE ?%u ESCAPE '\\'", i + 5);
  g_string_append_printf (sql, " ORDER BY m.id DESC LIMIT %u", limit ? limit : G_MAXINT);

  if (!(stmt = rill_sqlite_prepare (self->reader, sql->str, "search", error)))
    return NULL;
  rill_sqlite_bind_text (stmt, 1, folded, -1);
  rill_sqlite_bind_text (stmt, 2, end, -1);
  /* SQLite's lower() folds ASCII only, as LIKE does. */
  rill_sqlite_bind_text (stmt, 3, ascii_folded, -1);
  rill_sqlite_bind_text (stmt, 4, ascii_end, -1);
  for (guint i = 0; i < short_terms->len; i++)
    {
      g_autofree char *pattern = like_pattern (g_ptr_array_index (short_terms, i));
      rill_sqlite_bind_text (stmt, i + 5, pattern, -1);
    }
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) _rill_store_message_from_row, error);
}

static gboolean
has_attachments (RillStore *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  /* When it cannot be told, the search of attachments runs and says why. */
  if (!(stmt = rill_sqlite_prepare (self->reader, "SELECT 1 FROM attachments LIMIT 1",
                                    "search", NULL)))
    return TRUE;
  return sqlite3_step (stmt) != SQLITE_DONE;
}

/* The messages with an attachment whose name or text holds every term,
 * newest first. */
static GPtrArray *
search_attachments (RillStore *self,
                    GPtrArray *long_terms,
                    GPtrArray *short_terms,
                    guint      limit,
                    GError   **error)
{
  g_autoptr(GString) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  sql = g_string_new ("SELECT " RILL_STORE_MESSAGE_COLUMNS " FROM messages m WHERE m.id IN ("
                      " SELECT a.message_id FROM attachments_fts f"
                      "  JOIN attachments a ON a.id = f.rowid WHERE 1");
  if (long_terms->len > 0)
    g_string_append (sql, " AND attachments_fts MATCH ?1");
  for (guint i = 0; i < short_terms->len; i++)
    g_string_append_printf (sql, " AND (f.name LIKE ?%u ESCAPE '\\'"
                            " OR f.text LIKE ?%u ESCAPE '\\')", i + 2, i + 2);
  g_string_append (sql, ") AND m.status != 'streaming'" NOT_IN_TRASH);
  g_string_append_printf (sql, " ORDER BY m.id DESC LIMIT %u", limit ? limit : G_MAXINT);

  if (!(stmt = rill_sqlite_prepare (self->reader, sql->str, "search", error)))
    return NULL;
  if (long_terms->len > 0)
    {
      g_autofree char *match = fts_phrases (long_terms);
      rill_sqlite_bind_text (stmt, 1, match, -1);
    }
  for (guint i = 0; i < short_terms->len; i++)
    {
      g_autofree char *pattern = like_pattern (g_ptr_array_index (short_terms, i));
      rill_sqlite_bind_text (stmt, i + 2, pattern, -1);
    }
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) _rill_store_message_from_row, error);
}

/* Both lists newest first (by id); the result too, each message once, at
 * most @limit (0: all). Takes both. */
static GPtrArray *
merge_newest_first (GPtrArray *a,
                    GPtrArray *b,
                    guint      limit)
{
  GPtrArray *merged;
  guint i = 0, j = 0;

  if (b->len == 0)
    {
      g_ptr_array_unref (b);
      return a;
    }
  merged = g_ptr_array_new_with_free_func (g_object_unref);
  while ((i < a->len || j < b->len) && (limit == 0 || merged->len < limit))
    {
      RillMessage *x = i < a->len ? g_ptr_array_index (a, i) : NULL;
      RillMessage *y = j < b->len ? g_ptr_array_index (b, j) : NULL;
      gint64 xid = x ? rill_message_get_id (x) : G_MININT64;
      gint64 yid = y ? rill_message_get_id (y) : G_MININT64;

      if (xid >= yid)
        {
          g_ptr_array_add (merged, g_object_ref (x));
          i++;
          if (xid == yid)
            j++;
        }
      else
        {
          g_ptr_array_add (merged, g_object_ref (y));
          j++;
        }
    }
  g_ptr_array_unref (a);
  g_ptr_array_unref (b);
  return merged;
}

static GPtrArray *
search_messages (RillStore *self,
                 GPtrArray *long_terms,
                 GPtrArray *short_terms,
                 guint      limit,
                 GError   **error)
{
  g_autoptr(GString) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  /* Every term must occur in the message. Terms of three characters or
   * more go to the trigram index as phrases; shorter ones cannot use it
   * and are checked with LIKE on the rows the index (or a newest-first
   * walk) yields. FTS5 is never given LIKE itself: SQLite does not pass a
   * LIKE with ESCAPE to it, and without ESCAPE 3.40 misses one- and
   * two-character CJK terms. Rows come in rowid order, newest first, which
   * FTS5 delivers without sorting, so LIMIT ends the walk early. */
  if (long_terms->len == 0)
    {
      GError *local_error = NULL;
      /* Two characters are rarer than one: look up the longest term. */
      const char *rarest = g_ptr_array_index (short_terms, 0);
      GPtrArray *rows;

      for (guint i = 1; i < short_terms->len; i++)
        if (g_utf8_strlen (g_ptr_array_index (short_terms, i), -1) > g_utf8_strlen (rarest, -1))
          rarest = g_ptr_array_index (short_terms, i);
      rows = search_rare_term (self, rarest, short_terms, limit, &local_error);
      if (rows != NULL || local_error != NULL)
        {
          if (local_error != NULL)
            g_propagate_error (error, local_error);
          return rows;
        }
    }

  sql = g_string_new ("SELECT " RILL_STORE_MESSAGE_COLUMNS " FROM messages_fts f"
                      " JOIN messages m ON m.id = f.rowid WHERE 1" NOT_IN_TRASH);
  if (long_terms->len > 0)
    g_string_append (sql, " AND messages_fts MATCH ?1");
  for (guint i = 0; i < short_terms->len; i++)
    g_string_append_printf (sql, " AND f.content LIKE ?%u ESCAPE '\\'", i + 2);
  g_string_append_printf (sql, " ORDER BY f.rowid DESC LIMIT %u", limit ? limit : G_MAXINT);

  if (!(stmt = rill_sqlite_prepare (self->reader, sql->str, "search", error)))
    return NULL;
  if (long_terms->len > 0)
    {
      g_autofree char *match = fts_phrases (long_terms);
      rill_sqlite_bind_text (stmt, 1, match, -1);
    }
  for (guint i = 0; i < short_terms->len; i++)
    {
      g_autofree char *pattern = like_pattern (g_ptr_array_index (short_terms, i));
      rill_sqlite_bind_text (stmt, i + 2, pattern, -1);
    }
  return rill_sqlite_collect_rows (self->reader, stmt,
                                   (RillSqliteRowFunc) _rill_store_message_from_row, error);
}

GPtrArray *
rill_store_search (RillStore *self, const char *query, guint limit, GError **error)
{
  g_autoptr(GPtrArray) long_terms = g_ptr_array_new ();
  g_autoptr(GPtrArray) short_terms = g_ptr_array_new ();
  g_auto(GStrv) words = NULL;
  GPtrArray *in_messages;
  GPtrArray *in_attachments;

  g_return_val_if_fail (RILL_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  {
    /* The ideographic space separates terms too. */
    g_auto(GStrv) parts = g_strsplit (query, "\u3000", -1);
    g_autofree char *spaced = g_strjoinv (" ", parts);
    words = g_strsplit_set (spaced, " \t\n\r", -1);
  }
  for (guint i = 0; words[i]; i++)
    {
      if (words[i][0] == '\0')
        continue;
      g_ptr_array_add (g_utf8_strlen (words[i], -1) >= 3 ? long_terms : short_terms, words[i]);
    }
  if (long_terms->len == 0 && short_terms->len == 0)
    return g_ptr_array_new_with_free_func (g_object_unref);

  if (!(in_messages = search_messages (self, long_terms, short_terms, limit, error)))
    return NULL;
  /* Most histories have no attachments: the small query costs less than
   * preparing the join, which made every search 1.2–1.6× slower. */
  if (!has_attachments (self))
    return in_messages;
  if (!(in_attachments = search_attachments (self, long_terms, short_terms, limit, error)))
    {
      g_ptr_array_unref (in_messages);
      return NULL;
    }
  return merge_newest_first (in_messages, in_attachments, limit);
}
