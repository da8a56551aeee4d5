/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-store-private.h: the store's internals.
 *
 * The first half is what a reply, a tool run and the tests use: their
 * transactions and the counters that prove where SQLite runs. The second
 * half is shared by the store's own files only (rill-store.c, -schema.c,
 * -writer.c, -search.c, -reply.c, -tools.c): the struct, the writer's job
 * queue and the change signals a committed write queues. */
#pragma once

#include <json-glib/json-glib.h>

#include "rill-sqlite.h"
#include "rill-store.h"

G_BEGIN_DECLS

/* The rows of one reply. Filled in by the begin job on the writer thread and
 * read by later jobs of the same reply there; jobs run in queue order, so the
 * ids are always set before they are read, even when the reply is finalized
 * before the main thread heard that it began. */
typedef struct
{
  gint64 conversation_id;
  gint64 user_message_id;      /* 0 when the reply answers what is there */
  gint64 version_of;           /* set before it begins: a new version of it */
  gint64 assistant_message_id;
} RillReplyRows;

typedef struct
{
  JsonNode *messages;          /* the history to send, with the system prompt */
  GArray   *history_ids;       /* gint64, one per message: its row, 0 for the system prompt */
  char     *conversation_model;
} RillReplyContext;

void              rill_reply_context_free (RillReplyContext *context);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillReplyContext, rill_reply_context_free)

typedef struct
{
  RillStatus status;
  char      *content;
  char      *reasoning;
  char      *error;
  char      *model;
  char      *finish_reason;
  char      *usage_json;
  char      *request_json;      /* as sent; NULL when a checkpoint stored it */
  GArray    *history_ids;       /* as in RillReplyContext, for request_json */
  gint64     prompt_tokens;
  gint64     completion_tokens;
  gint64     ttft_ms;           /* sent to first token; -1 when unknown */
  gint64     generation_ms;     /* first token to the end; -1 when unknown */
  char      *tool_calls_json;   /* rill_tool_calls_to_json() of the calls, or NULL */
} RillReplyFinal;

void              rill_reply_final_free (RillReplyFinal *final);

/* Commits the user's message (unless @user_text is NULL) with its
 * @attachments (RillAttachments, may be NULL) and the assistant row with
 * status "streaming" in one transaction, then reads the history. A history
 * message with attachments has an "attachments" array: objects with "id",
 * "name", "mime_type" and, for an image, "data" (base64) when it is one
 * of the @image_limit latest messages with images (0: all), or for a text
 * file or PDF "text" (the text the model is given). The provider turns
 * them into its API's shape. */
void              _rill_store_begin_reply_full_async (RillStore           *self,
                                                      RillReplyRows       *rows,
                                                      const char          *user_text,
                                                      GPtrArray           *attachments,
                                                      const char          *system_prompt,
                                                      guint                history_limit,
                                                      guint                image_limit,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
/* The same without attachments, and with every image sent again. */
void              _rill_store_begin_reply_async  (RillStore           *self,
                                                  RillReplyRows       *rows,
                                                  const char          *user_text,
                                                  const char          *system_prompt,
                                                  guint                history_limit,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
RillReplyContext *_rill_store_begin_reply_finish (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
/* Stores what is new since the last checkpoint that committed, as piece
 * @seq of the reply (and @request_json, as sent, with the @history_ids it
 * was read with, once). @callback (may be NULL) learns whether it
 * committed; until it has, the reply sends no other checkpoint, and one
 * that failed is sent again under the same @seq from the same place, so
 * the stored text never has a hole. */
void              _rill_store_checkpoint_async   (RillStore           *self,
                                                  RillReplyRows       *rows,
                                                  guint                seq,
                                                  const char          *content_tail,
                                                  gsize                content_len,
                                                  const char          *reasoning_tail,
                                                  gsize                reasoning_len,
                                                  const char          *request_json,
                                                  const GArray        *history_ids,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
/* The same, and the calls so far (rill_tool_calls_to_json(), NULL when
 * they have not changed since the last checkpoint that committed), which
 * replace the row's: a crash keeps what arrived of them. */
void              _rill_store_checkpoint_full_async (RillStore          *self,
                                                     RillReplyRows      *rows,
                                                     guint               seq,
                                                     const char         *content_tail,
                                                     gsize               content_len,
                                                     const char         *reasoning_tail,
                                                     gsize               reasoning_len,
                                                     const char         *tool_calls_json,
                                                     const char         *request_json,
                                                     const GArray       *history_ids,
                                                     GAsyncReadyCallback callback,
                                                     gpointer            user_data);
gboolean          _rill_store_checkpoint_finish  (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
/* Writes the whole reply and its ending durably; takes @final. When the
 * database is busy, full or failing, the final text is first written to
 * the journal (see _rill_store_recover_replies), which is then enough to
 * report success, and the write is retried until it commits. */
void              _rill_store_finalize_async     (RillStore           *self,
                                                  RillReplyRows       *rows,
                                                  RillReplyFinal      *final,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean          _rill_store_finalize_finish    (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

/* A tool run's rows (rill-store-tools.c). One row to write per call: the
 * model's call id (NULL when it gave none), the server (NULL when the call
 * named no tool offered) and the tool's name (the function name the model
 * used when no tool was found). */
typedef struct
{
  char *call_id;
  char *server;
  char *name;
} RillToolRowSpec;

RillToolRowSpec  *_rill_tool_row_spec_new        (const char          *call_id,
                                                  const char          *server,
                                                  const char          *name);
void              _rill_tool_row_spec_free       (RillToolRowSpec     *spec);

/* Commits one message per @specs (RillToolRowSpec), role 'tool', status
 * 'streaming', chained after @assistant_message_id, and shows the last, in
 * one durable transaction. Finish returns their ids (gint64), in order. */
void              _rill_store_begin_tools_async  (RillStore           *self,
                                                  gint64               conversation_id,
                                                  gint64               assistant_message_id,
                                                  GPtrArray           *specs,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GArray           *_rill_store_begin_tools_finish (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
/* The final write of tool message @message_id: @status, @content, @error
 * (may be NULL) and @attachments (RillStoredAttachment, may be NULL), with
 * the guarantees of a reply's final write (journal and retries) for the
 * text. Fails when the images could not be stored, though the text was. */
void              _rill_store_finish_tool_async  (RillStore           *self,
                                                  gint64               conversation_id,
                                                  gint64               message_id,
                                                  RillStatus           status,
                                                  const char          *content,
                                                  const char          *error,
                                                  GPtrArray           *attachments,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean          _rill_store_finish_tool_finish (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

/* Statements run on the reader connection (the caller's thread) since open,
 * and statements run on the writer connection from any thread but the
 * writer's once it started: the proof that a streaming reply keeps SQLite
 * off the main thread. */
guint             _rill_store_get_reader_statements (RillStore      *self);
guint             _rill_store_get_misplaced_writes  (RillStore      *self);

/* The folder of final writes that could not be committed yet,
 * "<path>.pending": one file per reply, "<message id>.json". */
char             *_rill_store_journal_dir        (const char          *path);

/* What is stored of the request that was sent (@request_json, as the
 * provider records it), without the text of the history: a run of history
 * messages sent as they are stored becomes {"ids": [first, last]} (every
 * id from first to last); one sent otherwise keeps its text, with its
 * "id". Reads the history rows on @db. NULL when @request_json is. */
char             *_rill_store_compact_request    (sqlite3             *db,
                                                  const char          *request_json,
                                                  const GArray        *history_ids);

/* At open, before rows left streaming are marked interrupted (called by
 * recover_interrupted, on the writer connection): commits the final writes
 * left in the journal, then folds the pieces of every row still streaming
 * into its content, so what was checkpointed is kept. */
gboolean          _rill_store_recover_replies    (sqlite3             *db,
                                                  const char          *path,
                                                  GError             **error);

/* Checkpoint commit durations in microseconds, for benchmarks. */
GArray           *_rill_store_take_checkpoint_timings (RillStore      *self);

/* For tests: creates or upgrades the database at @path only as far as
 * schema @version, with the very steps an open runs, as an older Rill
 * left it. */
gboolean          _rill_store_create_at_version  (const char          *path,
                                                  int                  version,
                                                  GError             **error);

/* Shared by the store's own files. */

struct _RillStore
{
  GObject parent_instance;

  /* Set at open, then read-only. */
  char         *path;
  char         *set_aside_path;
  guint         n_recovered;
  GMainContext *main_context;  /* the opener's: where signals are emitted */

  /* Main thread: conversations.tools of the conversations created. */
  char         *new_conversation_tools;

  /* Owned by the opening thread. */
  sqlite3        *reader;
  RillSqliteTrace reader_trace;

  /* Owned by the writer thread, which runs the jobs in queue order. */
  sqlite3        *writer;
  RillSqliteTrace writer_trace;
  GThread        *thread;
  GAsyncQueue    *jobs;

  /* Filled by the writer, taken by benchmarks. */
  GMutex  timings_lock;
  GArray *checkpoint_timings;
};

/* Times in the database are milliseconds since the Unix epoch. */
static inline gint64
_rill_store_now_ms (void)
{
  return g_get_real_time () / 1000;
}

/* rill-store-schema.c: creates the tables or brings them up to date,
 * copying the file at @path first when it has tables to upgrade. */
gboolean          _rill_store_migrate            (sqlite3             *db,
                                                  const char          *path,
                                                  GError             **error);
/* As far as @version only. */
gboolean          _rill_store_migrate_to         (sqlite3             *db,
                                                  const char          *path,
                                                  int                  version,
                                                  GError             **error);
/* "<path>.before-v<version>", where an upgrade from @version copies it. */
char             *_rill_store_copy_path          (const char          *path,
                                                  int                  version);
/* Deletes all but the @keep copies from the latest upgrades. */
void              _rill_store_prune_copies       (const char          *path,
                                                  guint                keep);

/* rill-store-tree.c: the last message of the path shown (0 when the
 * conversation has none), on either connection. */
gboolean          _rill_store_find_shown_leaf    (sqlite3             *db,
                                                  gint64               conversation_id,
                                                  gint64               through_message_id,
                                                  gint64              *leaf,
                                                  GError             **error);

/* rill-store-reply.c: the rows of @attachments (RillStoredAttachment, may
 * be NULL) for message @message_id, their bytes shared by SHA-256; inside
 * the caller's transaction. */
gboolean          _rill_store_insert_attachments (sqlite3             *db,
                                                  gint64               message_id,
                                                  GPtrArray           *attachments,
                                                  GError             **error);

/* rill-store-search.c: what search needs on the reader connection. */
gboolean          _rill_store_search_prepare     (sqlite3             *reader,
                                                  GError             **error);

/* rill-store-trash.c: queues the erase of what has been in the trash for
 * more than RILL_STORE_TRASH_DAYS days, with no task (nothing waits for it,
 * and it keeps no reference for a main context to release). */
void              _rill_store_purge_trash_at_open (RillStore          *self);

/* rill-store-writer.c: the writer thread. A job runs there, in queue
 * order, and returns @task (NULL when nobody waits for it); GTask delivers
 * the result in the caller's main context. */
typedef void (*RillStoreJobFunc) (RillStore *self, GTask *task, gpointer data);

void              _rill_store_writer_start       (RillStore           *self);
/* From dispose: ends the thread once the jobs before are done. */
void              _rill_store_writer_stop        (RillStore           *self);

GTask            *_rill_store_new_task           (RillStore           *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data,
                                                  gpointer             source_tag);
void              _rill_store_push_job           (RillStore           *self,
                                                  RillStoreJobFunc     func,
                                                  GTask               *task,
                                                  gpointer             data,
                                                  GDestroyNotify       data_free);
/* Rolls back, drops synchronous back to NORMAL and returns @error on @task
 * (or warns when there is no task); takes @error. */
void              _rill_store_return_write_error (GTask               *task,
                                                  sqlite3             *db,
                                                  GError              *error);

/* rill-store.c: the change signals. */
typedef enum
{
  RILL_STORE_CONVERSATION_ADDED,
  RILL_STORE_CONVERSATION_CHANGED,
  RILL_STORE_CONVERSATION_DELETED,
  RILL_STORE_TRASH_CHANGED,
} RillStoreChange;

/* For a job, once its write committed: queues the signal for the store's
 * main context. Call it before returning the job's task, so that the
 * signal comes before the write's callback. */
void              _rill_store_queue_change       (RillStore           *self,
                                                  RillStoreChange      change,
                                                  gint64               conversation_id);

/* Rows as records; the columns must come in this order. A reply still
 * streaming has its text in pieces (schema 5), read with it; a pieces' key
 * is (message_id, seq), so the subquery walks them in order. */
#define RILL_STORE_PIECES_OF(column) \
  "CASE WHEN m.status = 'streaming' THEN m." column " || coalesce((SELECT group_concat(p." \
  column ", '') FROM (SELECT " column " FROM message_pieces WHERE message_id = m.id" \
  " ORDER BY seq) p), '') ELSE m." column " END"
#define RILL_STORE_MESSAGE_COLUMNS \
  "m.id, m.conversation_id, m.role, " RILL_STORE_PIECES_OF ("content") ", " \
  RILL_STORE_PIECES_OF ("reasoning") ", m.status, m.error, m.model," \
  " m.finish_reason, m.request, m.usage, m.prompt_tokens, m.completion_tokens," \
  " m.created_at, m.finished_at, m.parent_id, m.uid," \
  " m.tool_calls, m.tool_call_id, m.tool_server, m.tool_name, m.ttft_ms, m.generation_ms"

RillMessage      *_rill_store_message_from_row   (sqlite3_stmt        *stmt);

G_END_DECLS
