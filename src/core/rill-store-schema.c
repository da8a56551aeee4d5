/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The history database's schema and its migrations.
 *
 * The table, column, index and trigger names are a contract with other
 * tools and with older versions of Rill, and so is every byte of this SQL:
 * a database created by an older version must end up exactly like a new
 * one. A change to the schema is a new migration at the end, never an edit
 * of one that shipped. PRAGMA user_version holds the version a database is
 * at; a newer one than this code knows is refused rather than guessed at.
 *
 * Upgrading an existing history first writes a consistent copy of it next
 * to it, "history.db.before-v<N>" (N the version upgraded from; the name is
 * a contract), and keeps the last two such copies. Then every step runs in
 * one transaction: if any statement fails, the file is left exactly as it
 * was and the open fails saying so and where the copy is. A new, empty
 * database (version 0) runs the same steps, in the same one transaction,
 * and needs no copy. */

#include <glib/gi18n.h>

#include "rill-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMA_VERSION 9

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

/* Version 3: the conversation becomes a tree, and every row gets an
 * identity that survives export, import and syncing between computers.
 *
 * parent_id is the message a message follows, NULL for the first; existing
 * messages follow the previous message (by id) of their conversation,
 * which is what the linear history they were written as meant. It has no
 * ON DELETE action: a cascade would recurse once per message of a chain,
 * past SQLite's trigger depth in a long conversation; deleting a message
 * and its later ones in one statement, as erasing a conversation does,
 * satisfies the key when the statement ends.
 *
 * uid is 128 random bits as 32 lowercase hex digits, never changed. ALTER
 * TABLE cannot add a column whose default is an expression, so the column
 * allows NULL; the store's own INSERTs set it, and the triggers give one to
 * a row another tool inserts without it. deleted_at (milliseconds, NULL
 * when not in the trash) is added now so that the trash needs no migration
 * of its own. */
static const char *schema_v3[] = {
  "ALTER TABLE conversations ADD COLUMN uid TEXT",
  "ALTER TABLE conversations ADD COLUMN deleted_at INTEGER",
  "ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages (id)",
  "ALTER TABLE messages ADD COLUMN uid TEXT",
  "UPDATE conversations SET uid = lower(hex(randomblob(16)))",
  "UPDATE messages SET uid = lower(hex(randomblob(16))),"
  "  parent_id = (SELECT max(p.id) FROM messages p"
  "               WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)",
  "CREATE UNIQUE INDEX conversations_by_uid ON conversations (uid)",
  "CREATE UNIQUE INDEX messages_by_uid ON messages (uid)",
  "CREATE INDEX messages_by_parent ON messages (parent_id)",
  "CREATE TRIGGER conversations_uid_insert AFTER INSERT ON conversations"
  "  WHEN new.uid IS NULL BEGIN"
  "  UPDATE conversations SET uid = lower(hex(randomblob(16))) WHERE id = new.id;"
  "END",
  "CREATE TRIGGER messages_uid_insert AFTER INSERT ON messages"
  "  WHEN new.uid IS NULL BEGIN"
  "  UPDATE messages SET uid = lower(hex(randomblob(16))) WHERE id = new.id;"
  "END",
  NULL
};

/* Version 4: which version of a conversation is shown, across restarts.
 *
 * shown_message_id is the message last chosen in the conversation's tree:
 * the reply just written, a version picked in the switcher, a message
 * opened from search. The path shown is that message's ancestors, the
 * message, and below it the way to its newest descendant, so a choice made
 * higher up carries on to where that branch was last written. NULL, or a
 * message that is no longer there, means the newest message. It is not a
 * foreign key: conversations and messages would then refer to each other,
 * and erasing a conversation's messages would have to clear it first. */
static const char *schema_v4[] = {
  "ALTER TABLE conversations ADD COLUMN shown_message_id INTEGER",
  NULL
};

/* Version 5: a streaming reply's text arrives in pieces.
 *
 * A checkpoint appends one row here, so its cost follows the new text: the
 * old "content = content || ?" made SQLite rewrite the whole row (and its
 * overflow pages), 2 MiB for each checkpoint of a 2 MiB reply. seq orders
 * a reply's pieces; a checkpoint that failed is written again under the
 * same seq, from the last text committed. The final write puts the whole
 * text in messages.content and deletes the pieces in one transaction, and
 * the next start folds the pieces of a row left streaming into it, so
 * messages.content is the text of every finished reply and no other tool
 * needs this table. Erasing a message erases its pieces (the cascade; the
 * writer's secure_delete zeroes them). Without a rowid, a piece is one
 * b-tree entry; the triggers and indexes on messages do not see it, so
 * search keeps ignoring replies that still stream. */
static const char *schema_v5[] = {
  "CREATE TABLE message_pieces ("
  "  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
  "  seq INTEGER NOT NULL,"
  "  content TEXT NOT NULL DEFAULT '',"
  "  reasoning TEXT NOT NULL DEFAULT '',"
  "  PRIMARY KEY (message_id, seq)) WITHOUT ROWID",
  NULL
};

/* Version 6: the server a conversation talks to, across restarts.
 *
 * server is the id of the server its replies go to (a configured one's id,
 * or "env:OLLAMA_HOST" and the like for one the environment names); NULL
 * until its first reply starts, and for every conversation written before,
 * which then goes to the first server switched on, as it always did.
 * server_url is that server's address without user info, to say which
 * server it was once it is gone; never a key. */
static const char *schema_v6[] = {
  "ALTER TABLE conversations ADD COLUMN server TEXT",
  "ALTER TABLE conversations ADD COLUMN server_url TEXT",
  NULL
};

/* Version 7: the files a person attached to a message.
 *
 * attachments has a row per file of a message, with the contract columns
 * id, message_id, name, mime_type, size, sha256, data and created_at.
 * Identical bytes are stored once per database: Rill writes them to
 * attachment_data, keyed by their SHA-256 (lowercase hex), and leaves
 * attachments.data NULL, so a photo sent in ten conversations costs one
 * copy. A reader takes coalesce(attachments.data, attachment_data.data):
 * a row another tool inserts with its bytes in data is read as it is.
 * The alternative, the bytes in the first row that has them and NULL in
 * the others, would have to move them when that row goes.
 *
 * text is what the model is given of a text file or a PDF (the PDF's
 * extracted text), so sending the history again needs no PDF library;
 * NULL for images. attachment_data is a table with a rowid (its blobs are
 * large, which WITHOUT ROWID is not meant for).
 *
 * A row goes with its message (the cascade, which fires the trigger, as
 * erasing a conversation from the Trash deletes its messages), and the
 * trigger deletes the bytes once no row refers to them; secure_delete
 * zeroes them. */
static const char *schema_v7[] = {
  "CREATE TABLE attachment_data ("
  "  sha256 TEXT PRIMARY KEY,"
  "  data BLOB NOT NULL)",
  "CREATE TABLE attachments ("
  "  id INTEGER PRIMARY KEY,"
  "  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  mime_type TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  data BLOB,"
  "  text TEXT,"
  "  created_at INTEGER NOT NULL)",
  "CREATE INDEX attachments_by_message ON attachments (message_id, id)",
  "CREATE INDEX attachments_by_sha256 ON attachments (sha256)",
  "CREATE TRIGGER attachments_data_delete AFTER DELETE ON attachments"
  "  WHEN NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = old.sha256) BEGIN"
  "  DELETE FROM attachment_data WHERE sha256 = old.sha256;"
  "END",
  NULL
};

/* Version 8: tools, presets and what a reply cost.
 *
 * A tool's result is a message of its own (role 'tool') after the
 * assistant message that asked for it, and a call the person declined
 * ends 'denied'. SQLite cannot change a CHECK constraint in place, so
 * messages is rebuilt the way its documentation says: a new table, the
 * rows copied with their ids (which messages_fts, message_pieces,
 * attachments and parent_id refer to), the old one dropped, the new one
 * renamed, and its indexes and triggers made again exactly as before.
 * The runner turns foreign keys off around the migration, so dropping the
 * old table does not cascade, and checks them before it commits.
 *
 * New message columns: ttft_ms, the milliseconds from sending to the
 * first token, and generation_ms, from the first token to the end (both
 * NULL when unknown); tool_calls, on an assistant message, the calls it
 * asked for as a JSON array of {"id", "name", "arguments"} with the
 * argument text exactly as received; and on a tool message tool_call_id,
 * tool_server (the server's name in mcp.json) and tool_name.
 *
 * New conversation columns: the copy of the preset it started from
 * (preset is the preset's name, temperature and history_limit NULL when
 * the settings apply; system_prompt and model were already there), and
 * tools, the servers and tools it offers as JSON, NULL for none.
 *
 * attachments_fts finds a message by the name and the text of a file
 * attached to it; its rowid is attachments.id. */
static const char *schema_v8[] = {
  "CREATE TABLE messages_v8 ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),"
  "  content TEXT NOT NULL DEFAULT '',"
  "  reasoning TEXT NOT NULL DEFAULT '',"
  "  status TEXT NOT NULL DEFAULT 'complete'"
  "    CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted',"
  "                      'denied')),"
  "  error TEXT,"
  "  model TEXT,"
  "  finish_reason TEXT,"
  "  prompt_tokens INTEGER,"
  "  completion_tokens INTEGER,"
  "  usage TEXT,"
  "  request TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  finished_at INTEGER,"
  "  parent_id INTEGER REFERENCES messages (id),"
  "  uid TEXT,"
  "  ttft_ms INTEGER,"
  "  generation_ms INTEGER,"
  "  tool_calls TEXT,"
  "  tool_call_id TEXT,"
  "  tool_server TEXT,"
  "  tool_name TEXT)",
  "INSERT INTO messages_v8 (id, conversation_id, role, content, reasoning, status, error, model,"
  "  finish_reason, prompt_tokens, completion_tokens, usage, request, created_at, finished_at,"
  "  parent_id, uid)"
  " SELECT id, conversation_id, role, content, reasoning, status, error, model,"
  "  finish_reason, prompt_tokens, completion_tokens, usage, request, created_at, finished_at,"
  "  parent_id, uid FROM messages",
  "DROP TABLE messages",
  "ALTER TABLE messages_v8 RENAME TO messages",
  "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
  "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
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
  "CREATE INDEX messages_last_char ON messages (lower(substr(content, -1)))"
  "  WHERE status != 'streaming'",
  "CREATE INDEX messages_last_two ON messages (lower(substr(content, -2)))"
  "  WHERE status != 'streaming'",
  "CREATE UNIQUE INDEX messages_by_uid ON messages (uid)",
  "CREATE INDEX messages_by_parent ON messages (parent_id)",
  "CREATE TRIGGER messages_uid_insert AFTER INSERT ON messages"
  "  WHEN new.uid IS NULL BEGIN"
  "  UPDATE messages SET uid = lower(hex(randomblob(16))) WHERE id = new.id;"
  "END",
  "ALTER TABLE conversations ADD COLUMN preset TEXT",
  "ALTER TABLE conversations ADD COLUMN temperature REAL",
  "ALTER TABLE conversations ADD COLUMN history_limit INTEGER",
  "ALTER TABLE conversations ADD COLUMN tools TEXT",
  "CREATE VIRTUAL TABLE attachments_fts USING fts5 (name, text, tokenize = 'trigram')",
  "INSERT INTO attachments_fts (rowid, name, text)"
  "  SELECT id, name, coalesce(text, '') FROM attachments",
  "CREATE TRIGGER attachments_fts_insert AFTER INSERT ON attachments BEGIN"
  "  INSERT INTO attachments_fts (rowid, name, text)"
  "    VALUES (new.id, new.name, coalesce(new.text, ''));"
  "END",
  "CREATE TRIGGER attachments_fts_delete AFTER DELETE ON attachments BEGIN"
  "  DELETE FROM attachments_fts WHERE rowid = old.id;"
  "END",
  NULL
};

/* Version 9: thumbnails of the images, so that showing a message never
 * reads or decodes the full image.
 *
 * attachment_thumbnails has one row per image in attachment_data, keyed by
 * the same SHA-256: a PNG (or a JPEG for an image with no transparency) of
 * at most 192 pixels on its longer side, sharp at the 96 pixels a message
 * shows on a screen that doubles them, and its width and height. Rill
 * writes it with the message, or later, the first time a message stored
 * before it needs one; a row another tool inserts without one gets one the
 * same way. An image that does not decode has none.
 *
 * The trigger deletes a thumbnail with the bytes it was made from, so
 * erasing a conversation from the Trash erases its thumbnails too. There
 * is no REFERENCES clause (a trigger needs no foreign keys turned on);
 * instead Rill writes a thumbnail only while its bytes are there, in the
 * same statement, so one made late for bytes erased meanwhile is dropped. */
static const char *schema_v9[] = {
  "CREATE TABLE attachment_thumbnails ("
  "  sha256 TEXT PRIMARY KEY,"
  "  width INTEGER NOT NULL,"
  "  height INTEGER NOT NULL,"
  "  data BLOB NOT NULL)",
  "CREATE TRIGGER attachment_thumbnails_delete AFTER DELETE ON attachment_data BEGIN"
  "  DELETE FROM attachment_thumbnails WHERE sha256 = old.sha256;"
  "END",
  NULL
};

/* Forward migrations: entry N brings a database from version N to N + 1. */
static const char **migrations[SCHEMA_VERSION] = {
  schema_v1, schema_v2, schema_v3, schema_v4, schema_v5, schema_v6, schema_v7, schema_v8,
  schema_v9
};

/* Copies kept: the one just made and the one before it. */
#define KEEP_COPIES 2

static int
read_version (sqlite3 *db, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!(stmt = rill_sqlite_prepare (db, "PRAGMA user_version", "read", error)))
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      rill_sqlite_set_error (error, db, sqlite3_errcode (db), "read");
      return -1;
    }
  return sqlite3_column_int (stmt, 0);
}

char *
_rill_store_copy_path (const char *path, int version)
{
  return g_strdup_printf ("%s.before-v%d", path, version);
}

static gboolean
fsync_path (const char *path)
{
  int fd = g_open (path, O_RDONLY, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

/* Writes the copy under a temporary name and renames it into place once it
 * is on disk, so a copy with the contract name is always whole: a crash
 * while copying leaves at most the temporary file, which the next try
 * replaces. VACUUM INTO reads one snapshot, so the copy is consistent even
 * with a WAL beside the file, and is a compact rollback-journal database
 * that opens on its own. */
static gboolean
write_copy (sqlite3 *db, const char *copy, GError **error)
{
  g_autofree char *partial = g_strconcat (copy, ".partial", NULL);
  g_autofree char *dir = g_path_get_dirname (copy);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_unlink (partial);
  if (!(stmt = rill_sqlite_prepare (db, "VACUUM INTO ?1", "copy", error)))
    return FALSE;
  rill_sqlite_bind_text (stmt, 1, partial, -1);
  if (!rill_sqlite_step_done (db, stmt, "copy", error))
    {
      g_unlink (partial);
      return FALSE;
    }
  if (!fsync_path (partial) || g_rename (partial, copy) != 0)
    {
      int saved_errno = errno;

      g_unlink (partial);
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "Could not write %s: %s", copy, g_strerror (saved_errno));
      return FALSE;
    }
  /* The rename is durable once the folder is. */
  fsync_path (dir);
  return TRUE;
}

static int
compare_versions_desc (gconstpointer a, gconstpointer b)
{
  int x = GPOINTER_TO_INT (*(gpointer *) a), y = GPOINTER_TO_INT (*(gpointer *) b);

  return (y > x) - (y < x);
}

/* Deletes every "<path>.before-v<N>" but the @keep with the highest N: the
 * most recent upgrades, since versions only go up. Other names, and the
 * temporary ones, are not ours to judge and are left alone. */
void
_rill_store_prune_copies (const char *path, guint keep)
{
  g_autofree char *dir_path = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strconcat (base, ".before-v", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) versions = g_ptr_array_new ();
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      const char *digits = name + strlen (prefix);
      char *end = NULL;
      long version;

      if (!g_str_has_prefix (name, prefix) || !g_ascii_isdigit (*digits))
        continue;
      errno = 0;
      version = strtol (digits, &end, 10);
      if (*end != '\0' || errno != 0 || version > G_MAXINT)
        continue;
      g_ptr_array_add (versions, GINT_TO_POINTER ((int) version));
    }
  g_ptr_array_sort (versions, compare_versions_desc);
  for (guint i = keep; i < versions->len; i++)
    {
      g_autofree char *copy = _rill_store_copy_path (path,
                                                     GPOINTER_TO_INT (versions->pdata[i]));
      static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

      for (guint j = 0; j < G_N_ELEMENTS (suffixes); j++)
        {
          g_autofree char *file = g_strconcat (copy, suffixes[j], NULL);
          g_unlink (file);
        }
    }
}

/* What the window shows (after "The history could not be opened: "). Not
 * RILL_STORE_ERROR_CORRUPT even when SQLite said so: the open must not set
 * the file aside as damaged and start afresh, since the file is as good as
 * it was before and an older Rill still reads it. */
static void
set_upgrade_error (GError **error, GError *cause, const char *copy)
{
  int code = cause->code == RILL_STORE_ERROR_CORRUPT ? RILL_STORE_ERROR_FAILED : cause->code;

  if (copy != NULL)
    g_set_error (error, RILL_STORE_ERROR, code,
                 /* translators: the first %s is a file, the second why */
                 _("The history could not be upgraded for this version of Rill, so it was left"
                   " as it was. A copy made before the upgrade is at %s. (%s)"),
                 copy, cause->message);
  else
    g_set_error (error, RILL_STORE_ERROR, code,
                 _("The history could not be upgraded for this version of Rill, so it was left"
                   " as it was: no copy of it could be made first. (%s)"),
                 cause->message);
  g_error_free (cause);
}

gboolean
_rill_store_migrate_to (sqlite3 *db, const char *path, int target, GError **error)
{
  g_autofree char *copy = NULL;
  GError *local_error = NULL;
  int version;

  g_return_val_if_fail (target <= SCHEMA_VERSION, FALSE);

  if ((version = read_version (db, error)) < 0)
    return FALSE;
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, RILL_STORE_ERROR, RILL_STORE_ERROR_FAILED,
                   "The history database was written by a newer version of Rill (schema %d)",
                   version);
      return FALSE;
    }
  if (version >= target)
    return TRUE;

  /* VACUUM INTO cannot run inside a transaction, so the copy comes first. */
  if (version > 0)
    {
      copy = _rill_store_copy_path (path, version);
      if (!write_copy (db, copy, &local_error))
        {
          set_upgrade_error (error, local_error, NULL);
          return FALSE;
        }
      _rill_store_prune_copies (path, KEEP_COPIES);
    }

  /* A migration may rebuild a table that others refer to (version 8 does):
   * with foreign keys on, dropping the old one would delete the rows that
   * refer to it. The switch has no effect inside a transaction, so it is
   * flipped around it. A rebuilt table keeps every row and its id, so
   * every reference still holds. (No foreign_key_check: a reference another
   * tool left dangling would then block the upgrade for good.) */
  if (!rill_sqlite_exec (db, "PRAGMA foreign_keys = OFF", "update", &local_error))
    goto fail;
  if (!rill_sqlite_exec (db, "BEGIN IMMEDIATE", "update", &local_error))
    goto fail;
  /* Another process may have upgraded it since it was read. */
  if ((version = read_version (db, &local_error)) < 0)
    goto fail;
  for (; version < target; version++)
    for (const char **sql = migrations[version]; *sql; sql++)
      if (!rill_sqlite_exec (db, *sql, "update", &local_error))
        goto fail;
  {
    g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version);

    if (!rill_sqlite_exec (db, bump, "update", &local_error)
        || !rill_sqlite_exec (db, "COMMIT", "update", &local_error))
      goto fail;
  }
  rill_sqlite_exec (db, "PRAGMA foreign_keys = ON", "update", NULL);
  return TRUE;

fail:
  rill_sqlite_rollback (db);
  rill_sqlite_exec (db, "PRAGMA foreign_keys = ON", "update", NULL);
  if (copy == NULL)
    g_propagate_error (error, local_error);
  else
    set_upgrade_error (error, local_error, copy);
  return FALSE;
}

gboolean
_rill_store_migrate (sqlite3 *db, const char *path, GError **error)
{
  return _rill_store_migrate_to (db, path, SCHEMA_VERSION, error);
}
