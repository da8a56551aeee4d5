#pragma once

#include <json-glib/json-glib.h>

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
  gint64 assistant_message_id;
} RillReplyRows;

typedef struct
{
  JsonNode *messages;          /* the history to send, with the system prompt */
  char *conversation_model;
} RillReplyContext;

void              rill_reply_context_free (RillReplyContext *context);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillReplyContext, rill_reply_context_free)

typedef struct
{
  RillStatus status;
  char *content;
  char *reasoning;
  char *error;
  char *model;
  char *finish_reason;
  char *usage_json;
  char *request_json;
  gint64 prompt_tokens;
  gint64 completion_tokens;
} RillReplyFinal;

void              rill_reply_final_free (RillReplyFinal *final);

/* Commits the user's message (unless @user_text is NULL) and the assistant
 * row with status "streaming" in one transaction, then reads the history. */
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
/* Appends to the stored text; no reply is awaited. */
void              _rill_store_checkpoint         (RillStore           *self,
                                                  RillReplyRows       *rows,
                                                  const char          *content_tail,
                                                  gsize                content_len,
                                                  const char          *reasoning_tail,
                                                  gsize                reasoning_len,
                                                  const char          *request_json);
/* Writes the whole reply and its ending durably; takes @final. */
void              _rill_store_finalize_async     (RillStore           *self,
                                                  RillReplyRows       *rows,
                                                  RillReplyFinal      *final,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean          _rill_store_finalize_finish    (RillStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

/* Statements run on the reader connection (the caller's thread) since open,
 * and statements run on the writer connection from any thread but the
 * writer's once it started: the proof that a streaming reply keeps SQLite
 * off the main thread. */
guint             _rill_store_get_reader_statements (RillStore      *self);
guint             _rill_store_get_misplaced_writes  (RillStore      *self);

/* Checkpoint commit durations in microseconds, for benchmarks. */
GArray           *_rill_store_take_checkpoint_timings (RillStore      *self);

G_END_DECLS
