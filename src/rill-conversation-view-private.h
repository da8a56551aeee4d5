/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-conversation-view-private.h: the view's parts, for the tests and
 * the window benchmark. */
#pragma once

#include "rill-conversation-view.h"

G_BEGIN_DECLS

GtkBox            *_rill_conversation_view_get_messages_box (RillConversationView *self);
AdwStatusPage     *_rill_conversation_view_get_welcome_page (RillConversationView *self);
GtkScrolledWindow *_rill_conversation_view_get_scroller     (RillConversationView *self);
RillMessageRow    *_rill_conversation_view_get_reply_row    (RillConversationView *self);
/* TRUE while scrolling to a found message is still settling. */
gboolean           _rill_conversation_view_is_scrolling     (RillConversationView *self);

G_END_DECLS
