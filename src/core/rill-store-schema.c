/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The history database's schema and its migrations.
 *
 * The table, column, index and trigger names are a contract with other
 * tools and with older versions of Rill, and so is every byte of this SQL:
 * a database created by an older version must end up exactly like a new
 * one. A change to the schema is a new migration at the end, never an edit
 * of one that shipped. PRAGMA user_version holds the version a database is
 * at; a newer one than this code knows is refused rather than guessed at. */

#include "rill-store-private.h"

#define SCHEMA_VERSION 2

static const char *schema_v1[] = {
  "CREATE TABLE conversations ("
  "  id INTEGER PRIMARY KEY,"
  "  title TEXT NOT NULL DEFAULT '',"
  "  title_from_user INTEGER NOT NULL DEFAULT 0,"
  "  model TEXT,"
  "  system_prompt TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL)",
  "CREATE INDEX conversations_by_update ON conversations (updated_at DESC, id DESC)",
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
  "  content TEXT NOT NULL DEFAULT '',"
  "  reasoning TEXT NOT NULL DEFAULT '',"
  "  status TEXT NOT NULL DEFAULT 'complete'"
  "    CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted')),"
  "  error TEXT,"
  "  model TEXT,"
  "  finish_reason TEXT,"
  "  prompt_tokens INTEGER,"
  "  completion_tokens INTEGER,"
  "  usage TEXT,"
  "  request TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  finished_at INTEGER)",
  "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
  "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
  "CREATE VIRTUAL TABLE messages_fts USING fts5 (content, tokenize = 'trigram')",
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
  "  WHEN new.status != 'streaming' BEGIN"
  "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
  "END",
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages"
  "  WHEN new.status != 'streaming' BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
  "END",
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "END",
  NULL
};

/* The trigram index finds a one- or two-character term wherever two or one
 * more characters follow it; these find it in the last two characters.
 * Like the trigram index, they leave out replies still streaming, so a
 * checkpoint does not update them. */
static const char *schema_v2[] = {
  "CREATE INDEX messages_last_char ON messages (lower(substr(content, -1)))"
  "  WHERE status != 'streaming'",
  "CREATE INDEX messages_last_two ON messages (lower(substr(content, -2)))"
  "  WHERE status != 'streaming'",
  NULL
};

/* Forward migrations: entry N brings a database from version N to N + 1. */
static const char **migrations[SCHEMA_VERSION] = { schema_v1, schema_v2 };

gboolean
_rill_store_migrate (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int version;

  if (!(stmt = rill_sqlite_prepare (db, "PRAGMA user_version", "read", error)))
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, sqlite3_errcode (db), "read");
      return FALSE;
    }
  version = sqlite3_column_int (stmt, 0);
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "The history database was written by a newer version of Rill (schema %d)",
                   version);
      return FALSE;
    }

  /* One transaction per version, so a migration cut short leaves the
   * database at the version before it, never half way. */
  for (; version < SCHEMA_VERSION; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!rill_sqlite_exec (db, "BEGIN IMMEDIATE", "update", error))
        return FALSE;
      for (const char **sql = migrations[version]; *sql; sql++)
        if (!rill_sqlite_exec (db, *sql, "update", error))
          {
            rill_sqlite_rollback (db);
            return FALSE;
          }
      if (!rill_sqlite_exec (db, bump, "update", error)
          || !rill_sqlite_exec (db, "COMMIT", "update", error))
        {
          rill_sqlite_rollback (db);
          return FALSE;
        }
    }
  return TRUE;
}
