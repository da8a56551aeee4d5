/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-conversation-list.h: the store's conversations as a lazy GListModel. */
#pragma once

#include <gio/gio.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_CONVERSATION_LIST (rill_conversation_list_get_type ())
G_DECLARE_FINAL_TYPE (RillConversationList, rill_conversation_list,
                      RILL, CONVERSATION_LIST, GObject)

RillConversationList *rill_conversation_list_new      (RillStore            *store);
/* Reads the count again and forgets the pages read so far. */
void                  rill_conversation_list_reload   (RillConversationList *self);
/* Hides one conversation until it is deleted or shown again (undo). */
void                  rill_conversation_list_hide     (RillConversationList *self,
                                                       gint64                conversation_id);
void                  rill_conversation_list_unhide   (RillConversationList *self);
/* Position of a conversation among the pages read so far, or -1. */
int                   rill_conversation_list_find     (RillConversationList *self,
                                                       gint64                conversation_id);

G_END_DECLS
