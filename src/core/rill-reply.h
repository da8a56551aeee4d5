/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-reply.h: one assistant reply, from request to its final, durable row.
 *
 * A reply commits the user's message and its own row (status "streaming")
 * before the request goes out, streams the answer, checkpoints what arrived
 * every checkpoint interval from the writer thread, and ends through one
 * finalize, however it ends: the server finishing, an HTTP error, an error
 * event, a dropped or silent connection, or rill_reply_stop(). The first
 * ending wins; "finished" is emitted once, after the final row committed. */
#pragma once

#include <gio/gio.h>

#include "rill-provider.h"
#include "rill-store.h"

G_BEGIN_DECLS

typedef struct
{
  char *model;                 /* NULL: the conversation's, else default_model,
                                * else the first model the server lists */
  char  *default_model;
  char  *system_prompt;        /* NULL: the conversation's */
  double temperature;          /* < 0: the server's default */
  guint  history_limit;        /* most recent messages sent; 0 for all */
  guint  history_image_limit;  /* the latest messages with images whose images
                                * are sent again; older ones become a note
                                * naming them; 0 for all */
  guint  connect_timeout_ms;   /* until the response headers arrive */
  guint  idle_timeout_ms;      /* silence allowed while streaming */
  guint  checkpoint_interval_ms;

  /* Tools: RillOfferedTool offered to the model, NULL or empty for none
   * (referenced, not copied: not changed after); and the bytes of a tool's
   * result sent, cut there saying so (0: never cut). */
  GPtrArray *tools;
  gsize      tool_result_max_bytes;
} RillReplyOptions;

void rill_reply_options_init  (RillReplyOptions *options);
void rill_reply_options_clear (RillReplyOptions *options);

#define RILL_TYPE_REPLY (rill_reply_get_type ())
G_DECLARE_FINAL_TYPE (RillReply, rill_reply, RILL, REPLY, GObject)

/* @user_text NULL answers the conversation as it stands (retry, regenerate). */
RillReply     *rill_reply_new                  (RillStore              *store,
                                                RillProvider           *provider,
                                                gint64                  conversation_id,
                                                const char             *user_text,
                                                const RillReplyOptions *options);
/* Before it starts: the reply (and the user's text, if any) becomes a new
 * version of @message_id, following what that message follows, instead of
 * following the last message shown. Regenerate gives the reply it
 * replaces; editing gives the user's message edited. Nothing is deleted. */
void           rill_reply_set_version_of       (RillReply              *self,
                                                gint64                  message_id);
/* Before it starts: the RillStoredAttachments that go with the user's
 * text, stored with it in the same transaction (ignored without user
 * text). The reply keeps a reference to @attachments: not changed after. */
void           rill_reply_set_attachments      (RillReply              *self,
                                                GPtrArray              *attachments);
void           rill_reply_start                (RillReply              *self);
/* The person ended it: Stop, Escape, closing the window, quitting, a signal. */
void           rill_reply_stop                 (RillReply              *self);
/* Cancelling it is the same as rill_reply_stop(). */
GCancellable  *rill_reply_get_cancellable      (RillReply              *self);

gint64         rill_reply_get_conversation_id  (RillReply              *self);
/* 0 until "started". */
gint64         rill_reply_get_message_id       (RillReply              *self);
gint64         rill_reply_get_user_message_id  (RillReply              *self);
RillStatus     rill_reply_get_status           (RillReply              *self);
/* TRUE once the final write committed (or failed: see get_store_error). */
gboolean       rill_reply_is_finished          (RillReply              *self);
const GString *rill_reply_get_content          (RillReply              *self);
const GString *rill_reply_get_reasoning        (RillReply              *self);
/* The calls the model asked for so far, RillToolCall in the order first
 * seen, argument text exactly as received (transfer none; changed by the
 * next read). Stored in messages.tool_calls at every checkpoint and at the
 * end, however it ends; a reply that ends complete with calls has the
 * finish reason "tool_calls" from OpenAI-compatible servers. */
GPtrArray     *rill_reply_get_tool_calls       (RillReply              *self);
/* Why a failed reply failed, in words, as stored; NULL unless it failed. */
const char    *rill_reply_get_error            (RillReply              *self);
/* The same as an error to decide on: a RILL_ERROR code (the key, a rate
 * limit, a timeout…), or the store's RILL_STORE_ERROR when not even the
 * user's message could be saved. Its message is rill_reply_get_error(). */
const GError  *rill_reply_get_failure          (RillReply              *self);
const char    *rill_reply_get_model            (RillReply              *self);
/* The final write failed (disk full, read-only…); the text is still here. */
const GError  *rill_reply_get_store_error      (RillReply              *self);
/* What the reply cost, as stored with it: the milliseconds from sending
 * the request to the first byte of content or reasoning, and from there to
 * the end (-1 until known), and the tokens the server reported (-1 when it
 * did not). */
gint64         rill_reply_get_ttft_ms          (RillReply              *self);
gint64         rill_reply_get_generation_ms    (RillReply              *self);
gint64         rill_reply_get_prompt_tokens    (RillReply              *self);
gint64         rill_reply_get_completion_tokens (RillReply             *self);

G_END_DECLS
