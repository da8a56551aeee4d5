/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-conversation-view.h: one conversation's messages, and its live reply. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"
#include "rill-message-row.h"

G_BEGIN_DECLS

#define RILL_TYPE_CONVERSATION_VIEW (rill_conversation_view_get_type ())
G_DECLARE_FINAL_TYPE (RillConversationView, rill_conversation_view, RILL, CONVERSATION_VIEW, AdwBin)

/* Properties: "session"; read-only "conversation-id" (0 for a new one),
 * "title" (follows renames through the store's signals), "reply" (the reply
 * streaming, here or in a conversation looked at before) and "streaming" (it
 * streams in the conversation shown).
 * Signals, from the rows: "edit", "regenerate", "continue" (RillMessageRow
 * *row); from the reply: "reply-finished" (RillReply *); from a run of
 * tool calls: "tool-run-finished" (RillToolRun *). "tool-run" is the run
 * deciding or running, here or in a conversation looked at before. */

/* Shows @conversation_id (0: a new, empty one), scrolled to @message_id or,
 * for 0, to the end. Rows of the reply still streaming there are kept. */
gboolean        rill_conversation_view_open             (RillConversationView *self,
                                                         gint64                conversation_id,
                                                         gint64                message_id,
                                                         GError              **error);
gint64          rill_conversation_view_get_conversation_id (RillConversationView *self);
const char     *rill_conversation_view_get_title        (RillConversationView *self);

RillReply      *rill_conversation_view_get_reply        (RillConversationView *self);
gboolean        rill_conversation_view_get_streaming    (RillConversationView *self);
/* Shows @user_text (NULL when the reply answers what is there) and the
 * reply's row, follows the end, and starts @reply in the conversation it
 * belongs to, which becomes the one shown. */
void            rill_conversation_view_start_reply      (RillConversationView *self,
                                                         RillReply            *reply,
                                                         const char           *user_text);
/* Shows a card per call of @run (a live one when it is in the conversation
 * shown) and starts it; "streaming" holds until it finished. */
void            rill_conversation_view_start_tool_run   (RillConversationView *self,
                                                         RillToolRun          *run);
RillToolRun    *rill_conversation_view_get_tool_run     (RillConversationView *self);
/* Stops the reply (kept as "stopped"); its row shows what arrived. Stops
 * the run of tool calls too: every call not done ends "stopped". */
void            rill_conversation_view_stop_reply       (RillConversationView *self);

RillMessageRow *rill_conversation_view_get_last_row     (RillConversationView *self,
                                                         RillRole              role);
RillMessageRow *rill_conversation_view_find_row         (RillConversationView *self,
                                                         gint64                message_id);
/* Removes @from and every row after it. */
/* The last row whose message has several versions, or NULL. */
RillMessageRow *rill_conversation_view_get_last_row_with_versions (RillConversationView *self);
/* Shows the version of @row's message @offset away (-1 the one before, 1
 * the one after) and the path through it; FALSE when there is none. */
gboolean        rill_conversation_view_show_version     (RillConversationView *self,
                                                         RillMessageRow       *row,
                                                         int                   offset);
void            rill_conversation_view_remove_rows_from (RillConversationView *self,
                                                         RillMessageRow       *from);

G_END_DECLS
