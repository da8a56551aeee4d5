/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-store.h: the history database.
 *
 * Reads run on the caller's thread (the main thread: they are short, and in
 * WAL mode never wait for a writer). Every write goes to one writer thread
 * with its own connection, so the main loop never waits on SQLite or fsync.
 *
 * Signals, so that views follow the database instead of being told to
 * reload. Each carries the conversation's id (gint64) and is emitted in the
 * main context that was the thread default when the store was opened,
 * after the write it reports committed: a read in the handler sees it. It
 * comes before that write's callback when the callback runs in the same
 * context. A write that fails, or finds no row to change, emits nothing.
 *
 * "conversation-added": rill_store_create_conversation_async().
 * "conversation-changed": rill_store_update_conversation_async() (title,
 *   model, system prompt), and a reply's start (its messages; the first one
 *   titles the conversation and moves it to the top) and its final write,
 *   but not its checkpoints.
 * "conversation-deleted": rill_store_delete_conversation_async(), and a
 *   conversation moved to the trash (see "Trash" below).
 * "trash-changed": what the trash holds changed (see "Trash" below); the id
 *   is the conversation's, or 0 when several changed at once.
 *
 * A signal still pending when the last reference to the store goes is not
 * emitted. */
#pragma once

#include <gio/gio.h>

#include "rill-records.h"

G_BEGIN_DECLS

#define RILL_STORE_ERROR (rill_store_error_quark ())

typedef enum {
  RILL_STORE_ERROR_FAILED,
  RILL_STORE_ERROR_FULL,
  RILL_STORE_ERROR_READ_ONLY,
  RILL_STORE_ERROR_BUSY,
  RILL_STORE_ERROR_CORRUPT,
  RILL_STORE_ERROR_NOT_FOUND,
  RILL_STORE_ERROR_CLOSED,
} RillStoreError;

#define RILL_TYPE_STORE (rill_store_get_type ())
G_DECLARE_FINAL_TYPE (RillStore, rill_store, RILL, STORE, GObject)

GQuark       rill_store_error_quark          (void);

/* $XDG_DATA_HOME/rill/history.db */
char        *rill_store_default_path         (void);

/* Opens (creating and migrating as needed) and marks replies left
 * "streaming" by a process that died as "interrupted". A file that is not a
 * database or is corrupt is renamed aside and a new one is started. An
 * older history is first copied to "@path.before-v<N>" (N its schema
 * version); if the upgrade fails the file is left as it was and the open
 * fails with words that say where the copy is. */
RillStore   *rill_store_open                 (const char          *path,
                                              GError             **error);

/* Told, once, in the caller's main context, that another connection holds
 * the database and the open waits for it. */
typedef void (*RillStoreWaitingFunc) (gpointer user_data);

/* The same open, in a thread of its own, for the window: it never blocks
 * the main loop, and while another program holds the write lock it waits,
 * retrying with a back-off, for as long as it takes (calling @waiting, if
 * not NULL, once, before @callback), instead of failing after the busy
 * timeout. It ends with the store, a real error (the same as
 * rill_store_open()'s), or G_IO_ERROR_CANCELLED. The store's signals and
 * its reads belong to the caller's main context and thread, as if it had
 * opened it there. @user_data goes to both callbacks. */
void         rill_store_open_async           (const char           *path,
                                              GCancellable         *cancellable,
                                              RillStoreWaitingFunc  waiting,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RillStore   *rill_store_open_finish          (GAsyncResult         *result,
                                              GError              **error);
guint        rill_store_get_n_recovered      (RillStore           *self);
/* Where a damaged file was moved at open, or NULL. */
const char  *rill_store_get_set_aside_path   (RillStore           *self);

/* Waits, at most @timeout_ms, until every write queued so far is committed.
 * For quitting and tests; never while a reply streams. Their signals may
 * still wait for the main context. */
gboolean     rill_store_sync                 (RillStore           *self,
                                              guint                timeout_ms);

/* Reads. Conversations come newest first. */
guint        rill_store_count_conversations  (RillStore           *self);
GPtrArray   *rill_store_list_conversations   (RillStore           *self,
                                              guint                offset,
                                              guint                limit,
                                              GError             **error);
RillConversation *rill_store_get_conversation (RillStore           *self,
                                               gint64               conversation_id,
                                               GError             **error);
GPtrArray   *rill_store_list_messages        (RillStore           *self,
                                              gint64               conversation_id,
                                              GError             **error);
/* The attachments of message @message_id, as RillStoredAttachments with
 * their bytes, in the order they were attached. */
GPtrArray   *rill_store_list_attachments     (RillStore           *self,
                                              gint64               message_id,
                                              GError             **error);
/* The same for showing the message: every column but the bytes, and each
 * image's thumbnail when one is stored (schema 9; thumbnail is NULL until
 * then). The bytes are read only to open, save or export a file. */
GPtrArray   *rill_store_list_attachment_previews (RillStore         *self,
                                                  gint64             message_id,
                                                  GError           **error);
/* Stores the thumbnail of the image whose bytes have SHA-256 @sha256, made
 * late (rill_attachment_make_stored_thumbnail()); nothing when the bytes
 * are gone or one is there already. Finish with rill_store_write_finish(). */
void         rill_store_save_thumbnail_async (RillStore           *self,
                                              const char          *sha256,
                                              int                  width,
                                              int                  height,
                                              GBytes              *data,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
/* The path shown of a conversation's tree, first message first (see
 * rill-store-tree.c): through @through_message_id when not 0, else through
 * the message last shown. Each message knows its version and how many
 * versions there are (rill_message_get_version()). */
GPtrArray   *rill_store_list_path            (RillStore           *self,
                                              gint64               conversation_id,
                                              gint64               through_message_id,
                                              GError             **error);
/* The ids of @message_id and the messages with the same parent, oldest
 * first: its versions. */
GArray      *rill_store_list_versions        (RillStore           *self,
                                              gint64               message_id,
                                              GError             **error);
RillMessage *rill_store_get_message          (RillStore           *self,
                                              gint64               message_id,
                                              GError             **error);
/* Full-text search over every message, newest first. Finds substrings, so
 * Chinese text is found without word breaks, from one character up. */
GPtrArray   *rill_store_search               (RillStore           *self,
                                              const char          *query,
                                              guint                limit,
                                              GError             **error);

/* Writes, on the writer thread. */
void         rill_store_create_conversation_async  (RillStore           *self,
                                                    const char          *title,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gint64       rill_store_create_conversation_finish (RillStore           *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

/* What conversations.tools of the conversations created from now on holds
 * (the "default-tools" setting; NULL or "" for none). */
void         rill_store_set_new_conversation_tools (RillStore          *self,
                                                    const char         *tools);

typedef enum {
  RILL_CONVERSATION_TITLE,
  RILL_CONVERSATION_MODEL,
  RILL_CONVERSATION_SYSTEM_PROMPT,
  /* The id of the server its replies go to, and that server's address
   * without user info (never a key). */
  RILL_CONVERSATION_SERVER,
  RILL_CONVERSATION_SERVER_URL,
  /* A title the model gave: kept only while the person has not renamed it. */
  RILL_CONVERSATION_TITLE_FROM_MODEL,
  /* The tools it offers: a RillToolChoice's JSON, NULL for none. */
  RILL_CONVERSATION_TOOLS,
} RillConversationField;

/* @value NULL clears the field. */
void         rill_store_update_conversation_async  (RillStore            *self,
                                                    gint64                conversation_id,
                                                    RillConversationField field,
                                                    const char           *value,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
/* Erases @conversation_id for good, in the trash or not: the same as
 * rill_store_erase_conversation_async(). The window moves a conversation to
 * the trash instead. */
void         rill_store_delete_conversation_async  (RillStore           *self,
                                                    gint64               conversation_id,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);

/* Trash.
 *
 * Deleting a conversation moves it to the trash: conversations.deleted_at
 * is set (milliseconds), nothing else changes, and it can be restored. A
 * conversation in the trash is left out of every other read: the list and
 * the count, search (and so the Shell's results), and
 * rill_store_get_conversation(), which finds no such conversation.
 *
 * Erasing is real. The rows go with SQLite's secure_delete on (the writer
 * connection always has it), so what they held is overwritten with zeros;
 * then the full-text index is merged into one segment ("optimize"), which
 * drops the old segments that still held the erased text's terms; the free
 * pages are given back to the file system (incremental vacuum: a history
 * made before the trash is converted once, with a VACUUM); and the WAL is
 * checkpointed and truncated, so no old page stays in it. A reader holding
 * an old snapshot for longer than the busy timeout fails the erase with
 * RILL_STORE_ERROR_BUSY after the rows are gone; erasing again finishes it.
 * Each open erases, on the writer thread, what has been in the trash for
 * more than RILL_STORE_TRASH_DAYS days.
 *
 * Signals: moving to the trash emits "conversation-deleted" then
 * "trash-changed"; restoring "conversation-added" then "trash-changed";
 * erasing "trash-changed", and "conversation-deleted" for a conversation
 * that was not in the trash. Every write here finishes with
 * rill_store_write_finish(). */
#define RILL_STORE_TRASH_DAYS 30

void         rill_store_trash_conversation_async   (RillStore           *self,
                                                    gint64               conversation_id,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
void         rill_store_restore_conversation_async (RillStore           *self,
                                                    gint64               conversation_id,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* One conversation, in the trash or not ("Delete Forever"). */
void         rill_store_erase_conversation_async   (RillStore           *self,
                                                    gint64               conversation_id,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* Every conversation in the trash ("Empty Trash"). */
void         rill_store_empty_trash_async          (RillStore           *self,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* What has been in the trash for more than @days days (each open does it
 * with RILL_STORE_TRASH_DAYS). */
void         rill_store_purge_trash_async          (RillStore           *self,
                                                    guint                days,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* The conversations in the trash, most recently deleted first; each has
 * rill_conversation_get_deleted_at(). */
GPtrArray   *rill_store_list_trash                 (RillStore           *self,
                                                    GError             **error);
/* Remembers that the path shown of @message_id's conversation goes
 * through it, across restarts. Finish with rill_store_write_finish(). */
void         rill_store_show_message_async         (RillStore           *self,
                                                    gint64               message_id,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* For update, delete and show_message. */
gboolean     rill_store_write_finish               (RillStore           *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

G_END_DECLS
